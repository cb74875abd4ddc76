import type { DescEnum, DescMessage } from '@bufbuild/protobuf';
import { InvalidArgument } from '../errors.js';
import { checkText } from '../events/validation.js';
import { join, protoKeyRefused } from './requestCheck.js';

// The rules of the JSON wire (Connect's JSON, as curl sends it), checked before protobuf-es
// reads a body: connect-es ignores unknown fields and enum names by default, which would read
// a misspelt expected-version mode as ANY, and protobuf-es drops a `__proto__` key of a Struct.

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The text of a JSON request body, checked against the method's request message: the body is
 * UTF-8, and an unknown field, an unknown enum name or a `__proto__` key is an InvalidArgument
 * naming the field and what it expects. A syntax error is left to protobuf-es, which reports it.
 */
export function checkJsonBody(input: DescMessage, bytes: Uint8Array | undefined): string {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw new InvalidArgument('request', 'the body is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return text;
  }
  checkJsonMessage(input, json, '');
  return text;
}

// JSON of a message: keys must be fields (by JSON or proto name), enum names must exist.
// Types of values are left to protobuf-es, whose messages name the field.
function checkJsonMessage(desc: DescMessage, json: unknown, path: string): void {
  if (desc.typeName === 'google.protobuf.Timestamp' && typeof json === 'string' && !RFC3339.test(json)) {
    throw new InvalidArgument(
      path,
      `expects an RFC 3339 time such as 2026-12-01T09:30:00Z (years 0001 to 9999), got ${JSON.stringify(json.slice(0, 40))}`,
    );
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return;
  if (WELL_KNOWN_JSON.has(desc.typeName)) return checkJsonDocument(json, path || 'request');
  for (const key of Object.keys(json)) {
    if (key === '__proto__') throw protoKeyRefused(path || 'request');
    const field = desc.fields.find((f) => f.jsonName === key || f.name === key);
    if (!field) {
      const names = desc.fields.map((f) => f.jsonName).join(', ');
      throw new InvalidArgument(join(path, key), `is not a field of ${desc.name}; expects ${names ? `one of ${names}` : 'no fields'}`);
    }
    const value = (json as Record<string, unknown>)[key];
    if (value === null) continue;
    const at = join(path, field.name);
    switch (field.fieldKind) {
      case 'enum':
        checkJsonEnum(field.enum, value, at);
        break;
      case 'message':
        checkJsonMessage(field.message, value, at);
        break;
      case 'list':
        if (!Array.isArray(value)) break;
        value.forEach((item, i) => {
          if (field.listKind === 'scalar' && typeof item === 'string') checkText(`${at}[${i}]`, item);
          if (field.listKind === 'enum') checkJsonEnum(field.enum, item, `${at}[${i}]`);
          if (field.listKind === 'message') checkJsonMessage(field.message, item, `${at}[${i}]`);
        });
        break;
      case 'map':
        if (typeof value !== 'object' || Array.isArray(value)) break;
        for (const [k, v] of Object.entries(value)) {
          if (k === '__proto__') throw protoKeyRefused(at);
          if (field.mapKind === 'enum') checkJsonEnum(field.enum, v, `${at}[${JSON.stringify(k)}]`);
          if (field.mapKind === 'message') checkJsonMessage(field.message, v, `${at}[${JSON.stringify(k)}]`);
        }
        break;
      case 'scalar':
        if (typeof value === 'string') checkText(at, value);
        break;
    }
  }
}

// RFC 3339 with a four-digit year, as google.protobuf.Timestamp's JSON form.
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

// Messages whose JSON form is not an object of their fields.
const WELL_KNOWN_JSON = new Set([
  'google.protobuf.Struct',
  'google.protobuf.Value',
  'google.protobuf.ListValue',
  'google.protobuf.Timestamp',
  'google.protobuf.Duration',
  'google.protobuf.Any',
  'google.protobuf.FieldMask',
]);

function checkJsonEnum(desc: DescEnum, value: unknown, path: string): void {
  if (typeof value !== 'string' || desc.values.some((v) => v.name === value)) return;
  throw new InvalidArgument(path, `unknown value ${JSON.stringify(value)}; expects one of ${desc.values.map((v) => v.name).join(', ')}`);
}

function checkJsonDocument(value: unknown, path: string): void {
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) return value.forEach((item, i) => checkJsonDocument(item, `${path}[${i}]`));
  for (const key of Object.keys(value)) {
    if (key === '__proto__') throw protoKeyRefused(path);
    checkJsonDocument((value as Record<string, unknown>)[key], `${path}.${key}`);
  }
}
