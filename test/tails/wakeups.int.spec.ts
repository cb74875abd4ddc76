import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Event } from '../../src/gen/auren/v1/events_pb.js';
import { CHANNEL, LISTENER_NAME } from '../../src/tails/wakeups.js';
import { describeOnEachListener, startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { freshStream, proposed } from '../support/events.js';

describeOnEachListener('Wake-ups across replicas', (listener) => {
  let writer: TestApp;
  let reader: TestApp;
  before(async () => {
    writer = await startTestApp({}, listener);
    // The reader polls only once a minute: an event must reach it through NOTIFY.
    reader = await startTestApp({ DATABASE_URL: writer.databaseUrl, TAIL_POLL_MS: '60000' }, listener);
  });
  after(async () => {
    await reader.stop();
    await writer.stop();
  });

  async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) assert.fail(`${what} not within ${timeoutMs} ms`);
      await sleep(10);
    }
  }

  function tail(app: TestApp) {
    const controller = new AbortController();
    const state = { events: [] as Event[], caughtUp: false, stop: () => controller.abort() };
    void (async () => {
      try {
        for await (const r of app.events.subscribeToAll({ from: { case: 'end', value: {} } }, { signal: controller.signal })) {
          if (r.message.case === 'event') state.events.push(r.message.value);
          if (r.message.case === 'caughtUp') state.caughtUp = true;
        }
      } catch {
        // cancelled
      }
    })();
    return state;
  }

  it('a tail on one replica sees an append made through another at once, by NOTIFY', async () => {
    const t = tail(reader);
    await until(() => t.caughtUp, 5_000, 'caught up');
    const streamId = freshStream('cross');
    await writer.events.appendToStream({ streamId, events: [proposed()] });
    await until(() => t.events.some((e) => e.streamId === streamId), 5_000, 'the event on the other replica');
    t.stop();
  });

  it("wakes the other replica from the appending transaction's own commit, not by a NOTIFY sent after it", async () => {
    const listener = new pg.Client({ connectionString: writer.databaseUrl });
    await listener.connect();
    try {
      const notifications: { processId: number; payload: string | undefined }[] = [];
      listener.on('notification', (n) => notifications.push({ processId: n.processId, payload: n.payload }));
      await listener.query(`listen ${CHANNEL}`);
      await until(() => reader.app.wakeups.listening() && writer.app.wakeups.listening(), 5_000, 'listening');
      const streamId = freshStream('in-commit');
      await writer.events.appendToStream({ streamId, events: [proposed()] });
      await until(() => notifications.length > 0, 5_000, 'a notification');
      const listeners = (
        await listener.query(`select pid from pg_stat_activity where datname = current_database() and application_name = $1`, [
          LISTENER_NAME,
        ])
      ).rows.map((r) => r.pid as number);
      const [first] = notifications;
      assert.ok(!listeners.includes(first!.processId), 'sent by the connection that appended, not by a LISTEN connection');
      assert.ok(first!.payload, 'the payload names the writer, which ignores its own notifications');
    } finally {
      await listener.end();
    }
  });

  it('never fails an append for its NOTIFY: a batch whose NOTIFY fails goes again without it, and the wake-up is sent apart', async () => {
    const t = tail(reader);
    await until(() => t.caughtUp, 5_000, 'caught up');
    await until(() => reader.app.wakeups.listening() && writer.app.wakeups.listening(), 5_000, 'listening');
    // A payload PostgreSQL refuses (over 8,000 bytes), as a full notification queue would refuse the commit.
    const notification = writer.app.wakeups.notification;
    let asked = 0;
    writer.app.wakeups.notification = () => {
      asked++;
      return { channel: CHANNEL, payload: 'x'.repeat(8_001) };
    };
    try {
      const streamId = freshStream('notify-fails');
      const appended = await writer.events.appendToStream({ streamId, events: [proposed(), proposed()] });
      assert.equal(appended.nextExpectedVersion, 2n);
      assert.equal(asked, 1, 'asked once; the batch went again without it');
      await until(() => t.events.some((e) => e.streamId === streamId), 5_000, 'the event on the other replica');
      // For a while after, batches carry no NOTIFY at all.
      await writer.events.appendToStream({ streamId, events: [proposed()] });
      assert.equal(asked, 1);
    } finally {
      writer.app.wakeups.notification = notification;
      t.stop();
    }
  });

  it('uses one LISTEN connection per process, and reconnects when it is dropped', async () => {
    const admin = new pg.Client({ connectionString: writer.databaseUrl });
    await admin.connect();
    try {
      const listeners = async () =>
        (
          await admin.query(`select pid from pg_stat_activity where datname = current_database() and application_name = $1`, [
            LISTENER_NAME,
          ])
        ).rows.map((r) => r.pid as number);
      await until(() => reader.app.wakeups.listening() && writer.app.wakeups.listening(), 5_000, 'listening');
      assert.equal((await listeners()).length, 2, 'one per process, whatever the number of tails');
      const t = tail(reader);
      const u = tail(reader);
      await until(() => t.caughtUp && u.caughtUp, 5_000, 'caught up');
      assert.equal((await listeners()).length, 2);

      await admin.query(
        `select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = $1`,
        [LISTENER_NAME],
      );
      await until(() => !reader.app.wakeups.listening(), 5_000, 'the reader notices');
      await until(() => reader.app.wakeups.listening(), 10_000, 'the reader listens again');
      await until(() => writer.app.wakeups.listening(), 10_000, 'the writer listens again');
      const streamId = freshStream('after-drop');
      await writer.events.appendToStream({ streamId, events: [proposed()] });
      await until(
        () => t.events.some((e) => e.streamId === streamId) && u.events.some((e) => e.streamId === streamId),
        5_000,
        'events after the reconnect',
      );
      t.stop();
      u.stop();
    } finally {
      await admin.end();
    }
  });
});
