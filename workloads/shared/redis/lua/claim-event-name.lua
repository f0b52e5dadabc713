-- Claims an event name for one SeckillEvent, atomically (the operator's claimEventName,
-- operator/resources/stock.ts, through scripts.ts claimEventName).
--
-- KEYS[1] the event's catalog hash (keys.event)
-- ARGV[1] the claimant, "<namespace>/<uid>"
-- ARGV[2] the claimant's namespace prefix, "<namespace>/"
-- ARGV[3] the hash field holding the owner (catalog.ts OWNER_FIELD, "owner")
--
-- HSETNX semantics, plus: an owner in the claimant's own namespace with another uid is a deleted
-- predecessor (two objects of one name cannot coexist in a namespace), so the claimant adopts the name.
-- Returns the owner after the call: the claimant when the name was free, already its own or adopted;
-- otherwise the other owner, unchanged.
local owner = redis.call('HGET', KEYS[1], ARGV[3])
if owner == ARGV[1] then return owner end
if (not owner) or string.sub(owner, 1, string.len(ARGV[2])) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[3], ARGV[1])
  return ARGV[1]
end
return owner
