-- wrk script of `make bench`: cycles through a pool of bearer tokens.
--
--   wrk -t1 -c32 -d5s -s bench/wrk/pool.lua http://127.0.0.1:PORT/ -- TOKENS_FILE [HEADER]
--
-- TOKENS_FILE has one token a line; an empty file (or "-") sends no
-- Authorization header at all. With HEADER, each line is sent as that
-- header's value instead of "Authorization: Bearer <line>" (subscription keys). Every request is pre-built in init(), so the
-- per-request Lua cost is one table index and is the same for every listener.
-- done() prints one JSON line (prefixed "BENCH_JSON ") that bench/run.py reads.

local requests = {}
local count = 0
local index = 0

function init(args)
  local path = args[1]
  local header = args[2]
  if path ~= nil and path ~= "-" then
    for line in io.lines(path) do
      if #line > 0 then
        count = count + 1
        if header ~= nil then
          requests[count] = wrk.format("GET", "/", { [header] = line })
        else
          requests[count] = wrk.format("GET", "/", { ["Authorization"] = "Bearer " .. line })
        end
      end
    end
  end
  if count == 0 then
    count = 1
    requests[1] = wrk.format("GET", "/")
  end
end

function request()
  index = index + 1
  if index > count then
    index = 1
  end
  return requests[index]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"pool":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max,
    e.connect, e.read, e.write, e.status, e.timeout, count))
end
