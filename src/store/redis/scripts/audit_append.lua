-- Adds audit entries to the trail (a sorted set scored by time in microseconds, members the
-- entries as JSON, which carry unique ids: adding one again changes nothing) and keeps it
-- near its length: the oldest entries beyond it are dropped, with the rare ties of the cut.
-- KEYS[1] trail   ARGV[1] length   ARGV[2..] score, entry, score, entry, …
-- Returns the trail's size.
local args = {}
for i = 2, #ARGV do args[#args + 1] = ARGV[i] end
if #args > 0 then redis.call('ZADD', KEYS[1], unpack(args)) end
local size = redis.call('ZCARD', KEYS[1])
local excess = size - tonumber(ARGV[1])
if excess > 0 then
  local cut = redis.call('ZRANGE', KEYS[1], excess - 1, excess - 1, 'WITHSCORES')
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', cut[2])
  size = redis.call('ZCARD', KEYS[1])
end
return size
