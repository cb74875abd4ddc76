import { hash } from 'node:crypto';

// Ids fixed by where a memory comes from, so that importing the same file again, or resuming
// an import that was killed, finds every memory already there instead of writing it twice.

/** The ids of the memory from item `index` of the file whose bytes hash to `fileSha256`, and of its memory_created event. */
export interface ImportedIds {
  memoryId: string;
  eventId: string;
}

/**
 * The ids of item `index` of the file whose bytes hash to `fileSha256`, from one SHA-256 of
 * that name: its first 128 bits the memory's id (as every version of the importer derived it:
 * an import resumed by a newer one finds the memories an older one wrote), its last 128 the
 * event's. An event's id is only written with its memory, never looked up by a run, so it may
 * come from the same hash (one hash per memory instead of two: the two were 5% of the importer's CPU).
 */
export function importedIds(fileSha256: string, index: number): ImportedIds {
  const digest = hash('sha256', `auren.importer/memory/${fileSha256}/${index}`, 'buffer');
  return { memoryId: uuidOf(digest.subarray(0, 16)), eventId: uuidOf(digest.subarray(16, 32)) };
}

// 128 bits as a UUID marked as version 8 (RFC 9562's custom layout), variant 10.
function uuidOf(bytes: Buffer): string {
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
