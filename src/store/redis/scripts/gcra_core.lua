-- GCRA rate checks (generic cell rate algorithm), any number of them in one call: for each
-- bucket at most `limit` hits per `period` ms, allowing a burst of the whole limit. Each key
-- holds its theoretical arrival time (TAT) in microseconds — milliseconds would round any
-- rate above 2 hits/ms down to no limit — and expires when the TAT passes, so a missing key
-- means "TAT ≤ now". The clock is Redis's own (TIME) so nodes with skewed clocks agree. The
-- checks run in order, each on the state the previous one left: a batch decides exactly
-- what the same checks sent one by one would. Prepended to gcra.lua and gcra_local.lua.
--
-- `gcra(buckets, argv, base, declared)`: buckets[i] is the bucket of check i (one hit each);
-- the first `declared` of them are the call's KEYS, the others are reached undeclared.
-- Arguments are kept few (every one is encoded by the client and parsed by Redis), from
-- argv[base + 1] on: r, the number of distinct rates; then the period ms and limit of rate
-- 1, rate 2, …; when r > 1, then the rate (1-based) of each check, else every check is rate 1.
-- Returns one integer per check: remaining hits (≥ 0) when allowed, or minus the
-- milliseconds until the next hit would be allowed (≤ -1) when not. An undeclared bucket
-- this server does not hold (Redis Cluster: "non local key") answers false and changes
-- nothing; any other error fails the call.
local function gcra(buckets, argv, base, declared)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local rates = tonumber(argv[base + 1])
  local periods, intervals, limits = {}, {}, {}
  for r = 1, rates do
    periods[r] = tonumber(argv[base + 2 * r]) * 1000
    limits[r] = tonumber(argv[base + 2 * r + 1])
    intervals[r] = periods[r] / limits[r]
  end
  -- Milliseconds a key must live to outlast a TAT (at least 1).
  local function ttl(tat)
    return math.max(1, math.ceil((tat - now) / 1000))
  end
  local out = {}
  for i = 1, #buckets do
    local r = 1
    if rates > 1 then r = tonumber(argv[base + 2 * rates + 1 + i]) end
    local period, interval = periods[r], intervals[r]
    -- One call sets the bucket of a client with no TAT ahead of now (its key expired) and
    -- otherwise reads the TAT without touching it (SET NX GET, Redis 7.0): one call for an
    -- idle client, two for an active one, never more.
    local fresh = math.floor(now + interval + 0.5)
    local held
    if i <= declared then
      held = redis.call('SET', buckets[i], fresh, 'PX', ttl(fresh), 'NX', 'GET')
    else
      held = redis.pcall('SET', buckets[i], fresh, 'PX', ttl(fresh), 'NX', 'GET')
      if type(held) == 'table' and held.err and not string.find(held.err, 'non local key', 1, true) then
        return redis.error_reply(held.err)
      end
    end
    if type(held) == 'table' and held.err then
      out[i] = false
    elseif not held then
      out[i] = limits[r] - 1
    else
      local tat = tonumber(held)
      if tat < now then tat = now end
      local new_tat = tat + interval
      local allow_at = new_tat - period
      if allow_at > now then
        out[i] = -math.ceil((allow_at - now) / 1000)
      else
        local stored = math.floor(new_tat + 0.5)
        redis.call('SET', buckets[i], stored, 'PX', ttl(stored))
        out[i] = math.floor((period - (new_tat - now)) / interval)
      end
    end
  end
  return out
end
