import { DomainError } from '../errors.js';

/** A memory id that names no memory. */
export class MemoryNotFound extends DomainError {
  constructor(readonly id: string) {
    super('not_found', 'MEMORY_NOT_FOUND', `memory '${id}' does not exist`, { memory_id: id });
  }
}

/** A change to a memory that was deleted (deleted memories are kept, never changed). */
export class MemoryDeleted extends DomainError {
  constructor(readonly id: string) {
    super('failed_precondition', 'MEMORY_DELETED', `memory '${id}' was deleted and cannot be changed`, { memory_id: id });
  }
}

/** An update whose expected version is not the memory's version. */
export class WrongMemoryVersion extends DomainError {
  constructor(
    readonly id: string,
    readonly expected: bigint,
    readonly actual: bigint,
  ) {
    const facts = { memory_id: id, expected_version: expected.toString(), actual_version: actual.toString() };
    super('aborted', 'WRONG_MEMORY_VERSION', `memory '${id}' is at version ${actual}, expected version ${expected}`, facts);
  }
}

/** A search mode this service is not configured to serve. */
export class SearchModeUnavailable extends DomainError {
  constructor(readonly mode: string) {
    const message = `${mode} search needs the ChromaDB projection, which is off here (CHROMA_URL=off); use full-text search`;
    super('failed_precondition', 'SEARCH_MODE_UNAVAILABLE', message, { mode });
  }
}
