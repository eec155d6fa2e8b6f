-- Reads the ban digest (see ban_apply.lua) folded from one expiry bucket on, with the ban
-- stream's last entry, in one atomic step: the two always belong together. Folding here
-- sends three values, not a hash of one field per minute of expiry.
-- KEYS[1] ban digest   KEYS[2] ban stream   ARGV[1] the first bucket compared (minutes)
-- Returns { 1 when the digest is complete else 0, the XOR of the buckets from ARGV[1] on
-- (the permanent bucket `p` included), the last stream entry id or '0-0' }.
local from = tonumber(ARGV[1])
local fields = redis.call('HGETALL', KEYS[1])
local complete = 0
local digest = 0
for i = 1, #fields, 2 do
  local bucket = fields[i]
  if bucket == 'complete' then
    if fields[i + 1] == '1' then complete = 1 end
  elseif bucket == 'p' or tonumber(bucket) >= from then
    digest = bit.bxor(digest, tonumber(fields[i + 1]))
  end
end
local tail = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local id = '0-0'
if tail[1] then id = tail[1][1] end
return { complete, digest, id }
