"""The shared limiter's state changes, as Lua scripts that Redis runs atomically.

Each script is one step of :class:`~trio_chatsse._shared_limits.SharedLimits`: take a turn,
learn from an answer's headers, give a turn back, renew leases, leave the line. They keep the
same budgets as the in-process ``_Budget`` (``_limiter.py``), field for field, so that a
shared limiter behaves as one process's would; times are the Redis server's ``TIME``, so the
clocks of the machines sharing it do not matter.

The keys of one limiter share a hash tag (``{name}``), so they live on one node of a cluster:

- ``state`` (hash): the two budgets (``r:*`` requests, ``t:*`` tokens), ``paused_until``,
  ``heard`` (an answer's headers came), ``seq`` (the line's ticket counter);
- ``leases`` (sorted set): one member per stream in flight, scored by its expiry;
- ``line`` (sorted set): the tickets waiting, scored by arrival;
- ``tickets`` (sorted set): the same tickets, scored by their expiry (a process that died
  while waiting leaves the line within its ticket's life).
"""

from __future__ import annotations

from ._ratelimits import RESET_MARGIN, SAME_WINDOW, UNKNOWN_RESET

__all__ = ["ACQUIRE", "LEAVE", "OBSERVE", "RELEASE", "RENEW"]

#: Seconds a key of an idle limiter lives on in Redis after its last use.
KEY_LIFETIME = 86400

_COMMON = f"""
local UNKNOWN_RESET, RESET_MARGIN, SAME_WINDOW = {UNKNOWN_RESET}, {RESET_MARGIN}, {SAME_WINDOW}
local STATE, LEASES, LINE, TICKETS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function num(v)
  if v == false or v == nil or v == '' then return nil end
  return tonumber(v)
end
local function fmt(x) return string.format('%.17g', x) end

local FIELDS = {{'level', 'refilled', 'remaining', 'reset_at', 'limit', 'guessed', 'taken'}}
local function load(b, per_minute)
  local names = {{}}
  for i, f in ipairs(FIELDS) do names[i] = b .. ':' .. f end
  local v = redis.call('HMGET', STATE, unpack(names))
  return {{
    name = b, per_minute = per_minute, level = num(v[1]) or per_minute or 0,
    refilled = num(v[2]), remaining = num(v[3]), reset_at = num(v[4]) or 0,
    limit = num(v[5]), guessed = v[6] == '1', taken = num(v[7]) or 0,
  }}
end
local function save(x)
  local b = x.name
  redis.call('HSET', STATE, b .. ':level', fmt(x.level), b .. ':reset_at', fmt(x.reset_at),
    b .. ':guessed', x.guessed and '1' or '0', b .. ':taken', fmt(x.taken))
  for _, f in ipairs({{'refilled', 'remaining', 'limit'}}) do
    if x[f] == nil then redis.call('HDEL', STATE, b .. ':' .. f)
    else redis.call('HSET', STATE, b .. ':' .. f, fmt(x[f])) end
  end
end
local function refill(x, now)
  if x.per_minute and x.refilled then
    x.level = math.min(x.per_minute, x.level + (now - x.refilled) * x.per_minute / 60)
  end
  x.refilled = now
  if x.remaining and now >= x.reset_at then
    x.remaining = x.limit
    x.reset_at = now + UNKNOWN_RESET
    x.guessed = true
  end
end
local function wait_for(x, amount, now)
  local wait = 0
  if x.per_minute then
    local need = math.min(amount, x.per_minute)
    if x.level < need then wait = (need - x.level) * 60 / x.per_minute end
  end
  if x.remaining and x.remaining < math.max(amount, 1) then
    wait = math.max(wait, x.reset_at - now)
  end
  return wait
end
local function take(x, amount)
  x.level = x.level - amount
  x.taken = x.taken + amount
  if x.remaining then x.remaining = x.remaining - amount end
end
local function touch()
  for _, key in ipairs(KEYS) do redis.call('EXPIRE', key, {KEY_LIFETIME}) end
end
"""

