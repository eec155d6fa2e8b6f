-- Which of the given ban records or tombstones are gone (evicted, deleted by hand), or have
-- lost their index entry (the index holds what a resync reads: a record it lacks is found by
-- no node that starts)?
-- KEYS[1 .. n] the record keys, KEYS[n+1] the ban index, KEYS[n+2] the tombstone index
-- ARGV[i] 'b' or 't' followed by the target (`b198.51.100.7`): which index KEYS[i] belongs in
-- Returns the 1-based positions of the records that are missing or unindexed.
local n = #KEYS - 2
local missing = {}
for i = 1, n do
  local kind, target = string.sub(ARGV[i], 1, 1), string.sub(ARGV[i], 2)
  local index = KEYS[n + 1]
  if kind == 't' then index = KEYS[n + 2] end
  if redis.call('EXISTS', KEYS[i]) == 0 or not redis.call('ZSCORE', index, target) then missing[#missing + 1] = i end
end
return missing
