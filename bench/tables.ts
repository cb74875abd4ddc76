// Tables for the terminal and for BENCHMARKS.md, and writing one section of BENCHMARKS.md.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import type { CpuSnapshot } from './cpu.js';

const CORES = os.availableParallelism();

// Columns of words, aligned left; the rest are numbers, aligned right.
const TEXT = [
  'ev/append',
  'clients',
  'target',
  'layer',
  'setup',
  'client',
  'measure',
  'value',
  'call',
  'listener',
  'package or folder',
  'function (file:function:line)',
];

export const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
export const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 2 : 1) : 'n/a');

/** Cores busy with this target's processes, cores busy with anything else, and steal, over the window. */
export function loadCells(cpu: CpuSnapshot | null, seconds: number): string[] {
  if (!cpu) return ['n/a', 'n/a', 'n/a'];
  const cores = (ms: number | null) => (ms === null ? 'n/a' : (ms / 1000 / seconds).toFixed(2));
  return [
    cores(cpu.bench + cpu.children + (cpu.server ?? 0) + (cpu.postgres ?? 0)),
    cores(cpu.other),
    cpu.steal === null ? 'n/a' : `${((cpu.steal / 1000 / seconds / CORES) * 100).toFixed(0)}%`,
  ];
}

/** A plain-text table for the terminal. */
export function textTable(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (TEXT.includes(head[i]!) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export function markdownTable(head: string[], body: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), `|${head.map((h) => (TEXT.includes(h) ? ' --- ' : ' ---: ')).join('|')}|`, ...body.map(line)].join('\n');
}

/** Writes the section into BENCHMARKS.md, replacing the previous one and keeping every other section. */
export function writeSection(path: string, section: string, title: string): void {
  const old = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const lines = old.split('\n');
  const start = lines.findIndex((l) => l.trim() === title);
  let text: string;
  if (start === -1) {
    text = `${old.trimEnd()}\n\n${section}`;
  } else {
    const next = lines.findIndex((l, i) => i > start && /^##? /.test(l));
    const before = lines.slice(0, start).join('\n').trimEnd();
    const after = next === -1 ? '' : lines.slice(next).join('\n').trim();
    text = `${before}\n\n${section}${after ? `\n${after}\n` : ''}`;
  }
  writeFileSync(path, text.endsWith('\n') ? text : `${text}\n`);
}
