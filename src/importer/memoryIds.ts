import { createHash } from 'node:crypto';

// Ids fixed by where a memory comes from, so that importing the same file again, or resuming
// an import that was killed, finds every memory already there instead of writing it twice.

/** The id of the memory from item `index` of the file whose bytes hash to `fileSha256`. */
export function importedMemoryId(fileSha256: string, index: number): string {
  return uuidOf(`auren.importer/memory/${fileSha256}/${index}`);
}

/** The id of the memory_created event that imports memory `memoryId`. */
export function importedEventId(memoryId: string): string {
  return uuidOf(`auren.importer/memory_created/${memoryId}`);
}

// A name-based UUID: the first 128 bits of its SHA-256, marked as version 8 (RFC 9562's
// custom layout), variant 10.
function uuidOf(name: string): string {
  const bytes = createHash('sha256').update(name).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
