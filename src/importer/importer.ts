import { InvalidArgument } from '../errors.js';
import type { JsonValue } from '../events/types.js';
import { callerMetadata, checkImportedMemory, importPrepared, prepareImport } from '../memory/imports.js';
import type { PreparedImport, ImportTarget as MemoryImportTarget } from '../memory/imports.js';
import type { Caller, MemoryLimits } from '../memory/model.js';
import { FileRefused, readLegacyFile } from './legacyFile.js';
import { listLegacyFiles } from './legacyFolder.js';
import type { LegacyFile, LegacyItem } from './legacyFile.js';
import { agentFromPath, isObject, readLegacyItem, UNKNOWN_AGENT, userFromPath } from './legacyRules.js';
import { importedIds } from './memoryIds.js';
import { SERVICE_ITSELF } from '../auth/principal.js';
import { buildReport } from './report.js';
import type { AgentCounts, FileResult, ImportReport, ItemProblem } from './report.js';

/** The principal the importer's events name as their caller. */
export const IMPORTER: Caller = { ...SERVICE_ITSELF, name: 'auren.importer' };

/** What to import and how. */
export interface ImportOptions {
  /** The folder of legacy JSON files. */
  dir: string;
  /** Also the files in its subfolders. */
  recursive: boolean;
  /** Check and count everything, write nothing. */
  dryRun: boolean;
  /** The agent of files whose data names none (before the file and folder names are tried). */
  agentId: string | null;
  /** The person of files whose data names none (before a UUID in the file name is tried). */
  userId: string | null;
  /** Memories per commit. */
  batchSize: number;
  /**
   * Batches written at once, each on its own connection: while one holds the log's counter
   * for its events, the others write their memories rows (sql/functions/append_imported_memories.sql).
   */
  batchesInFlight: number;
  /** Files larger than this many bytes are streamed rather than read whole. */
  streamAbove: number;
}

/** Where memories go: the memory module's import target (null on a dry run), and its limits. */
export interface ImportTarget {
  memories: MemoryImportTarget | null;
  limits: MemoryLimits;
}

/** How far an import is, after each file and each commit. */
export interface ImportProgress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  /** Memories read and checked so far. */
  memoriesFound: number;
  /** Memories committed so far (imported now or found imported before). */
  memoriesDone: number;
}

// Item problems kept per file in the report; the count says how many there were.
const MAX_PROBLEMS_PER_FILE = 20;

// A checked memory as the importer holds it until its batch commits: its event's JSON bytes
// (empty on a dry run), not its documents.
interface Accepted extends PreparedImport {
  agentId: string;
}

interface Queued {
  memory: Accepted;
  file: FileResult;
}

/**
 * Imports every legacy JSON file of a folder as memories, each through the memory module
 * (one memory_created event and its row, in one commit per batch, several batches at once;
 * files are read and checked while batches commit), with ids fixed by
 * the file's bytes and the item's index: a second run, or a run resumed after a kill, writes
 * nothing twice. A file that cannot be read, is not UTF-8 JSON, holds no memories or has an
 * item the memory module refuses is reported with its reasons and skipped whole; the run
 * goes on.
 */
