import { setMaxListeners } from 'node:events';
import http from 'node:http';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { createConsumer } from './consumers/consumer.js';
import type { Consumer, ConsumerDefinition } from './consumers/consumer.js';
import { openDatabase } from './db/openDatabase.js';
import type { DatabasePool } from './db/pool.js';
import { createEventStore } from './events/eventStore.js';
import type { EventStore, StreamWriter } from './events/eventStore.js';
import { EventStoreService, file_auren_v1_events } from './gen/auren/v1/events_pb.js';
import { file_auren_v1_memory, MemoryService } from './gen/auren/v1/memory_pb.js';
import { withCors } from './server/cors.js';
import { probeDatabase } from './server/databaseProbe.js';
import { createHealthStatus, registerHealth, ServingStatus } from './server/health.js';
import type { HealthStatus } from './server/health.js';
import { startGrpcServer } from './server/grpcServer.js';
import { createListener } from './server/listener.js';
import type { tlsOptions } from './server/listener.js';
import { plainHttp } from './server/plainHttp.js';
import type { PlainRoutes } from './server/plainHttp.js';
import { loadDashboardFiles } from './server/dashboardFiles.js';
import { checkReadiness } from './server/readiness.js';
import { schemaVersions } from './db/migrate.js';
import { createMetrics } from './metrics/metrics.js';
import type { Metrics } from './metrics/metrics.js';
import { registerPostgresCollector } from './metrics/postgres.js';
import { queryMetrics } from './metrics/queryMetrics.js';
import { createCallObserver } from './rpc/observeCall.js';
import { startTracing } from './telemetry/tracing.js';
import { version } from './version.js';
import { registerReflection } from './server/reflection.js';
import { startExpirySweeper } from './memory/expiry.js';
import type { ExpirySweeper } from './memory/expiry.js';
import { createMemoryHistory } from './memory/history.js';
import { COLLABORATION_STREAM_PREFIXES } from './collaboration/model.js';
import { createCollaborationReads } from './collaboration/reads.js';
import { createCollaborationWrites } from './collaboration/writes.js';
import { accessStream, RESERVED_STREAM_PREFIXES } from './memory/model.js';
import { createLogReads } from './memory/logReads.js';
import { createGate } from './auth/gate.js';
import { createKeyStore } from './auth/keys.js';
import type { KeyStore } from './auth/keys.js';
import { AUTH_STREAM_PREFIXES, createRefusalLog } from './auth/refusals.js';
import type { RefusalLog } from './auth/refusals.js';
import { EVENT_STORE_SCOPES, MEMORY_SCOPES } from './auth/rpcScopes.js';
import { createPageTokens } from './paging.js';
import type { PageTokens } from './paging.js';
import { CHAIN_KEY_PURPOSE, loadServerSecret, pageTokenPurpose, PEPPER_PURPOSE } from './auth/secret.js';
import { createMemoryReads } from './memory/reads.js';
import { memoryLimits } from './memory/limits.js';
import { createMemoryWrites } from './memory/writes.js';
import { startChromaProjection } from './projections/chroma/startChromaProjection.js';
import type { RunningChromaProjection } from './projections/chroma/startChromaProjection.js';
import { watchProjections } from './projections/health.js';
import { startRedisProjection } from './projections/redis/startRedisProjection.js';
import type { RunningRedisProjection } from './projections/redis/startRedisProjection.js';
import { startLogHead } from './tails/logHead.js';
import type { LogHead } from './tails/logHead.js';
import { createSubscriptions } from './tails/subscriptions.js';
import type { Subscriptions } from './tails/subscriptions.js';
import { watchLongTransactions } from './db/longTransactions.js';
import { keepStatistics } from './db/statistics.js';
import type { StatisticsKeeper } from './db/statistics.js';
import { createWakeups } from './tails/wakeups.js';
import type { Wakeups } from './tails/wakeups.js';
import { eventStoreHandlers } from './rpc/eventStoreService.js';
import { memoryHandlers } from './rpc/memoryService.js';
import { binaryReadOptions, installWireTextDecoding } from './rpc/requestCheck.js';
import {
  errorMapping,
  installUndecodableRequestStatus,
  observeCalls,
  peerContext,
  requestChecks,
  serveOnConnect,
} from './rpc/transports/connect.js';
import { grpcService } from './rpc/transports/grpcjs.js';
import type { Config, TlsConfig } from './config.js';
import { ConfigError } from './config.js';
import { readFile } from 'node:fs/promises';
import { ServerCredentials } from '@grpc/grpc-js';
import { StartupError } from './startupError.js';
import type { Logger } from './log.js';

