-- KEYS: state, epoch bitmap, tmp, out, reg, log.
-- ARGV: byte offset, bitmap bytes, retention ms, numbers to reinstate...
if redis.call('EXISTS', KEYS[1]) == 0 then return lost() end
if ARGV[2] ~= '' then
  redis.call('SETRANGE', KEYS[3], ARGV[1], ARGV[2])
  redis.call('BITOP', 'OR', KEYS[2], KEYS[2], KEYS[3])
  redis.call('DEL', KEYS[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
local asked = numbers_from(ARGV, 4)
if #asked == 0 then return 0 end
local base = tonumber(redis.call('HGET', KEYS[1], 'base'))
local below = {}
for _, n in ipairs(asked) do
  if n < base then below[#below + 1] = n end
end
local outs = bits_of(KEYS[4], below)
local regs = bits_of(KEYS[5], below)
local fresh, seen = {}, {}
for i, n in ipairs(below) do
  if outs[i] == 0 and regs[i] == 0 and not seen[n] then
    fresh[#fresh + 1] = n
    seen[n] = true
  end
end
if #fresh == 0 then return 0 end
set_bits(KEYS[5], fresh)
log_change(KEYS[1], KEYS[6], 'R|' .. table.concat(fresh, ','))
return #fresh
