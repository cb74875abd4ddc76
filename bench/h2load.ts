// h2load (nghttp2's HTTP/2 load generator, Debian's nghttp2-client) as the bench's cheapest load
// generator: written in C, it costs a few µs a call, but sends one fixed body on every call. It
// knows HTTP only: a gRPC error is an HTTP 200 with grpc-status in the trailers, which it counts
// as a success, so callers check what the calls did in the database.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { percentile } from './append.js';
import { grpcFrame } from './wire/h2c.js';

export const H2LOAD = process.env.BENCH_H2LOAD || 'h2load';

export interface H2loadRun {
  /** Base URL of the server (http://host:port). */
  url: string;
  /** gRPC method path. */
  path: string;
  /** The protobuf request message, sent on every call. */
  message: Uint8Array;
  /** Total calls (-n). */
  requests: number;
  /** Connections (-c), one call in flight on each (-m 1). */
  connections: number;
  headers?: Record<string, string>;
}

export interface H2loadResult {
  requests: number;
  /** Calls answered with HTTP 2xx (gRPC errors included: see the top of the file). */
  succeeded: number;
  failed: number;
  /** h2load's own elapsed time, seconds. */
  seconds: number;
  /** Per-call latencies, milliseconds, sorted. */
  latencies: number[];
}

/** Runs one h2load process to completion. */
export async function h2load(run: H2loadRun): Promise<H2loadResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'auren-h2load-'));
  try {
    const body = path.join(dir, 'body');
    const log = path.join(dir, 'log');
    writeFileSync(body, grpcFrame(run.message));
    const args = [
      '-n',
      String(run.requests),
      '-c',
      String(run.connections),
      '-m',
      '1',
      '-d',
      body,
      '-H',
      'content-type: application/grpc',
      '-H',
      'te: trailers',
      ...Object.entries(run.headers ?? {}).flatMap(([name, value]) => ['-H', `${name}: ${value}`]),
      `--log-file=${log}`,
      `${run.url}${run.path}`,
    ];
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(H2LOAD, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.once('error', reject);
      // 'close', not 'exit': the process may exit before its output has all been read.
      child.once('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`${H2LOAD} exited with ${code}:\n${text}`))));
    });
    const finished = /finished in ([\d.]+)(ms|s),/.exec(output);
    const counts = /requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed/.exec(output);
    if (!finished || !counts) throw new Error(`cannot read h2load's output:\n${output}`);
    const latencies = readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('\t'))
      .filter((cols) => cols[1] !== '-1')
      .map((cols) => Number(cols[2]) / 1000)
      .sort((a, b) => a - b);
    return {
      requests: Number(counts[1]),
      succeeded: Number(counts[2]),
      failed: Number(counts[3]),
      seconds: Number(finished[1]) / (finished[2] === 'ms' ? 1000 : 1),
      latencies,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Several h2load processes at once (e.g. one per stream); rate over the longest of them. */
export async function h2loadAll(runs: H2loadRun[]): Promise<H2loadResult> {
  const results = await Promise.all(runs.map(h2load));
  return {
    requests: results.reduce((n, r) => n + r.requests, 0),
    succeeded: results.reduce((n, r) => n + r.succeeded, 0),
    failed: results.reduce((n, r) => n + r.failed, 0),
    seconds: Math.max(...results.map((r) => r.seconds)),
    latencies: results.flatMap((r) => r.latencies).sort((a, b) => a - b),
  };
}

export const p = (r: H2loadResult, q: number) => percentile(r.latencies, q);
