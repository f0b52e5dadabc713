-- Sets a product's stock total for the operator's preload, atomically with respect to claims.
--
-- KEYS[1] stock hash {total, seckill} (keys.stock)
-- ARGV[1] new total
--
-- Creates seckill = 0 only when absent: re-applying a running sale never resets what it sold.
-- Returns the units sold so far; refuses (error BELOWSOLD) a total below them.
local sold = tonumber(redis.call('HGET', KEYS[1], 'seckill') or '0')
local total = tonumber(ARGV[1])
if total < sold then
  return redis.error_reply('BELOWSOLD stock ' .. total .. ' is below the ' .. sold .. ' units already sold')
end
redis.call('HSETNX', KEYS[1], 'seckill', 0)
redis.call('HSET', KEYS[1], 'total', total)
return sold
