/** A memory id that names no memory. */
export class MemoryNotFound extends Error {
  constructor(readonly id: string) {
    super(`memory '${id}' does not exist`);
    this.name = 'MemoryNotFound';
  }
}

/** A change to a memory that was deleted (deleted memories are kept, never changed). */
export class MemoryDeleted extends Error {
  constructor(readonly id: string) {
    super(`memory '${id}' was deleted and cannot be changed`);
    this.name = 'MemoryDeleted';
  }
}

/** An update whose expected version is not the memory's version. */
export class WrongMemoryVersion extends Error {
  constructor(
    readonly id: string,
    readonly expected: bigint,
    readonly actual: bigint,
  ) {
    super(`memory '${id}' is at version ${actual}, expected version ${expected}`);
    this.name = 'WrongMemoryVersion';
  }
}

/** A search mode this build cannot serve yet. */
export class SearchModeUnavailable extends Error {
  constructor(readonly mode: string) {
    super(`${mode} search needs the ChromaDB projection, which is not available yet; use full-text search`);
    this.name = 'SearchModeUnavailable';
  }
}
