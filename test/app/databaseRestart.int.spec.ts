import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Code, ConnectError } from '@connectrpc/connect';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';
import type { EmbeddedDatabase } from '../../src/db/embedded.js';
import type { Position } from '../../src/gen/auren/v1/events_pb.js';
import { createLogger } from '../../src/log.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { embeddedLeftovers } from '../support/embedded.js';
import { exact, noStream } from '../support/events.js';

// PostgreSQL restarted under load — a server this test starts itself, not the machine's shared
// one: the service recovers without a restart of its own, writers that retry (same event id,
// same expected version) get every event stored exactly once, a tail that resumes from its last
// position and a durable consumer each see every event once, in order.

const WRITERS = 8;

describe('PostgreSQL restarted under load', function () {
  this.timeout(300_000);
  const leftovers = embeddedLeftovers();
  let dataDir: string;
  let database: EmbeddedDatabase | undefined;
  let t: TestApp | undefined;

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'auren-pg-restart-'));
  });
  after(async () => {
    await t?.stop();
    await database?.stop();
    await leftovers.removeDataFolder(dataDir);
    await leftovers.removeSystemFolder();
  });

  it('recovers by itself; nothing acknowledged is lost or duplicated; tails and consumers go on', async () => {
    const log = createLogger('silent');
    database = await startEmbeddedPostgres({ dataDir, port: 0, database: 'auren' }, log);
    const port = Number(new URL(database.url).port);
    t = await startTestApp({ DATABASE_URL: database.url, TAIL_POLL_MS: '100', DB_STARTUP_TIMEOUT_MS: '1000' }, 'GRPC_PORT');
    const app = t;

    // A durable consumer and a live tail, from the start of the log.
    const consumed: string[] = [];
    const consumer = app.app.startConsumer({
      name: 'restart-check',
      lockRetryMs: 100,
      handle: (event) => void consumed.push(event.eventId),
    });
    const tailed: string[] = [];
    let tailResumes = 0;
    let stopTail = false;
    const tail = (async () => {
      let after: Position | undefined;
      while (!stopTail) {
        const controller = new AbortController();
        const stopper = setInterval(() => stopTail && controller.abort(), 50);
        try {
          const from = after ? { case: 'position' as const, value: after } : { case: 'start' as const, value: {} };
          for await (const response of app.events.subscribeToAll({ from }, { signal: controller.signal })) {
            if (response.message.case === 'event') {
              tailed.push(response.message.value.eventId);
              after = response.message.value.position;
            }
          }
        } catch (error) {
          if (stopTail) break;
          tailResumes++;
          await sleep(100);
        } finally {
          clearInterval(stopper);
        }
      }
    })();

    const acked: string[] = [];
    const failures = new Map<string, number>();
    let stopping = false;
    const writers = Array.from({ length: WRITERS }, async (_, i) => {
      const streamId = `restart-${randomUUID().slice(0, 8)}-${i}`;
      let version = 0n;
      while (!stopping) {
        const eventId = randomUUID();
        for (;;) {
          try {
            const result = await app.events.appendToStream(
              { streamId, expected: version === 0n ? noStream : exact(version), events: [{ eventId, type: 'restart_test' }] },
              { timeoutMs: 10_000 },
            );
            version = result.nextExpectedVersion;
            acked.push(eventId);
            break;
          } catch (error) {
            const code = Code[ConnectError.from(error).code] ?? 'unknown';
            failures.set(code, (failures.get(code) ?? 0) + 1);
            await sleep(100);
          }
        }
      }
    });

    await sleep(1_500);
    const beforeRestart = acked.length;
    await database.stop();
    await sleep(1_000);
    database = await startEmbeddedPostgres({ dataDir, port, database: 'auren' }, log);
    const restartedAt = acked.length;
    await sleep(3_000);
    stopping = true;
    await Promise.all(writers);
    assert.ok(acked.length > restartedAt, `no append succeeded after the restart (${acked.length} in all)`);

    // Every acknowledged event reaches the tail and the consumer, once each, in log order.
    const deadline = Date.now() + 30_000;
    while ((tailed.length < acked.length || consumed.length < acked.length) && Date.now() < deadline) await sleep(100);
    stopTail = true;
    await tail;
    await consumer.stop();

    const stored: string[] = [];
    for (let fromPosition: Position | undefined; ; ) {
      const page = await app.events.readAll({ fromPosition, limit: 1000 });
      stored.push(...page.events.map((e) => e.eventId));
      if (page.endOfLog) break;
      fromPosition = page.nextPosition;
    }
    const missing = acked.filter((id) => !stored.includes(id));
    assert.deepEqual(missing, [], 'acknowledged events missing from the log');
    assert.equal(new Set(stored).size, stored.length, 'an event is in the log twice');
    assert.equal(stored.length, acked.length, 'the log holds exactly what was acknowledged');
    assert.deepEqual(tailed, stored, 'the tail saw the log, once, in order');
    const consumerMissing = stored.filter((id) => !consumed.includes(id)).length;
    const consumerRepeats = consumed.length - new Set(consumed).size;
    assert.deepEqual(
      {
        consumerMissing,
        consumerRepeats,
        inOrder: consumerRepeats === 0 && consumerMissing === 0 && consumed.every((id, i) => id === stored[i]),
      },
      { consumerMissing: 0, consumerRepeats: 0, inOrder: true },
      'the consumer saw the log, once, in order',
    );
    if (process.env.RELIABILITY_REPORT) {
      console.log(
        `reliability ${JSON.stringify({
          fault: `PostgreSQL stopped 1 s and restarted, ${WRITERS} writers retrying`,
          acknowledged: acked.length,
          beforeRestart,
          failedAttempts: Object.fromEntries(failures),
          tailResumes,
          lost: missing.length,
          duplicated: stored.length - new Set(stored).size,
        })}`,
      );
    }
  });
});
