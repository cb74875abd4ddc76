import { DomainError } from '../errors.js';

/** An append whose expected version does not match the stream's actual version. */
export class WrongExpectedVersion extends DomainError {
  readonly code = 'aborted';
  readonly reason = 'WRONG_EXPECTED_VERSION';
  constructor(
    readonly streamId: string,
    readonly expected: string,
    readonly actualVersion: bigint,
  ) {
    super(`stream '${streamId}' is at version ${actualVersion}, expected ${expected}`);
    this.name = 'WrongExpectedVersion';
  }
  details() {
    return { stream_id: this.streamId, expected: this.expected, actual_version: this.actualVersion.toString() };
  }
}

/** An event id that was already appended with different content (or to another stream). */
export class DuplicateEventId extends DomainError {
  readonly code = 'already_exists';
  readonly reason = 'DUPLICATE_EVENT_ID';
  constructor(readonly eventIds: string[]) {
    super(`event id already used by an event with different content or in another stream: ${eventIds.join(', ')}`);
    this.name = 'DuplicateEventId';
  }
  details() {
    return { event_ids: this.eventIds.join(',') };
  }
}

/** A stream that does not exist. */
export class StreamNotFound extends DomainError {
  readonly code = 'not_found';
  readonly reason = 'STREAM_NOT_FOUND';
  constructor(readonly streamId: string) {
    super(`stream '${streamId}' does not exist`);
    this.name = 'StreamNotFound';
  }
  details() {
    return { stream_id: this.streamId };
  }
}

/** An event id that names no event. */
export class EventNotFound extends DomainError {
  readonly code = 'not_found';
  readonly reason = 'EVENT_NOT_FOUND';
  constructor(readonly eventId: string) {
    super(`event '${eventId}' does not exist`);
    this.name = 'EventNotFound';
  }
  details() {
    return { event_id: this.eventId };
  }
}
