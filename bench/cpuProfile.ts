// `npx tsx bench/cpuProfile.ts FILE.cpuprofile [N] [FROM] [TO]`: where a `node --cpu-prof`
// profile spent its samples (between FROM and TO seconds after it started): the N functions with
// the most self samples (file:function:line, % of the samples), the same by file and by package,
// and by the place in our code (src/, bench/) nearest to the sample on its stack.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  /** µs between consecutive samples (the first: since startTime). */
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A frame's file, short: relative to the repository, node_modules/<package>/…, or node:<module>. */
function fileOf(url: string): string {
  if (!url) return '(native)';
  let file = url.startsWith('file://') ? fileURLToPath(url) : url;
  if (file.startsWith(ROOT)) file = path.relative(ROOT, file);
  const nm = file.lastIndexOf('node_modules/');
  if (nm !== -1) return file.slice(nm);
  // Another checkout's server (BENCH_SERVER_ENTRY): from its src/ on.
  const src = file.lastIndexOf('/src/');
  return src === -1 ? file : file.slice(src + 1);
}

/** Where a file belongs: an npm package, a Node.js module, a folder of ours. */
function areaOf(file: string): string {
  if (file.startsWith('node_modules/')) {
    const parts = file.split('/');
    return parts.slice(0, parts[1]!.startsWith('@') ? 3 : 2).join('/');
  }
  if (file.startsWith('node:internal/')) return `node:${file.split('/')[1]}`;
  if (file.startsWith('src/') || file.startsWith('bench/')) return file.split('/').slice(0, 2).join('/');
  return file;
}

export interface ProfileSummary {
  samples: number;
  seconds: number;
  /** Samples that were not idle. */
  busy: number;
  /** Self samples by function, by file and by package or folder, most first, as shares of all samples in the window. */
  functions: { name: string; share: number }[];
  files: { name: string; share: number }[];
  areas: { name: string; share: number }[];
  /** Samples attributed to the nearest frame of our own code (src/ or bench/) on their stack. */
  ours: { name: string; share: number }[];
}

/**
 * Summarizes the samples taken between `from` and `to` seconds after the profile started (all by
 * default): pass the window of the load to leave out start-up and shutdown.
 */
export function summarizeProfile(file: string, top = 25, from = 0, to = Number.POSITIVE_INFINITY): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  let at = 0;
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (at / 1e6 < from || at / 1e6 > to) return;
    self.set(id, (self.get(id) ?? 0) + 1);
    total++;
    if (byId.get(id)!.callFrame.functionName === '(idle)') idle++;
  });

  const fn = new Map<string, number>();
  const files = new Map<string, number>();
  const areas = new Map<string, number>();
  const ours = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  for (const [id, count] of self) {
    const node = byId.get(id)!;
    const f = node.callFrame;
    const file = fileOf(f.url);
    const name = f.functionName || '(anonymous)';
    add(fn, f.url ? `${file}:${name}:${f.lineNumber + 1}` : name, count);
    add(files, f.url ? file : name, count);
    add(areas, f.url ? areaOf(file) : name, count);
    let at: number | undefined = id;
    let owner = '(no frame of ours)';
    while (at !== undefined) {
      const cf = byId.get(at)!.callFrame;
      const ff = fileOf(cf.url);
      if (ff.startsWith('src/') || ff.startsWith('bench/')) {
        owner = `${ff}:${cf.functionName || '(anonymous)'}`;
        break;
      }
      at = parent.get(at);
    }
    add(ours, owner, count);
  }
  const rank = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, n]) => ({ name, share: n / total }));
  return {
    samples: total,
    seconds: Math.min(to, (profile.endTime - profile.startTime) / 1e6) - from,
    busy: total - idle,
    functions: rank(fn),
    files: rank(files),
    areas: rank(areas),
    ours: rank(ours),
  };
}

/** The summary as text lines. */
export function formatProfile(s: ProfileSummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`;
  return [
    `${s.samples} samples over ${s.seconds.toFixed(1)} s, ${pct(s.busy / s.samples).trim()} not idle; shares of all samples:`,
    'self samples by function:',
    ...s.functions.map((x) => `  ${pct(x.share)}  ${x.name}`),
    'self samples by file:',
    ...s.files.map((x) => `  ${pct(x.share)}  ${x.name}`),
    'self samples by package or folder:',
    ...s.areas.map((x) => `  ${pct(x.share)}  ${x.name}`),
    'samples by nearest frame in src/ or bench/:',
    ...s.ours.map((x) => `  ${pct(x.share)}  ${x.name}`),
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const [file, top, from, to] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: tsx bench/cpuProfile.ts FILE.cpuprofile [N] [FROM_SECONDS] [TO_SECONDS]\n');
    process.exit(2);
  }
  process.stdout.write(
    `${formatProfile(summarizeProfile(file, Number(top ?? 25), Number(from ?? 0), to === undefined ? Number.POSITIVE_INFINITY : Number(to)))}\n`,
  );
}
