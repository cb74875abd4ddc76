/**
 * The pads of the log's hash-chain key (HMAC-SHA256: the key, zero-padded to 64 bytes, xor
 * 0x36 and 0x5c). append_batch hands them to the trigger event_chain (sql/functions/), which
 * hashes each event over its stream's previous hash and its fields; verification recomputes
 * the same in SQL.
 */
export interface ChainPads {
  inner: Buffer;
  outer: Buffer;
}

/** The pads of a key of at most 64 bytes. */
export function chainPads(key: Buffer): ChainPads {
  if (key.length > 64) throw new Error('a hash-chain key has at most 64 bytes');
  const padded = Buffer.concat([key, Buffer.alloc(64 - key.length)]);
  return { inner: padded.map((b) => b ^ 0x36) as Buffer, outer: padded.map((b) => b ^ 0x5c) as Buffer };
}
