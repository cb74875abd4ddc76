import type { MachineFacts } from '../databases.js';
import type { GoalRow } from '../goals.js';
import { serverArgs } from '../server.js';
import { AUDIT_VARIANTS } from './audit.js';
import type { AuditVariant } from './audit.js';
import {
  AGENTS_PER_USER,
  EXPIRING_SHARE,
  HISTORY_DAYS,
  MEMORY_CLIENTS,
  MEMORY_DATABASE,
  MEMORY_GOALS,
  MEMORY_SERVER_POOL,
} from './config.js';
import type { LoopResult } from './loop.js';
import type { MemoryResults, MemoryRun, RunName } from './results.js';
import { WORDS } from './words.js';

export const MEMORY_SECTION_TITLE = '## MemoryService';

// Columns of words, aligned left; the rest are numbers, aligned right.
const TEXT = new Set(['call', 'filter', 'client', 'clients', 'goal', 'step', 'measure']);

function textTable(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (TEXT.has(head[i]!) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function markdownTable(head: string[], body: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), `|${head.map((h) => (TEXT.has(h) ? ' --- ' : ' ---: ')).join('|')}|`, ...body.map(line)].join('\n');
}

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 2 : 1) : 'n/a');
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

type Goal = { at: 'p95' | 'p99'; ms: number } | { perSecond: number };

const CALLS: Record<RunName, { call: string; filter: string; client: 'wire' | 'grpc-js'; goal?: Goal }> = {
  store: {
    call: 'StoreMemory',
    filter: 'one memory + its event per call',
    client: 'wire',
    goal: { perSecond: MEMORY_GOALS.storePerSecond },
  },
  get1: { call: 'GetMemory', filter: 'random existing id', client: 'wire', goal: { at: 'p99', ms: MEMORY_GOALS.getP99 } },
  get8: { call: 'GetMemory', filter: 'random existing id', client: 'wire', goal: { at: 'p99', ms: MEMORY_GOALS.getP99 } },
  get8GrpcJs: { call: 'GetMemory', filter: 'random existing id', client: 'grpc-js', goal: { at: 'p99', ms: MEMORY_GOALS.getP99 } },
  listAgentUser: {
    call: 'ListMemories',
    filter: 'agent_id + user_id, 50/page',
    client: 'grpc-js',
    goal: { at: 'p99', ms: MEMORY_GOALS.listP99 },
  },
  listUser: { call: 'ListMemories', filter: 'user_id, 50/page', client: 'grpc-js', goal: { at: 'p99', ms: MEMORY_GOALS.listP99 } },
  listPage2: {
    call: 'ListMemories page 2',
    filter: 'user_id, page_token of page 1',
    client: 'grpc-js',
    goal: { at: 'p99', ms: MEMORY_GOALS.listP99 },
  },
  searchUser: {
    call: 'SearchMemories full text',
    filter: 'user_id, 1–3 words',
    client: 'grpc-js',
    goal: { at: 'p95', ms: MEMORY_GOALS.searchP95 },
  },
  searchAll: {
    call: 'SearchMemories full text',
    filter: 'none, 1–3 words',
    client: 'grpc-js',
    goal: { at: 'p95', ms: MEMORY_GOALS.searchP95 },
  },
};

function goalMet(run: MemoryRun): boolean | null {
  const goal = CALLS[run.name].goal;
  if (!goal) return null;
  return 'perSecond' in goal ? run.result.perSecond >= goal.perSecond : run.result.latency[goal.at] < goal.ms;
}

function goalCell(run: MemoryRun): string {
  const goal = CALLS[run.name].goal;
  if (!goal) return '–';
  const met = goalMet(run) ? 'met' : '**not met**';
  return 'perSecond' in goal ? `≥ ${int(goal.perSecond)}/s: ${met}` : `${goal.at} < ${goal.ms} ms: ${met}`;
}

