-- GET BENCH_PREFIX .. id for ids picked at random from the first word of each line of the
-- file in BENCH_IDS (setup_processes.py's output: prcs_id sbfl_id step_key), with BENCH_AUTH.
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do
  local id = line:match("^(%S+)")
  if id then ids[#ids + 1] = id end
end
local prefix = os.getenv("BENCH_PREFIX") or "/v1/processes/"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16))
request = function()
  return wrk.format("GET", prefix .. ids[math.random(1, #ids)])
end
