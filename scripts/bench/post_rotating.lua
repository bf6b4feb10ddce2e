-- wrk script: POST a ~1.1 KB session_complete, rotating over the tokens in TOKENS_FILE (one per line),
-- with a fresh Idempotency-Key per request (unique across wrk threads too) so every request is a new event.
-- PATH_PREFIX (default /webhooks/v1/pos/) lets the same load hit the no-op baseline route.
-- Every 4 requests share an order_id and its restaurant's token, as a real check's events do.
local tokens = {}
for line in io.lines(os.getenv("TOKENS_FILE")) do
  if #line > 0 then tokens[#tokens + 1] = line end
end
local prefix = os.getenv("PATH_PREFIX") or "/webhooks/v1/pos/"
local head = [[{"event":"session_complete","order_id":"ORD-BENCH-]]
local body = [[","table_number":"Mesa 8","guests":4,
"timestamp":"2025-11-24T20:15:00-03:00","session_start":"2025-11-24T18:30:00-03:00","session_end":"2025-11-24T20:15:00-03:00",
"opened_by":{"id":72,"name":"Joao Silva"},"closed_by":{"id":96,"name":"Maria Santos"},
"items":[{"timestamp":"2025-11-24T18:35:00-03:00","employee_id":72,"name":"Focaccia","quantity":1,"price":19.00},
{"timestamp":"2025-11-24T18:35:00-03:00","employee_id":72,"name":"Caipirinha","quantity":2,"price":28.00},
{"timestamp":"2025-11-24T19:02:00-03:00","employee_id":72,"name":"Risoto de Cogumelos","quantity":2,"price":89.00},
{"timestamp":"2025-11-24T19:02:00-03:00","employee_id":72,"name":"Picanha","quantity":1,"price":112.00},
{"timestamp":"2025-11-24T19:48:00-03:00","employee_id":96,"name":"Pudim","quantity":2,"price":24.00}],
"totals":{"subtotal":413.00,"tip":53.69,"tax":41.30,"total":507.99}}]]
local headers = {["Content-Type"] = "application/json"}
-- Each wrk thread gets its own number, so keys and order ids never repeat across threads; RUN_ID (set per wrk run by
-- the bench scripts) keeps them from repeating across runs on one database, where they would be duplicates.
local run = os.getenv("RUN_ID") or tostring(os.time())
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end
local n = 0
request = function()
  n = n + 1
  local check = math.floor(n / 4)
  local t = tokens[(check % #tokens) + 1]
  local order = run .. "-" .. tostring(thread_id) .. "-" .. tostring(check)
  headers["Idempotency-Key"] = run .. "-" .. tostring(thread_id) .. "-" .. tostring(n)
  return wrk.format("POST", prefix .. t .. "?env=prod", headers, head .. order .. body)
end
