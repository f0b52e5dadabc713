-- The seed's single-entry stock script, kept for the comparison benchmark only (npm run bench:claims,
-- mode "seed"; tools/bench/claim-guards.ts loads it from here). It is not product code.
-- It decrements one unit per call and knows nothing of tickets or buyers: a Kafka redelivery sells twice
-- and the per-user limit is not enforced. Never use it for a real sale.
-- KEYS[1] stock hash {total, seckill}. Returns 1 when a unit was taken, 0 when sold out.
local counts = redis.call('HMGET', KEYS[1], 'total', 'seckill')
local total = tonumber(counts[1])
local sold = tonumber(counts[2])
if not total or not sold then
  return redis.error_reply('NOSTOCK no stock hash at ' .. KEYS[1])
end
if sold + 1 <= total then
  redis.call('HINCRBY', KEYS[1], 'seckill', 1)
  return 1
end
return 0
