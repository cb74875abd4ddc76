import cliProgress from 'cli-progress';
import type { ImportProgress } from './importer.js';

/** Shows an import's progress on a stream: a bar on a terminal, a plain line every second otherwise. */
export interface ProgressDisplay {
  update(progress: ImportProgress): void;
  stop(): void;
}

/** Starts the progress display (cli-progress; ETA from the bytes read of all the files' bytes). */
export function startProgress(stream: NodeJS.WriteStream = process.stderr): ProgressDisplay {
  const terminal = stream.isTTY === true;
  const format = terminal
    ? 'migrate {bar} {percentage}% | files {files}/{filesTotal} | memories {memories} | {rate}/s | ETA {eta_formatted}'
    : 'migrate: files {files}/{filesTotal}, memories {memories}, {rate} memories/s, {percentage}% of the bytes, ETA {eta_formatted}';
  const bar = new cliProgress.SingleBar(
    { format, stream, noTTYOutput: true, notTTYSchedule: 1000, hideCursor: terminal, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  const startedAt = Date.now();
  let started = false;
  const payload = (p: ImportProgress) => {
    const seconds = (Date.now() - startedAt) / 1000;
    return {
      files: p.filesDone,
      filesTotal: p.filesTotal,
      memories: p.memoriesFound.toLocaleString('en-US'),
      rate: seconds > 0 ? Math.round(p.memoriesFound / seconds).toLocaleString('en-US') : '0',
    };
  };
  return {
    update(progress) {
      const total = Math.max(1, progress.bytesTotal);
      if (!started) {
        bar.start(total, 0, payload(progress));
        started = true;
      }
      bar.update(Math.min(progress.bytesDone, total), payload(progress));
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
