// The goals of issue 9, one row each in a table at the top of BENCHMARKS.md. Each part of the
// bench fills in its own rows; a part run alone (BENCH_ONLY) replaces only its rows and keeps the
// others with the date of the run that measured them.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export const GOALS_TITLE = '## Goals (issue 9)';

/** Every goal, in the order of the table. */
export const GOALS = {
  cpu8: "server + PostgreSQL CPU per single-event append ≤ ½ of Emmett's process + PostgreSQL, 8 clients",
  cpu32: "server + PostgreSQL CPU per single-event append ≤ ½ of Emmett's process + PostgreSQL, 32 clients",
  rate8: 'single-event appends/s ≥ 2× Emmett, 8 clients',
  rate32: 'single-event appends/s ≥ 2× Emmett, 32 clients',
  ratePg32: 'single-event appends/s above plain single-row INSERTs, 32 clients',
  health: 'grpc.health.v1.Health/Check ≤ 150 µs server CPU per call on GRPC_PORT (h2load, 20,000 calls, 8 connections)',
  batch100: '100-event appends ≥ 100,000 events/s',
  latency1: 'append latency at 1 client not worse than before (p50 and p99, 1 and 100 events)',
  catchUp: 'catch-up to one gRPC client ≥ 50,000 events/s',
  tailP99: 'tail p99 < 10 ms (ack → receipt) at 1,000 events/s achieved',
  store: 'StoreMemory ≥ 1,000/s at 8 clients over 1,000,000 memories',
  get: 'GetMemory p99 < 5 ms (read audit on) at 8 clients over 1,000,000 memories',
} as const;

export type GoalId = keyof typeof GOALS;

export interface GoalRow {
  id: GoalId;
  /** This run's figure, in words and numbers. */
  measured: string;
  /** null: not measured (e.g. a prerequisite missing). */
  met: boolean | null;
  /** The section of BENCHMARKS.md that has the figures. */
  section: string;
}

const HEAD = '| goal | this run | met | figures in | run |';
const RULE = '| --- | --- | --- | --- | --- |';

const cells = (line: string) =>
  line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(' | ')
    .map((c) => c.trim());

/** Replaces these goals' rows in BENCHMARKS.md (the section is put first if it is not there). */
export function writeGoals(path: string, rows: GoalRow[], when: Date, note = ''): void {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === GOALS_TITLE);
  const end = start === -1 ? -1 : lines.findIndex((l, i) => i > start && /^##? /.test(l));
  const old = new Map<string, string>();
  if (start !== -1) {
    for (const line of lines.slice(start + 1, end === -1 ? undefined : end)) {
      if (!line.startsWith('| ') || line === HEAD || line === RULE) continue;
      const [goal] = cells(line);
      if (goal) old.set(goal, line);
    }
  }
  const fresh = new Map(rows.map((r) => [GOALS[r.id], r]));
  const stamp = when.toISOString().slice(0, 16).replace('T', ' ');
  const body = (Object.keys(GOALS) as GoalId[]).map((id) => {
    const goal = GOALS[id];
    const row = fresh.get(goal);
    if (row)
      return `| ${goal} | ${row.measured} | ${row.met === null ? 'not measured' : row.met ? 'met' : '**not met**'} | ${row.section} | ${stamp} |`;
    return old.get(goal) ?? `| ${goal} | – | not measured yet | – | – |`;
  });
  const section = [
    GOALS_TITLE,
    '',
    'Each row is filled in by the part of `npm run bench` that measures it (the date says which run); the',
    'sections below say how each figure was produced.' + (note ? ` ${note}` : ''),
    '',
    HEAD,
    RULE,
    ...body,
    '',
  ];
  let out: string[];
  if (start === -1) {
    const h1 = lines.findIndex((l) => l.startsWith('# '));
    out = [
      ...lines.slice(0, h1 + 1),
      '',
      ...section,
      ...lines
        .slice(h1 + 1)
        .join('\n')
        .trimStart()
        .split('\n'),
    ];
  } else {
    out = [...lines.slice(0, start), ...section, ...(end === -1 ? [] : lines.slice(end))];
  }
  writeFileSync(path, `${out.join('\n').trimEnd()}\n`);
}
