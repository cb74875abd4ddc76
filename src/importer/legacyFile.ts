import { createHash, hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { Tokenizer, TokenParser, TokenType } from '@streamparser/json';
import type { ParsedTokenInfo } from '@streamparser/json';
import type { JsonValue } from '../events/types.js';
import { isObject } from './legacyRules.js';

/** A file that cannot be imported, and why (said to the operator as is). */
export class FileRefused extends Error {}

/** One item of a legacy file: its index in the list it came from, and its value. */
export interface LegacyItem {
  index: number;
  value: JsonValue;
}

/** A legacy memory file, read far enough to know what it holds. */
export interface LegacyFile {
  /** SHA-256 of its bytes, hex: its items' memory ids derive from it. */
  sha256: string;
  size: number;
  /** The agent_id and user_id at its top level, if any (the seed reads them there). */
  agentId: JsonValue | undefined;
  userId: JsonValue | undefined;
  /** Items that are JSON objects (memories) and items that are not (skipped). */
  objects: number;
  others: number;
  /** Whether its items are read from disk on each pass (a large file) rather than held. */
  streamed: boolean;
  /** Its items, in order; may be called again (a streamed file is read again). */
  items(): AsyncIterable<LegacyItem>;
}

const CHUNK_BYTES = 1 << 20;

/**
 * Reads a legacy file: checks it is UTF-8 JSON and finds where its memories are, by the seed's
 * shapes: a list of items; `{memories: [...]}`; `{data: ...}` (looked into again); else the
 * object itself is one item. A file up to `streamAbove` bytes is parsed whole; a larger one is
 * streamed: a first pass checks it and finds the shape without holding it, and items() reads
 * it again holding one item at a time. Throws FileRefused with the reason.
 */
export async function readLegacyFile(file: string, streamAbove: number, listedSize?: number): Promise<LegacyFile> {
  // A file listed small is read whole at once: opening it a second time for its first bytes was
  // a twentieth of the importer's CPU.
  if (listedSize !== undefined && listedSize <= streamAbove) return parseWhole(await readWhole(file));
  const head = await readHead(file);
  refuseOtherEncodings(head.bytes);
  return head.size > streamAbove ? scanLarge(file, head.size) : parseWhole(await readWhole(file));
}

async function readWhole(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new FileRefused(`cannot read it: ${(error as Error).message}`);
  }
}

async function parseWhole(bytes: Buffer): Promise<LegacyFile> {
  refuseOtherEncodings(bytes.subarray(0, 4));
  const text = decode(bytes);
  if (text.trim() === '') throw new FileRefused('empty file: no memories');
  let root: JsonValue;
  try {
    root = JSON.parse(text) as JsonValue;
  } catch (error) {
    throw new FileRefused(`invalid JSON: ${(error as Error).message}`);
  }
  const list = itemsOf(root);
  const objects = list.filter((item) => isObject(item)).length;
  return {
    sha256: hash('sha256', bytes, 'hex'),
    size: bytes.length,
    agentId: isObject(root) ? root.agent_id : undefined,
    userId: isObject(root) ? root.user_id : undefined,
    objects,
    others: list.length - objects,
    streamed: false,
    items: async function* () {
      for (let index = 0; index < list.length; index++) yield { index, value: list[index]! };
    },
  };
}

// The seed's shapes, on a parsed document.
function itemsOf(value: JsonValue): JsonValue[] {
  if (Array.isArray(value)) return value;
  if (!isObject(value)) return [];
  if (Array.isArray(value.memories)) return value.memories;
  if (Object.hasOwn(value, 'data')) return itemsOf(value.data!);
  return [value];
}

// What the first pass learns of each object on the chain root → .data → .data …
interface Level {
  kind: 'object' | 'array' | 'other';
  /** The container's frame (last occurrence of a repeated key). */
  ordinal: number;
  /** The frame of its memories list, when it has one. */
  listOrdinal: number | null;
  hasData: boolean;
  // Elements of this level's list (when an array) or of its memories list: objects and others.
  objects: number;
  others: number;
}

interface Frame {
  kind: 'object' | 'array';
  /** Containers are numbered as they open: the same numbers on every pass over the file. */
  ordinal: number;
  key: string | null;
  expectKey: boolean;
  /** The level of the chain this container is, if it is on it. */
  level: number | null;
  /** The level whose list this array is, if it is a list of items. */
  listOf: number | null;
}

