-- GCRA rate check (generic cell rate algorithm): at most ARGV[2] hits per ARGV[1] ms,
-- allowing a burst of the whole limit. One key holding the theoretical arrival time (TAT),
-- one round trip, the clock of Redis itself (TIME) so nodes with skewed clocks agree.
--
-- KEYS[1]  the bucket key
-- ARGV[1]  period in ms        ARGV[2]  limit (hits per period)        ARGV[3]  cost (hits now)
-- Returns { allowed (1|0), retry_after_ms, remaining }
local period = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local interval = period / limit
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval * cost
local allow_at = new_tat - period
if allow_at > now then
  return { 0, math.ceil(allow_at - now), 0 }
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil(new_tat - now))
return { 1, 0, math.floor((period - (new_tat - now)) / interval) }
