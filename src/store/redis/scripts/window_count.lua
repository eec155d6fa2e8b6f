-- Sliding-window counter: adds ARGV[2] to the current fixed window and returns the count of
-- the last ARGV[1] ms, weighing the previous window by how much of it the sliding window
-- still covers. One hash per counter (field = window index), with a TTL; Redis TIME; one
-- round trip.
-- KEYS[1] counter hash   ARGV[1] window ms   ARGV[2] amount to add (0 = read only)
-- Returns the estimated count (integer).
local window = tonumber(ARGV[1])
local by = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local index = math.floor(now / window)
local current
if by > 0 then
  current = redis.call('HINCRBY', KEYS[1], index, by)
  redis.call('PEXPIRE', KEYS[1], window * 2)
else
  current = tonumber(redis.call('HGET', KEYS[1], index) or '0')
end
local previous = tonumber(redis.call('HGET', KEYS[1], index - 1) or '0')
-- Older windows no longer count: keep the hash at two fields.
local fields = redis.call('HKEYS', KEYS[1])
for _, field in ipairs(fields) do
  if tonumber(field) < index - 1 then redis.call('HDEL', KEYS[1], field) end
end
local overlap = (window - (now - index * window)) / window
return current + math.floor(previous * overlap)
