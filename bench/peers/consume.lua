-- Single-use work for wrk (codes, refresh tokens, steps, messages): each line of the file in
-- BENCH_WORK is one request, `METHOD PATH [BODY]`, sent exactly once. Thread k of BENCH_THREADS
-- takes lines k+1, k+1+BENCH_THREADS, ... so no two threads send the same one. BENCH_AUTH is
-- the Authorization header; BENCH_CTYPE the body's Content-Type.
--
-- A thread that runs out of lines stops (its requests still in flight are not counted), so no
-- run measures anything but the work; wrk itself keeps its -d duration, so its Requests/sec
-- would be diluted: done() prints the rate over the time the threads really worked
-- ("Single-use 2xx/sec", which bench/peers/report.py reads), from a monotonic clock.
-- Should a request be sent out of work anyway, it asks a path that answers 404 (a non-2xx).
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *tp);
]]
local function now()
  local t = ffi.new("bench_timespec")
  ffi.C.clock_gettime(1, t) -- CLOCK_MONOTONIC
  return tonumber(t.tv_sec) + tonumber(t.tv_nsec) * 1e-9
end

local work = {}
for line in io.lines(os.getenv("BENCH_WORK")) do
  local method, path, body = line:match("^(%S+) (%S+) ?(.*)$")
  if method then work[#work + 1] = {method, path, body} end
end
local stride = tonumber(os.getenv("BENCH_THREADS") or "2")
local headers = {["Authorization"] = os.getenv("BENCH_AUTH"),
                 ["Content-Type"] = os.getenv("BENCH_CTYPE") or "application/json"}

local threads = {}
setup = function(thread)
  thread:set("offset", #threads)
  threads[#threads + 1] = thread
end

-- Globals, so that done() can read them from each thread.
ok, failed, started, finished = 0, 0, 0, 0
local counter = 1
init = function() counter = offset + 1 end

request = function()
  if started == 0 then started = now() end
  local item = work[counter]
  counter = counter + stride
  if item == nil then
    if finished == 0 then finished = now() end
    wrk.thread:stop()
    return wrk.format("GET", "/bench/out-of-work")
  end
  if item[3] == "" then return wrk.format(item[1], item[2], headers) end
  return wrk.format(item[1], item[2], headers, item[3])
end

response = function(status)
  if status < 300 then ok = ok + 1 else failed = failed + 1 end
end

done = function(summary)
  local first, last, answered, ran_out = math.huge, 0, 0, 0
  for _, thread in ipairs(threads) do
    local began = thread:get("started")
    if began > 0 and began < first then first = began end
  end
  for _, thread in ipairs(threads) do
    local ended = thread:get("finished")
    if ended > 0 then
      ran_out = ran_out + 1
    else -- still working when wrk's duration ended
      ended = first + summary.duration / 1e6
    end
    if ended > last then last = ended end
    answered = answered + thread:get("ok")
  end
  local span = last - first
  if first == math.huge or span <= 0 then return end
  io.write(string.format("Single-use: %d answered 2xx in %.3fs; %d of %d threads ran out of work\n",
    answered, span, ran_out, #threads))
  io.write(string.format("Single-use 2xx/sec: %.2f\n", answered / span))
end
