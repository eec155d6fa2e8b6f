-- GCRA (generic cell rate algorithm) token leases, any number of them in one call: for each
-- bucket at most `limit` hits per `period` ms, allowing a burst of the whole limit. A site
-- (a worker, a node without workers) takes several hits' worth at once — a lease — and spends
-- them without asking again; what it did not spend comes back. Each key holds its
-- theoretical arrival time (TAT) in microseconds — milliseconds would round any rate above
-- 2 hits/ms down to no limit — and expires when the TAT passes, so a missing key means
-- "TAT ≤ now". The clock is Redis's own (TIME) so nodes with skewed clocks agree. The
-- operations run in order, each on the state the previous one left: a batch decides exactly
-- what the same operations sent one by one would. Prepended to gcra.lua and gcra_local.lua.
--
-- `gcra(buckets, argv, base, declared)`: buckets[i] is the bucket of operation i; the first
-- `declared` of them are the call's KEYS, the others are reached undeclared. Arguments are
-- kept few (every one is encoded by the client and parsed by Redis), from argv[base + 1] on:
-- s, the sites that may ask for a lease on a bucket; k, the number of distinct kinds; then
-- the period ms, limit and returned hits of kind 1, kind 2, …; when k > 1, then the kind
-- (1-based) of each operation, else every operation is of kind 1. An operation of a kind
-- with returned = 0 asks for a lease: it is granted a share of what the bucket has left,
-- floor(left / (s + 1)), at least one hit and at most what is left; an operation with
-- returned > 0 gives that many hits back (the bucket's TAT moves back, never behind now).
-- Returns one integer per operation: the hits granted (≥ 1), or minus the milliseconds until
-- one would be (≤ -1), or 0 for a return. An undeclared bucket this server does not hold
-- (Redis Cluster: "non local key") answers false and changes nothing; any other error fails
-- the call.
local function gcra(buckets, argv, base, declared)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local sites = tonumber(argv[base + 1])
  local kinds = tonumber(argv[base + 2])
  local periods, intervals, limits, returns = {}, {}, {}, {}
  for k = 1, kinds do
    periods[k] = tonumber(argv[base + 3 * k]) * 1000
    limits[k] = tonumber(argv[base + 3 * k + 1])
    returns[k] = tonumber(argv[base + 3 * k + 2])
    intervals[k] = periods[k] / limits[k]
  end
  -- Milliseconds a key must live to outlast a TAT (at least 1).
  local function ttl(tat)
    return math.max(1, math.ceil((tat - now) / 1000))
  end
  local out = {}
  for i = 1, #buckets do
    local k = 1
    if kinds > 1 then k = tonumber(argv[base + 3 * kinds + 2 + i]) end
    local period, interval = periods[k], intervals[k]
    -- A lease on a bucket with no TAT ahead of now (its key expired: full) is set in one
    -- call that otherwise reads the TAT without touching it (SET NX GET, Redis 7.0): one call
    -- for an idle client, two for an active one, never more.
    local returned = returns[k]
    local fresh_hits = math.max(1, math.floor(limits[k] / (sites + 1)))
    local fresh = math.floor(now + fresh_hits * interval + 0.5)
    local held
    if returned > 0 then
      held = redis.pcall('GET', buckets[i])
    else
      held = redis.pcall('SET', buckets[i], fresh, 'PX', ttl(fresh), 'NX', 'GET')
    end
    if type(held) == 'table' and held.err then
      -- Undeclared and not on this server: untouched, answered false (any other error fails the call).
      if i <= declared or not string.find(held.err, 'non local key', 1, true) then
        return redis.error_reply(held.err)
      end
      out[i] = false
    elseif not held and returned == 0 then
      out[i] = fresh_hits
    else
      local tat = tonumber(held or '0')
      if tat < now then tat = now end
      if returned > 0 then
        local back = tat - returned * interval
        if back <= now then
          redis.call('DEL', buckets[i])
        else
          local stored = math.floor(back + 0.5)
          redis.call('SET', buckets[i], stored, 'PX', ttl(stored))
        end
        out[i] = 0
      else
        -- Whole hits the bucket has left: a hit fits while its TAT stays within a period of
        -- now (half a microsecond of slack: the stored TAT is rounded to one).
        local left = math.floor((now + period - tat + 0.5) / interval)
        if left < 1 then
          out[i] = -math.ceil((tat + interval - period - now) / 1000)
        else
          local granted = math.max(1, math.floor(left / (sites + 1)))
          local stored = math.floor(tat + granted * interval + 0.5)
          redis.call('SET', buckets[i], stored, 'PX', ttl(stored))
          out[i] = granted
        end
      end
    end
  end
  return out
end
