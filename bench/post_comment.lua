-- wrk script: POST /v1/comments with a different author and text each time (KEY from the environment).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KEY")
local n = 0
request = function()
  n = n + 1
  local body = string.format(
    '{"article_id": "bench-%d", "author_id": "reader-%d", "text": "Thank you for this thoughtful piece; point %d was new to me."}',
    n % 50, n % 500, n)
  return wrk.format(nil, "/v1/comments", nil, body)
end