/** The goals of issue 9 this part measures: StoreMemory rate and GetMemory p99, 8 clients, wire client. */
export function memoryGoals(results: MemoryResults): GoalRow[] {
  const rows: GoalRow[] = [];
  const at = (name: RunName) => results.runs.find((r) => r.name === name);
  const memories = `over ${int(results.config.memories)} memories`;
  const store = at('store');
  if (store)
    rows.push({
      id: 'store',
      measured: `${int(store.result.perSecond)}/s, p99 ${ms(store.result.latency.p99)} ms (${memories})`,
      met: goalMet(store),
      section: 'MemoryService',
    });
  const get = at('get8');
  if (get) {
    const g = get.result.latency;
    rows.push({
      id: 'get',
      measured: `p99 ${ms(g.p99)} ms, p50 ${ms(g.p50)} ms, ${int(get.result.perSecond)}/s (${memories})`,
      met: goalMet(get),
      section: 'MemoryService',
    });
  }
  return rows;
}

const CALL_HEAD = ['call', 'filter', 'client', 'clients', 'calls', 'calls/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'goal'];
const LOAD_HEAD = [
  'call',
  'clients',
  'server cores',
  'PG cores',
  'bench cores',
  'other cores',
  'server µs/call',
  'PG µs/call',
  'bench µs/call',
  'sum µs/call',
  'mean latency µs',
];
const AUDIT_HEAD = ['measure', 'calls', 'p50 ms', 'p99 ms', 'mean ms'];

function callRows(results: MemoryResults): string[][] {
  return results.runs.map((run) => {
    const r = run.result;
    const l = r.latency;
    return [
      CALLS[run.name].call,
      CALLS[run.name].filter,
      CALLS[run.name].client,
      String(run.clients),
      int(r.count),
      int(r.perSecond),
      ms(l.p50),
      ms(l.p95),
      ms(l.p99),
      ms(l.max),
      goalCell(run),
    ];
  });
}

function loadRows(results: MemoryResults): string[][] {
  const seconds = results.config.seconds;
  return results.runs.map((run) => {
    const c = run.result.cpu;
    const cores = (v: number | null | undefined) => (v == null ? 'n/a' : (v / 1000 / seconds).toFixed(2));
    // The page-2 run makes two calls per timed one (page 1 untimed).
    const calls = run.result.count * (run.name === 'listPage2' ? 2 : 1);
    const per = (v: number | null | undefined) => (v == null || calls === 0 ? 'n/a' : int((v * 1000) / calls));
    const sum = c ? c.bench + (c.server ?? 0) + (c.postgres ?? 0) : null;
    return [
      `${CALLS[run.name].call} (${CALLS[run.name].filter}, ${CALLS[run.name].client})`,
      String(run.clients),
      cores(c?.server),
      cores(c?.postgres),
      cores(c?.bench),
      cores(c?.other),
      per(c?.server),
      per(c?.postgres),
      per(c?.bench),
      per(sum),
      int(run.result.latency.mean * 1000),
    ];
  });
}

function auditRows(results: MemoryResults): string[][] {
  const by = (v: AuditVariant) => results.audit.find((a) => a.variant === v)?.result;
  const row = (label: string, r: LoopResult | undefined) => [
    label,
    r ? int(r.count) : 'n/a',
    ms3(r?.latency.p50),
    ms3(r?.latency.p99),
    ms3(r?.latency.mean),
  ];
  const diff = (label: string, a: LoopResult | undefined, b: LoopResult | undefined) => [
    label,
    '–',
    ms3(a && b ? a.latency.p50 - b.latency.p50 : undefined),
    ms3(a && b ? a.latency.p99 - b.latency.p99 : undefined),
    ms3(a && b ? a.latency.mean - b.latency.mean : undefined),
  ];
  const grpc = results.runs.find((r) => r.name === 'get1')?.result;
  return [
    ...results.audit.map((a) => row(`pg: ${AUDIT_VARIANTS[a.variant]}`, a.result)),
    diff('**audit cost**: audited − select alone', by('audited'), by('select')),
    diff('of which the transaction (BEGIN … COMMIT, no write)', by('transaction'), by('select')),
    diff('of which the append and its durable commit', by('audited'), by('transaction')),
    row('gRPC GetMemory, 1 client (always audited)', grpc),
    diff('gRPC and server on top of the audited read', grpc, by('audited')),
  ];
}

const ms3 = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(3));

