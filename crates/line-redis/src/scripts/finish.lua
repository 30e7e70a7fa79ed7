-- KEYS: state, sess, log. ARGV: number.
if redis.call('EXISTS', KEYS[1]) == 0 then return lost() end
if redis.call('ZREM', KEYS[2], ARGV[1]) == 1 then
  log_change(KEYS[1], KEYS[3], 'F|' .. ARGV[1])
end
return 1
