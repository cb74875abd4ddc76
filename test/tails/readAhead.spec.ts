import assert from 'node:assert/strict';
import { positionAt } from '../../src/events/types.js';
import type { EventPage, RecordedEvent } from '../../src/events/types.js';
import { readAhead } from '../../src/tails/subscriptions.js';

// A log of 10 events at versions 1..10, read in pages of 3: what readAhead asks for, and what
// each call answers.
function log() {
  const reads: bigint[] = [];
  const event = (v: bigint): RecordedEvent => ({
    eventId: `e${v}`,
    streamId: 's',
    version: v,
    type: 't',
    data: {},
    metadata: {},
    correlationId: null,
    causationId: null,
    position: positionAt(v),
    createdAt: 0,
  });
  const read = async (from: bigint): Promise<EventPage> => {
    reads.push(from);
    const events: RecordedEvent[] = [];
    for (let v = from; v <= 10n && events.length < 3; v++) events.push(event(v));
    return { events, more: events.length === 3 && from + 3n <= 10n };
  };
  return { reads, history: readAhead(read, (last) => last.version + 1n) };
}

const versions = (page: EventPage) => page.events.map((e) => e.version);

describe('readAhead (pages of history read one ahead)', () => {
  it('answers each page from the read started after the one before, and starts none after the last', async () => {
    const { reads, history } = log();
    assert.deepEqual(versions(await history.page(1n)), [1n, 2n, 3n]);
    assert.deepEqual(reads, [1n, 4n], 'the next page is read at once');
    assert.deepEqual(versions(await history.page(4n)), [4n, 5n, 6n]);
    assert.deepEqual(versions(await history.page(7n)), [7n, 8n, 9n]);
    assert.deepEqual(versions(await history.page(10n)), [10n]);
    assert.deepEqual(reads, [1n, 4n, 7n, 10n], 'each page read once; nothing after a page that is not full');
  });

  it('drops a page read ahead for another place: a call for a different page reads that one', async () => {
    const { reads, history } = log();
    await history.page(1n); // reads 4 ahead
    assert.deepEqual(versions(await history.page(7n)), [7n, 8n, 9n]);
    assert.deepEqual(reads, [1n, 4n, 7n, 10n]);
    assert.deepEqual(versions(await history.page(4n)), [4n, 5n, 6n], 'the page ahead (10) is not taken for 4');
  });
});
