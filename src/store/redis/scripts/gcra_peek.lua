-- Reads a GCRA bucket (see gcra_core.lua) without touching it, with Redis's clock: the caller
-- works out what one more hit would get (an explanation, not a decision).
-- KEYS[1] the bucket
-- Returns { now in microseconds, the bucket's arrival time in microseconds or -1 when unset }.
local t = redis.call('TIME')
local held = redis.call('GET', KEYS[1])
return { tonumber(t[1]) * 1000000 + tonumber(t[2]), tonumber(held or '-1') }
