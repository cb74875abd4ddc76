import { readFileSync } from 'node:fs';
import pg from 'pg';
const c = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/imp_scratch' });
await c.connect();
const pid = (await c.query('select pg_backend_pid() as p')).rows[0].p;
const ticks = () => { const s = readFileSync(`/proc/${pid}/stat`, 'utf8'); const f = s.slice(s.lastIndexOf(')') + 2).split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
const payload = readFileSync('/tmp/imp/payload0.json', 'utf8');
const cases: Record<string, string[]> = {
  full: [],
  no_trigger: ['alter table events disable trigger memories_from_events'],
  no_gin: ['drop index memories_search'],
  no_search: ['alter table memories drop column search'],
  no_mem_idx: ['alter table memories drop column search', 'drop index memories_agent_user_newest, memories_user_newest, memories_newest, memories_expiring, memories_agent_newest'],
  no_event_idx: ['drop index events_type_position, events_user_order'],
};
for (const [name, setup] of Object.entries(cases)) {
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    await c.query('begin');
    for (const q of setup) await c.query(q);
    const t = ticks();
    await c.query('select count(*) from append_batch($1::jsonb)', [payload]);
    runs.push(ticks() - t);
    await c.query('rollback');
  }
  runs.sort((a, b) => a - b);
  console.log(name.padEnd(14), 'CPU ms per 1000 memories: min', runs[0], 'median', runs[2]);
}
const t = ticks(); for (let i = 0; i < 5; i++) await c.query('select count(*) from jsonb_array_elements($1::jsonb)', [payload]); console.log('parse+1 pass  ', (ticks() - t) / 5);
await c.end();