/** A running AUREN data plane. */
export interface App {
  /** The port serving gRPC, Connect and gRPC-Web (HTTP/2) and HTTP/1.1, with connect-node. */
  port: number;
  /** Base URL of that port. */
  url: string;
  /** The port serving gRPC with grpc-js (HTTP/2 without TLS): the agents' port. */
  grpcPort: number;
  /** The admin port serving /metrics, /healthz and /readyz when METRICS_PORT is set. */
  metricsPort: number | undefined;
  /** The service's Prometheus metrics; other modules (projections, caches) feed it. */
  metrics: Metrics;
  pool: DatabasePool;
  eventStore: EventStore;
  /** The writer of the memory module's streams (memory-, access-). */
  memoryStreams: StreamWriter;
  subscriptions: Subscriptions;
  head: LogHead;
  wakeups: Wakeups;
  longTransactions: ReturnType<typeof watchLongTransactions>;
  /** Planner statistics kept by the service when autovacuum is off. */
  statistics: StatisticsKeeper;
  health: HealthStatus;
  /** The signed page-token codec of the memory reads. */
  pageTokens: PageTokens;
  /** API keys: made, listed, revoked, checked on every call. */
  keys: KeyStore;
  /** Refused calls, recorded (the first of each kind) and counted (its repeats). */
  refusals: RefusalLog;
  /** The first admin key, when this start made it (no key existed); it is announced once. */
  firstAdminKey: string | null;
  /** Records memory_expired as expiries pass; app.stop() stops it. */
  expirySweeper: ExpirySweeper;
  /** The Redis projection, when REDIS_URL is set. */
  redisProjection: RunningRedisProjection | undefined;
  /** The Chroma projection, unless CHROMA_URL=off. */
  chromaProjection: RunningChromaProjection | undefined;
  /** Creates and starts a durable consumer on this app's pool and tails; app.stop() stops it. */
  startConsumer(definition: ConsumerDefinition): Consumer;
  /** Stops serving, lets open calls finish, closes the database. */
  stop(): Promise<void>;
}

export { memoryLimits } from './memory/limits.js';

const SERVICES = ['auren.v1.EventStoreService', 'auren.v1.MemoryService'];
const ANONYMOUS_WARNING =
  "AUTH_ANONYMOUS=true: calls without an API key are served as an anonymous admin: anyone who reaches this port reads and writes every person's data. Development only.";
const DATABASE_PROBE_MS = 2_000;
const READINESS_TIMEOUT_MS = 2_000;
// Memories the expiry sweeper records per transaction.
const EXPIRY_BATCH_SIZE = 100;

/** What a start may be told besides the configuration. */
export interface StartOptions {
  /** Where the first admin key is shown, once (default: stderr, never the logs). */
  announce?: (message: string) => void;
}

