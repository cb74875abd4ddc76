/** Turns texts into vectors of a fixed dimension, for the Chroma projection and semantic search. */
export interface Embedder {
  /** What it is, for the log and the collection's metadata (a change of embedder needs a rebuild). */
  readonly name: string;
  readonly dimensions: number;
  /** One vector per text, in order. */
  embed(texts: string[], signal?: AbortSignal): Promise<number[][]>;
}

/** The text of a memory's content that is embedded: its string values, in document order (as full-text search reads it). */
export function contentText(value: unknown): string {
  const parts: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') parts.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(value);
  return parts.join('\n');
}

/** Scales a vector to length 1 (a zero vector stays zero). */
export function normalize(vector: number[]): number[] {
  let sum = 0;
  for (const x of vector) sum += x * x;
  const norm = Math.sqrt(sum);
  return norm === 0 ? vector : vector.map((x) => x / norm);
}
