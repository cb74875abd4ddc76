import { Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Interceptor } from 'slonik';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Span, Tracer } from '@opentelemetry/api';
import type { Logger } from '../log.js';

/** Options of the query interceptor. */
export interface QueryMetricsOptions {
  registry: Registry;
  log: Logger;
  /** A statement that takes this long or longer is logged (warn), with its name and SQL text, never its values. */
  slowQueryMs: number;
  /** When tracing is on: a span per statement. */
  tracer?: Tracer | undefined;
}

/**
 * A slonik interceptor timing every statement by its name (`auren_db_query_seconds{query}`)
 * and logging slow ones: what the seed read from `pg_stat_statements`, measured where the
 * service waits for it, per statement of our own code.
 */
export function queryMetrics(options: QueryMetricsOptions): Interceptor {
  const histogram = new Histogram({
    name: 'auren_db_query_seconds',
    help: 'Time of each SQL statement the service sends, from the pooled connection sending it to its result, by statement name.',
    labelNames: ['query', 'outcome'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [options.registry],
  });
  const { log, slowQueryMs, tracer } = options;
  const finish = (context: { queryInputTime: bigint | number; sandbox: Record<string, unknown> }, sql: string, outcome: string) => {
    const seconds = elapsedSeconds(context.queryInputTime);
    const name = queryName(sql);
    histogram.observe({ query: name, outcome }, seconds);
    if (seconds * 1000 >= slowQueryMs) {
      log.warn({ query: name, durationMs: Math.round(seconds * 1000), outcome, sql: oneLine(sql) }, 'slow query');
    }
    return name;
  };
  return {
    name: 'auren.query-metrics',
    ...(tracer && {
      beforeQueryExecution(context, query) {
        context.sandbox.span = tracer.startSpan(`db ${queryName(query.sql)}`, {
          kind: SpanKind.CLIENT,
          attributes: { 'db.system.name': 'postgresql', 'db.query.summary': queryName(query.sql), 'db.query.text': oneLine(query.sql) },
        });
        return null;
      },
    }),
    afterQueryExecution(context, query) {
      finish(context, query.sql, 'ok');
      (context.sandbox.span as Span | undefined)?.end();
      return null;
    },
    queryExecutionError(context, query, error) {
      finish(context, query.sql, 'error');
      const span = context.sandbox.span as Span | undefined;
      span?.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
      span?.end();
      return null;
    },
  };
}

function elapsedSeconds(since: bigint | number): number {
  const now = process.hrtime.bigint();
  return Number(now - BigInt(since)) / 1e9;
}

const names = new Map<string, string>();
// Statement texts differ only by their fragments (an append batch carries its tag); the cache
// stays small, and a text beyond it is named again each time.
const NAMES_CACHED = 1_000;

/**
 * The name a statement is counted under, from its text: the SQL function it calls
 * (`append_batch`), else its verb and first table (`select events`, `update consumer_checkpoints`).
 * A leading comment `/* name: x *\/` names it explicitly.
 */
export function queryName(sql: string): string {
  // A leading tag comment (the append batch's id) is no part of the statement's identity.
  const key = sql.startsWith('/* auren ') ? sql.slice(sql.indexOf('*/') + 2) : sql;
  const cached = names.get(key);
  if (cached) return cached;
  const name = deriveName(sql);
  if (names.size < NAMES_CACHED) names.set(key, name);
  return name;
}

function deriveName(sql: string): string {
  const explicit = /^\s*\/\*\s*name:\s*([\w.-]+)\s*\*\//.exec(sql);
  if (explicit) return explicit[1]!;
  const text = sql
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/--[^\n]*/g, ' ')
    .trim()
    .toLowerCase();
  const verb = /^(\w+)/.exec(text)?.[1] ?? 'statement';
  const called =
    /\bfrom\s+([a-z_][\w.]*)\s*\(/.exec(text) ?? (verb === 'select' ? /^select\s+(?:\*\s+from\s+)?([a-z_][\w.]*)\s*\(/.exec(text) : null);
  if (called) return called[1]!;
  const table =
    verb === 'insert'
      ? /\binto\s+([a-z_][\w.]*)/.exec(text)
      : verb === 'update'
        ? /^update\s+([a-z_][\w.]*)/.exec(text)
        : /\bfrom\s+([a-z_][\w.]*)/.exec(text);
  return table ? `${verb} ${table[1]}` : verb;
}

function oneLine(sql: string): string {
  return sql.replace(/\s+/g, ' ').trim().slice(0, 500);
}