#: ARGV: ticket, lease id, estimate, lease seconds, ticket seconds, max concurrent (``''``:
#: none), requests and tokens per minute (``''``: none), learn (``1``/``0``). Answers
#: ``{'ok', requests taken, tokens taken}``, ``{'wait', seconds}`` (the first in line),
#: ``{'full'}`` (the first in line, until a stream ends) or ``{'queued'}``. Only the first
#: ticket in line takes a turn, so that processes take turns.
ACQUIRE = (
    _COMMON
    + """
local ticket, lease, estimate = ARGV[1], ARGV[2], tonumber(ARGV[3])
local lease_time, ticket_time = tonumber(ARGV[4]), tonumber(ARGV[5])
local cap, learn = num(ARGV[6]), ARGV[9] == '1'
local now = clock()
touch()
redis.call('ZREMRANGEBYSCORE', LEASES, '-inf', now)
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', TICKETS, '-inf', now)) do
  redis.call('ZREM', LINE, dead)
end
redis.call('ZREMRANGEBYSCORE', TICKETS, '-inf', now)
if not redis.call('ZSCORE', LINE, ticket) then
  redis.call('ZADD', LINE, redis.call('HINCRBY', STATE, 'seq', 1), ticket)
end
redis.call('ZADD', TICKETS, now + ticket_time, ticket)
if redis.call('ZRANGE', LINE, 0, 0)[1] ~= ticket then return {'queued'} end
if learn and redis.call('HGET', STATE, 'heard') ~= '1' then cap = 1 end
if cap and redis.call('ZCARD', LEASES) >= cap then return {'full'} end
local requests, tokens = load('r', num(ARGV[7])), load('t', num(ARGV[8]))
refill(requests, now)
refill(tokens, now)
local wait = math.max((num(redis.call('HGET', STATE, 'paused_until')) or 0) - now,
  wait_for(requests, 1, now), wait_for(tokens, estimate, now), 0)
if wait > 0 then
  save(requests)
  save(tokens)
  return {'wait', fmt(wait)}
end
take(requests, 1)
take(tokens, estimate)
save(requests)
save(tokens)
redis.call('ZADD', LEASES, now + lease_time, lease)
redis.call('ZREM', LINE, ticket)
redis.call('ZREM', TICKETS, ticket)
return {'ok', fmt(requests.taken), fmt(tokens.taken)}
"""
)

#: ARGV: retry after (``''``: none), then for requests and tokens: remaining, reset after,
#: limit (``''``: not said), taken when the request started; per minute of each.
OBSERVE = (
    _COMMON
    + """
local now = clock()
touch()
redis.call('HSET', STATE, 'heard', '1')
local retry_after = num(ARGV[1])
if retry_after and retry_after > 0 then
  local paused = num(redis.call('HGET', STATE, 'paused_until')) or 0
  if now + retry_after > paused then
    redis.call('HSET', STATE, 'paused_until', fmt(now + retry_after))
  end
end
-- Unlike the in-process rule, an answer within a known window is not discounted by the turns
-- taken after its request: the remaining count already is, and processes' requests reach the
-- provider in another order than they took their turns, so the discount would count some twice.
local function learn(x, said, reset_after, limit, taken_before)
  if said == nil then return end
  local reset_at = now + (reset_after or UNKNOWN_RESET) + RESET_MARGIN
  x.limit = limit
  local same = (not x.guessed) and reset_at <= x.reset_at + SAME_WINDOW
  if x.remaining and same then
    x.remaining = math.min(x.remaining, said)
  else
    x.remaining = math.max(said - (x.taken - taken_before), 0)
    x.reset_at, x.guessed = reset_at, false
  end
  save(x)
end
learn(load('r', num(ARGV[10])), num(ARGV[2]), num(ARGV[3]), num(ARGV[4]), tonumber(ARGV[5]))
learn(load('t', num(ARGV[11])), num(ARGV[6]), num(ARGV[7]), num(ARGV[8]), tonumber(ARGV[9]))
return 'ok'
"""
)

#: ARGV: lease id, tokens to add to what was taken (the usage minus the estimate; ``''``:
#: the estimate stands), tokens per minute.
RELEASE = (
    _COMMON
    + """
redis.call('ZREM', LEASES, ARGV[1])
local correction = num(ARGV[2])
if correction then
  local tokens = load('t', num(ARGV[3]))
  tokens.level = tokens.level - correction
  tokens.taken = tokens.taken + correction
  save(tokens)
end
return 'ok'
"""
)

#: ARGV: lease seconds, then the leases of this process still in flight. Answers how many of
#: them had already expired: those are not held again (one released meanwhile must stay free).
RENEW = (
    _COMMON
    + """
local now = clock()
local lost = 0
for i = 2, #ARGV do
  if redis.call('ZADD', LEASES, 'XX', 'CH', now + tonumber(ARGV[1]), ARGV[i]) == 0 then
    lost = lost + 1
  end
end
return lost
"""
)

#: ARGV: ticket. A waiter that was cancelled leaves the line.
LEAVE = (
    _COMMON
    + """
redis.call('ZREM', LINE, ARGV[1])
redis.call('ZREM', TICKETS, ARGV[1])
return 'ok'
"""
)
