-- KEYS: state, log. ARGV: count, now, floor. Returns the first number handed out.
-- A store whose next number is below the floor a gateway saw lost writes: it refuses,
-- rather than hand out numbers that tokens already carry.
-- The first join at or after opening time opens the sale, so later joins are never
-- placed by the pre-queue lottery.
local st = redis.call('HMGET', KEYS[1], 'p', 'oa')
if not st[2] then return lost() end
if tonumber(redis.call('HGET', KEYS[1], 'seq')) < tonumber(ARGV[3]) then
  return redis.error_reply('BWBEHIND line store is behind a replica')
end
if not st[1] and tonumber(ARGV[2]) >= tonumber(st[2]) then
  local seq = redis.call('HGET', KEYS[1], 'seq')
  redis.call('HSET', KEYS[1], 'p', seq)
  log_change(KEYS[1], KEYS[2], 'O|' .. seq)
end
local count = tonumber(ARGV[1])
return redis.call('HINCRBY', KEYS[1], 'seq', count) - count
