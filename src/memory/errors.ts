import { DomainError } from '../errors.js';

/** A memory id that names no memory. */
export class MemoryNotFound extends DomainError {
  readonly code = 'not_found';
  readonly reason = 'MEMORY_NOT_FOUND';
  constructor(readonly id: string) {
    super(`memory '${id}' does not exist`);
    this.name = 'MemoryNotFound';
  }
  details() {
    return { memory_id: this.id };
  }
}

/** A change to a memory that was deleted (deleted memories are kept, never changed). */
export class MemoryDeleted extends DomainError {
  readonly code = 'failed_precondition';
  readonly reason = 'MEMORY_DELETED';
  constructor(readonly id: string) {
    super(`memory '${id}' was deleted and cannot be changed`);
    this.name = 'MemoryDeleted';
  }
  details() {
    return { memory_id: this.id };
  }
}

/** An update whose expected version is not the memory's version. */
export class WrongMemoryVersion extends DomainError {
  readonly code = 'aborted';
  readonly reason = 'WRONG_MEMORY_VERSION';
  constructor(
    readonly id: string,
    readonly expected: bigint,
    readonly actual: bigint,
  ) {
    super(`memory '${id}' is at version ${actual}, expected version ${expected}`);
    this.name = 'WrongMemoryVersion';
  }
  details() {
    return { memory_id: this.id, expected_version: this.expected.toString(), actual_version: this.actual.toString() };
  }
}

/** A search mode this build cannot serve yet. */
export class SearchModeUnavailable extends DomainError {
  readonly code = 'failed_precondition';
  readonly reason = 'SEARCH_MODE_UNAVAILABLE';
  constructor(readonly mode: string) {
    super(`${mode} search needs the ChromaDB projection, which is not available yet; use full-text search`);
    this.name = 'SearchModeUnavailable';
  }
  details() {
    return { mode: this.mode };
  }
}
