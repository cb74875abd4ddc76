import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

// CPU time spent during the measured window, per process group, read from /proc (Linux only).

const TICKS_PER_SECOND = 100; // USER_HZ on every Linux this runs on

/** CPU milliseconds per process group over the measured window. */
export interface CpuSnapshot {
  bench: number;
  /** Child processes of the bench that ended in the window (h2load), from /proc/self/stat cutime + cstime. */
  children: number;
  server: number | null;
  /** PostgreSQL processes serving this target (its backends and the shared background processes). */
  postgres: number | null;
  /** Everything else on the machine (other sessions, other databases' backends, other programs). */
  other: number | null;
  /** Time the hypervisor gave our vCPUs to someone else. */
  steal: number | null;
}

/** Machine-wide busy and steal milliseconds from /proc/stat. */
function machineMs(): { busy: number; steal: number } | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]!;
    return { busy: (busy * 1000) / TICKS_PER_SECOND, steal: ((f[7] ?? 0) * 1000) / TICKS_PER_SECOND };
  } catch {
    return null;
  }
}

/** Reads /proc/<pid>/stat: utime + stime in milliseconds, or null when the process is gone. */
function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** CPU of the bench's children that have ended (and been waited for), in milliseconds. */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / TICKS_PER_SECOND;
}

/** CPU of every local process named postgres (the server and its backends), by pid. */
function postgresCpu(): Map<number, number> {
  const result = new Map<number, number>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return result;
  }
  for (const name of pids) {
    const pid = Number(name);
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') continue;
    } catch {
      continue;
    }
    const ms = processCpuMs(pid);
    if (ms !== null) result.set(pid, ms);
  }
  return result;
}

/**
 * Measures CPU between start() and stop(). PostgreSQL is counted only when it runs on this
 * machine; pass the pids that served the target to `restrict` to leave out other sessions.
 */
export function cpuMeter(options: { serverPid?: number | undefined; postgresIsLocal: boolean }) {
  let bench0 = 0;
  let children0 = 0;
  let server0: number | null = null;
  let machine0: ReturnType<typeof machineMs> = null;
  let pg0 = new Map<number, number>();
  let pg1 = new Map<number, number>();
  const pgSum = (pids?: Set<number>) => {
    let total = 0;
    // Backends that existed at both ends: every pooled connection is opened during warm-up.
    for (const [pid, ms] of pg1) if (!pids || pids.has(pid)) total += ms - (pg0.get(pid) ?? ms);
    return total;
  };
  return {
    start(): void {
      const u = process.cpuUsage();
      bench0 = (u.user + u.system) / 1000;
      children0 = childrenCpuMs();
      server0 = options.serverPid ? processCpuMs(options.serverPid) : null;
      if (options.postgresIsLocal) pg0 = postgresCpu();
      machine0 = machineMs();
    },
    stop(): CpuSnapshot {
      const machine1 = machineMs();
      const u = process.cpuUsage();
      const bench = (u.user + u.system) / 1000 - bench0;
      const children = childrenCpuMs() - children0;
      const serverNow = options.serverPid ? processCpuMs(options.serverPid) : null;
      const server = serverNow !== null && server0 !== null ? serverNow - server0 : null;
      if (options.postgresIsLocal) pg1 = postgresCpu();
      const postgres = options.postgresIsLocal ? pgSum() : null;
      const busy = machine0 && machine1 ? machine1.busy - machine0.busy : null;
      return {
        bench,
        children,
        server,
        postgres,
        other: busy === null || postgres === null ? null : Math.max(0, busy - bench - children - (server ?? 0) - postgres),
        steal: machine0 && machine1 ? machine1.steal - machine0.steal : null,
      };
    },
    /** Counts only these PostgreSQL pids as the target's; the rest moves to `other`. */
    restrict(snapshot: CpuSnapshot, pids: Set<number>): CpuSnapshot {
      if (snapshot.postgres === null) return snapshot;
      const postgres = pgSum(pids);
      return { ...snapshot, postgres, other: snapshot.other === null ? null : snapshot.other + snapshot.postgres - postgres };
    },
  };
}

/** Whether a host name is this machine. */
export function isLocalHost(host: string): boolean {
  if (['localhost', '127.0.0.1', '::1', '[::1]', ''].includes(host)) return true;
  return Object.values(os.networkInterfaces()).some((list) => list?.some((i) => i.address === host));
}
