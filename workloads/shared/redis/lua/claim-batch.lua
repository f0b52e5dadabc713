-- Batch stock claim: one atomic call for a run of purchase entries of ONE product.
--
-- KEYS[1] stock hash   {total, seckill}   seckill = units sold so far
-- KEYS[2] buyers hash  userId -> units won (per-user limit)
-- KEYS[3] claims hash  ticket -> first outcome (makes the call idempotent under Kafka redelivery)
-- ARGV[1] per-user limit, ARGV[2] TTL of the claims hash in seconds,
-- ARGV[3..] pairs of ticket, userId
--
-- Returns { remaining, total, outcome1, outcome2, ... } with outcome W (won), S (sold out), L (limit reached),
-- or R followed by the first outcome (RW, RS, RL) when the ticket was already claimed: a replay changes
-- nothing. These codes are the ones workloads/shared/outcomes.ts encodes and decodes: change both together.
-- All keys share one hash tag, so this runs on Redis Cluster too.
local total = tonumber(redis.call('HGET', KEYS[1], 'total'))
if total == nil then
  return redis.error_reply('NOSTOCK no stock hash at ' .. KEYS[1] .. ' (event not preloaded)')
end
local sold = tonumber(redis.call('HGET', KEYS[1], 'seckill') or '0')
local limit = tonumber(ARGV[1])
local granted = 0
local out = { 0, total }

for i = 3, #ARGV, 2 do
  local ticket, user = ARGV[i], ARGV[i + 1]
  local first = redis.call('HGET', KEYS[3], ticket)
  if first then
    out[#out + 1] = 'R' .. first
  else
    local outcome = 'S'
    if sold < total then
      local bought = tonumber(redis.call('HGET', KEYS[2], user) or '0')
      if bought >= limit then
        outcome = 'L'
      else
        outcome = 'W'
        sold = sold + 1
        granted = granted + 1
        redis.call('HSET', KEYS[2], user, bought + 1)
      end
    end
    redis.call('HSET', KEYS[3], ticket, outcome)
    out[#out + 1] = outcome
  end
end

if granted > 0 then
  redis.call('HSET', KEYS[1], 'seckill', sold)
end
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[2]))
out[1] = total - sold
return out
