-- KEYS: state, log. ARGV: incarnation, after lsn, max.
-- Returns {seq, admitted total, lsn, entries}, {'RESNAP'}, or {'BEHIND'} when the cursor is
-- past this incarnation's log: the store lost writes a replica has seen.
if redis.call('EXISTS', KEYS[1]) == 0 then return lost() end
local st = redis.call('HMGET', KEYS[1], 'inc', 'seq', 'adm', 'lsn')
local after = tonumber(ARGV[2])
local lsn = tonumber(st[4])
if st[1] ~= ARGV[1] then return {'RESNAP'} end
if after > lsn then return {'BEHIND'} end
local entries = {}
if after < lsn then
  entries = redis.call('XRANGE', KEYS[2], (after + 1) .. '-0', '+', 'COUNT', ARGV[3])
  -- The log was trimmed past the cursor: the replica must start over.
  if #entries == 0 or entries[1][1] ~= (after + 1) .. '-0' then return {'RESNAP'} end
end
local values = {}
for i, entry in ipairs(entries) do values[i] = entry[2][2] end
return {st[2], st[3], after + #values, values}