function loadSummary(results: MemoryResults): { head: string[]; body: string[][] } {
  const l = results.load;
  return {
    head: ['step', 'seconds'],
    body: [...l.steps.map((s) => [s.name, s.seconds.toFixed(1)]), ['total (with the consistency check)', l.seconds.toFixed(1)]],
  };
}

export function printMemoryResults(results: MemoryResults): void {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const l = results.load;
  out(
    `\nMemoryService: ${int(l.memories)} memories loaded in ${l.seconds.toFixed(1)} s (${int(l.memories / l.seconds)} memories/s with their events); ` +
      `memories ${mib(l.bytes.memories)}, events ${mib(l.bytes.events)}, streams ${mib(l.bytes.streams)} with indexes`,
  );
  const s = loadSummary(results);
  out(textTable(s.head, s.body));
  out(`\nCalls through gRPC (${results.config.seconds} s measured after ${results.config.warmupSeconds} s warm-up each)`);
  out(textTable(CALL_HEAD, callRows(results)));
  out('\nCPU during each run (cores busy; per call)');
  out(textTable(LOAD_HEAD, loadRows(results)));
  out('\nCost of the read audit (sequential, one connection, random ids)');
  out(textTable(AUDIT_HEAD, auditRows(results)));
  for (const p of results.plans) out(`\nEXPLAIN ANALYZE, ${CALLS[p.run].call} (${CALLS[p.run].filter}): ${p.reason}\n${p.call}\n${p.plan}`);
}

