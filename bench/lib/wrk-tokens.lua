-- wrk script: one fresh Negotiate token per request (bench/lib/wrk.mjs writes the file).
-- Each wrk thread has its own Lua state: thread i of n takes lines i, i+n, i+2n... so no token
-- is sent twice (a reused AP-REQ is a replay). When a thread's tokens run out it sends requests
-- without Authorization: their 401s count as errors, never as handshakes.
-- A response counts as ok only when it is a 200 carrying the mutual-authentication token.
local threads = {}
local tokens, next_token, path, no_token
ok, no_mutual = 0, 0 -- globals: done() reads them from each thread with thread:get

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

-- Requests are formatted here, before the load starts, so that building one costs the run
-- nothing but a table lookup (wrk.format per request was most of wrk's CPU).
function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  path = args[3] or "/"
  tokens, next_token = {}, 1
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == index then
      tokens[#tokens + 1] = wrk.format("GET", path, { Authorization = "Negotiate " .. line })
    end
    i = i + 1
  end
  no_token = wrk.format("GET", path)
end

function request()
  local r = tokens[next_token]
  if r == nil then return no_token end
  tokens[next_token] = nil
  next_token = next_token + 1
  return r
end

function response(status, headers)
  if status ~= 200 then return end
  local h = headers["WWW-Authenticate"] or headers["www-authenticate"]
  if h ~= nil and h:find("^Negotiate %S") then ok = ok + 1 else no_mutual = no_mutual + 1 end
end

function done(summary, latency, requests)
  local sums = { ok = 0, no_mutual = 0 }
  for _, t in ipairs(threads) do
    sums.ok = sums.ok + t:get("ok")
    sums.no_mutual = sums.no_mutual + t:get("no_mutual")
  end
  local e = summary.errors
  io.stderr:write(string.format(
    '{"durationUs":%d,"requests":%d,"ok":%d,"noMutualToken":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"maxUs":%d}\n',
    summary.duration, summary.requests, sums.ok, sums.no_mutual, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
