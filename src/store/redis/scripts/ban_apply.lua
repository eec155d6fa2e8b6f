-- Applies one ban change if it is newer than what Redis holds for the target, atomically:
-- the record (no TTL) or the tombstone (with TTL), both indexes, and the announcement on
-- the stream. Idempotent: replaying a change, or an older one, changes nothing.
--
-- KEYS[1] ban record   KEYS[2] ban index (zset, score = expiry ms, +inf = permanent)
-- KEYS[3] tombstone    KEYS[4] tombstone index (zset, score = tombstone expiry ms)
-- KEYS[5] stream      KEYS[6] ban digest (hash: expiry minute or 'p' → XOR of target hashes)
-- ARGV[1] 'ban' | 'unban'   ARGV[2] target   ARGV[3] version   ARGV[4] node
-- ARGV[5] the change as JSON   ARGV[6] ban expiry ms or 'inf'   ARGV[7] tombstone TTL ms
-- ARGV[8] stream max length (approximate)
-- Returns 1 when applied, 0 when Redis already had this change or a newer one (the same
-- change puts back an index entry its record lost).
--
-- The digest is the one src/store/ban-digest.ts keeps on every node: FNV-1a (32 bits) of
-- each banned target, XORed per minute of its expiry, over the ban index. It changes here,
-- with the index and the stream entry, so a stream position and a digest read together
-- always agree. (It follows the index, not the record: a record lost to eviction leaves
-- the index, and so the digest, as they were.) `fnv` comes from fnv.lua, prepended.
local version = tonumber(ARGV[3])
local function toggle(target, expiry)
  local bucket = 'p'
  if expiry ~= 'inf' then bucket = tostring(math.floor(tonumber(expiry) / 60000)) end
  local value = bit.bxor(tonumber(redis.call('HGET', KEYS[6], bucket) or '0'), fnv(target))
  if value == 0 then redis.call('HDEL', KEYS[6], bucket) else redis.call('HSET', KEYS[6], bucket, value) end
end
local node = ARGV[4]
local function stamp(raw)
  if not raw then return nil end
  local ok, decoded = pcall(cjson.decode, raw)
  if not ok or type(decoded) ~= 'table' then return nil end
  local body = decoded.ban or decoded.tombstone or decoded
  return tonumber(body.version), tostring(body.node)
end
local record = redis.call('GET', KEYS[1])
local current_version, current_node = stamp(record)
local tomb_version, tomb_node = stamp(redis.call('GET', KEYS[3]))
if tomb_version and (not current_version or tomb_version > current_version or (tomb_version == current_version and tomb_node > current_node)) then
  current_version, current_node = tomb_version, tomb_node
end
if current_version and (current_version > version or (current_version == version and current_node >= node)) then
  -- The same change again (a node re-asserting it): its index entry may be what was lost
  -- (evicted alone, deleted by hand) while its record stayed. Put the entry back; the digest
  -- can no longer be trusted to match the index, so it stops claiming to be complete.
  if current_version == version and current_node == node then
    if ARGV[1] == 'ban' and record and not redis.call('ZSCORE', KEYS[2], ARGV[2]) then
      redis.call('ZADD', KEYS[2], ARGV[6], ARGV[2])
      redis.call('HDEL', KEYS[6], 'complete')
    elseif ARGV[1] == 'unban' and not redis.call('ZSCORE', KEYS[4], ARGV[2]) then
      local left = redis.call('PTTL', KEYS[3])
      if left > 0 then
        local t = redis.call('TIME')
        redis.call('ZADD', KEYS[4], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + left, ARGV[2])
      end
    end
  end
  return 0
end
-- A digest started on an empty index covers every ban from the first one (Redis restarted
-- empty and the nodes re-assert their bans, or a new cluster): complete from the start.
if redis.call('EXISTS', KEYS[6]) == 0 and redis.call('ZCARD', KEYS[2]) == 0 then redis.call('HSET', KEYS[6], 'complete', '1') end
local indexed = redis.call('ZSCORE', KEYS[2], ARGV[2])
if indexed then toggle(ARGV[2], indexed) end
if ARGV[1] == 'ban' then
  toggle(ARGV[2], ARGV[6])
  redis.call('SET', KEYS[1], ARGV[5])
  redis.call('ZADD', KEYS[2], ARGV[6], ARGV[2])
  redis.call('DEL', KEYS[3])
  redis.call('ZREM', KEYS[4], ARGV[2])
else
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
  redis.call('SET', KEYS[3], ARGV[5], 'PX', ARGV[7])
  redis.call('ZADD', KEYS[4], now + tonumber(ARGV[7]), ARGV[2])
end
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[8], '*', 'c', ARGV[5])
return 1
