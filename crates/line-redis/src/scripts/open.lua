-- KEYS: state, lease, log. ARGV: holder.
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return redis.error_reply('BWLEASE pacer lease lost')
end
if redis.call('EXISTS', KEYS[1]) == 0 then return lost() end
if redis.call('HEXISTS', KEYS[1], 'p') == 1 then return 0 end
local seq = redis.call('HGET', KEYS[1], 'seq')
redis.call('HSET', KEYS[1], 'p', seq)
log_change(KEYS[1], KEYS[3], 'O|' .. seq)
return 1
