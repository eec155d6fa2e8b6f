-- Reads a session and, when ARGV[1] > 0, restarts its idle timer without passing its
-- absolute deadline (stored in the record). KEYS[1] session key   ARGV[1] idle ms or 0
-- Returns the record JSON or nil.
local raw = redis.call('GET', KEYS[1])
if not raw then return nil end
local idle = tonumber(ARGV[1])
if idle > 0 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local ok, record = pcall(cjson.decode, raw)
  local absolute = ok and tonumber(record.absoluteExpiresAt) or now
  local ttl = math.min(idle, absolute - now)
  if ttl <= 0 then
    redis.call('DEL', KEYS[1])
    return nil
  end
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return raw
