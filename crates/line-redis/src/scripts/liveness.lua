-- KEYS: state, tmp, epoch bitmaps... Returns the OR of the epoch bitmaps.
if redis.call('EXISTS', KEYS[1]) == 0 then return lost() end
local sources = {}
for i = 3, #KEYS do sources[#sources + 1] = KEYS[i] end
redis.call('BITOP', 'OR', KEYS[2], unpack(sources))
local bits = redis.call('GET', KEYS[2]) or ''
redis.call('DEL', KEYS[2])
return bits
