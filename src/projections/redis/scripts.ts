// The Lua scripts of the Redis projection. Each runs atomically in Redis: a reader never sees
// half an event applied, and the applied position moves with the state it describes.

/** The score of a list complete from its first memory: below every time a memory can have (µs). */
export const NO_FLOOR = -1e17;

/** The member of a list that marks it complete above its score (APPLY_EVENT). */
export const LIST_FLOOR = '^';

/**
 * Applies one memory event. KEYS: memory, applied, agent list, person-agent list (or the
 * memory key again when there is no person), conversations (same), decisions (same), the
 * lists made (a hash). ARGV: kind, version, position, memory id, created_at score (epoch µs),
 * type, memory TTL s, list TTL s, conversations TTL s, decisions TTL s, list max, conversations
 * max, decisions max, then field/value pairs to set on the memory hash.
 *
 * Idempotent: an event at or below the stored version changes nothing (a memory_created only
 * adds the memory to its lists again, which changes nothing if it is on them), so a re-delivery
 * or a replay ends in the same state. The applied position is the event's own (it moves back
 * during a re-delivery after a crash, which is what it then is).
 *
 * A list is *complete above its floor* when it holds the member '^' (LIST_FLOOR), whose score
 * is the floor: it then holds every live memory of its scope created above the floor, up to
 * the applied position. '^' is added only when the list is made for the first time since the
 * projection replayed the log from its start (the lists-made hash has '^origin' and not the
 * list): its scope had no memory before. A list trimmed to its maximum raises the floor to
 * the highest score it dropped; a list that expired (TTL) loses '^' with it and comes back
 * without: never complete again until a rebuild. Memories at or below the floor are not added.
 */
export const APPLY_EVENT = `
redis.call('SET', KEYS[2], ARGV[3])
local kind = ARGV[1]
if kind == 'position' then return 0 end
local current = redis.call('HGET', KEYS[1], 'version')
local id = ARGV[4]
local hasPerson = KEYS[4] ~= KEYS[1]
local score = tonumber(ARGV[5])
local function keep(key, ttl, max)
  if redis.call('EXISTS', key) == 0 and redis.call('HSETNX', KEYS[7], key, 1) == 1
     and redis.call('HEXISTS', KEYS[7], '^origin') == 1 then
    redis.call('ZADD', key, '${NO_FLOOR}', '^')
  end
  local floor = redis.call('ZSCORE', key, '^')
  if floor and score <= tonumber(floor) then return end
  redis.call('ZADD', key, ARGV[5], id)
  -- Trimmed without '^' (which may tie with a memory's score), then put back at the new floor.
  if floor then redis.call('ZREM', key, '^') end
  local over = redis.call('ZCARD', key) - tonumber(max)
  if over > 0 then
    local dropped = redis.call('ZRANGE', key, 0, over - 1, 'WITHSCORES')
    redis.call('ZREMRANGEBYRANK', key, 0, over - 1)
    if floor then floor = dropped[#dropped] end
  end
  if floor then redis.call('ZADD', key, floor, '^') end
  if tonumber(ttl) > 0 then redis.call('EXPIRE', key, ttl) end
end
local function lists()
  keep(KEYS[3], ARGV[8], ARGV[11])
  if hasPerson then
    keep(KEYS[4], ARGV[8], ARGV[11])
    if ARGV[6] == 'conversation' then keep(KEYS[5], ARGV[9], ARGV[12]) end
  end
  if ARGV[6] == 'decision' then keep(KEYS[6], ARGV[10], ARGV[13]) end
end
if current and tonumber(current) >= tonumber(ARGV[2]) then
  if kind == 'created' then lists() end
  return 0
end
if kind == 'deleted' or kind == 'expired' then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[3], id)
  if hasPerson then
    redis.call('ZREM', KEYS[4], id)
    redis.call('ZREM', KEYS[5], id)
  end
  redis.call('ZREM', KEYS[6], id)
  return 1
end
if kind == 'updated' and not current then return 0 end
local fields = {}
for i = 14, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
if tonumber(ARGV[7]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[7]) end
if kind == 'created' then lists() end
return 1
`;

/**
 * Reads one list for a page, atomically with the applied position. KEYS: the list, applied.
 * ARGV: the keyset to start after (score and id; '' for the first page), how many memories,
 * the memory keys' prefix.
 * Answers [applied, floor or false, ended (1: the list has no more above its floor), then
 * per memory: id, score, its hash as field/value pairs (empty when the hash is gone)].
 */
export const READ_LIST = `
local applied = redis.call('GET', KEYS[2])
local floor = redis.call('ZSCORE', KEYS[1], '^')
local out = { applied or '', floor or false, 0 }
if not floor then return out end
local afterScore = ARGV[1] ~= '' and tonumber(ARGV[1]) or nil
local afterId = ARGV[2]
local want = tonumber(ARGV[3])
local max = ARGV[1] ~= '' and ARGV[1] or '+inf'
local min = '(' .. floor
local offset = 0
local taken = 0
while taken < want do
  local chunk = redis.call('ZRANGE', KEYS[1], max, min, 'BYSCORE', 'REV', 'LIMIT', offset, 64, 'WITHSCORES')
  if #chunk == 0 then out[3] = 1 break end
  for i = 1, #chunk, 2 do
    local member, s = chunk[i], tonumber(chunk[i + 1])
    if member ~= '^' and (afterScore == nil or s < afterScore or member < afterId) and taken < want then
      taken = taken + 1
      out[#out + 1] = member
      out[#out + 1] = chunk[i + 1]
      out[#out + 1] = redis.call('HGETALL', ARGV[4] .. member)
    end
  end
  offset = offset + 64
end
return out
`;
