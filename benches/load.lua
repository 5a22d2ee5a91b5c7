-- wrk script for benches/load.sh: replays a prepared list of requests in random order.
--
-- Each line of the requests file is "METHOD<TAB>PATH<TAB>BODY" (BODY may be empty). The
-- token, case number and purpose come from the environment (QL_TOKEN). Non-2xx answers are
-- counted per thread and reported at the end, beside wrk's own socket-error counts.

local reqs = {}
local token = os.getenv("QL_TOKEN") or ""
local file = os.getenv("QL_REQUESTS") or "requests.tsv"
bad = 0 -- global: read by done() through thread:get
local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   for line in io.lines(file) do
      local m, p, b = line:match("^(%u+)\t([^\t]+)\t?(.*)$")
      if m then
         table.insert(reqs, {m, p, b})
      end
   end
   math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0))
end

local headers = {
   ["Authorization"] = "Bearer " .. token,
   ["X-Case-Id"] = "LOAD-TEST-2026",
   ["X-Purpose"] = "capacity measurement",
   ["Content-Type"] = "application/json",
}

function request()
   local r = reqs[math.random(#reqs)]
   local body = nil
   if r[3] ~= "" then
      body = r[3]
   end
   return wrk.format(r[1], r[2], headers, body)
end

function response(status, hdrs, body)
   if status < 200 or status > 299 then
      bad = bad + 1
   end
end

function done(summary, latency, requests)
   local non2xx = 0
   for _, t in ipairs(threads) do
      non2xx = non2xx + (t:get("bad") or 0)
   end
   local errors = summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout
   io.write(string.format(
      'RESULT {"requests": %d, "seconds": %.2f, "rps": %.1f, "p50_ms": %.2f, "p90_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f, "non_2xx": %d, "socket_errors": %d, "error_rate": %.5f}\n',
      summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
      latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
      latency.max / 1000, non2xx, errors, (non2xx + errors) / math.max(1, summary.requests)))
end
