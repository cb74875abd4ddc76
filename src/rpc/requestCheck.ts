import { ScalarType } from '@bufbuild/protobuf';
import type { DescField, DescMessage } from '@bufbuild/protobuf';
import { configureTextEncoding } from '@bufbuild/protobuf/wire';
import { InvalidArgument } from '../errors.js';
import { checkText } from '../events/validation.js';
import type { JsonValue } from '../events/types.js';

// What every request must satisfy before any handler sees it, on every protocol: the rules of
// the wire (a decodable body, known fields and enum names, int64-sized integers, real times)
// and of text (no NUL, valid Unicode). The rules of each field's meaning live in the domain.

/** Largest integer PostgreSQL's bigint holds: uint64 fields (versions, positions) stop here. */
const MAX_INT64 = 2n ** 63n - 1n;
// google.protobuf.Timestamp's valid range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
const MIN_SECONDS = -62_135_596_800n;
const MAX_SECONDS = 253_402_300_799n;

// A binary string that is not UTF-8 decodes to its lossy text behind a lone surrogate, which
// no valid UTF-8 can produce: checkText then refuses it, naming the field, where protobuf-es
// would throw and connect-es answer INTERNAL. The string "__proto__" decodes behind a second
// mark: as a key of a Struct it would set the map object's prototype and vanish, so the
// check below refuses it as a key and restores it everywhere else.
const NOT_UTF8 = '\udfff';
const PROTO_KEY = '\udffe__proto__';
const PROTO_BYTES = Buffer.from('__proto__');

/** Reading options for binary decoding on every listener: deep enough that the domain's depth rule, not the decoder, refuses a deep document. */
export const binaryReadOptions = { recursionLimit: 512 };

/**
 * Installs the binary text decoding described above. protobuf-es reads strings through one
 * process-wide text codec, so a client in the same process (a test, a benchmark) decoding the
 * string "__proto__" or invalid UTF-8 sees the marks too; the service itself decodes only
 * requests, and checkMessage handles every mark in them.
 */
export function installWireTextDecoding(): void {
  const encoder = new TextEncoder();
  const lenient = new TextDecoder('utf-8');
  const strict = new TextDecoder('utf-8', { fatal: true });
  configureTextEncoding({
    encodeUtf8: (text) => encoder.encode(text),
    decodeUtf8(bytes) {
      if (bytes.length === PROTO_BYTES.length && PROTO_BYTES.equals(bytes)) return PROTO_KEY;
      try {
        return strict.decode(bytes);
      } catch {
        return NOT_UTF8 + lenient.decode(bytes);
      }
    },
    checkUtf8: (text) => text.isWellFormed(),
  });
}

/** Checks one decoded message and everything in it; restores marked "__proto__" strings in place. */
export function checkMessage(desc: DescMessage, message: Record<string, unknown>, path: string): void {
  // A field this contract does not have (a newer client's, or a typo's) is refused, as in JSON.
  const unknown = message.$unknown as { no: number }[] | undefined;
  if (unknown?.length) {
    throw new InvalidArgument(join(path, `#${unknown[0]!.no}`), `field number ${unknown[0]!.no} is not a field of ${desc.name}`);
  }
  for (const member of desc.members) {
    if (member.kind === 'oneof') {
      const selected = message[member.localName] as { case: string | undefined; value?: unknown };
      const field = selected.case === undefined ? undefined : member.fields.find((f) => f.localName === selected.case);
      if (field) selected.value = checkField(field, selected.value, join(path, field.name));
      continue;
    }
    const value = message[member.localName];
    if (value === undefined) continue;
    const checked = checkField(member, value, join(path, member.name));
    if (checked !== value) message[member.localName] = checked;
  }
}

function checkField(field: DescField, value: unknown, path: string): unknown {
  switch (field.fieldKind) {
    case 'scalar':
      return checkScalar(field.scalar, value, path);
    case 'enum':
      return value;
    case 'message':
      return checkNested(field.message, value, path);
    case 'list': {
      const list = value as unknown[];
      for (let i = 0; i < list.length; i++) {
        const at = `${path}[${i}]`;
        if (field.listKind === 'scalar') list[i] = checkScalar(field.scalar, list[i], at);
        else if (field.listKind === 'message') list[i] = checkNested(field.message, list[i], at);
      }
      return list;
    }
    case 'map': {
      const map = value as Record<string, unknown>;
      for (const key of Object.keys(map)) {
        const at = `${path}[${JSON.stringify(key)}]`;
        if (key === PROTO_KEY) throw protoKeyRefused(path);
        checkText(at, key);
        if (field.mapKind === 'scalar') map[key] = checkScalar(field.scalar, map[key], at);
        else if (field.mapKind === 'message') map[key] = checkNested(field.message, map[key], at);
      }
      return map;
    }
  }
}

function checkNested(desc: DescMessage, value: unknown, path: string): unknown {
  switch (desc.typeName) {
    // protobuf-es hands these over as plain JSON: the domain checks their text, numbers and
    // depth; here only the decoder's marks are handled.
    case 'google.protobuf.Struct':
    case 'google.protobuf.Value':
    case 'google.protobuf.ListValue':
      return unmarkJson(value as JsonValue, path);
    case 'google.protobuf.Timestamp': {
      const { seconds, nanos } = value as { seconds: bigint; nanos: number };
      if (seconds < MIN_SECONDS || seconds > MAX_SECONDS || nanos < 0 || nanos > 999_999_999) {
        throw new InvalidArgument(path, 'expects a time from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z');
      }
      return value;
    }
    default:
      checkMessage(desc, value as Record<string, unknown>, path);
      return value;
  }
}

function checkScalar(type: ScalarType, value: unknown, path: string): unknown {
  switch (type) {
    case ScalarType.STRING:
      return value === PROTO_KEY ? '__proto__' : checkText(path, value as string);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      if ((value as bigint) > MAX_INT64) throw new InvalidArgument(path, `expects at most ${MAX_INT64}, got ${value}`);
      return value;
    default:
      return value;
  }
}

// Only binary decoding marks text; JSON documents are checked in full by the domain.
function unmarkJson(value: JsonValue, path: string): JsonValue {
  if (typeof value === 'string') return value === PROTO_KEY ? '__proto__' : value;
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = unmarkJson(value[i]!, `${path}[${i}]`);
    return value;
  }
  for (const key in value) {
    if (key === PROTO_KEY) throw protoKeyRefused(path);
    value[key] = unmarkJson(value[key]!, `${path}.${key}`);
  }
  return value;
}

/** A field's path below `path`, as refusals name it. */
export function join(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

/** The refusal of a `__proto__` key in a document or map. */
export function protoKeyRefused(field: string): InvalidArgument {
  return new InvalidArgument(
    field,
    "has the key '__proto__', which is not accepted (it cannot be stored and read back faithfully); rename it",
  );
}
