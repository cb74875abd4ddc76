/** A JSON object, as event data and metadata are stored. */
export type JsonObject = { [key: string]: JsonValue };
/** Any JSON value. */
export type JsonValue = string | number | boolean | null | JsonObject | JsonValue[];

/**
 * Place of an event in the whole log, as the contract names it: ordered by commit, then
 * prepare. This store hands out positions in commit order, so both are the same number.
 */
export interface Position {
  commit: bigint;
  prepare: bigint;
}

/** The log's start: every event's position is after it. */
export const START: Position = { commit: 0n, prepare: 0n };

/** The concurrency check an append makes before it writes. */
export type ExpectedVersion = { kind: 'any' } | { kind: 'no_stream' } | { kind: 'stream_exists' } | { kind: 'exact'; version: bigint };

/** An event offered for appending. */
export interface ProposedEvent {
  /** UUID; assigned by the store when absent. */
  eventId?: string;
  type: string;
  data: JsonObject;
  metadata: JsonObject;
  correlationId?: string;
  causationId?: string;
}

/** An event as committed to the log. */
export interface RecordedEvent {
  eventId: string;
  streamId: string;
  version: bigint;
  type: string;
  data: JsonObject;
  metadata: JsonObject;
  correlationId: string | null;
  causationId: string | null;
  position: Position;
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** Bytes of data and metadata as JSON text, as stored: what byte budgets of pages and windows count. */
  size?: number;
}

/** A page of events read in order: `more` when it stopped at its count or its byte budget, so that more may follow. */
export interface EventPage {
  events: RecordedEvent[];
  more: boolean;
}

/** The outcome of a committed append (or of the earlier append a retry repeats). */
export interface AppendResult {
  nextExpectedVersion: bigint;
  firstPosition: Position;
  lastPosition: Position;
  /** When the events were written (epoch ms). */
  createdAt: number;
}

/** Which events of the log a read or tail returns. Empty lists match everything. */
export interface EventFilter {
  eventTypes: string[];
  streamIdPrefixes: string[];
}

/** A page of one stream. */
export interface StreamSlice {
  events: RecordedEvent[];
  streamVersion: bigint;
  endOfStream: boolean;
}

/** A page of the whole log. */
export interface LogSlice {
  events: RecordedEvent[];
  /** Inclusive start of the next page. */
  nextPosition: Position;
  endOfLog: boolean;
}

/** What is known about one stream. */
export interface StreamInfo {
  exists: boolean;
  version: bigint;
  createdAt: number | null;
  updatedAt: number | null;
}

/** Compares two positions: negative, zero or positive. */
export function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

/** The position of the event at log position n. */
export function positionAt(n: bigint): Position {
  return { commit: n, prepare: n };
}

/** The log position a Position stands for (positions of this store have commit = prepare). */
export function logPosition(p: Position): bigint {
  return p.prepare;
}

/** The least position after p: the inclusive start of a read that continues after p. */
export function positionAfter(p: Position): Position {
  return positionAt(logPosition(p) + 1n);
}
