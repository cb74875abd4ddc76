import path from 'node:path';

/** Memories per agent: found, and (unless a dry run) imported now or before. */
export type AgentCounts = Record<string, { found: number; imported: number; already_imported: number }>;

/** Something about one item of a file: refused (with the field) or skipped. */
export interface ItemProblem {
  index: number;
  field?: string;
  problem: string;
}

/** What became of one file. */
export interface FileResult {
  /** Its path below the imported folder, with `/`. */
  file: string;
  /**
   * imported: its memories were written (some perhaps by an earlier, interrupted run);
   * already_imported: every one was there before; checked: a dry run found it importable;
   * failed: nothing of it was imported (reason, notes).
   */
  status: 'imported' | 'already_imported' | 'checked' | 'failed';
  reason?: string;
  sha256: string | null;
  agent_id: string | null;
  user_id: string | null;
  /** Its memories (items that are JSON objects the memory module accepts). */
  memories: number;
  imported: number;
  already_imported: number;
  /** Items that are not JSON objects, skipped as the seed skipped them. */
  skipped: number;
  /** Items the memory module refused (the file then fails whole). */
  refused: number;
  /** The first few refused or skipped items, and why. */
  notes: ItemProblem[];
}

/** The JSON report of a run, and what its summary table shows. */
export interface ImportReport {
  dir: string;
  dry_run: boolean;
  started_at: string;
  finished_at: string;
  seconds: number;
  files: { found: number; imported: number; already_imported: number; checked: number; failed: number };
  memories: { found: number; imported: number; already_imported: number; skipped_items: number };
  memories_per_second: number;
  /** The most memory this process held at once (resident set), in MiB. */
  peak_rss_mib: number;
  agents: AgentCounts;
  failed: { file: string; reason: string }[];
  file_results: FileResult[];
}

// Failed files listed in the table; the JSON report has them all.
const FAILED_SHOWN = 20;

/** The summary table printed at the end of a run. */
export function summaryTable(report: ImportReport): string {
  const n = (value: number) => value.toLocaleString('en-US');
  const rows: [string, string, string][] = [['', 'files', 'memories']];
  rows.push(['found', n(report.files.found), n(report.memories.found)]);
  if (report.dry_run) rows.push(['would import', n(report.files.checked), n(report.memories.found)]);
  else {
    rows.push(['imported', n(report.files.imported), n(report.memories.imported)]);
    rows.push(['already imported', n(report.files.already_imported), n(report.memories.already_imported)]);
  }
  rows.push(['skipped items', '', n(report.memories.skipped_items)]);
  rows.push(['failed', n(report.files.failed), '']);
  const lines = [
    `auren migrate${report.dry_run ? ' (dry run: nothing written)' : ''}: ${report.dir}, ` +
      `${report.seconds.toFixed(1)} s, ${n(report.memories_per_second)} memories/s, peak RSS ${report.peak_rss_mib} MiB`,
    '',
    ...table(rows),
  ];
  const agents = Object.entries(report.agents).sort(([a], [b]) => (a < b ? -1 : 1));
  if (agents.length > 0) {
    lines.push('');
    const header: string[] = report.dry_run ? ['agent', 'memories'] : ['agent', 'memories', 'imported', 'already imported'];
    const agentRows = agents.map(([agent, c]) =>
      report.dry_run ? [agent, n(c.found)] : [agent, n(c.found), n(c.imported), n(c.already_imported)],
    );
    lines.push(...table([header, ...agentRows]));
  }
  if (report.failed.length > 0) {
    lines.push('', `failed files (${report.failed.length}; nothing of them was imported):`);
    for (const failed of report.failed.slice(0, FAILED_SHOWN)) lines.push(`  ${failed.file}: ${failed.reason}`);
    if (report.failed.length > FAILED_SHOWN) lines.push(`  … and ${report.failed.length - FAILED_SHOWN} more (see the report file)`);
  }
  return lines.join('\n');
}

// Columns: the first left-aligned, the others right-aligned.
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length)));
  return rows.map((row) =>
    row
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** The report of a run from its files' results. */
export function buildReport({
  dir,
  dryRun,
  files,
  agents,
  startedAt,
}: {
  dir: string;
  dryRun: boolean;
  files: FileResult[];
  agents: AgentCounts;
  startedAt: number;
}): ImportReport {
  const finishedAt = Date.now();
  const seconds = (finishedAt - startedAt) / 1000;
  let found = 0;
  let imported = 0;
  let already = 0;
  let skipped = 0;
  for (const file of files) {
    found += file.memories;
    imported += file.imported;
    already += file.already_imported;
    skipped += file.skipped;
    if (file.status === 'imported' && file.imported === 0) file.status = 'already_imported';
  }
  return {
    dir: path.resolve(dir),
    dry_run: dryRun,
    started_at: new Date(startedAt).toISOString(),
    finished_at: new Date(finishedAt).toISOString(),
    seconds,
    files: {
      found: files.length,
      imported: files.filter((f) => f.status === 'imported').length,
      already_imported: files.filter((f) => f.status === 'already_imported').length,
      checked: files.filter((f) => f.status === 'checked').length,
      failed: files.filter((f) => f.status === 'failed').length,
    },
    memories: { found, imported, already_imported: already, skipped_items: skipped },
    memories_per_second: seconds > 0 ? Math.round(found / seconds) : found,
    // maxRSS is in KiB.
    peak_rss_mib: Math.round(process.resourceUsage().maxRSS / 1024),
    agents,
    failed: files.filter((f) => f.status === 'failed').map((f) => ({ file: f.file, reason: f.reason ?? '' })),
    file_results: files,
  };
}