export async function importLegacyFiles(
  options: ImportOptions,
  target: ImportTarget,
  onProgress: (progress: ImportProgress) => void = () => {},
): Promise<ImportReport> {
  const startedAt = Date.now();
  const files = await listLegacyFiles(options.dir, options.recursive);
  const progress: ImportProgress = {
    filesDone: 0,
    filesTotal: files.length,
    bytesDone: 0,
    bytesTotal: files.reduce((sum, f) => sum + f.size, 0),
    memoriesFound: 0,
    memoriesDone: 0,
  };
  const results: FileResult[] = [];
  const agents: AgentCounts = {};
  let queued: Queued[] = [];
  const inFlight: Promise<void>[] = [];
  // A failed commit (the database went away) ends the run at the next batch.
  const failed: { error?: unknown } = {};
  const rethrow = () => {
    if ('error' in failed) throw failed.error;
  };

  // Ids are looked up before a batch is sent while the last batch written found memories
  // imported before (a second run, or the part of a resumed one done already); once a batch
  // found none, the rest are sent whole and the function passes over any there.
  let lookUpFirst = true;

  async function write(batch: Queued[]): Promise<void> {
    const outcomes = await importPrepared(
      target.memories!,
      batch.map((q) => q.memory),
      { lookUpFirst },
    );
    let before = 0;
    outcomes.forEach((outcome, i) => {
      const { file, memory } = batch[i]!;
      const agent = agents[memory.agentId]!;
      if (outcome.status === 'imported') {
        file.imported++;
        agent.imported++;
      } else {
        before++;
        file.already_imported++;
        agent.already_imported++;
      }
    });
    lookUpFirst = before > 0;
    progress.memoriesDone += batch.length;
    onProgress(progress);
  }

  async function flush(): Promise<void> {
    rethrow();
    if (queued.length === 0) return;
    const batch = queued;
    queued = [];
    if (inFlight.length >= options.batchesInFlight) await inFlight.shift();
    rethrow();
    inFlight.push(
      write(batch).catch((error: unknown) => {
        if (!('error' in failed)) failed.error = error;
      }),
    );
  }

  async function add(memory: Accepted, file: FileResult): Promise<void> {
    if (options.dryRun || target.memories === null) return;
    queued.push({ memory, file });
    if (queued.length >= options.batchSize) await flush();
  }

  for (const { file, relative, size } of files) {
    const result = newResult(relative);
    results.push(result);
    await importFile({ file, size }, result, options, { limits: target.limits, events: target.memories, agents }, add);
    progress.filesDone++;
    progress.bytesDone += size;
    progress.memoriesFound += result.memories;
    onProgress(progress);
  }
  await flush();
  await Promise.all(inFlight);
  rethrow();

  return buildReport({ dir: options.dir, dryRun: options.dryRun, files: results, agents, startedAt });
}

async function importFile(
  { file, size }: { file: string; size: number },
  result: FileResult,
  options: ImportOptions,
  shared: { limits: MemoryLimits; events: MemoryImportTarget | null; agents: AgentCounts },
  add: (memory: Accepted, file: FileResult) => Promise<void>,
): Promise<void> {
  let legacy: LegacyFile;
  try {
    legacy = await readLegacyFile(file, options.streamAbove, size);
  } catch (error) {
    if (!(error instanceof FileRefused)) throw error;
    result.status = 'failed';
    result.reason = error.message;
    return;
  }
  result.sha256 = legacy.sha256;
  if (legacy.objects === 0) {
    result.status = 'failed';
    result.reason =
      legacy.others === 0
        ? 'no memories: nothing in it is a memory list or object'
        : `no memories: none of its ${legacy.others} items is a JSON object`;
    return;
  }
  const defaults = {
    agentId: nameOf(legacy.agentId) ?? options.agentId ?? agentFromPath(file) ?? UNKNOWN_AGENT,
    userId: nameOf(legacy.userId) ?? options.userId ?? userFromPath(file),
  };
  result.agent_id = defaults.agentId;
  result.user_id = defaults.userId;
  const context = { legacy, result, defaults, ...shared };

  // Every item is checked before any is written: a file is imported whole or not at all, so
  // fixing a refused file and running again imports it once. A streamed file is read twice
  // for that; a small one is held.
  const checked: Accepted[] = [];
  const problems: ItemProblem[] = [];
  for await (const item of legacy.items()) {
    const memory = toMemory(item, context, problems, true);
    if (memory && !legacy.streamed) checked.push(memory);
  }
  if (problems.length > 0) {
    result.status = 'failed';
    result.reason = `${result.refused} of its ${legacy.objects} memories are refused, so none is imported: ${describe(problems[0]!)}`;
    result.notes = problems;
    result.memories = 0;
    return;
  }
  result.status = options.dryRun ? 'checked' : 'imported';
  const accept = (memory: Accepted) => {
    (shared.agents[memory.agentId] ??= { found: 0, imported: 0, already_imported: 0 }).found++;
    return add(memory, result);
  };
  if (!legacy.streamed) {
    for (const memory of checked) await accept(memory);
    return;
  }
  for await (const item of legacy.items()) {
    const memory = toMemory(item, context, [], false);
    if (memory) await accept(memory);
  }
}

