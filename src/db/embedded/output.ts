/** The last lines a PostgreSQL program (initdb, postgres) wrote, kept to say why it failed. */
export interface ProgramOutput {
  /** Feeds a chunk of the program's stdout or stderr. */
  write(chunk: Buffer): void;
  /** One line saying why the program failed, from what it wrote. */
  reason(): string;
}

// Enough for initdb's or the postmaster's last words; older lines are only in the debug log.
const KEPT_LINES = 40;

/** Splits a program's output into lines, hands each to `onLine`, keeps the last ones. */
export function createProgramOutput(onLine: (line: string) => void): ProgramOutput {
  const lines: string[] = [];
  let partial = '';
  return {
    write(chunk) {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const part of parts) {
        const line = part.trimEnd();
        if (!line) continue;
        onLine(line);
        lines.push(line);
        if (lines.length > KEPT_LINES) lines.shift();
      }
    },
    reason: () => explainFailure(partial.trim() ? [...lines, partial.trim()] : lines),
  };
}

/**
 * Picks the lines that say why: the last FATAL/PANIC (postgres) or `initdb: error:` line with
 * the DETAIL and HINT lines after it, preceded by the "could not …" lines (and their hints)
 * just before it: postgres says why it could not listen in those, and only "could not create
 * any TCP/IP sockets" in the FATAL line. Without such a line, the last line.
 */
export function explainFailure(lines: readonly string[]): string {
  const fatal = lines.findLastIndex((line) => /^(FATAL|PANIC):|^initdb: error:/.test(line));
  if (fatal < 0) return lines.length ? squeeze(lines[lines.length - 1]!) : 'it wrote nothing';
  let start = fatal;
  while (start > 0 && /^(LOG|WARNING):\s+could not |^(DETAIL|HINT):/.test(lines[start - 1]!)) start--;
  let end = fatal + 1;
  while (end < lines.length && /^(DETAIL|HINT):|^initdb: (detail|hint):/.test(lines[end]!)) end++;
  return lines.slice(start, end).map(squeeze).join(' ');
}

function squeeze(line: string): string {
  return line.replace(/\s+/g, ' ').trim();
}