/** The composition root: builds every part from the configuration and starts serving. */
export async function startApp(config: Config, log: Logger, options: StartOptions = {}): Promise<App> {
  // Should a step fail, what has started is stopped, newest first: a failed start leaves
  // nothing running, the embedded PostgreSQL least of all.
  const started: Array<() => unknown> = [];
  const abandon = async (error: unknown): Promise<never> => {
    for (const stop of started.reverse()) {
      await Promise.resolve()
        .then(stop)
        .catch((failure: unknown) => log.debug({ err: failure }, 'stopping after a failed start'));
    }
    throw error;
  };

  const monitoring = config.monitoring;
  // Tracing costs nothing unless an OTLP endpoint is configured: no tracer, no spans.
  const tracing = monitoring.otlpEndpoint
    ? await startTracing({ endpoint: monitoring.otlpEndpoint, serviceName: 'auren', serviceVersion: version() }, log)
    : undefined;
  if (tracing) started.push(() => tracing.stop());
  const metrics = createMetrics();
  const database = await openDatabase(
    {
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      embeddedPort: config.embeddedPostgresPort,
      poolSize: config.poolSize,
      startupTimeoutMs: config.startupTimeoutMs,
      interceptors: monitoring.instrument
        ? [queryMetrics({ registry: metrics.registry, log, slowQueryMs: monitoring.slowQueryMs, tracer: tracing?.tracer })]
        : [],
    },
    log,
  ).catch(abandon);
  started.push(() => database.close());
  const { pool, url: databaseUrl } = database;

  const wakeups = createWakeups({ databaseUrl, pool, notify: config.tails.notify, log });
  started.push(() => wakeups.stop());
  // The server's secret keys the API keys' hashes, the log's hash chain and the page tokens.
  const secret = await loadServerSecret({
    secret: config.auth.secret,
    dataDir: config.dataDir,
    previous: config.auth.previousSecrets,
  }).catch(abandon);
  // Set once the store it reads from exists; commits before that have no tail to feed.
  let head: LogHead | undefined;
  const eventStore = createEventStore({
    pool,
    limits: config.events,
    log,
    // Other processes' tails are woken by the commit itself when they listen.
    notify: () => wakeups.notification(),
    afterCommit: (appended, events, notified) => {
      // The head publishes what this process committed without reading it back when it can.
      wakeups.appended(!head?.offer(events), notified);
      if (monitoring.instrument) metrics.appended(appended);
    },
    chainKey: secret.derive(CHAIN_KEY_PURPOSE),
  });
  started.push(() => eventStore.stop());
  // The memory module's streams: clients may not append to them; its writer is the one way in.
  const memoryStreams = eventStore.claimStreams(RESERVED_STREAM_PREFIXES);
  // The collaboration module's streams, with the memory module's: a decision or a handoff and
  // its memory are appended in one commit.
  const collaborationStreams = eventStore.claimStreams([...COLLABORATION_STREAM_PREFIXES, ...RESERVED_STREAM_PREFIXES]);
  registerPostgresCollector({
    registry: metrics.registry,
    pool,
    store: eventStore,
    poolSize: config.poolSize,
    log,
    timeoutMs: monitoring.scrapeTimeoutMs,
  });
  head = await startLogHead({
    store: eventStore,
    wakeups,
    log,
    windowSize: config.tails.window,
    windowMaxBytes: config.tails.windowMaxBytes,
    pageSize: config.tails.pageSize,
    pageMaxBytes: config.tails.pageMaxBytes,
    pollMs: config.tails.pollMs,
  }).catch(abandon);
  started.push(() => head.stop());
  const stopTails = new AbortController();
  // Every live tail listens to it: thousands of listeners are expected, not a leak.
  setMaxListeners(0, stopTails.signal);
  const subscriptions = createSubscriptions(eventStore, head, {
    pageSize: config.tails.pageSize,
    pageMaxBytes: config.tails.pageMaxBytes,
    maxTails: config.tails.maxTails,
    shutdown: stopTails.signal,
  });
  metrics.watchTails(subscriptions);
  const longTransactions = watchLongTransactions(pool, config.longTransactionWarnMs, log);
  started.push(() => longTransactions.stop());
  const statistics = await keepStatistics(pool, config.statisticsCheckMs, log);
  started.push(() => statistics.stop());
  const health = createHealthStatus();
  for (const service of SERVICES) health.set(service, ServingStatus.SERVING);
  const consumers = new Set<Consumer>();
  const startConsumer = (definition: ConsumerDefinition): Consumer => {
    const consumer = createConsumer({
      checkpointInterval: config.tails.checkpointInterval,
      ...definition,
      pool,
      databaseUrl,
      subscriptions,
      log,
    });
    consumers.add(consumer);
    consumer.start();
    return consumer;
  };
  const redisProjection = config.redis
    ? await startRedisProjection({ config: config.redis, log, retryMaxMs: config.projectionRetryMaxMs, pool, startConsumer }).catch(abandon)
    : undefined;
  if (redisProjection) started.push(() => redisProjection.stop());
  else log.info('REDIS_URL is not set: the Redis projection is off, every read is served by PostgreSQL');
  const chromaProjection = await startChromaProjection({ config, log, pool, startConsumer }).catch(abandon);
  if (chromaProjection) started.push(() => chromaProjection.stop());
  else log.info('the Chroma projection is off: semantic and hybrid search answer FAILED_PRECONDITION');
  const limits = memoryLimits(config);
  const pageTokens = createPageTokens(
    (period) => secret.deriveAll(pageTokenPurpose(period)).map(({ key }) => key),
    config.auth.pageTokenRotateMs,
  );
  const memory = {
    writes: createMemoryWrites({ pool, writer: memoryStreams, limits }),
    reads: createMemoryReads({
      pool,
      writer: memoryStreams,
      limits,
      cache: redisProjection?.cache,
      semantic: chromaProjection?.index,
      tokens: pageTokens,
    }),
    history: createMemoryHistory({ pool, store: eventStore, writer: memoryStreams, limits, tokens: pageTokens }),
    // Collaboration writes its own streams and memories (a decision, a handoff's memory) in one commit.
    collaboration: {
      writes: createCollaborationWrites({ pool, writer: collaborationStreams, documentMaxBytes: limits.contentMaxBytes }),
      reads: createCollaborationReads({
        pool,
        writer: collaborationStreams,
        tokens: pageTokens,
        responseMaxBytes: limits.responseMaxBytes,
      }),
    },
  };
  // Who calls: API keys, checked by the gate before any handler runs; refusals recorded.
  const keys = createKeyStore({ pool, peppers: secret.deriveAll(PEPPER_PURPOSE), cacheMs: config.auth.cacheMs });
  const refusals = createRefusalLog({
    own: eventStore.claimStreams(AUTH_STREAM_PREFIXES),
    people: memoryStreams,
    personStream: accessStream,
    log,
    windowMs: config.auth.refusalWindowMs,
    maxKinds: config.auth.refusalKindsMax,
  });
  started.push(() => refusals.stop());
  metrics.watchRefusals(refusals);
  const gate = createGate({ keys, refusals, anonymous: config.auth.anonymous, maxCallsPerKey: config.auth.maxCallsPerKey });
  if (config.auth.anonymous) {
    log.warn(ANONYMOUS_WARNING);
  }
  const logReads = createLogReads({ writer: memoryStreams, ownPrefixes: () => eventStore.claimedPrefixes(), refusals });
  const expirySweeper = startExpirySweeper({
    pool,
    writer: memoryStreams,
    log,
    intervalMs: config.memoryExpirySweepMs,
    batchSize: EXPIRY_BATCH_SIZE,
  });
  started.push(() => expirySweeper.stop());

  installWireTextDecoding();
  installUndecodableRequestStatus();
  // Each RPC is written once; each listener serves the same handlers through its adapter.
  const events = gate.guard(
    EventStoreService,
    eventStoreHandlers(eventStore, subscriptions, config.tails.checkpointInterval, logReads),
    EVENT_STORE_SCOPES,
  );
  const memories = gate.guard(MemoryService, memoryHandlers(memory), MEMORY_SCOPES);
  const described = [file_auren_v1_events, file_auren_v1_memory];
  const observer = monitoring.instrument
    ? createCallObserver({ metrics: metrics.rpc, log, accessLog: monitoring.accessLog, tracer: tracing?.tracer })
    : undefined;
  const expectedSchema = await schemaVersions().catch(abandon);
  const readiness = () => checkReadiness(pool, expectedSchema, READINESS_TIMEOUT_MS);
  const scrape = () => metrics.scrape();
  // /metrics is unauthenticated, as Prometheus scrapes it: with METRICS_PORT it leaves PORT
  // (the public one, once authentication lands) for an admin port kept off the public network.
  const routes: PlainRoutes = {
    health,
    readiness,
    ...(monitoring.metricsPort === undefined && { metrics: scrape }),
    ...(monitoring.dashboard && { dashboard: loadDashboardFiles() }),
    ...(config.auth.anonymous && { warnings: [ANONYMOUS_WARNING] }),
  };
  const handler = connectNodeAdapter({
    routes: (router) => {
      serveOnConnect(router, EventStoreService, events);
      serveOnConnect(router, MemoryService, memories);
      registerHealth(router, health);
      registerReflection(router, described);
    },
    // Outermost first: errors of the request checks are mapped like the handlers'.
    interceptors: [...(observer ? [observeCalls(observer)] : []), errorMapping(log), requestChecks()],
    jsonOptions: { ignoreUnknownFields: false },
    binaryOptions: binaryReadOptions,
    contextValues: peerContext,
    readMaxBytes: config.messageMaxBytes,
    fallback: (request, response) => plainHttp(request, response, routes),
  });
  const tls = config.tls === undefined ? undefined : await readTls(config.tls).catch(abandon);
  const listener = createListener(withCors(handler, config.corsOrigins), config.connections, log, tls?.node);
  const port = await listener.listen(config.port, config.host).catch(abandon);
  started.push(() => listener.close(0));
  log.info(
    { host: config.host, port, tls: tls !== undefined },
    'PORT: serving Connect, gRPC-Web and gRPC (connect-node) over HTTP/2 and HTTP/1.1',
  );
  const grpcListener = await startGrpcServer({
    host: config.host,
    port: config.grpcPort,
    messageMaxBytes: config.messageMaxBytes,
    connections: config.connections,
    log,
    services: [grpcService(EventStoreService, events, log, observer), grpcService(MemoryService, memories, log, observer)],
    health,
    reflect: described,
    ...(tls ? { credentials: tls.grpc } : {}),
  }).catch(abandon);
  started.push(() => grpcListener.close(0));
  // Made once the service serves, so that a start that fails shows nothing but its reason, and
  // a key it shows is one a running service accepts.
  const firstAdmin = await keys.createFirstAdminKey().catch(abandon);
  if (firstAdmin) {
    (options.announce ?? ((message) => process.stderr.write(`${message}\n`)))(
      `auren: no API key existed, so this first admin key was made; it is shown this once, keep it now:\n  ${firstAdmin.key}\n` +
        `(make more with 'auren keys create', list them with 'auren keys list', revoke with 'auren keys revoke')`,
    );
    log.warn({ keyId: firstAdmin.record.id }, 'made the first admin key (shown once on stderr)');
  }
  log.info({ host: config.host, port: grpcListener.port, tls: tls !== undefined }, 'GRPC_PORT: serving gRPC (grpc-js) over HTTP/2');
  let admin: http.Server | undefined;
  let metricsPort: number | undefined;
  if (monitoring.metricsPort !== undefined) {
    const adminRoutes: PlainRoutes = { health, readiness, metrics: scrape };
    admin = http.createServer((request, response) => plainHttp(request, response, adminRoutes));
    metricsPort = await listenAdmin(admin, monitoring.metricsPort, config.host).catch(abandon);
    log.info({ host: config.host, port: metricsPort }, 'METRICS_PORT: serving /metrics, /healthz and /readyz');
  }

  const probe = setInterval(() => void probeDatabase(pool, health, SERVICES, log), DATABASE_PROBE_MS);
  probe.unref();
  const stopWatchingProjections = watchProjections(
    { redis: redisProjection?.consumer, chroma: chromaProjection?.consumer },
    { health, store: eventStore, log },
  );

  return {
    port,
    grpcPort: grpcListener.port,
    metricsPort,
    metrics,
    url: `${tls ? 'https' : 'http'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
    pool,
    eventStore,
    memoryStreams,
    subscriptions,
    head,
    wakeups,
    longTransactions,
    statistics,
    health,
    keys,
    refusals,
    pageTokens,
    firstAdminKey: firstAdmin?.key ?? null,
    expirySweeper,
    redisProjection,
    chromaProjection,
    startConsumer,
    async stop() {
      clearInterval(probe);
      stopWatchingProjections();
      health.shutdown();
      // Consumers and the sweeper first: they write through the pool, which closes last.
      await Promise.all([...consumers].map((consumer) => consumer.stop()));
      await redisProjection?.stop();
      await chromaProjection?.stop();
      await expirySweeper.stop();
      // Live tails never finish on their own: end them, then let unary calls finish.
      head.stop();
      stopTails.abort();
      await Promise.all([listener.close(config.shutdownTimeoutMs), grpcListener.close(config.shutdownTimeoutMs)]);
      // The refusals counted but not yet written, before the appends are committed.
      await refusals.stop();
      // Appends queued by the calls that finished are committed before the pool closes.
      await eventStore.stop();
      longTransactions.stop();
      await statistics.stop();
      await wakeups.stop();
      // A pool whose server went away may fail to close its connections; stopping goes on.
      await database.close();
      admin?.closeAllConnections();
      await new Promise((resolve) => (admin ? admin.close(resolve) : resolve(undefined)));
      await tracing?.stop();
      log.info('stopped');
    },
  };
}

/** TLS for both listeners, from the configured PEM files; a file that cannot be read stops the start naming it. */
async function readTls(config: TlsConfig): Promise<{ node: tlsOptions; grpc: ServerCredentials }> {
  const read = async (variable: string, file: string) => {
    try {
      return await readFile(file);
    } catch (error) {
      throw new ConfigError([`${variable}=${JSON.stringify(file)}: cannot be read (${(error as Error).message})`]);
    }
  };
  const cert = await read('TLS_CERT_FILE', config.certFile);
  const key = await read('TLS_KEY_FILE', config.keyFile);
  const ca = config.clientCaFile === undefined ? undefined : await read('TLS_CLIENT_CA_FILE', config.clientCaFile);
  return {
    node: { cert, key, ...(ca ? { ca } : {}) },
    grpc: ServerCredentials.createSsl(ca ?? null, [{ private_key: key, cert_chain: cert }], ca !== undefined),
  };
}

// The admin port: plain HTTP/1.1, as Prometheus and probes speak it.
function listenAdmin(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new StartupError(
          {
            code: 'listen',
            failed: `cannot listen on ${host}:${port} (METRICS_PORT)`,
            reason: error.code ?? error.message,
            remedy: 'set METRICS_PORT to a free port (0 picks one), or unset it to serve /metrics on PORT',
          },
          { cause: error },
        ),
      ),
    );
    server.listen(port, host, () => resolve((server.address() as { port: number }).port));
  });
}
