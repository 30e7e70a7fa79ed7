-- KEYS: state, ent, ready, sess, out, log. ARGV: number, now, session ms.
-- Returns {'OK', session end} | {'ALREADY'} | {'NOTREADY'} | {'EXPIRED'}.
if redis.call('EXISTS', KEYS[1]) == 0 then return lost() end
local n, now = tonumber(ARGV[1]), tonumber(ARGV[2])
if redis.call('GETBIT', KEYS[2], n) == 1 then return {'ALREADY'} end
local deadline = redis.call('ZSCORE', KEYS[3], n)
if not deadline then
  if redis.call('GETBIT', KEYS[5], n) == 1 then return {'EXPIRED'} end
  return {'NOTREADY'}
end
redis.call('ZREM', KEYS[3], n)
if tonumber(deadline) < now then return {'EXPIRED'} end
redis.call('SETBIT', KEYS[2], n, 1)
local expires = now + tonumber(ARGV[3])
redis.call('ZADD', KEYS[4], expires, n)
log_change(KEYS[1], KEYS[6], 'E|' .. n .. '|' .. expires)
return {'OK', expires}
