import type { AppendFn } from '../append.js';
import type { Scenario } from '../config.js';

/** Something appends can be measured against. */
export interface BenchTarget {
  name: string;
  /** The process serving the appends, when not this one. */
  serverPid?: number | undefined;
  /** Prepares clients for one scenario: pools, connections. */
  open(scenario: Scenario): Promise<OpenTarget>;
  /** Events stored so far, to check against the appends counted. */
  countEvents(): Promise<number>;
  close(): Promise<void>;
}

export interface OpenTarget {
  append: AppendFn;
  close(): Promise<void>;
}
