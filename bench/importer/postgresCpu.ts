import { readFileSync } from 'node:fs';
import pg from 'pg';

// CPU of the PostgreSQL backends serving one database over a window, sampled while it runs: the
// backends of a command run in the window start and end inside it, which a reading at both ends
// misses, and other sessions' backends on the same server are not counted.

const TICKS_PER_SECOND = 100;

function cpuTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

/** Starts sampling the backends of `database` every `everyMs`; stop() resolves to their CPU milliseconds in the window. */
export async function samplePostgresCpu(adminUrl: string, database: string, everyMs = 100): Promise<{ stop(): Promise<number> }> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  const self = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  // Backends there before the window count from their first sample; later ones from 0.
  const before = new Map<number, number>();
  const last = new Map<number, number>();
  let started = false;
  let sampling = Promise.resolve();
  const sample = async () => {
    const { rows } = await client.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1 and pid <> $2', [
      database,
      self,
    ]);
    for (const { pid } of rows) {
      const ticks = cpuTicks(pid);
      if (ticks === null) continue;
      if (!started) before.set(pid, ticks);
      last.set(pid, ticks);
    }
    started = true;
  };
  await sample();
  const timer = setInterval(() => (sampling = sampling.then(sample, () => undefined)), everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await sampling;
      await client.end();
      let total = 0;
      for (const [pid, ticks] of last) total += ticks - (before.get(pid) ?? 0);
      return (total * 1000) / TICKS_PER_SECOND;
    },
  };
}
