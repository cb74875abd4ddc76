/** A request the event store refuses because a field is malformed or out of bounds. */
export class InvalidArgument extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'InvalidArgument';
  }
}

/** An append whose expected version does not match the stream's actual version. */
export class WrongExpectedVersion extends Error {
  constructor(
    readonly streamId: string,
    readonly expected: string,
    readonly actualVersion: bigint,
  ) {
    super(`stream '${streamId}' is at version ${actualVersion}, expected ${expected}`);
    this.name = 'WrongExpectedVersion';
  }
}

/** An event id that was already appended with different content (or to another stream). */
export class DuplicateEventId extends Error {
  constructor(readonly eventIds: string[]) {
    super(`event id already used by an event with different content or in another stream: ${eventIds.join(', ')}`);
    this.name = 'DuplicateEventId';
  }
}

/** A stream that does not exist. */
export class StreamNotFound extends Error {
  constructor(readonly streamId: string) {
    super(`stream '${streamId}' does not exist`);
    this.name = 'StreamNotFound';
  }
}

/** An event id that names no event. */
export class EventNotFound extends Error {
  constructor(readonly eventId: string) {
    super(`event '${eventId}' does not exist`);
    this.name = 'EventNotFound';
  }
}
