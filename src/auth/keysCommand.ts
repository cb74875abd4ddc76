import { parseArgs } from 'node:util';
import type { DatabasePool } from 'slonik';
import { InvalidArgument } from '../errors.js';
import { createKeyStore } from './keys.js';
import { keysByPepperQuery } from './queries.js';
import type { KeyRecord } from './keys.js';
import type { KeyKind } from './principal.js';
import { PEPPER_PURPOSE } from './secret.js';
import type { ServerSecret } from './secret.js';

/** Usage of `auren keys`. */
export const KEYS_USAGE = `  keys create --kind agent|service|admin [--agent ID] [--name NAME] [--scopes a,b] [--tenant user1,user2]
                  make an API key and print it (shown this once)
  keys list       list the keys (never their secrets)
  keys revoke ID  revoke a key
  keys secrets    the server's secrets (current, AUREN_PREVIOUS_SECRETS) and how many keys each hashes:
                  a previous secret can go once no key in use is hashed under it`;

/** What `auren keys` writes to. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
}

/** Runs `auren keys <args>` against an open database; resolves to the exit code. */
export async function keysCommand(args: string[], pool: DatabasePool, secret: ServerSecret, output: Output): Promise<number> {
  // The CLI reads the row it revokes again at once: no cache.
  const keys = createKeyStore({ pool, peppers: secret.deriveAll(PEPPER_PURPOSE), cacheMs: 0 });
  const [sub, ...rest] = args;
  try {
    switch (sub) {
      case 'create': {
        const { values } = parseArgs({
          args: rest,
          options: {
            kind: { type: 'string' },
            agent: { type: 'string' },
            name: { type: 'string' },
            scopes: { type: 'string' },
            tenant: { type: 'string' },
          },
          strict: true,
        });
        if (values.kind === undefined) throw new InvalidArgument('--kind', 'expects agent, service or admin');
        const list = (value: string | undefined) =>
          value === undefined
            ? undefined
            : value
                .split(',')
                .map((v) => v.trim())
                .filter(Boolean);
        const made = await keys.create({
          kind: values.kind as KeyKind,
          ...(values.agent === undefined ? {} : { agentId: values.agent }),
          ...(values.name === undefined ? {} : { name: values.name }),
          ...(values.scopes === undefined ? {} : { scopes: list(values.scopes)! }),
          ...(values.tenant === undefined ? {} : { tenant: list(values.tenant)! }),
        });
        output.err(`made ${describe(made.record)}; the key is shown this once:`);
        output.out(made.key);
        return 0;
      }
      case 'list':
        for (const record of await keys.list()) output.out(describe(record));
        return 0;
      case 'revoke': {
        if (rest.length !== 1) throw new InvalidArgument('ID', 'expects the id of one key (see auren keys list)');
        const record = await keys.revoke(rest[0]!);
        output.out(`revoked ${describe(record)}`);
        return 0;
      }
      case 'secrets': {
        const known = secret.deriveAll(PEPPER_PURPOSE).map((p) => p.secretId);
        known.forEach((id, i) => output.out(`${i === 0 ? 'current' : 'previous'} secret ${id}`));
        for (const { pepper_id: id, keys: n } of await pool.any(keysByPepperQuery)) {
          const under =
            id === null
              ? 'a secret from before secret ids were kept (tried under each secret)'
              : known.includes(id)
                ? `secret ${id} (${id === known[0] ? 'current' : 'previous'})`
                : `secret ${id}, which this server does not have: refused until made again`;
          output.out(`${n} key(s) in use hashed under ${under}`);
        }
        return 0;
      }
      default:
        output.err(`auren: keys ${sub ?? ''}: expects create, list, revoke or secrets\n${KEYS_USAGE}`);
        return 2;
    }
  } catch (error) {
    if (
      error instanceof InvalidArgument ||
      (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      output.err(`auren: keys ${sub}: ${error.message}`);
      return 2;
    }
    throw error;
  }
}

function describe(r: KeyRecord): string {
  const parts = [
    r.id,
    r.kind,
    `name=${r.name}`,
    ...(r.agent_id === null ? [] : [`agent=${r.agent_id}`]),
    `scopes=${r.scopes.join(',')}`,
    ...(r.tenant === null ? [] : [`tenant=${r.tenant.join(',')}`]),
    `created=${new Date(r.created_at).toISOString()}`,
    ...(r.revoked_at === null ? [] : [`revoked=${new Date(r.revoked_at).toISOString()}`]),
  ];
  return parts.join(' ');
}
