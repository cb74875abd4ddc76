import { DomainError } from '../errors.js';

/** An append whose expected version does not match the stream's actual version. */
export class WrongExpectedVersion extends DomainError {
  constructor(
    readonly streamId: string,
    readonly expected: string,
    readonly actualVersion: bigint,
  ) {
    const facts = { stream_id: streamId, expected, actual_version: actualVersion.toString() };
    super('aborted', 'WRONG_EXPECTED_VERSION', `stream '${streamId}' is at version ${actualVersion}, expected ${expected}`, facts);
  }
}

/** An event id that was already appended with different content (or to another stream). */
export class DuplicateEventId extends DomainError {
  constructor(readonly eventIds: string[]) {
    const message = `event id already used by an event with different content or in another stream: ${eventIds.join(', ')}`;
    super('already_exists', 'DUPLICATE_EVENT_ID', message, { event_ids: eventIds.join(',') });
  }
}

/** A stream that does not exist. */
export class StreamNotFound extends DomainError {
  constructor(readonly streamId: string) {
    super('not_found', 'STREAM_NOT_FOUND', `stream '${streamId}' does not exist`, { stream_id: streamId });
  }
}

/** An event id that names no event. */
export class EventNotFound extends DomainError {
  constructor(readonly eventId: string) {
    super('not_found', 'EVENT_NOT_FOUND', `event '${eventId}' does not exist`, { event_id: eventId });
  }
}
