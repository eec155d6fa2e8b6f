-- Removes bans whose expiry has passed (records have no TTL so eviction can never drop a
-- live ban; this sweep is what deletes them) and forgets expired tombstones in their index.
-- Digest buckets (see ban_apply.lua) of minutes past are dropped: nodes compare only buckets
-- from the next minutes on, by Redis's clock; two minutes of margin for their estimate of it.
-- KEYS[1] ban index   KEYS[2] tombstone index   KEYS[3] ban digest
-- ARGV[1] record key prefix   ARGV[2] batch size
-- Returns the targets whose bans were removed (for the audit trail).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
for _, target in ipairs(expired) do
  redis.call('DEL', ARGV[1] .. target)
  redis.call('ZREM', KEYS[1], target)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local minute = math.floor(now / 60000)
for _, bucket in ipairs(redis.call('HKEYS', KEYS[3])) do
  local at = tonumber(bucket)
  if at and at < minute - 2 then redis.call('HDEL', KEYS[3], bucket) end
end
return expired
