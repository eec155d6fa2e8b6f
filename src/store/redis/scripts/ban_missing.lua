-- Which of the given ban records or tombstones are gone (evicted, deleted by hand)?
-- KEYS the record keys   Returns the 1-based positions of the keys that do not exist.
local missing = {}
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 0 then missing[#missing + 1] = i end
end
return missing
