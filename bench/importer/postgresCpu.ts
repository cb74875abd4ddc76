import { readdirSync, readFileSync } from 'node:fs';

// CPU of the local PostgreSQL processes over a window, sampled while it runs: the backends of a
// command run in the window start and end inside it, which a reading at both ends misses.

const TICKS_PER_SECOND = 100;

function postgresTicks(): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/comm`, 'utf8').trim() !== 'postgres') continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(Number(name), Number(fields[11]) + Number(fields[12]));
    } catch {
      // gone meanwhile
    }
  }
  return ticks;
}

/** Starts sampling every `everyMs`; stop() resolves to the PostgreSQL CPU milliseconds seen in the window. */
export function samplePostgresCpu(everyMs = 100): { stop(): number } {
  const first = postgresTicks();
  const last = new Map(first);
  const timer = setInterval(() => {
    for (const [pid, ticks] of postgresTicks()) last.set(pid, ticks);
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      for (const [pid, ticks] of postgresTicks()) last.set(pid, ticks);
      let total = 0;
      // A process that started in the window spent all its CPU in it (up to the last sample).
      for (const [pid, ticks] of last) total += ticks - (first.get(pid) ?? 0);
      return (total * 1000) / TICKS_PER_SECOND;
    },
  };
}
