-- KEYS: state, cfg, out, reg, ent, ready, sess.
if redis.call('EXISTS', KEYS[1]) == 0 then return lost() end
return {
  redis.call('HGETALL', KEYS[1]),
  redis.call('GET', KEYS[2]),
  redis.call('GET', KEYS[3]) or '',
  redis.call('GET', KEYS[4]) or '',
  redis.call('GET', KEYS[5]) or '',
  redis.call('ZRANGE', KEYS[6], 0, -1, 'WITHSCORES'),
  redis.call('ZRANGE', KEYS[7], 0, -1, 'WITHSCORES'),
}
