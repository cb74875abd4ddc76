import type { DescMethod, DescService } from '@bufbuild/protobuf';
import { DomainError, ResourceExhausted } from '../errors.js';
import type { AnyHandler, Call, Handlers, ServedHandlers, TransportCall } from '../rpc/call.js';
import { MissingScope, PermissionDenied, Unauthenticated } from './errors.js';
import type { KeyStore } from './keys.js';
import { ANONYMOUS, holds } from './principal.js';
import type { Principal, Scope } from './principal.js';
import type { RefusalLog } from './refusals.js';

/** The scope each RPC needs, by `Service/Method` local name; a method missing here is refused to all but admin. */
export type ScopeTable = Record<string, Scope>;

/** What every call passes before its handler runs. */
export interface Gate {
  /** The principal of a call: its bearer key's, or the anonymous one when configured and no key was sent. */
  authenticate(call: TransportCall): Promise<Principal>;
  /** Serves `handlers` behind the gate: each call authenticated and checked against `scopes`; each refusal recorded. */
  guard<S extends DescService>(service: S, handlers: Handlers<S>, scopes: { [K in keyof S['method']]: Scope }): ServedHandlers<S>;
}

/** What the gate needs. */
export interface GateOptions {
  keys: KeyStore;
  refusals: RefusalLog;
  /** Calls without a key act as ANONYMOUS (AUTH_ANONYMOUS=true: development only). */
  anonymous: boolean;
  /** Calls one key (or the anonymous principal) may have open at once; more are RESOURCE_EXHAUSTED. */
  maxCallsPerKey: number;
}

/** Creates the gate. */
export function createGate({ keys, refusals, anonymous, maxCallsPerKey }: GateOptions): Gate {
  // Open calls per key: one client cannot take every connection's streams, tail and pool slot.
  const open = new Map<string, number>();
  const enter = (principal: Principal): (() => void) => {
    const id = principal.keyId ?? 'anonymous';
    const count = open.get(id) ?? 0;
    if (count >= maxCallsPerKey) {
      throw new ResourceExhausted(
        'TOO_MANY_CALLS',
        `this key has ${count} calls open, the most one key may (MAX_CALLS_PER_KEY); retry later`,
        {
          max_calls_per_key: String(maxCallsPerKey),
        },
      );
    }
    open.set(id, count + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const now = (open.get(id) ?? 1) - 1;
      if (now === 0) open.delete(id);
      else open.set(id, now);
    };
  };

  async function authenticate(call: TransportCall): Promise<Principal> {
    const authorization = call.header('authorization');
    if (authorization === undefined && anonymous) return ANONYMOUS;
    return keys.authenticate(authorization);
  }

  // Refusals for who is calling are recorded, then thrown on; other errors pass as they are.
  async function refused(error: unknown, procedure: string, principal: Principal | null, call: TransportCall): Promise<never> {
    if (error instanceof Unauthenticated || error instanceof PermissionDenied) {
      await refusals.record({
        procedure,
        principal,
        reason: error.reason,
        message: error.message,
        userId: error instanceof PermissionDenied ? error.userId : null,
        source: call.peer ?? null,
      });
    }
    throw error;
  }

  function guarded(method: DescMethod, scope: Scope, handler: (request: never, call: Call) => unknown): AnyHandler {
    const procedure = `${method.parent.typeName}/${method.name}`;
    const admit = async (call: TransportCall): Promise<Call> => {
      let principal: Principal | null = null;
      try {
        principal = await authenticate(call);
        if (!holds(principal, scope)) throw new MissingScope(scope, method.name);
      } catch (error) {
        if (error instanceof DomainError) await refused(error, procedure, principal, call);
        throw error;
      }
      // The transport's call, with its principal: the signal stays the transport's.
      return Object.create(call, { principal: { value: principal, enumerable: true } }) as Call;
    };
    if (method.methodKind === 'server_streaming') {
      return async function* (request: never, transport: TransportCall) {
        const call = await admit(transport);
        const leave = enter(call.principal);
        // A tail suspended at a yield whose client left may never be resumed: its end is taken from the abort too.
        call.signal.addEventListener('abort', leave, { once: true });
        try {
          yield* handler(request, call) as AsyncIterable<unknown>;
        } catch (error) {
          await refused(error, procedure, call.principal, call);
        } finally {
          leave();
        }
      };
    }
    return async (request: never, transport: TransportCall) => {
      const call = await admit(transport);
      const leave = enter(call.principal);
      try {
        return await (handler(request, call) as Promise<unknown>);
      } catch (error) {
        return refused(error, procedure, call.principal, call);
      } finally {
        leave();
      }
    };
  }

  return {
    authenticate,
    guard(service, handlers, scopes) {
      const served: Record<string, AnyHandler> = {};
      for (const method of service.methods) {
        const handler = (handlers as Record<string, (request: never, call: Call) => unknown>)[method.localName];
        if (!handler) throw new Error(`no handler for ${service.typeName}/${method.name}`);
        served[method.localName] = guarded(method, (scopes as Record<string, Scope>)[method.localName]!, handler);
      }
      return served as ServedHandlers<typeof service>;
    },
  };
}
