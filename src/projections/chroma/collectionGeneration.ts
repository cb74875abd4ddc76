import { sql } from 'slonik';
import type { DatabasePool } from 'slonik';
import { z } from 'zod';
import { createCheckpoints } from '../../consumers/checkpoints.js';
import type { Logger } from '../../log.js';
import { CHROMA_PROJECTION } from './chromaProjection.js';

/** What a projection learns when it opens its collection: whether the log must be replayed into it. */
export type CollectionGeneration = 'same' | 'first' | 'replaced';

const storeRow = z.object({ store_id: z.string() });

/**
 * Records the id of the collection the Chroma projection writes into (sql/050). Chroma gives a
 * collection a new id each time it is created, so a different id means the collection the
 * checkpoint describes is gone (Chroma restarted empty, the collection deleted): the checkpoint
 * goes back to the log's start and the consumer replays everything into the new one. A
 * collection seen for the first time that is empty while the checkpoint says otherwise is
 * replayed into too. The update is a compare-and-set, so of several replicas one resets.
 */
export async function adoptCollection(
  pool: DatabasePool,
  collection: { id: string; count(): Promise<number> },
  log: Logger,
): Promise<CollectionGeneration> {
  const checkpoints = createCheckpoints(pool);
  const replaced = await pool.maybeOne(sql.type(storeRow)`
    with previous as (select store_id from projection_stores where projection = ${CHROMA_PROJECTION} for update)
    update projection_stores set store_id = ${collection.id}, updated_at = now()
      from previous
     where projection = ${CHROMA_PROJECTION} and projection_stores.store_id <> ${collection.id}
    returning previous.store_id`);
  if (replaced) {
    log.warn(
      { previous: replaced.store_id, collection: collection.id },
      'the Chroma collection is not the one the projection wrote (Chroma lost its data?): replaying the log into it',
    );
    await checkpoints.reset(CHROMA_PROJECTION);
    return 'replaced';
  }
  const inserted = await pool.maybeOne(sql.type(storeRow)`
    insert into projection_stores (projection, store_id) values (${CHROMA_PROJECTION}, ${collection.id})
    on conflict (projection) do nothing
    returning store_id`);
  if (!inserted) return 'same';
  const stored = await checkpoints.find(CHROMA_PROJECTION);
  if (stored && (stored.position.commit > 0n || stored.position.prepare > 0n) && (await collection.count()) === 0) {
    log.warn({ collection: collection.id }, 'the Chroma collection is empty though the projection has run: replaying the log into it');
    await checkpoints.reset(CHROMA_PROJECTION);
  }
  return 'first';
}
