import assert from 'node:assert/strict';
import type { DescMethod } from '@bufbuild/protobuf';
import pg from 'pg';
import { EventStoreService } from '../../src/gen/auren/v1/events_pb.js';
import { MemoryService } from '../../src/gen/auren/v1/memory_pb.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { PROTOCOLS, rawClient } from '../support/wire.js';
import type { Outcome, Protocol } from '../support/wire.js';

// A sweep of bad input through every RPC, on every protocol of both listeners: bytes that are
// not protobuf, JSON no encoder would write (deep, huge, NUL, lone surrogates, numbers past
// every range). Whatever arrives: never INTERNAL or UNKNOWN, the service keeps serving, and a
// call that fails writes nothing. Random inputs come from a seeded generator: a failure names
// its seed, and SWEEP_SEED=<seed> replays it.

const METHODS: DescMethod[] = [...EventStoreService.methods, ...MemoryService.methods];
const BINARY: Protocol[] = PROTOCOLS.filter((p) => p !== 'connect+json');
const MESSAGE_MAX_BYTES = 65_536;
const RANDOM_BODIES_PER_METHOD = 6;
const STREAM_DEADLINE_MS = 300;
const NEVER = new Set(['INTERNAL', 'UNKNOWN']);

// mulberry32: a small seeded generator, enough to make random bodies reproducible.
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBody(next: () => number): Buffer {
  const bytes = Buffer.alloc(1 + Math.floor(next() * 96));
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(next() * 256);
  return bytes;
}

/** Field 1 as a length-delimited message, nested `levels` deep: past every decoder's recursion limit. */
function nestedBinary(levels: number): Buffer {
  let inner = Buffer.alloc(0);
  for (let i = 0; i < levels; i++) inner = Buffer.concat([Buffer.from([0x0a]), varint(inner.length), inner]);
  return inner;
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

// Values no JSON encoder of these messages writes, placed in each field in turn.
const EVIL_JSON_VALUES: [name: string, json: string][] = [
  ['an array nested 100,000 deep', `${'['.repeat(100_000)}${']'.repeat(100_000)}`],
  ['an object nested 500 deep', `${'{"a":'.repeat(500)}1${'}'.repeat(500)}`],
  ['NUL', '"a\\u0000b"'],
  ['a lone surrogate', '"\\ud800"'],
  ['1e400', '1e400'],
  ['2^64', '18446744073709551616'],
  ['-2^63-1', '-9223372036854775809'],
  ['a string larger than a message', JSON.stringify('x'.repeat(MESSAGE_MAX_BYTES + 1))],
];
const BAD_JSON_BODIES: [name: string, body: string][] = [
  ['not JSON', '{"streamId": '],
  ['an array', '[]'],
  ['null', 'null'],
  ['a string', '"x"'],
  ['"__proto__" as a key', '{"__proto__": {"polluted": true}}'],
];

describe('A sweep of bad input through every RPC, protocol and listener', function () {
  this.timeout(120_000);
  const seed = Number(process.env.SWEEP_SEED ?? Date.now() % 1_000_000);
  let t: TestApp;
  let db: pg.Client;
  let client: ReturnType<typeof rawClient>;
  const tried = new Map<string, number>();
  const written = async () =>
    (await db.query<{ n: string }>('select (select count(*) from events) + (select count(*) from memories) as n')).rows[0]!.n;

  before(async () => {
    t = await startTestApp({ MESSAGE_MAX_BYTES: String(MESSAGE_MAX_BYTES) });
    client = rawClient({ url: t.app.url, grpcPort: t.app.grpcPort, authorization: t.authorization });
    db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
  });
  after(async () => {
    if (process.env.RELIABILITY_REPORT) console.log(`reliability ${JSON.stringify({ sweep: Object.fromEntries(tried), seed })}`);
    client.close();
    await db.end();
    await t.stop();
  });

  // Sends one bad input; asserts the answer's code and that a failed call wrote nothing.
  async function send(method: DescMethod, protocol: Protocol, body: Uint8Array | string, what: string): Promise<Outcome> {
    const path = `${method.parent.typeName}/${method.name}`;
    const streaming = method.methodKind === 'server_streaming';
    const before = await written();
    const outcome = await client.call(protocol, path, body, streaming, STREAM_DEADLINE_MS);
    tried.set(protocol, (tried.get(protocol) ?? 0) + 1);
    const where = `${path} on ${protocol} with ${what} (SWEEP_SEED=${seed}): ${outcome.code} ${outcome.message}`;
    assert.ok(!NEVER.has(outcome.code) && !outcome.code.startsWith('no status') && !outcome.code.startsWith('HTTP'), where);
    if (outcome.code !== 'OK') assert.equal(await written(), before, `nothing written: ${where}`);
    return outcome;
  }

  it('random bytes as protobuf: every method, every binary protocol', async () => {
    const next = generator(seed);
    const codes = new Map<string, number>();
    for (const method of METHODS) {
      for (let i = 0; i < RANDOM_BODIES_PER_METHOD; i++) {
        const body = randomBody(next);
        for (const protocol of BINARY) {
          const { code } = await send(method, protocol, body, `random bytes ${body.toString('hex')}`);
          codes.set(code, (codes.get(code) ?? 0) + 1);
        }
      }
    }
    // Random bytes are almost never a valid request: the sweep must have met the refusal.
    assert.ok((codes.get('INVALID_ARGUMENT') ?? 0) > METHODS.length * BINARY.length, JSON.stringify([...codes]));
  });

  it('protobuf nested 10,000 deep: every method, every binary protocol', async () => {
    const body = nestedBinary(10_000);
    for (const method of METHODS) {
      for (const protocol of BINARY) {
        await send(method, protocol, body, 'a message nested 10,000 deep');
      }
    }
  });

  it('JSON no encoder writes, in every field of every method', async () => {
    for (const method of METHODS) {
      for (const [name, body] of BAD_JSON_BODIES) await send(method, 'connect+json', body, name);
      for (const field of method.input.fields) {
        for (const [name, value] of EVIL_JSON_VALUES) {
          const { code } = await send(method, 'connect+json', `{"${field.jsonName}": ${value}}`, `${name} in ${field.jsonName}`);
          assert.notEqual(code, 'OK', `${method.name}: ${name} in ${field.jsonName} was accepted`);
        }
      }
    }
  });

  it('still serves after the sweep', async () => {
    const appended = await t.events.appendToStream({ streamId: `sweep-${seed}`, events: [{ type: 'after_sweep', data: { ok: true } }] });
    assert.equal(appended.nextExpectedVersion, 1n);
  });
});
