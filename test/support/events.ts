import { randomUUID } from 'node:crypto';
import { Code, ConnectError } from '@connectrpc/connect';
import assert from 'node:assert/strict';
import pg from 'pg';
import { ExpectedVersionKind } from '../../src/gen/auren/v1/events_pb.js';
import type { ExpectedVersion, ProposedEvent } from '../../src/gen/auren/v1/events_pb.js';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ProposedEventSchema, ExpectedVersionSchema } from '../../src/gen/auren/v1/events_pb.js';

/** A proposed event with defaults for what a test does not care about. */
export function proposed(init: Partial<MessageInitShape<typeof ProposedEventSchema>> = {}): MessageInitShape<typeof ProposedEventSchema> {
  return { type: 'test_event', data: { n: 1 }, ...init } as MessageInitShape<typeof ProposedEventSchema>;
}

/** A stream id no other test uses. */
export function freshStream(prefix = 'test'): string {
  return `${prefix}-${randomUUID()}`;
}

export const any: MessageInitShape<typeof ExpectedVersionSchema> = { kind: ExpectedVersionKind.ANY };
export const noStream: MessageInitShape<typeof ExpectedVersionSchema> = { kind: ExpectedVersionKind.NO_STREAM };
export const streamExists: MessageInitShape<typeof ExpectedVersionSchema> = { kind: ExpectedVersionKind.STREAM_EXISTS };
/** Expect the stream at exactly this version. */
export const exact = (version: bigint | number): MessageInitShape<typeof ExpectedVersionSchema> => ({
  kind: ExpectedVersionKind.EXACT,
  version: BigInt(version),
});

/** Asserts that a call fails with the given code and a message matching `message`. */
export async function rejectsWith(call: Promise<unknown>, code: Code, message?: RegExp): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    const e = ConnectError.from(error);
    assert.equal(Code[e.code], Code[code], `expected ${Code[code]}, got ${Code[e.code]}: ${e.rawMessage}`);
    if (message) assert.match(e.rawMessage, message);
    return e;
  }
  assert.fail(`expected the call to fail with ${Code[code]}`);
}

export type { ExpectedVersion, ProposedEvent };

/** An appending transaction held open on a connection of its own (see holdAppends). */
export interface HeldAppends {
  /** Sessions of the database waiting for a lock: appends queued behind the held one. */
  waiters(): Promise<number>;
  /** Commits the held transaction; the appends behind it go on. */
  release(): Promise<void>;
}

/**
 * Opens a transaction that appends through append_to_stream() and holds it open: it keeps the
 * log's counter locked, so every other append waits until release().
 */
export async function holdAppends(databaseUrl: string): Promise<HeldAppends> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query('begin');
  await client.query(`select * from append_to_stream($1, 'any', 0, $2::jsonb)`, [
    freshStream('held'),
    JSON.stringify([{ event_id: randomUUID(), type: 'held', data: {}, metadata: {} }]),
  ]);
  return {
    async waiters() {
      const { rows } = await client.query(`select count(*)::int as n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()`);
      return rows[0].n as number;
    },
    async release() {
      await client.query('commit');
      await client.end();
    },
  };
}

/** Waits until `check` holds, polling every 20 ms; fails naming `what` after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A transaction that appended and stays open: it holds the log's counter, so every other append waits. */
export interface HeldAppend {
  /** Commits it: the waiting appends go on. */
  commit(): Promise<void>;
  /** Closes its connection (rolling back if not committed). */
  end(): Promise<void>;
}

/** Opens a transaction on `databaseUrl` that appends one event and stays open. */
export async function holdLogCounter(databaseUrl: string): Promise<HeldAppend> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query('begin');
  await client.query(`select * from append_to_stream($1, 'any', 0, $2::jsonb)`, [
    `blocker-${randomUUID()}`,
    JSON.stringify([{ event_id: randomUUID(), type: 'held', data: {}, metadata: {} }]),
  ]);
  return {
    commit: async () => void (await client.query('commit')),
    end: () => client.end(),
  };
}
