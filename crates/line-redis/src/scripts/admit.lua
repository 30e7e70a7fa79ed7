-- KEYS: state, lease, out, reg, ready, sess, log.
-- ARGV: holder, now, interval ms, tolerance ms, max active, deadline, offers everyone (1|0),
-- candidates...
-- Admits the first waiting candidates whose admission slots are due (and the active cap
-- allows): the pacing of `crates/line/src/pacing.rs`, step for step. The schedule is the
-- state hash's 'tat' field, the next slot's time; absent means idle.
-- Returns {tat or '', admitted...}.
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return redis.error_reply('BWLEASE pacer lease lost')
end
if redis.call('EXISTS', KEYS[1]) == 0 then return lost() end
local st = redis.call('HMGET', KEYS[1], 'paused', 'closed', 'p', 'tat')
local now = tonumber(ARGV[2])
local tat = tonumber(st[4])
local function answer(admitted)
  local reply = {''}
  if tat then reply[1] = string.format('%.6f', tat) end
  for _, n in ipairs(admitted) do reply[#reply + 1] = n end
  return reply
end
if st[1] == '1' or st[2] == '1' or not st[3] then return answer({}) end
local interval, tolerance = tonumber(ARGV[3]), tonumber(ARGV[4])
-- Allowance: the slots due by now, the first no earlier than the tolerance allows.
local first = now
if tat then first = math.max(tat, now - tolerance) end
if first > now + 1e-3 then return answer({}) end
local due = math.floor((now - first + 1e-3) / interval) + 1
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', '(' .. now)
redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now)
local active = redis.call('ZCARD', KEYS[5]) + redis.call('ZCARD', KEYS[6])
local room = math.max(tonumber(ARGV[5]) - active, 0)
local admitted = {}
if room > 0 then
  local waiting = waiting_among(KEYS[1], KEYS[3], KEYS[4], numbers_from(ARGV, 8))
  for i = 1, math.min(room, due, #waiting) do admitted[i] = waiting[i] end
end
-- Shortfall: the line ran dry (cap reached, or everyone offered was admitted) makes the
-- schedule idle; candidates that had left keep the unused slots due.
if #admitted < due and (room < due or ARGV[7] == '1') then
  tat = nil
  redis.call('HDEL', KEYS[1], 'tat')
else
  tat = first + #admitted * interval
  redis.call('HSET', KEYS[1], 'tat', string.format('%.6f', tat))
end
if #admitted == 0 then return answer({}) end
set_bits(KEYS[3], admitted)
zadd_all(KEYS[5], ARGV[6], admitted)
redis.call('HINCRBY', KEYS[1], 'adm', #admitted)
log_change(KEYS[1], KEYS[7], 'A|' .. ARGV[6] .. '|' .. table.concat(admitted, ','))
return answer(admitted)
