-- Adds use to a GCRA bucket (see gcra_core.lua): moves its theoretical arrival time ARGV[2] µs
-- further ahead, from now when it is behind, and never more than a period past now (a
-- bucket that far ahead is simply full). What a node allowed while it counted alone, added
-- once Redis is back, so an outage gives no client a fresh budget.
-- KEYS[1] the bucket   ARGV[1] period ms   ARGV[2] use to add, in microseconds
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local held = tonumber(redis.call('GET', KEYS[1]) or '0')
if held < now then held = now end
local tat = math.floor(math.min(held + tonumber(ARGV[2]), now + tonumber(ARGV[1]) * 1000) + 0.5)
redis.call('SET', KEYS[1], tat, 'PX', math.max(1, math.ceil((tat - now) / 1000)))
return 1
