-- wrk script: POST the prepared requests of a file ("<token>\t<json body>" per line), each thread
-- its own slice, and report JSON (throughput, p50/p99, payload errors) when done.
local lines = {}
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    table.insert(lines, line)
  end
  local per = math.floor(#lines / tonumber(args[2]))
  position = id * per
  failures = 0
end

function request()
  position = position % #lines + 1
  local token, body = lines[position]:match("^([^\t]*)\t(.*)$")
  local headers = { ["Content-Type"] = "application/json" }
  if token ~= "" then headers["Authorization"] = "Bearer " .. token end
  return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
  if status ~= 200 or body:find('"errors":%[{') or body:find('"errors": %[{') then
    failures = failures + 1
  end
end

function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do failed = failed + thread:get("failures") end
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "p50_ms": %.2f, "p99_ms": %.2f, "failures": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, failed,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
