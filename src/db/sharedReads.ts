import DataLoader from 'dataloader';

/** How reads by key share statements. */
export interface SharedReadOptions {
  /** Most keys one statement reads. */
  maxBatch: number;
  /** Most statements running at once; keys asked for meanwhile wait for the next one. */
  maxInFlight: number;
}

/**
 * Reads by key where concurrent reads share a statement, as appends share a commit: a lone read
 * goes at once, alone (no added latency); reads that arrive while `maxInFlight` statements run
 * go together in the next one. Each key gets its own answer (undefined: no such row); a failed
 * statement fails the reads in it, and only those. `read` answers the rows it found by key.
 */
export function sharedReads<V>(
  read: (keys: readonly string[]) => Promise<ReadonlyMap<string, V>>,
  { maxBatch, maxInFlight }: SharedReadOptions,
): (key: string) => Promise<V | undefined> {
  let running = 0;
  const waiting: (() => void)[] = [];
  const loader = new DataLoader<string, V | undefined>(
    async (keys) => {
      try {
        const rows = await read(keys);
        return keys.map((key) => rows.get(key));
      } finally {
        running--;
        waiting.shift()?.();
      }
    },
    {
      cache: false,
      maxBatchSize: maxBatch,
      // Called with a new batch's first key; the batch takes keys until `dispatch` runs.
      batchScheduleFn: (dispatch) => {
        if (running < maxInFlight) {
          running++;
          // Keys asked for in the same turn of the event loop still join this statement.
          process.nextTick(dispatch);
        } else {
          waiting.push(() => {
            running++;
            dispatch();
          });
        }
      },
    },
  );
  return (key) => loader.load(key);
}
