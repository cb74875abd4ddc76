// The Lua scripts of the Redis projection. Each runs atomically in Redis: a reader never sees
// half an event applied, and the applied position moves with the state it describes.

/**
 * Applies one memory event. KEYS: memory, applied, agent list, person-agent list (or the
 * memory key again when there is no person), conversations (same), decisions (same).
 * ARGV: kind, version, position, memory id, created_at score, type, memory TTL s, list TTL s,
 * conversations TTL s, decisions TTL s, list max, conversations max, decisions max, then
 * field/value pairs to set on the memory hash.
 *
 * Idempotent: an event at or below the stored version changes nothing, so a re-delivery or a
 * replay ends in the same state. The applied position is the event's own (it moves back during
 * a re-delivery after a crash, which is what it then is).
 */
export const APPLY_EVENT = `
redis.call('SET', KEYS[2], ARGV[3])
local kind = ARGV[1]
if kind == 'position' then return 0 end
local current = redis.call('HGET', KEYS[1], 'version')
if current and tonumber(current) >= tonumber(ARGV[2]) then return 0 end
local id = ARGV[4]
local hasPerson = KEYS[4] ~= KEYS[1]
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
if kind ~= 'created' then return 1 end
local function keep(key, ttl, max)
  redis.call('ZADD', key, ARGV[5], id)
  redis.call('ZREMRANGEBYRANK', key, 0, -(tonumber(max) + 1))
  if tonumber(ttl) > 0 then redis.call('EXPIRE', key, ttl) end
end
keep(KEYS[3], ARGV[8], ARGV[11])
if hasPerson then
  keep(KEYS[4], ARGV[8], ARGV[11])
  if ARGV[6] == 'conversation' then keep(KEYS[5], ARGV[9], ARGV[12]) end
end
if ARGV[6] == 'decision' then keep(KEYS[6], ARGV[10], ARGV[13]) end
return 1
`;
