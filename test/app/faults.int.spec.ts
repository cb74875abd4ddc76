import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import type { Interceptor } from '@connectrpc/connect';
import type { Client } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import pg from 'pg';
import { EventStoreService } from '../../src/gen/auren/v1/events_pb.js';
import { createTestDatabase } from '../support/database.js';
import { startAuren } from '../support/auren.js';
import { TEST_SECRET } from '../support/app.js';
import type { RunningAuren } from '../support/auren.js';
import { exact, noStream } from '../support/events.js';

// Faults under load, counting every event: eight writers append one event per call, each to
// its own stream with an exact expected version, while the service is stopped by SIGTERM or
// killed by SIGKILL. Each line of "reliability" output is a row of BENCHMARKS.md's table.

const WRITERS = 8;
const LOAD_MS = 1_500;

type Events = Client<typeof EventStoreService>;

/** What the writers were told, by event id. */
interface Ledger {
  acked: Map<string, { streamId: string; version: bigint }>;
  /** Calls that failed and were not retried, with their codes. */
  failed: Map<string, string>;
}

// Every call sends the admin key the database's first start made (test/support/auren.ts).
function clientOf(target: { url: string; grpcPort: number }, listener: 'PORT' | 'GRPC_PORT', key: string | undefined): Events {
  const baseUrl = listener === 'PORT' ? target.url : `http://127.0.0.1:${target.grpcPort}`;
  const authorization: Interceptor = (next) => (request) => {
    request.header.set('authorization', `Bearer ${key ?? ''}`);
    return next(request);
  };
  return createClient(EventStoreService, createGrpcTransport({ baseUrl, interceptors: [authorization] }));
}

/**
 * Appends to `streamId` until `stop()`: one event per call, each expecting the version the
 * last answer gave. With `retry`, a failed call is sent again as it was (same event id, same
 * expected version: idempotent) to whatever `client()` is then; without, the first failure ends
 * the writer.
 */
async function writer(client: () => Events, streamId: string, ledger: Ledger, stop: () => boolean, retry: boolean): Promise<void> {
  let version = 0n;
  while (!stop()) {
    // One event, sent again as it was: the same id and the same content make a retry idempotent.
    const eventId = randomUUID();
    const firstTry = Date.now();
    const event = { eventId, type: 'fault_test', data: { at: firstTry } };
    for (;;) {
      try {
        const result = await client().appendToStream(
          {
            streamId,
            expected: version === 0n ? noStream : exact(version),
            events: [event],
          },
          { timeoutMs: 10_000 },
        );
        version = result.nextExpectedVersion;
        ledger.acked.set(eventId, { streamId, version });
        break;
      } catch (error) {
        const failure = ConnectError.from(error);
        // Retried for a minute at most: a call that can never succeed fails the test with its reason, not by a timeout.
        if (!retry || Date.now() - firstTry > 60_000) {
          ledger.failed.set(eventId, `${Code[failure.code]}: ${failure.rawMessage}`);
          return;
        }
        await sleep(50);
      }
    }
  }
}

/** The events the writers' streams hold, by event id, with how many times each is there. */
async function stored(databaseUrl: string, prefix: string): Promise<Map<string, { streamId: string; version: bigint; copies: number }>> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const { rows } = await db.query<{ event_id: string; stream_id: string; version: string }>(
      `select event_id::text, stream_id, version::text from events where stream_id like $1 order by stream_id, version`,
      [`${prefix}%`],
    );
    const out = new Map<string, { streamId: string; version: bigint; copies: number }>();
    for (const row of rows) {
      const seen = out.get(row.event_id);
      if (seen) seen.copies++;
      else out.set(row.event_id, { streamId: row.stream_id, version: BigInt(row.version), copies: 1 });
    }
    // Versions of each stream run 1, 2, 3, ... with no gap.
    const byStream = new Map<string, bigint[]>();
    for (const { streamId, version } of out.values()) byStream.set(streamId, [...(byStream.get(streamId) ?? []), version]);
    for (const [streamId, versions] of byStream) {
      versions.sort((a, b) => (a < b ? -1 : 1));
      versions.forEach((v, i) => assert.equal(v, BigInt(i + 1), `${streamId}: version ${v} at ${i + 1}`));
    }
    return out;
  } finally {
    await db.end();
  }
}

function report(row: Record<string, string | number>): void {
  if (process.env.RELIABILITY_REPORT) console.log(`reliability ${JSON.stringify(row)}`);
}

