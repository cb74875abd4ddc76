import type { ZodTypeAny as V3Type } from 'zod';
import * as v4 from 'zod/v4';

// Row schemas are written with zod 3, whose types slonik's `sql.type` takes. Checking a row with
// them costs about 18 µs for a memory's 13 columns (zod 3 interprets the schema on every
// parse); zod 4, shipped in the same package, compiles a schema into a function once and checks
// the same row in under 1 µs. So each row schema is translated once into its zod 4 twin, which
// checks the rows; the zod 3 schema stays the source of the types, and of the error when a row
// does not match (the twin only says yes or no, and a mismatch is a bug worth its full report).
// Only what row schemas use is translated; any other part (a string check, a transform, a
// default) keeps the whole schema on zod 3, as before.

/** A row check: the row as its schema outputs it, or undefined when it does not match. */
export type RowCheck = (row: unknown) => { ok: true; data: unknown } | { ok: false };

class Untranslatable extends Error {}
const UNTRANSLATABLE = new Untranslatable();

const checks = new WeakMap<V3Type, RowCheck>();

/** The fast check of a zod 3 row schema: its zod 4 twin when it has one, else the schema itself. */
export function rowCheck(schema: V3Type): RowCheck {
  let check = checks.get(schema);
  if (!check) {
    check = twinCheck(schema) ?? v3Check(schema);
    checks.set(schema, check);
  }
  return check;
}

/** Whether a schema is checked by a compiled twin (not by zod 3). */
export function hasTwin(schema: V3Type): boolean {
  return twins.has(rowCheck(schema));
}

const twins = new WeakSet<RowCheck>();

function twinCheck(schema: V3Type): RowCheck | undefined {
  let twin: v4.ZodType;
  try {
    twin = translate(schema);
  } catch (error) {
    if (error === UNTRANSLATABLE) return undefined;
    throw error;
  }
  const check: RowCheck = (row) => {
    const result = twin.safeParse(row);
    return result.success ? { ok: true, data: result.data } : { ok: false };
  };
  twins.add(check);
  return check;
}

function v3Check(schema: V3Type): RowCheck {
  return (row) => {
    const result = schema.safeParse(row);
    return result.success ? { ok: true, data: result.data } : { ok: false };
  };
}

// zod 3's definitions, as far as they are read here.
interface Def {
  typeName: string;
  checks?: unknown[];
  shape?: () => Record<string, V3Type>;
  unknownKeys?: 'strip' | 'passthrough' | 'strict';
  catchall?: V3Type;
  innerType?: V3Type;
  type?: V3Type;
  values?: readonly string[];
  value?: unknown;
  minLength?: unknown;
  maxLength?: unknown;
  exactLength?: unknown;
  effect?: { type: string; refinement?: (value: unknown, context: { addIssue(): void; path: never[] }) => unknown };
  schema?: V3Type;
  coerce?: boolean;
}

function translate(schema: V3Type): v4.ZodType {
  const def = schema._def as Def;
  if (def.coerce || (def.checks && def.checks.length > 0)) throw UNTRANSLATABLE;
  switch (def.typeName) {
    case 'ZodString':
      return v4.string();
    case 'ZodNumber':
      return v4.number();
    case 'ZodBigInt':
      return v4.bigint();
    case 'ZodBoolean':
      return v4.boolean();
    case 'ZodNull':
      return v4.null();
    case 'ZodUnknown':
      return v4.unknown();
    case 'ZodAny':
      return v4.any();
    case 'ZodLiteral':
      if (typeof def.value !== 'string' && typeof def.value !== 'number' && typeof def.value !== 'boolean') throw UNTRANSLATABLE;
      return v4.literal(def.value);
    case 'ZodEnum':
      return v4.enum(def.values as [string, ...string[]]);
    case 'ZodNullable':
      return translate(def.innerType!).nullable();
    case 'ZodOptional':
      return translate(def.innerType!).optional();
    case 'ZodArray':
      if (def.minLength || def.maxLength || def.exactLength) throw UNTRANSLATABLE;
      return v4.array(translate(def.type!));
    case 'ZodObject': {
      if (def.catchall && (def.catchall._def as Def).typeName !== 'ZodNever') throw UNTRANSLATABLE;
      const shape = Object.fromEntries(Object.entries(def.shape!()).map(([key, value]) => [key, translate(value)]));
      if (def.unknownKeys === 'passthrough') return v4.looseObject(shape);
      if (def.unknownKeys === 'strict') return v4.strictObject(shape);
      return v4.object(shape);
    }
    case 'ZodEffects': {
      // z.custom: a refinement of any value, which changes nothing; its check runs as it is
      // (through zod 3's parse it cost ~4 µs a document).
      if (def.effect?.type !== 'refinement' || (def.schema!._def as Def).typeName !== 'ZodAny') throw UNTRANSLATABLE;
      const refine = def.effect.refinement!;
      // One context for every call (the check is synchronous): nothing is allocated per value.
      const state = { ok: true };
      const context = { addIssue: () => void (state.ok = false), path: [] as never[] };
      return v4.custom((value) => {
        state.ok = true;
        const settled = refine(value, context);
        return state.ok && !(settled instanceof Promise);
      });
    }
    default:
      throw UNTRANSLATABLE;
  }
}