/** Follows a document's tokens: which containers are on the seed's chain, and the top-level ids. */
function shapeWalker() {
  const levels: Level[] = [];
  const stack: Frame[] = [];
  const top: { agentId?: JsonValue; userId?: JsonValue } = {};
  let opened = 0;
  let lastClosed: Frame | undefined;
  const newLevel = (kind: Level['kind']): Level => ({ kind, ordinal: opened, listOrdinal: null, hasData: false, objects: 0, others: 0 });

  // The value starting with this token: its level on the chain, if it is on it.
  function valueStarts(token: TokenType): number | null {
    const kind = token === TokenType.LEFT_BRACE ? 'object' : token === TokenType.LEFT_BRACKET ? 'array' : 'other';
    const parent = stack.at(-1);
    if (!parent) {
      levels[0] = newLevel(kind);
      return 0;
    }
    if (parent.listOf !== null && levels[parent.listOf]?.[parent.level === null ? 'listOrdinal' : 'ordinal'] === parent.ordinal) {
      const level = levels[parent.listOf]!;
      if (kind === 'object') level.objects++;
      else level.others++;
    }
    if (parent.kind !== 'object' || parent.level === null) return null;
    const at = parent.level;
    // A repeated key counts as its last occurrence, as JSON.parse (and Python's json) take it.
    if (parent.key === 'memories') {
      levels[at]!.listOrdinal = kind === 'array' ? opened : null;
      levels[at]!.objects = levels[at]!.others = 0;
    }
    if (parent.key === 'data') {
      levels[at]!.hasData = true;
      levels.length = at + 1;
      levels[at + 1] = newLevel(kind);
      return at + 1;
    }
    return null;
  }

  function onToken({ token, value }: ParsedTokenInfo): void {
    const frame = stack.at(-1);
    if (frame?.kind === 'object' && frame.expectKey) {
      if (token === TokenType.STRING) {
        frame.key = value as string;
        frame.expectKey = false;
      }
      if (token !== TokenType.RIGHT_BRACE) return;
    }
    switch (token) {
      case TokenType.COLON:
        return;
      case TokenType.COMMA:
        if (frame?.kind === 'object') frame.expectKey = true;
        return;
      case TokenType.RIGHT_BRACE:
      case TokenType.RIGHT_BRACKET:
        lastClosed = stack.pop();
        return;
    }
    const isContainer = token === TokenType.LEFT_BRACE || token === TokenType.LEFT_BRACKET;
    if (isContainer) opened++;
    const level = valueStarts(token);
    const listOf =
      token !== TokenType.LEFT_BRACKET
        ? null
        : level !== null
          ? level
          : frame?.kind === 'object' && frame.level !== null && frame.key === 'memories'
            ? frame.level
            : null;
    if (token === TokenType.LEFT_BRACE) stack.push({ kind: 'object', ordinal: opened, key: null, expectKey: true, level, listOf: null });
    else if (token === TokenType.LEFT_BRACKET) stack.push({ kind: 'array', ordinal: opened, key: null, expectKey: false, level, listOf });
    else if (stack.length === 1 && frame?.kind === 'object') {
      if (frame.key === 'agent_id') top.agentId = value;
      if (frame.key === 'user_id') top.userId = value;
    }
  }

  return {
    onToken,
    levels,
    top,
    /** The innermost open container. */
    current: () => stack.at(-1),
    /** The container closed last. */
    closed: () => lastClosed,
  };
}

// Where the items are: the path the streaming parser emits, and the one container (its
// ordinal) whose members (a list) or self (a single object) they are.
interface Target {
  path: string;
  ordinal: number;
  single: boolean;
}

