import { DomainError } from '../errors.js';

// One class per case; the reason names the kind of thing (HANDOFF_NOT_FOUND, …).

/** The kinds of thing this module keeps, as named in errors. */
export type CollaborationKind = 'handoff' | 'hypothesis' | 'profile' | 'knowledge';

const idKey = (kind: CollaborationKind) => (kind === 'profile' ? 'user_id' : `${kind}_id`);

/** An id that names nothing of its kind. */
export class CollaborationNotFound extends DomainError {
  constructor(
    readonly kind: CollaborationKind,
    readonly id: string,
  ) {
    super(
      'not_found',
      `${kind.toUpperCase()}_NOT_FOUND`,
      `${kind === 'profile' ? `the profile of '${id}'` : `${kind} '${id}'`} does not exist`,
      {
        [idKey(kind)]: id,
      },
    );
  }
}

/** A change asked for at a version the thing is no longer (or not yet) at. */
export class WrongCollaborationVersion extends DomainError {
  constructor(
    readonly kind: CollaborationKind,
    readonly id: string,
    readonly expected: bigint,
    readonly actual: bigint,
  ) {
    const what = kind === 'profile' ? `the profile of '${id}'` : `${kind} '${id}'`;
    super('aborted', `WRONG_${kind.toUpperCase()}_VERSION`, `${what} is at version ${actual}, expected version ${expected}`, {
      [idKey(kind)]: id,
      expected_version: expected.toString(),
      actual_version: actual.toString(),
    });
  }
}

/** A hypothesis already validated or refuted: it is resolved once. */
export class HypothesisResolved extends DomainError {
  constructor(
    readonly id: string,
    readonly status: string,
  ) {
    super('failed_precondition', 'HYPOTHESIS_ALREADY_RESOLVED', `hypothesis '${id}' is already ${status}`, { hypothesis_id: id, status });
  }
}

/** A handoff already acknowledged. */
export class HandoffAcknowledged extends DomainError {
  constructor(readonly id: string) {
    super('failed_precondition', 'HANDOFF_ALREADY_ACKNOWLEDGED', `handoff '${id}' is already acknowledged`, { handoff_id: id });
  }
}
