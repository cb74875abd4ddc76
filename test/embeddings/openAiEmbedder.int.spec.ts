import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createOpenAiEmbedder, EmbeddingFailed } from '../../src/embeddings/openAiEmbedder.js';
import type { OpenAiEmbedderOptions } from '../../src/embeddings/openAiEmbedder.js';
import { MemoryType, SearchMode } from '../../src/gen/auren/v1/memory_pb.js';
import { startTestApp } from '../support/app.js';
import { startTestChroma } from '../support/chroma.js';
import { chromaCaughtUp } from '../support/projections.js';

const DIMENSIONS = 8;

// A vector that says which of a few topics a text is about: enough meaning for a search to find.
const TOPICS = [/sleep|slept|night|bed/i, /coffee|caffeine/i, /run|ran|jog/i, /stress|anxious/i];
function topicVector(text: string): number[] {
  const vector: number[] = TOPICS.map((topic) => (topic.test(text) ? 1 : 0));
  while (vector.length < DIMENSIONS) vector.push(0.01);
  return vector;
}

type Behaviour = 'ok' | 'unavailable' | 'bad_request' | 'hang' | 'short';

/** A small server that speaks POST /v1/embeddings as OpenAI documents it; each request takes the next behaviour (default ok). */
async function startEmbeddingsServer() {
  const requests: { authorization: string | undefined; body: { model: string; input: string[] } }[] = [];
  const behaviours: Behaviour[] = [];
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    request.on('end', () => {
      if (request.method !== 'POST' || request.url !== '/v1/embeddings') {
        response.writeHead(404).end();
        return;
      }
      const body = JSON.parse(raw) as { model: string; input: string[] };
      requests.push({ authorization: request.headers.authorization, body });
      const behaviour = behaviours.shift() ?? 'ok';
      if (behaviour === 'hang') return; // never answers
      if (behaviour === 'unavailable') return void response.writeHead(503).end('{"error":{"message":"overloaded"}}');
      if (behaviour === 'bad_request') return void response.writeHead(400).end('{"error":{"message":"bad model"}}');
      // Answered out of order, by index, as the API allows.
      const data = body.input
        .map((text, index) => ({ object: 'embedding', index, embedding: behaviour === 'short' ? [1, 2] : topicVector(text) }))
        .reverse();
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ object: 'list', data, model: body.model, usage: { prompt_tokens: 1, total_tokens: 1 } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    behaviours,
    stop: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

describe('OpenAI-compatible embedder', function () {
  this.timeout(60_000);
  let server: Awaited<ReturnType<typeof startEmbeddingsServer>>;
  let options: OpenAiEmbedderOptions;
  beforeEach(async () => {
    server = await startEmbeddingsServer();
    options = { url: server.url, model: 'test-embed', apiKey: 'sk-test', dimensions: DIMENSIONS, batchSize: 2, timeoutMs: 300, retries: 2 };
  });
  afterEach(() => server.stop());

  it('sends batches with the model and key, and puts each answer back in its text’s place', async () => {
    const texts = ['slept badly', 'coffee', 'ran 5k', 'anxious', 'bed at 11'];
    const vectors = await createOpenAiEmbedder(options).embed(texts);
    assert.deepEqual(vectors, texts.map(topicVector));
    assert.deepEqual(
      server.requests.map((r) => r.body.input),
      [['slept badly', 'coffee'], ['ran 5k', 'anxious'], ['bed at 11']],
    );
    assert.ok(server.requests.every((r) => r.authorization === 'Bearer sk-test' && r.body.model === 'test-embed'));
  });

  it('retries an overloaded endpoint and a request that times out, with backoff', async () => {
    server.behaviours.push('unavailable', 'hang');
    assert.deepEqual(await createOpenAiEmbedder(options).embed(['coffee']), [topicVector('coffee')]);
    assert.equal(server.requests.length, 3);
  });

  it('gives up after its retries, and at once on a refusal or an answer of the wrong dimension', async () => {
    server.behaviours.push('unavailable', 'unavailable', 'unavailable');
    await assert.rejects(createOpenAiEmbedder(options).embed(['x']), (e: unknown) => e instanceof EmbeddingFailed && /503/.test(e.message));
    assert.equal(server.requests.length, 3);
    server.behaviours.push('bad_request');
    await assert.rejects(createOpenAiEmbedder(options).embed(['x']), (e: unknown) => e instanceof EmbeddingFailed && /400/.test(e.message));
    assert.equal(server.requests.length, 4);
    server.behaviours.push('short');
    await assert.rejects(createOpenAiEmbedder(options).embed(['x']), /not 8 numbers/);
    assert.equal(server.requests.length, 5);
  });

  it('embeds memories and queries for the Chroma projection and semantic search', async () => {
    const chroma = await startTestChroma();
    const t = await startTestApp({
      CHROMA_URL: chroma.url,
      EMBEDDINGS: 'openai',
      EMBEDDINGS_URL: server.url,
      EMBEDDINGS_MODEL: 'test-embed',
      EMBEDDINGS_API_KEY: 'sk-test',
      EMBEDDINGS_DIMENSIONS: String(DIMENSIONS),
    });
    try {
      const userId = `u-${randomUUID()}`;
      const as = { headers: { 'x-auren-agent': 'coach' } };
      const store = async (text: string) =>
        (await t.memory.storeMemory({ agentId: 'coach', userId, type: MemoryType.FACT, content: { text } }, as)).memory!;
      await store('Drinks three cups of coffee before noon');
      const night = await store('Slept badly, woke up four times during the night');
      await chromaCaughtUp(t);
      const { results } = await t.memory.searchMemories({ query: 'bed', userId, mode: SearchMode.SEMANTIC }, as);
      assert.equal(results[0]!.memory!.id, night.id);
      assert.ok(server.requests.some((r) => r.body.input.includes('bed')));
    } finally {
      await t.stop();
      await chroma.stop();
    }
  });
});
