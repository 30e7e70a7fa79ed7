-- KEYS: state, ready, sess, out, log. ARGV: number.
if redis.call('EXISTS', KEYS[1]) == 0 then return lost() end
local n = tonumber(ARGV[1])
if redis.call('ZREM', KEYS[2], n) == 1 then
  log_change(KEYS[1], KEYS[5], 'L|' .. n)
elseif redis.call('ZREM', KEYS[3], n) == 1 then
  log_change(KEYS[1], KEYS[5], 'F|' .. n)
elseif n < tonumber(redis.call('HGET', KEYS[1], 'seq')) and redis.call('SETBIT', KEYS[4], n, 1) == 0 then
  -- Waiting, or a place the store lost that must not come back later.
  log_change(KEYS[1], KEYS[5], 'L|' .. n)
end
return 1