interface FileContext {
  legacy: LegacyFile;
  result: FileResult;
  defaults: { agentId: string; userId: string | null };
  limits: MemoryLimits;
  /** Where the events go (their size limit); null on a dry run, which makes none. */
  events: MemoryImportTarget | null;
  agents: AgentCounts;
}

const CALLER_JSON = callerMetadata(IMPORTER);
// A dry run's memories: no event made.
const NO_EVENT = Buffer.alloc(0);

// One item as a checked memory; null when it is skipped (not an object) or refused (in
// `problems`). The first pass over a file counts.
function toMemory(
  { index, value }: LegacyItem,
  { legacy, result, defaults, limits, events }: FileContext,
  problems: ItemProblem[],
  count: boolean,
): Accepted | null {
  if (!isObject(value)) {
    if (count) {
      result.skipped++;
      note(result.notes, { index, problem: `not a JSON object (${kindOf(value)}): skipped` });
    }
    return null;
  }
  const item = readLegacyItem(value);
  const ids = importedIds(legacy.sha256, index);
  try {
    const memory = checkImportedMemory(
      {
        id: ids.memoryId,
        eventId: ids.eventId,
        agentId: nameOf(item.agentId) ?? defaults.agentId,
        userId: nameOf(item.userId) ?? defaults.userId,
        type: item.type,
        content: item.content,
        metadata: { ...item.metadata, source_file: result.file, item_index: index },
        confidence: item.confidence,
        createdAt: item.createdAt,
        source: { source_file: result.file, item_index: index, file_sha256: legacy.sha256 },
      },
      limits,
    );
    // Its event now (an item whose event is over the size limit is refused like any other), and
    // only that is held: the documents are garbage as soon as the file is read.
    const { event } = events === null ? { event: NO_EVENT } : prepareImport(memory, CALLER_JSON, events.eventMaxBytes);
    if (count) result.memories++;
    return { id: memory.id, event, agentId: memory.agentId };
  } catch (error) {
    if (!(error instanceof InvalidArgument)) throw error;
    result.refused++;
    if (problems.length < MAX_PROBLEMS_PER_FILE) problems.push({ index, field: error.field, problem: error.problem });
    return null;
  }
}

// An agent or person named in the data: a string not blank, or a number written as one (a
// blank one names nobody: the file's name or folder is tried next, as for a missing one).
function nameOf(value: JsonValue | undefined): string | null {
  if (typeof value === 'string' && value.trim() !== '') return value;
  if (typeof value === 'number') return String(value);
  return null;
}

function kindOf(value: JsonValue): string {
  return value === null ? 'null' : Array.isArray(value) ? 'a list' : `a ${typeof value}`;
}

function describe(problem: ItemProblem): string {
  return `item ${problem.index}: ${problem.field ? `${problem.field}: ` : ''}${problem.problem}`;
}

function note(list: ItemProblem[], problem: ItemProblem): void {
  if (list.length < MAX_PROBLEMS_PER_FILE) list.push(problem);
}

function newResult(file: string): FileResult {
  return {
    file,
    status: 'failed',
    sha256: null,
    agent_id: null,
    user_id: null,
    memories: 0,
    imported: 0,
    already_imported: 0,
    skipped: 0,
    refused: 0,
    notes: [],
  };
}
