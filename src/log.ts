import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

// What a logged error may carry of a person's data: the statement and its values (slonik's
// errors), PostgreSQL's detail ("Failing row contains (…)"), at any depth of causes.
const PAYLOAD_PATHS = ['query', 'sql', 'values', 'detail', 'where', 'parameters'];
const REDACTED = ['err', 'err.cause', 'err.cause.cause', 'err.originalError', 'err.cause.originalError'].flatMap((at) =>
  PAYLOAD_PATHS.map((field) => `${at}.${field}`),
);

/**
 * Creates the service's structured (JSON) logger. Statements, their values and PostgreSQL's
 * row details are removed from logged errors: no person's data reaches the logs.
 */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'auren' }, redact: { paths: REDACTED, censor: '[redacted]' } });
}
