-- KEYS: state, log. ARGV: count, now. Returns the first number handed out.
-- The first join at or after opening time opens the sale, so later joins are never
-- placed by the pre-queue lottery.
local st = redis.call('HMGET', KEYS[1], 'p', 'oa')
if not st[2] then return lost() end
if not st[1] and tonumber(ARGV[2]) >= tonumber(st[2]) then
  local seq = redis.call('HGET', KEYS[1], 'seq')
  redis.call('HSET', KEYS[1], 'p', seq)
  log_change(KEYS[1], KEYS[2], 'O|' .. seq)
end
local count = tonumber(ARGV[1])
return redis.call('HINCRBY', KEYS[1], 'seq', count) - count
