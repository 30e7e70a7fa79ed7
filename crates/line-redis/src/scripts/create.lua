-- KEYS: state, cfg. ARGV: settings json, incarnation, now, paused, closed, opens at, lineage.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.error_reply('BWEXISTS event exists')
end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'inc', ARGV[2], 't0', ARGV[3], 'seq', 0, 'base', 0,
  'lsn', 0, 'adm', 0, 'paused', ARGV[4], 'closed', ARGV[5], 'oa', ARGV[6], 'lin', ARGV[7])
-- A sale that opens now has no pre-queue: nobody is placed by lottery.
if tonumber(ARGV[6]) <= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'p', 0)
end
return 1
