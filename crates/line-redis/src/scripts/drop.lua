-- KEYS: state, lease, out, reg, log. ARGV: holder, numbers...
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return redis.error_reply('BWLEASE pacer lease lost')
end
if redis.call('EXISTS', KEYS[1]) == 0 then return lost() end
local dropped = waiting_among(KEYS[1], KEYS[3], KEYS[4], numbers_from(ARGV, 2))
if #dropped == 0 then return 0 end
set_bits(KEYS[3], dropped)
log_change(KEYS[1], KEYS[5], 'D|' .. table.concat(dropped, ','))
return #dropped