export function memoryMarkdownSection(results: MemoryResults, facts: MachineFacts, when: Date): string {
  const { config, load } = results;
  const s = facts.settings;
  const envs = [
    config.memories !== 1_000_000 ? `BENCH_MEMORIES=${config.memories}` : '',
    config.seconds !== 8 ? `BENCH_MEMORY_SECONDS=${config.seconds}` : '',
    config.warmupSeconds !== 1 ? `BENCH_MEMORY_WARMUP_SECONDS=${config.warmupSeconds}` : '',
    process.env.BENCH_SERVER_ENTRY ? `BENCH_SERVER_ENTRY=${process.env.BENCH_SERVER_ENTRY}` : '',
    process.env.BENCH_DATABASE_URL ? 'BENCH_DATABASE_URL=…' : '',
  ]
    .filter(Boolean)
    .join(' ');
  const sl = loadSummary(results);
  const plans = results.plans
    .map(
      (p) => `**${CALLS[p.run].call} (${CALLS[p.run].filter})** — ${p.reason}; slowest call ${p.call}:

\`\`\`
${p.plan}
\`\`\``,
    )
    .join('\n\n');
  return `${MEMORY_SECTION_TITLE}

**Goals:** StoreMemory ≥ ${int(MEMORY_GOALS.storePerSecond)}/s at ${MEMORY_CLIENTS} clients, GetMemory p99 < ${MEMORY_GOALS.getP99} ms (at 1 and ${MEMORY_CLIENTS} clients), ListMemories p99 < ${MEMORY_GOALS.listP99} ms, full-text SearchMemories p95 < ${MEMORY_GOALS.searchP95} ms, on ${int(config.memories)} stored memories.

Command: \`BENCH_ONLY=memory ${envs ? `${envs} ` : ''}npm run bench\` (\`tsx bench/run.ts\`, code in bench/memory/), run ${when.toISOString()}; the part took ${results.seconds.toFixed(0)} s.

Machine: ${facts.cores} cores, ${facts.cpuModel}, ${facts.memoryGiB} GiB; Node ${facts.node}; ${facts.postgres.split(' on ')[0]} at ${facts.postgresHost}
(fsync=${s.fsync}, synchronous_commit=${s.synchronous_commit}, shared_buffers=${s.shared_buffers}). The bench, the server and PostgreSQL share these cores.

How it is measured:
- **Data**: a database \`${MEMORY_DATABASE}\` created fresh, schema applied by \`auren db migrate\`, then ${int(config.memories)} memories bulk-loaded without the server: INSERT … SELECT … FROM generate_series on two connections, then each memory's \`memory_created\` event (event id = \`memories.last_event_id\`, stream \`memory-<id>\` at version 1 with its \`streams\` row, data as StoreMemory writes it, metadata {user_id, caller}), positions 1…n in creation order reserved at once in \`log_head\`, the counter \`append_batch()\` takes positions from. The trigger \`memories_from_events\`, which writes a memory's row from its event, is disabled for the load (the rows are inserted set-wise instead) and enabled again after it. The tables' indexes and primary/unique keys are dropped for the load and built again from their schema definitions (checked identical), then VACUUM ANALYZE; every memory is checked to have exactly its event and stream, its row equal to what the trigger writes from the event, and \`log_head\` at the last position. ${config.agents} agents, ${int(config.users)} people, each person's memories from ${AGENTS_PER_USER} agents (about ${int(config.memories / config.users)} memories a person, ${int(config.memories / config.users / AGENTS_PER_USER)} per agent and person); content \`{text, channel}\` with 6–20 words from a ${WORDS.length}-word vocabulary (health, money, work, travel, family, habits; skewed: the most common word is in about a quarter of the memories, the median word in about 2%); types uniform over the 7, confidence uniform in [0, 1], created_at uniform over the last ${HISTORY_DAYS} days, ${Math.round(EXPIRING_SHARE * 100)}% (${int(load.expiring)}) with an expiry 1–181 days ahead. Sizes with indexes: memories ${mib(load.bytes.memories)}, events ${mib(load.bytes.events)}, streams ${mib(load.bytes.streams)}. A CHECKPOINT follows the load, untimed.
- **Calls**: the server as a child process (\`node ${serverArgs().join(' ')} serve\`, DB_POOL_SIZE=${MEMORY_SERVER_POOL}, LOG_LEVEL=warn), called on ${results.listener}, one HTTP/2 connection per client, header \`x-auren-agent\` set (StoreMemory: the storing agent; reads: \`bench-reader\`). StoreMemory and GetMemory (*client* wire) go through the bench's own HTTP/2 client (\`bench/wire/h2c.ts\`): ${int(2_000)} StoreMemory requests (random person, one of their agents, type, text, confidence, as the loaded data) encoded before the run and sent in turn, GetMemory encoded per call around a random id; each response decoded with protobuf-es and checked. The other calls, and GetMemory again for comparison, use @grpc/grpc-js clients (memory.proto loaded at run time by @grpc/proto-loader), which cost the shared cores much more per call. Closed loop: each client awaits its call before the next; ${config.warmupSeconds} s warm-up, then ${config.seconds} s measured; latency as the client sees it. Ids, (agent, person) pairs and people are drawn at random from a ${int(20_000)}-memory sample of the loaded set; search queries are 1–3 distinct words drawn uniformly from the vocabulary (1 word: 1/3, 2: 1/2, 3: 1/6; websearch syntax, so words are ANDed). Every read is audited by the server (one \`memory_retrieved\` event per person returned, in the read's transaction), so every read is a write with a durable commit. Page 2: page 1 of a random person (untimed), then page 2 with its token (timed).
- **Audit cost**: the server cannot skip the audit, so it is measured beside it, straight from pg on one connection, sequentially, with random ids: the select GetMemory makes, alone (autocommit); inside BEGIN … COMMIT; and with the \`append_to_stream\` of the memory_retrieved event the server appends, in the same transaction. The difference *audited − select alone* is what the audit adds to a read; the same with synchronous_commit=off shows how much of it is waiting for the WAL flush.
- CPU is read from /proc over each measured window: *server* the AUREN process, *PG* every local PostgreSQL process, *bench* the clients, *other* everything else busy on the machine.

### Load

${markdownTable(sl.head, sl.body)}

${int(load.memories)} memories and ${int(load.memories)} events in ${load.seconds.toFixed(1)} s: ${int(load.memories / load.seconds)} memories/s.

### Calls through gRPC

${markdownTable(CALL_HEAD, callRows(results))}

### CPU during each run

Cores busy over the window, and CPU per call (the page-2 run makes two calls per timed one). With one client, calls run one at a time: the sum of the server's, PostgreSQL's and the client's CPU per call, against the mean latency, says how much of the latency is CPU spent in turn by each party rather than waiting (for the disk, the network, the other core).

${markdownTable(LOAD_HEAD, loadRows(results))}

### Cost of the read audit

${markdownTable(AUDIT_HEAD, auditRows(results))}

### Plans

${plans || 'No goal was missed.'}
`;
}
