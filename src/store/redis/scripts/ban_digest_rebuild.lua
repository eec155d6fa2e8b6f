-- Builds the ban digest (see ban_apply.lua) from the ban index, when the digest is missing
-- or was never complete (evicted, or Redis kept bans written before it existed), and marks
-- it complete. In one call, so no change can slip between reading the index and writing the
-- digest; above ARGV[1] bans that call would hold Redis too long and nothing is done.
-- A complete digest is left alone unless ARGV[2] is 1 (a node suspects it); a refused
-- rebuild changes nothing, so a digest too big to rebuild stays as it was.
-- KEYS[1] ban index   KEYS[2] ban digest   ARGV[1] most bans rebuilt at once   ARGV[2] 1: even a complete one
-- Returns the number of bans hashed, or -1 when the index holds more than ARGV[1].
-- `fnv` comes from fnv.lua, prepended.
if ARGV[2] ~= '1' and redis.call('HGET', KEYS[2], 'complete') == '1' then return redis.call('ZCARD', KEYS[1]) end
local size = redis.call('ZCARD', KEYS[1])
if size > tonumber(ARGV[1]) then return -1 end
local buckets = {}
local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #entries, 2 do
  local bucket = 'p'
  if entries[i + 1] ~= 'inf' then bucket = tostring(math.floor(tonumber(entries[i + 1]) / 60000)) end
  buckets[bucket] = bit.bxor(buckets[bucket] or 0, fnv(entries[i]))
end
redis.call('DEL', KEYS[2])
for bucket, value in pairs(buckets) do
  if value ~= 0 then redis.call('HSET', KEYS[2], bucket, value) end
end
redis.call('HSET', KEYS[2], 'complete', '1')
return size
