-- Takes or renews a lease: succeeds when the lock is free or already held by this token.
-- KEYS[1] lock   ARGV[1] token   ARGV[2] lease ms        Returns 1 when held, 0 when not.
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
