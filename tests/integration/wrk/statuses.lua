-- wrk script of the IdP fault tests (tests/integration/test_idp_faults.py):
-- cycles through a pool of bearer tokens and counts every response status.
--
--   wrk -t1 -c16 -d30s -s statuses.lua http://127.0.0.1:PORT/ -- TOKENS_FILE [PATH]
--
-- TOKENS_FILE has one token a line. wrk's own summary only says how many
-- answers were not 2xx/3xx; the tests need each status, so done() prints one
-- JSON line (prefixed "WRK_JSON ") with the counts of all threads merged.

local requests = {}
local count = 0
local index = 0
local threads = {}

statuses = {}  -- global: done() reads it from each thread with thread:get

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local path = args[2] or "/"
  for line in io.lines(args[1]) do
    if #line > 0 then
      count = count + 1
      requests[count] = wrk.format("GET", path, { ["Authorization"] = "Bearer " .. line })
    end
  end
end

function request()
  index = index + 1
  if index > count then
    index = 1
  end
  return requests[index]
end

function response(status, _, _)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, _, _)
  local merged = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      merged[status] = (merged[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(merged) do
    table.insert(parts, string.format('"%d":%d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"statuses":{%s},' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, table.concat(parts, ","),
    e.connect, e.read, e.write, e.status, e.timeout))
end
