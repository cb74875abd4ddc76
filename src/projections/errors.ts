import { DomainError } from '../errors.js';

/** A part a read needs (ChromaDB, the embedder) does not answer now: try again later. */
export class DependencyUnavailable extends DomainError {
  constructor(
    readonly dependency: string,
    readonly why: string,
  ) {
    super('unavailable', 'DEPENDENCY_UNAVAILABLE', `${dependency} is unavailable: ${why}`, { dependency });
  }
}
