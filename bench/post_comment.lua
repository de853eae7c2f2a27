-- wrk script: POST /v1/comments, a new comment on every request. Settings from the environment:
--   KEY       bearer key (left out when unset: the reference servers need none)
--   TEXTS     file of comment texts, one JSON string literal per line (bench_load.py writes it);
--             unset: a generated sentence with the request number in it
--   RUN       external_id prefix; every request gets "<RUN>-<thread>-<n>", unique in the run.
--             Unset: no external_id
--   AUTHORS   distinct authors (default 100000), picked uniformly
--   ARTICLES  distinct articles (default 200), skewed: a few hot ones get most comments
--   SEED      a different number for every run (default 0): where the texts start, which authors
--   IDS       directory: each thread writes the external_id of every 2xx answer to <IDS>/<thread>.ids
--             (read from the answer body), so the benchmark can check each one was committed
-- done() prints one line "WRKJSON {...}" with the totals, latency in microseconds, the HTTP statuses
-- and the service's decisions (approved, pending, rejected) among the 2xx answers.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if os.getenv("KEY") then
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("KEY")
end

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  texts = {}
  local path = os.getenv("TEXTS")
  if path then
    for line in io.lines(path) do
      texts[#texts + 1] = line
    end
  end
  authors = tonumber(os.getenv("AUTHORS") or "100000")
  articles = tonumber(os.getenv("ARTICLES") or "200")
  run = os.getenv("RUN")
  local ids = os.getenv("IDS")
  if ids then
    out = assert(io.open(ids .. "/" .. tid .. ".ids", "w"))
    out:setvbuf("line") -- wrk never closes a thread's Lua state: no buffered line may be lost
  end
  -- Each run (SEED) and thread draws its own authors and starts at its own text: a run that
  -- replayed an earlier run's (author, text) pairs would trip the repeated-comment rule.
  local seed = tonumber(os.getenv("SEED") or "0")
  math.randomseed(seed * 1000 + tid)
  n = 0
  pos = (seed * 104729 + tid * 7919) % math.max(#texts, 1)
  statuses = {}
  decisions = {}
end

function request()
  n = n + 1
  local text
  if #texts > 0 then
    pos = pos % #texts + 1
    text = texts[pos]
  else
    text = string.format('"Thank you for this thoughtful piece; point %d was new to me."', n)
  end
  local article = math.floor(articles * math.random() ^ 3)
  local author = math.random(0, authors - 1)
  local external = ""
  if run then
    external = string.format(',"external_id":"%s-%d-%d"', run, tid, n)
  end
  local body = string.format('{"article_id":"article-%d","author_id":"reader-%d"%s,"text":%s}',
    article, author, external, text)
  return wrk.format(nil, "/v1/comments", nil, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status >= 200 and status < 300 then
    if out then
      out:write(string.match(body, '"external_id":%s*"([^"]*)"') or "?", "\n")
    end
    -- the service's decision (the first "status" field of its answer); the references have none
    local decision = string.match(body, '"status":%s*"([%w_]*)"')
    if decision then
      decisions[decision] = (decisions[decision] or 0) + 1
    end
  end
end

local function merged(name)
  local total = {}
  for _, thread in ipairs(threads) do
    for k, count in pairs(thread:get(name) or {}) do
      total[k] = (total[k] or 0) + count
    end
  end
  local parts = {}
  for k, count in pairs(total) do
    parts[#parts + 1] = string.format('"%s":%d', tostring(k), count)
  end
  return table.concat(parts, ",")
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"p50":%d,"p90":%d,"p99":%d,"p99.9":%d,"max":%d},' ..
    '"statuses":{%s},"decisions":{%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.stdev, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max,
    merged("statuses"), merged("decisions")))
end
