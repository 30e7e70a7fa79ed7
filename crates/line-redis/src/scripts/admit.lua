-- KEYS: state, lease, out, reg, ready, sess, log.
-- ARGV: holder, now, interval ms, tolerance ms, max active, deadline, candidates...
-- Admits the first waiting candidates the GCRA and the active cap allow.
-- Returns {tat, admitted...}.
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return redis.error_reply('BWLEASE pacer lease lost')
end
if redis.call('EXISTS', KEYS[1]) == 0 then return lost() end
local st = redis.call('HMGET', KEYS[1], 'paused', 'closed', 'p', 'tat')
local now = tonumber(ARGV[2])
local tat = tonumber(st[4]) or now
local function answer(admitted)
  local reply = {string.format('%.3f', tat)}
  for _, n in ipairs(admitted) do reply[#reply + 1] = n end
  return reply
end
if st[1] == '1' or st[2] == '1' or not st[3] then return answer({}) end
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', '(' .. now)
redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now)
local active = redis.call('ZCARD', KEYS[5]) + redis.call('ZCARD', KEYS[6])
local room = tonumber(ARGV[5]) - active
local interval, tolerance = tonumber(ARGV[3]), tonumber(ARGV[4])
local start = math.max(tat, now)
local slack = now + tolerance - start
local allowed = 0
if slack >= 0 then allowed = math.floor((slack + 1e-6) / interval) end
local take = math.min(room, allowed)
if take <= 0 then return answer({}) end
local waiting = waiting_among(KEYS[1], KEYS[3], KEYS[4], numbers_from(ARGV, 7))
local admitted = {}
for i = 1, math.min(take, #waiting) do admitted[i] = waiting[i] end
if #admitted == 0 then return answer({}) end
set_bits(KEYS[3], admitted)
zadd_all(KEYS[5], ARGV[6], admitted)
tat = start + #admitted * interval
redis.call('HSET', KEYS[1], 'tat', string.format('%.3f', tat))
redis.call('HINCRBY', KEYS[1], 'adm', #admitted)
log_change(KEYS[1], KEYS[7], 'A|' .. ARGV[6] .. '|' .. table.concat(admitted, ','))
return answer(admitted)
