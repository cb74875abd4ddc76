import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/** Creates the service's structured (JSON) logger. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'auren' } });
}
