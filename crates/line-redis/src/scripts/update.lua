-- KEYS: state, cfg, log. ARGV: settings json, paused, closed, opens at.
if redis.call('EXISTS', KEYS[1]) == 0 then return lost() end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'paused', ARGV[2], 'closed', ARGV[3], 'oa', ARGV[4])
-- A pause, a new rate: pacing starts afresh rather than owing slots from before.
redis.call('HDEL', KEYS[1], 'tat')
log_change(KEYS[1], KEYS[3], 'S|' .. ARGV[1])
return 1
