import { InvalidArgument } from '../errors.js';
import type { JsonObject } from '../events/types.js';
import { checkText, codePoints, isUuid } from '../events/validation.js';
import { checkDocument } from '../memory/validation.js';

// The checks of this module's requests beyond the memory module's (names, confidences, documents).

/** Longest free text of a request (a topic, a category, a statement, a note), in characters. */
export const MAX_TEXT_LENGTH = 4000;

/** Checks an id this service assigned: a UUID, returned in lower case. */
export function checkId(field: string, value: string): string {
  if (value === '') throw new InvalidArgument(field, 'must not be empty');
  if (!isUuid(value)) throw new InvalidArgument(field, `expects a UUID, got '${value.slice(0, 60)}'`);
  return value.toLowerCase();
}

/** Checks free text: valid Unicode without NUL, at most MAX_TEXT_LENGTH characters; `required` refuses it empty. */
export function checkFreeText(field: string, value: string, required = false): string {
  if (required && value.trim() === '') throw new InvalidArgument(field, 'must not be empty');
  checkText(field, value);
  if (value.length > MAX_TEXT_LENGTH) {
    const characters = codePoints(value);
    if (characters > MAX_TEXT_LENGTH) throw new InvalidArgument(field, `expects at most ${MAX_TEXT_LENGTH} characters, got ${characters}`);
  }
  return value;
}

/** Checks a document that must be sent. */
export function checkRequiredDocument(field: string, value: unknown, maxBytes: number): JsonObject {
  if (value === undefined || value === null) throw new InvalidArgument(field, 'must be set');
  return checkDocument(field, value, maxBytes);
}

/** Checks a list of documents: each an object, all together at most `maxBytes` as JSON. */
export function checkDocuments(field: string, values: readonly unknown[], maxBytes: number): JsonObject[] {
  const checked = values.map((value, i) => checkDocument(`${field}[${i}]`, value, maxBytes));
  const size = Buffer.byteLength(JSON.stringify(checked));
  if (size > maxBytes) throw new InvalidArgument(field, `takes ${size} bytes as JSON, over the limit of ${maxBytes}`);
  return checked;
}

/** A count of a request: 0 asks for the default; above `max` is refused. */
export function checkCount(field: string, value: number, limits: { default: number; max: number }): number {
  if (value === 0) return limits.default;
  if (!Number.isInteger(value) || value < 0 || value > limits.max)
    throw new InvalidArgument(field, `expects at most ${limits.max} (0 for the default, ${limits.default}), got ${value}`);
  return value;
}

/** A confidence that must be sent (proto3 `optional`). */
export function requireSet<T>(field: string, value: T | undefined): T {
  if (value === undefined) throw new InvalidArgument(field, 'must be set');
  return value;
}
