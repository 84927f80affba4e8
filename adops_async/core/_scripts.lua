-- The shared-quota scripts of RedisStore. Each runs atomically in Redis, so N processes on M hosts act as one client.
--
-- Time: clock seconds = server TIME x ARGV[2] (the client clock's speed; 1 against real vendors), unless ARGV[1]
-- gives "now" (tests in virtual time). Durations in ARGV are clock seconds; PX/PEXPIRE take real milliseconds.
-- Numbers go back as strings (str): Redis would truncate a Lua number to an integer.
--
-- ARGV[3] names the operation ("take", "settle" or "renew"; a take runs the settle steps it carries first). ARGV[4] is
-- the epoch the caller last saw and ARGV[5] a fresh one: KEYS[1] holds the epoch, so a Redis that restarted empty is
-- told apart from one that was only out of reach, and state that may have been lost is covered ("lost" steps run only
-- then). Then groups of 8 fields follow: a type letter and 7 arguments; each type reads its own number of KEYS, in
-- order, from KEYS[2].

local speed = tonumber(ARGV[2])
local now
if ARGV[1] ~= "" then
    now = tonumber(ARGV[1])
else
    local t = redis.call("TIME")
    now = (tonumber(t[1]) + tonumber(t[2]) / 1000000) * speed
end

local function ttl_ms(clock_seconds)
    return math.max(1000, math.ceil(clock_seconds / speed * 1000) + 1000)
end

-- Exact: tostring() keeps only 14 digits, a millisecond of a timestamp.
local function str(x)
    return string.format("%.17g", x)
end

local function num(value, default)
    if value == false or value == nil then
        return default
    end
    return tonumber(value)
end

local NEVER = -1e300
local WIDTH = 8
local op = ARGV[3]
local HEAD = 5
local groups = (#ARGV - HEAD) / WIDTH
local epoch = redis.call("GET", KEYS[1])
if not epoch then
    epoch = ARGV[5]
    redis.call("SET", KEYS[1], epoch)
end
local lost = ARGV[4] ~= "" and ARGV[4] ~= epoch
local KEYS_OF = {C = 1, L = 1, B = 1, S = 4, M = 1, R = 1, X = 1, D = 1, K = 1, U = 1, F = 1, Q = 3, P = 1, E = 1, H = 1, N = 1, Z = 1}

local function each(fn)
    local k = 2
    for g = 0, groups - 1 do
        local base = HEAD + g * WIDTH
        local kind = ARGV[base + 1]
        fn(g + 1, kind, k, function(i) return ARGV[base + 1 + i] end)
        k = k + KEYS_OF[kind]
    end
end

-- Serial: drop crashed waiters from the head of the FIFO queue (no heartbeat for `stale` clock seconds).
local function queue_head(queue, seen, stale)
    while true do
        local head = redis.call("ZRANGE", queue, 0, 0)[1]
        if head == nil then
            return nil
        end
        if num(redis.call("HGET", seen, head), NEVER) >= now - stale then
            return head
        end
        redis.call("ZREM", queue, head)
        redis.call("HDEL", seen, head)
    end
end

-- The shared pause: never shortened; returns when it ends.
local function extend_pause(key, wait)
    local until_ = now + wait
    local current = num(redis.call("GET", key), NEVER)
    if until_ > current then
        redis.call("SET", key, str(until_), "PX", ttl_ms(wait))
        return until_
    end
    return current
end

-- Settle steps: after a response, release log entries, extend the shared pause, lower the shared bucket, free the
-- lease. A take runs them too, first, whatever it decides: the settles of this process that travelled with it.
if op == "settle" or op == "take" then
    local extended = "0"
    each(function(g, kind, k, a)
        if kind == "R" then
            -- The request ended `age` seconds ago (its settle may have waited for a take): it counts from then.
            local window, member, age = tonumber(a(1)), a(2), tonumber(a(3))
            redis.call("ZADD", KEYS[k], now - math.max(0, age), member)
            redis.call("PEXPIRE", KEYS[k], ttl_ms(window))
        elseif kind == "X" and op == "settle" then  -- a take's own pass 1 extends the pause it carries
            if extend_pause(KEYS[k], tonumber(a(1))) == now + tonumber(a(1)) then
                extended = "1"
            end
        elseif kind == "K" then
            -- The vendor announced another policy: the bucket and hold kept under the old one no longer apply.
            redis.call("HDEL", KEYS[k], "tat", "hold_left", "hold_until")
        elseif kind == "D" then
            -- RateLimit-Remaining r on the response to admission `seq`, seen `age` seconds ago: admissions after
            -- `seq` may not be counted in r yet, and Reset counts from when the response was seen, not from now.
            local interval, tolerance, burst = tonumber(a(1)), tonumber(a(2)), tonumber(a(3))
            local remaining, reset, seq = tonumber(a(4)), tonumber(a(5)), tonumber(a(6))
            local seen_at = now - math.max(0, tonumber(a(7)))
            local s = redis.call("HMGET", KEYS[k], "tat", "hold_left", "hold_until", "seq")
            local tat = math.max(num(s[1], NEVER), seen_at)
            local left = math.max(0, remaining - (num(s[4], 0) - seq))
            local allowed = math.max(0, math.min(burst, math.floor((seen_at + tolerance - tat) / interval + 1e-9) + 1))
            if left < allowed then
                redis.call("HSET", KEYS[k], "tat", math.max(num(s[1], NEVER), seen_at + tolerance - (left - 1) * interval))
            end
            if reset > 0 then
                local hold_until = num(s[3], NEVER)
                if hold_until > seen_at then
                    redis.call("HSET", KEYS[k], "hold_left", math.min(num(s[2], 0), left),
                        "hold_until", math.max(hold_until, seen_at + reset))
                else
                    redis.call("HSET", KEYS[k], "hold_left", left, "hold_until", seen_at + reset)
                end
            end
            redis.call("PEXPIRE", KEYS[k], ttl_ms(tolerance + interval + 3600))
        elseif kind == "F" then
            if redis.call("ZREM", KEYS[k], a(1)) == 1 then
                redis.call("PUBLISH", a(2), "freed")
            end
        elseif kind == "U" then
            if redis.call("GET", KEYS[k]) == a(1) then
                redis.call("DEL", KEYS[k])
                redis.call("PUBLISH", a(2), "freed")
            end
        elseif kind == "Q" then
            redis.call("ZREM", KEYS[k + 1], a(1))
            redis.call("HDEL", KEYS[k + 2], a(1))
            if redis.call("GET", KEYS[k]) == a(1) then
                redis.call("DEL", KEYS[k])
            end
            redis.call("PUBLISH", a(2), "freed")
        end
    end)
    if op == "settle" then
        return {extended, epoch}
    end
end

if op == "take" then
    -- Pass 1: when would every check admit? Nothing is written except a Serial waiter's place in the queue.
    -- `ready` is when every check surely admits; `sure` is before when none can: they differ where an opening hinges
    -- on a request in flight, whose release may come any time (and then dates a sliding-log entry to its end).
    local ready, blocker, sure = now, "", now
    each(function(g, kind, k, a)
        local at = now
        local low = nil
        local applies = a(7) ~= "lost" or lost
        if kind == "P" and applies then
            -- Back after an outage: count what was (or may have been) sent meanwhile, `age` seconds ago.
            local window, count, age, token = tonumber(a(1)), tonumber(a(2)), tonumber(a(3)), a(4)
            for i = 1, count do
                redis.call("ZADD", KEYS[k], now - age, token .. ":" .. i)
            end
            redis.call("PEXPIRE", KEYS[k], ttl_ms(window + math.max(0, -age)))
        elseif kind == "E" and applies then
            -- Back after an outage: the bucket may be empty now, and owes `debt` seconds of calls on top.
            local empty, debt = tonumber(a(1)), tonumber(a(2))
            local tat = math.max(num(redis.call("HGET", KEYS[k], "tat"), NEVER), now + empty) + debt
            redis.call("HSET", KEYS[k], "tat", tat)
            redis.call("PEXPIRE", KEYS[k], ttl_ms(empty + debt + 3600))
        elseif kind == "H" and applies then
            -- Redis restarted empty while a lease may still be running somewhere: nobody takes it for one lease.
            redis.call("SET", KEYS[k], "recovering", "NX", "PX", tonumber(a(1)))
        elseif kind == "X" then
            at = extend_pause(KEYS[k], tonumber(a(1)))
        elseif kind == "C" then
            at = num(redis.call("GET", KEYS[k]), NEVER)
        elseif kind == "L" then
            local limit, window = tonumber(a(1)), tonumber(a(2))
            redis.call("ZREMRANGEBYSCORE", KEYS[k], "-inf", now - window)
            local used = redis.call("ZCARD", KEYS[k])
            if used >= limit then
                local oldest = tonumber(redis.call("ZRANGE", KEYS[k], used - limit, used - limit, "WITHSCORES")[2])
                at = oldest + window
                if oldest > now then
                    low = now + window  -- in flight: its release dates it to its end, now at the earliest
                end
            end
        elseif kind == "B" then
            local interval, tolerance = tonumber(a(1)), tonumber(a(2))
            local s = redis.call("HMGET", KEYS[k], "tat", "hold_left", "hold_until")
            at = num(s[1], NEVER) - tolerance
            if num(s[3], NEVER) > now and num(s[2], 0) <= 0 then
                at = math.max(at, tonumber(s[3]))
            end
        elseif kind == "M" then
            -- Requests in flight, each until its lease ends (renewed while it runs; a dead process's lapses).
            redis.call("ZREMRANGEBYSCORE", KEYS[k], "-inf", now)
            if redis.call("ZCARD", KEYS[k]) >= tonumber(a(1)) then
                at, low = tonumber(redis.call("ZRANGE", KEYS[k], 0, 0, "WITHSCORES")[2]), now
            end
        elseif kind == "S" then
            local lease, queue, seen, tickets = KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3]
            local token, stale = a(1), tonumber(a(3))
            if redis.call("ZSCORE", queue, token) == false then
                redis.call("ZADD", queue, redis.call("INCR", tickets), token)
            end
            redis.call("HSET", seen, token, now)
            local ttl = ttl_ms(stale * 4)
            redis.call("PEXPIRE", queue, ttl)
            redis.call("PEXPIRE", seen, ttl)
            redis.call("PEXPIRE", tickets, ttl)
            local holder_ttl = redis.call("PTTL", lease)
            if holder_ttl > 0 or holder_ttl == -1 then
                at, low = now + math.max(holder_ttl, 1) / 1000 * speed, now
            elseif queue_head(queue, seen, stale) ~= token then
                at, low = now + stale / 4, now  -- another process is next in line: look again soon (or when woken)
            end
        end
        if at > ready then
            ready, blocker = at, kind
        end
        sure = math.max(sure, low or at)
    end)
    if ready > now then
        return {"0", str(ready - now), blocker, epoch, str(sure - now)}
    end
    -- Pass 2: every check admits; take from each.
    local out = {"1", "", "", "", ""}
    each(function(g, kind, k, a)
        if kind == "L" then
            local window, lease, member = tonumber(a(2)), tonumber(a(3)), a(4)
            -- In flight: counts until `lease` after admission, the longest it may run; its release rewrites that.
            redis.call("ZADD", KEYS[k], now + lease, member)
            redis.call("PEXPIRE", KEYS[k], ttl_ms(window + lease))
        elseif kind == "B" then
            local interval, tolerance = tonumber(a(1)), tonumber(a(2))
            local s = redis.call("HMGET", KEYS[k], "tat", "hold_left", "hold_until", "seq")
            local seq = num(s[4], 0) + 1
            redis.call("HSET", KEYS[k], "tat", math.max(num(s[1], NEVER), now) + interval, "seq", seq)
            if num(s[3], NEVER) > now then
                redis.call("HSET", KEYS[k], "hold_left", num(s[2], 0) - 1)
            end
            redis.call("PEXPIRE", KEYS[k], ttl_ms(tolerance + interval + 3600))
            out[3] = str(seq)
        elseif kind == "M" then
            local lease, token = tonumber(a(2)), a(3)
            redis.call("ZADD", KEYS[k], now + lease, token)
            redis.call("PEXPIRE", KEYS[k], ttl_ms(lease))
        elseif kind == "S" then
            local lease, queue, seen = KEYS[k], KEYS[k + 1], KEYS[k + 2]
            local token, lease_ms = a(1), tonumber(a(2))
            redis.call("SET", lease, token, "PX", lease_ms)
            redis.call("ZREM", queue, token)
            redis.call("HDEL", seen, token)
        end
    end)
    -- Pass 3: when the next take of these steps could go, where that is sure. It is not while the sliding log's next
    -- opening hinges on a request in flight (its release could come any time): then the reply says "unknown".
    local opens, known = now, true
    each(function(g, kind, k, a)
        local at = now
        if kind == "L" then
            local limit, window = tonumber(a(1)), tonumber(a(2))
            local used = redis.call("ZCARD", KEYS[k])
            if used >= limit then
                local entry = tonumber(redis.call("ZRANGE", KEYS[k], used - limit, used - limit, "WITHSCORES")[2])
                if entry <= now then
                    at = entry + window
                else
                    known = false
                end
            end
        elseif kind == "B" then
            local tolerance = tonumber(a(2))
            local s = redis.call("HMGET", KEYS[k], "tat", "hold_left", "hold_until")
            at = num(s[1], NEVER) - tolerance
            if num(s[3], NEVER) > now and num(s[2], 0) <= 0 then
                at = math.max(at, tonumber(s[3]))
            end
        elseif kind == "C" then
            at = num(redis.call("GET", KEYS[k]), NEVER)
        end
        opens = math.max(opens, at)
    end)
    out[2] = str(now)
    out[4] = epoch
    out[5] = known and str(opens - now) or ""
    return out
end

if op == "renew" then
    -- Extend the leases a running request holds, only while they are still its own; 0 if any was lost.
    local ok = 1
    each(function(g, kind, k, a)
        if kind == "N" then
            if redis.call("GET", KEYS[k]) == a(1) then
                redis.call("PEXPIRE", KEYS[k], tonumber(a(2)))
            else
                ok = 0
            end
        elseif kind == "Z" then
            if redis.call("ZSCORE", KEYS[k], a(1)) then
                redis.call("ZADD", KEYS[k], "XX", now + tonumber(a(2)), a(1))
                redis.call("PEXPIRE", KEYS[k], ttl_ms(tonumber(a(2))))
            else
                ok = 0
            end
        end
    end)
    return ok
end

return redis.error_reply("unknown operation " .. tostring(op))