describe('Faults under load: every acknowledged event stored exactly once', function () {
  this.timeout(240_000);

  for (const listener of ['GRPC_PORT', 'PORT'] as const) {
    it(`SIGTERM under ${WRITERS} writers on ${listener}: each call succeeds with its event stored, or fails with nothing stored; tails end UNAVAILABLE`, async () => {
      const databaseUrl = await createTestDatabase();
      const env = { DATABASE_URL: databaseUrl, AUREN_SECRET: TEST_SECRET, LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: '5000' };
      let auren: RunningAuren | undefined = await startAuren({ env });
      const key = auren.firstAdminKey;
      try {
        const client = clientOf(auren, listener, key);
        const prefix = `sigterm-${randomUUID().slice(0, 8)}-`;
        const ledger: Ledger = { acked: new Map(), failed: new Map() };
        const writers = Array.from({ length: WRITERS }, (_, i) =>
          writer(
            () => client,
            `${prefix}${i}`,
            ledger,
            () => false,
            false,
          ),
        );
        // A live tail: it must end with a status, not a broken connection.
        const tailEnded = (async () => {
          try {
            for await (const _ of client.subscribeToAll({ from: { case: 'end', value: {} } })) void _;
            return 'OK';
          } catch (error) {
            return Code[ConnectError.from(error).code];
          }
        })();
        await sleep(LOAD_MS);
        const exit = await auren.stop('SIGTERM');
        auren = undefined;
        await Promise.all(writers);
        assert.equal(exit.code, 0, exit.stderr);
        assert.equal(await tailEnded, 'Unavailable');

        const inLog = await stored(databaseUrl, prefix);
        const lost = [...ledger.acked.keys()].filter((id) => !inLog.has(id));
        const duplicated = [...inLog.values()].filter((e) => e.copies > 1);
        const failedButStored = [...ledger.failed.keys()].filter((id) => inLog.has(id));
        report({
          fault: `SIGTERM, ${WRITERS} writers, ${listener}`,
          acknowledged: ledger.acked.size,
          failed: ledger.failed.size,
          failedCodes: [...new Set([...ledger.failed.values()].map((f) => f.split(':')[0]))].join(' '),
          lost: lost.length,
          duplicated: duplicated.length,
          failedButStored: failedButStored.length,
        });
        assert.ok(ledger.acked.size > WRITERS, `only ${ledger.acked.size} appends were acknowledged`);
        assert.deepEqual(lost, [], 'acknowledged events missing');
        assert.deepEqual(duplicated, []);
        assert.deepEqual(failedButStored, [], 'calls told they failed whose events were stored');
        // A call sent as the server stops is refused unprocessed: UNAVAILABLE, or an HTTP/2 stream
        // refused after GOAWAY (REFUSED_STREAM, which connect-es reports as INTERNAL): both safe to retry.
        for (const failure of ledger.failed.values()) assert.match(failure, /^Unavailable|NGHTTP2_REFUSED_STREAM/);

        // It starts again on the same database and serves.
        auren = await startAuren({ env });
        const again = await clientOf(auren, listener, key).appendToStream({
          streamId: `${prefix}after`,
          events: [{ type: 'after_restart' }],
        });
        assert.equal(again.nextExpectedVersion, 1n);
      } finally {
        await auren?.stop('SIGTERM');
      }
    });
  }

  it(`SIGKILL under ${WRITERS} writers with idempotent retries: every acknowledged event present exactly once`, async () => {
    const databaseUrl = await createTestDatabase();
    const env = { DATABASE_URL: databaseUrl, AUREN_SECRET: TEST_SECRET, LOG_LEVEL: 'info' };
    let auren: RunningAuren | undefined = await startAuren({ env });
    const key = auren.firstAdminKey;
    let client = clientOf(auren, 'GRPC_PORT', key);
    try {
      const prefix = `sigkill-${randomUUID().slice(0, 8)}-`;
      const ledger: Ledger = { acked: new Map(), failed: new Map() };
      let stopping = false;
      const writers = Array.from({ length: WRITERS }, (_, i) =>
        writer(
          () => client,
          `${prefix}${i}`,
          ledger,
          () => stopping,
          true,
        ),
      );
      await sleep(LOAD_MS);
      const before = ledger.acked.size;
      await auren.stop('SIGKILL');
      auren = await startAuren({ env });
      client = clientOf(auren, 'GRPC_PORT', key);
      await sleep(LOAD_MS);
      stopping = true;
      await Promise.all(writers);

      const inLog = await stored(databaseUrl, prefix);
      const lost = [...ledger.acked.keys()].filter((id) => !inLog.has(id));
      const duplicated = [...inLog.values()].filter((e) => e.copies > 1);
      report({
        fault: `SIGKILL and restart, ${WRITERS} writers retrying, GRPC_PORT`,
        acknowledged: ledger.acked.size,
        beforeKill: before,
        stored: inLog.size,
        lost: lost.length,
        duplicated: duplicated.length,
      });
      assert.deepEqual([...ledger.failed.values()], [], 'calls that failed for a minute of retries');
      assert.ok(ledger.acked.size > before, 'the writers went on after the restart');
      assert.deepEqual(lost, []);
      assert.deepEqual(duplicated, []);
      // Every call was retried until acknowledged: the log holds exactly what was acknowledged.
      assert.equal(inLog.size, ledger.acked.size);
    } finally {
      await auren?.stop('SIGTERM');
    }
  });
});
