-- KEYS: state, log. ARGV: seats left, sold out (1|0).
-- Records the seats left and logs them when they differ from what the line has.
if redis.call('EXISTS', KEYS[1]) == 0 then return lost() end
local level = ARGV[1] .. '|' .. ARGV[2]
if redis.call('HGET', KEYS[1], 'stk') == level then return 0 end
redis.call('HSET', KEYS[1], 'stk', level)
log_change(KEYS[1], KEYS[2], 'K|' .. level)
return 1
