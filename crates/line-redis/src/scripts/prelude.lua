-- Shared by every Breakwater line script. KEYS[1] is always the line's state hash.
-- All keys of a line share one hash tag, so every script runs in Redis Cluster.
local LOG_MAX = 50000

local function lost()
  return redis.error_reply('BWLOST line state lost')
end

-- Appends one change to the line's log under the next log sequence number.
local function log_change(state_key, log_key, value)
  local lsn = redis.call('HINCRBY', state_key, 'lsn', 1)
  redis.call('XADD', log_key, 'MAXLEN', '~', LOG_MAX, lsn .. '-0', 'c', value)
end

-- Lua's unpack() takes at most ~8000 values, so long argument lists go in chunks.
local CHUNK = 1000

-- Reads one bit of each number, a BITFIELD per chunk of numbers.
local function bits_of(key, numbers)
  local bits = {}
  for first = 1, #numbers, CHUNK do
    local args = {}
    for i = first, math.min(first + CHUNK - 1, #numbers) do
      args[#args + 1] = 'GET'; args[#args + 1] = 'u1'; args[#args + 1] = '#' .. numbers[i]
    end
    for _, bit in ipairs(redis.call('BITFIELD', key, unpack(args))) do bits[#bits + 1] = bit end
  end
  return bits
end

-- Sets one bit of each number, a BITFIELD per chunk of numbers.
local function set_bits(key, numbers)
  for first = 1, #numbers, CHUNK do
    local args = {}
    for i = first, math.min(first + CHUNK - 1, #numbers) do
      args[#args + 1] = 'SET'; args[#args + 1] = 'u1'; args[#args + 1] = '#' .. numbers[i]
      args[#args + 1] = 1
    end
    redis.call('BITFIELD', key, unpack(args))
  end
end

-- Adds every number to a sorted set with the same score, a ZADD per chunk.
local function zadd_all(key, score, numbers)
  for first = 1, #numbers, CHUNK do
    local args = {}
    for i = first, math.min(first + CHUNK - 1, #numbers) do
      args[#args + 1] = score; args[#args + 1] = numbers[i]
    end
    redis.call('ZADD', key, unpack(args))
  end
end

-- The numbers among `numbers` that are waiting: handed out in this incarnation or
-- reinstated, and not out.
local function waiting_among(state_key, out_key, reg_key, numbers)
  local seq = tonumber(redis.call('HGET', state_key, 'seq'))
  local base = tonumber(redis.call('HGET', state_key, 'base'))
  local outs = bits_of(out_key, numbers)
  local below = {}
  for i, n in ipairs(numbers) do
    if n < base and outs[i] == 0 then below[#below + 1] = n end
  end
  local regs = bits_of(reg_key, below)
  local reinstated = {}
  for i, n in ipairs(below) do
    if regs[i] == 1 then reinstated[n] = true end
  end
  local waiting = {}
  for i, n in ipairs(numbers) do
    if outs[i] == 0 and ((n >= base and n < seq) or reinstated[n]) then
      waiting[#waiting + 1] = n
    end
  end
  return waiting
end

local function numbers_from(args, first)
  local numbers = {}
  for i = first, #args do numbers[#numbers + 1] = tonumber(args[i]) end
  return numbers
end
