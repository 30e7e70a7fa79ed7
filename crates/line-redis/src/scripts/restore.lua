-- KEYS: state, cfg, out, reg, ent, ready, sess, log.
-- ARGV: incarnation, now, settings json, seq, base, prequeue size or '', admitted total,
--       paused, closed, opens at, lineage, stock or '', out offset, out bytes, reg offset,
--       reg bytes, ent offset, ent bytes, incarnation to replace or '', ready count,
--       ready (number, deadline)..., session (number, end)...
-- Writes a new incarnation unless one exists (or, when rebasing, unless the one that
-- exists is not the incarnation to replace); returns 1 when it wrote.
if redis.call('EXISTS', KEYS[1]) == 1 then
  if ARGV[19] == '' or redis.call('HGET', KEYS[1], 'inc') ~= ARGV[19] then return 0 end
end
redis.call('DEL', KEYS[1], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8])
redis.call('SET', KEYS[2], ARGV[3])
if ARGV[14] ~= '' then redis.call('SETRANGE', KEYS[3], ARGV[13], ARGV[14]) end
if ARGV[16] ~= '' then redis.call('SETRANGE', KEYS[4], ARGV[15], ARGV[16]) end
if ARGV[18] ~= '' then redis.call('SETRANGE', KEYS[5], ARGV[17], ARGV[18]) end
local ready_count = tonumber(ARGV[20])
local i = 21
for _ = 1, ready_count do
  redis.call('ZADD', KEYS[6], ARGV[i + 1], ARGV[i]); i = i + 2
end
while i < #ARGV do
  redis.call('ZADD', KEYS[7], ARGV[i + 1], ARGV[i]); i = i + 2
end
redis.call('HSET', KEYS[1], 'inc', ARGV[1], 't0', ARGV[2], 'seq', ARGV[4], 'base', ARGV[5],
  'lsn', 0, 'adm', ARGV[7], 'paused', ARGV[8], 'closed', ARGV[9], 'oa', ARGV[10],
  'lin', ARGV[11])
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'p', ARGV[6]) end
if ARGV[12] ~= '' then redis.call('HSET', KEYS[1], 'stk', ARGV[12]) end
return 1
