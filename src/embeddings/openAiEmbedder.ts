import { setTimeout as sleep } from 'node:timers/promises';
import type { Embedder } from './embedder.js';

/** An OpenAI-compatible embeddings endpoint. */
export interface OpenAiEmbedderOptions {
  /** The endpoint, e.g. https://api.openai.com/v1/embeddings (a URL ending in /v1 gets /embeddings added). */
  url: string;
  model: string;
  /** Sent as a bearer token when set. */
  apiKey: string | undefined;
  /** The vectors' dimension: answers of another length are refused. */
  dimensions: number;
  /** Texts per request. */
  batchSize: number;
  /** Per request. */
  timeoutMs: number;
  /** Further attempts after a failure that may pass (network, timeout, 429, 5xx), with backoff from 200 ms. */
  retries: number;
}

/** The endpoint's answer failed, or was not what the API promises. */
export class EmbeddingFailed extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'EmbeddingFailed';
  }
}

/** Embeds through POST /v1/embeddings, in batches, each with a timeout and retried with backoff. */
export function createOpenAiEmbedder(options: OpenAiEmbedderOptions): Embedder {
  const url = /\/v1\/?$/.test(options.url) ? `${options.url.replace(/\/$/, '')}/embeddings` : options.url;
  return {
    name: `openai:${options.model}`,
    dimensions: options.dimensions,
    async embed(texts, signal) {
      const vectors: number[][] = [];
      for (let start = 0; start < texts.length; start += options.batchSize) {
        vectors.push(...(await withRetries(texts.slice(start, start + options.batchSize), signal)));
      }
      return vectors;
    },
  };

  async function withRetries(batch: string[], signal: AbortSignal | undefined): Promise<number[][]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await request(batch, signal);
      } catch (error) {
        const retryable = !(error instanceof EmbeddingFailed) || error.retryable;
        if (!retryable || attempt >= options.retries || signal?.aborted) throw error;
        await sleep(200 * 2 ** attempt, undefined, { signal });
      }
    }
  }

  async function request(batch: string[], signal: AbortSignal | undefined): Promise<number[][]> {
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ model: options.model, input: batch, encoding_format: 'float' }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      const why = timeout.aborted ? `no answer within ${options.timeoutMs} ms` : (error as Error).message;
      throw new EmbeddingFailed(`embeddings endpoint ${url}: ${why}`, true);
    }
    if (!response.ok) {
      const body = (await response.text().catch(() => '')).slice(0, 200);
      const retryable = response.status === 429 || response.status >= 500;
      throw new EmbeddingFailed(`embeddings endpoint ${url} answered ${response.status}: ${body}`, retryable);
    }
    const answer = (await response.json().catch(() => undefined)) as { data?: { index?: number; embedding?: unknown }[] } | undefined;
    const data = answer?.data;
    if (!Array.isArray(data) || data.length !== batch.length)
      throw new EmbeddingFailed(`embeddings endpoint ${url}: expected ${batch.length} embeddings in data`, false);
    const vectors = new Array<number[]>(batch.length);
    data.forEach((item, i) => {
      const vector = item.embedding;
      if (!Array.isArray(vector) || vector.length !== options.dimensions || !vector.every((x) => typeof x === 'number'))
        throw new EmbeddingFailed(`embeddings endpoint ${url}: an embedding is not ${options.dimensions} numbers`, false);
      vectors[item.index ?? i] = vector as number[];
    });
    return vectors;
  }
}