async function scanLarge(file: string, size: number): Promise<LegacyFile> {
  const hash = createHash('sha256');
  const walker = shapeWalker();
  // The tokenizer feeds the walker (the shape) and a token parser that keeps nothing (the
  // grammar: the tokenizer alone would let `[1 2]` through).
  const tokenizer = new Tokenizer();
  const grammar = new TokenParser({ paths: [], keepStack: false });
  grammar.onValue = () => {};
  tokenizer.onToken = (token) => {
    walker.onToken(token);
    grammar.write(token);
  };
  await eachChunk(file, (text, bytes) => {
    hash.update(bytes);
    write(tokenizer, text);
  });
  const { levels } = walker;
  if (levels.length === 0) throw new FileRefused('empty file: no memories');
  if (!grammar.isEnded) throw new FileRefused('invalid JSON: the file ends before the document does');

  let at = 0;
  let path = '$';
  let target: Target | null = null;
  let counts = { objects: 0, others: 0 };
  for (;;) {
    const level = levels[at]!;
    if (level.kind === 'array') {
      target = { path: `${path}.*`, ordinal: level.ordinal, single: false };
      counts = level;
    } else if (level.kind === 'object' && level.listOrdinal !== null) {
      target = { path: `${path}.memories.*`, ordinal: level.listOrdinal, single: false };
      counts = level;
    } else if (level.kind === 'object' && level.hasData && levels[at + 1]) {
      at++;
      path += '.data';
      continue;
    } else if (level.kind === 'object') {
      target = { path, ordinal: level.ordinal, single: true };
      counts = { objects: 1, others: 0 };
    }
    break;
  }
  return {
    sha256: hash.digest('hex'),
    size,
    agentId: walker.top.agentId,
    userId: walker.top.userId,
    objects: counts.objects,
    others: counts.others,
    streamed: true,
    items: () => (target === null ? noItems() : streamItems(file, target)),
  };
}

async function* noItems(): AsyncIterable<LegacyItem> {}

// Reads the file again, holding one item at a time; values the path matches in any other
// container than the target (an earlier occurrence of a repeated key) are passed over.
async function* streamItems(file: string, target: Target): AsyncIterable<LegacyItem> {
  const walker = shapeWalker();
  const tokenizer = new Tokenizer();
  const parser = new TokenParser({ paths: [target.path], keepStack: false });
  let ready: LegacyItem[] = [];
  let index = 0;
  parser.onValue = ({ value }) => {
    const container = target.single ? walker.closed() : walker.current();
    if (container?.ordinal === target.ordinal) ready.push({ index: index++, value: value as JsonValue });
  };
  tokenizer.onToken = (token) => {
    walker.onToken(token);
    parser.write(token);
  };
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK_BYTES })) {
    tokenizer.write(decoder.decode(chunk as Buffer, { stream: true }));
    const taken = ready;
    ready = [];
    yield* taken;
  }
  yield* ready;
}

async function eachChunk(file: string, use: (text: string, bytes: Buffer) => void): Promise<void> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let offset = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK_BYTES })) {
    const bytes = chunk as Buffer;
    let text: string;
    try {
      text = decoder.decode(bytes, { stream: true });
    } catch {
      throw new FileRefused(`not UTF-8: invalid bytes within bytes ${offset}–${offset + bytes.length}`);
    }
    use(text, bytes);
    offset += bytes.length;
  }
  try {
    use(decoder.decode(), Buffer.alloc(0));
  } catch (error) {
    if (error instanceof FileRefused) throw error;
    throw new FileRefused('not UTF-8: the file ends inside a character');
  }
}

function write(tokenizer: Tokenizer, text: string): void {
  try {
    tokenizer.write(text);
  } catch (error) {
    throw new FileRefused(`invalid JSON: ${(error as Error).message}`);
  }
}

function decode(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FileRefused('not UTF-8: the file has bytes that are not UTF-8 text (save it as UTF-8)');
  }
}

async function readHead(file: string): Promise<{ bytes: Buffer; size: number }> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw new FileRefused(`cannot read it: ${(error as Error).message}`);
  }
  try {
    const { size } = await handle.stat();
    const bytes = Buffer.alloc(Math.min(4, size));
    await handle.read(bytes, 0, bytes.length, 0);
    return { bytes, size };
  } finally {
    await handle.close();
  }
}

// UTF-16 and UTF-32 (with a byte-order mark, or ASCII JSON with zero bytes between) are
// named as such: "not UTF-8" alone would leave the operator guessing.
function refuseOtherEncodings(head: Buffer): void {
  const utf16 = (head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff);
  const zeros = head.length >= 2 && (head[0] === 0 || head[1] === 0);
  if (utf16 || zeros) throw new FileRefused('wrong encoding: UTF-16 or UTF-32; expects UTF-8 (save it as UTF-8)');
}
