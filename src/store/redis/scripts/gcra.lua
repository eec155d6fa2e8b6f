-- GCRA rate checks (generic cell rate algorithm), any number of them in one call: for each
-- bucket at most `limit` hits per `period` ms, allowing a burst of the whole limit. Each key
-- holds its theoretical arrival time (TAT); the clock is Redis's own (TIME) so nodes with
-- skewed clocks agree. The checks run in order, each on the state the previous one left:
-- a batch decides exactly what the same checks sent one by one would.
--
-- KEYS[i]     the bucket of check i
-- ARGV[3i-2]  period in ms     ARGV[3i-1]  limit (hits per period)     ARGV[3i]  cost (hits now)
-- Returns { allowed_1 (1|0), retry_after_ms_1, remaining_1, allowed_2, ... }
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i = 1, #KEYS do
  local period = tonumber(ARGV[3 * i - 2])
  local limit = tonumber(ARGV[3 * i - 1])
  local cost = tonumber(ARGV[3 * i])
  local interval = period / limit
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  local new_tat = tat + interval * cost
  local allow_at = new_tat - period
  local n = 3 * i
  if allow_at > now then
    out[n - 2], out[n - 1], out[n] = 0, math.ceil(allow_at - now), 0
  else
    redis.call('SET', KEYS[i], string.format('%.0f', new_tat), 'PX', math.ceil(new_tat - now))
    out[n - 2], out[n - 1], out[n] = 1, 0, math.floor((period - (new_tat - now)) / interval)
  end
end
return out
