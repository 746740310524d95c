-- One fixed request for wrk, from the environment: BENCH_METHOD (GET), BENCH_AUTH (the
-- Authorization header, if any), BENCH_BODY and BENCH_CTYPE (a form by default). The same
-- script drives every target, so each gets byte-for-byte the same kind of request.
wrk.method = os.getenv("BENCH_METHOD") or "GET"
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = os.getenv("BENCH_CTYPE") or "application/x-www-form-urlencoded"
end
