import { DomainError } from '../errors.js';

/** No key, a malformed, unknown or revoked key: the caller is not known. */
export class Unauthenticated extends DomainError {
  constructor(problem: string) {
    super('unauthenticated', 'UNAUTHENTICATED', `${problem}; send a key of this service as 'authorization: Bearer <key>'`, {});
  }
}

/** A known caller asked for something its key does not allow. */
export class PermissionDenied extends DomainError {
  constructor(
    readonly problem: string,
    /** The person the refused call would have touched, when there is one: the refusal goes on their audit trail. */
    readonly userId: string | null = null,
    reason = 'PERMISSION_DENIED',
  ) {
    // The person goes on the refusal's record, not to the caller: a refused caller is not told who
    // a memory or an event it may not read is about.
    super('permission_denied', reason, problem, {});
  }
}

/** The key lacks a scope the call needs. */
export class MissingScope extends PermissionDenied {
  constructor(scope: string, what: string) {
    super(`${what} needs a key with the scope '${scope}'`, null, 'MISSING_SCOPE');
    this.details.scope = scope;
  }
}
