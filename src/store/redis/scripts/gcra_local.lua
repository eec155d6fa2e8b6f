-- The lease operations of one batch bound for one Redis Cluster master, in one call (see
-- gcra_core.lua, prepended). KEYS are the buckets of one slot, declared: they route the call
-- to its master, and Redis checks them as for any command (a slot on its way to another
-- master answers TRYAGAIN or a redirect before anything runs). ARGV[1] = m, the number of
-- other buckets; ARGV[2 .. m+1] those buckets, of other slots the same master holds (a
-- script without flags may reach keys of any slot its own server holds); then the sites and
-- kinds as gcra_core.lua describes them, for KEYS then the others. A bucket this server does
-- not hold (a stale slot map, a slot on its way to another master) answers false, untouched:
-- the caller sends it again on its own slot. Only the buckets of the declared slot may be
-- reached after a redirect to a master still importing them (ASK), and those Redis checks.
local m = tonumber(ARGV[1])
local buckets = {}
for i = 1, #KEYS do
  buckets[i] = KEYS[i]
end
for i = 1, m do
  buckets[#KEYS + i] = ARGV[i + 1]
end
return gcra(buckets, ARGV, m + 1, #KEYS)
