-- The rate checks of one batch bound for one Redis Cluster master, in one call (see
-- gcra_core.lua, prepended). KEYS[1] is the first check's bucket: it routes the call to its
-- master. ARGV[1] = m, the number of other buckets; ARGV[2 .. m+1] those buckets, held by
-- the same master in other slots (a script without flags may reach keys of any slot its own
-- server holds); then the rates as gcra_core.lua describes them. A bucket this server does
-- not hold (a stale slot map, a slot on its way to another master) answers false, untouched:
-- the caller checks it again on its own slot.
local m = tonumber(ARGV[1])
local buckets = { KEYS[1] }
for i = 1, m do
  buckets[i + 1] = ARGV[i + 1]
end
return gcra(buckets, ARGV, m + 1, true)
