// How a website talks to comment-moderation: post a reader's comment, verify a webhook.
//
// Runs on Node 18+ (global fetch, node:crypto). Call the API from your *server*, never from
// the reader's browser: the submitter key is a secret. The browser posts the comment to your
// site; your site posts it here and publishes, holds or refuses it according to the answer.
//
//   const { postComment, verifyWebhookSignature } = require("./website.js");
//
// Webhooks carry
//   X-Moderation-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the site's secret>
// Verify against the raw request body, before parsing it, and refuse old timestamps (replays).
"use strict";

const crypto = require("node:crypto");

/**
 * Submit a comment. Returns {status, comment}: HTTP 201 (stored now) or 200 (stored earlier with
 * the same externalId). comment.status is "approved", "rejected" or "pending".
 * A 503 (database unreachable, nothing stored) or 429 is retried after Retry-After seconds
 * with the same externalId, so a retry can never store the comment twice.
 */
async function postComment({ baseUrl, apiKey, articleId, authorId, text, externalId, maxRetries = 3 }) {
  const body = JSON.stringify({
    article_id: articleId,
    author_id: authorId,
    text,
    external_id: externalId ?? crypto.randomUUID(),
  });
  for (let attempt = 0; ; attempt++) {
    const resp = await fetch(`${baseUrl}/v1/comments`, {
      method: "POST",
      headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" },
      body,
    });
    const answer = await resp.json();
    if (resp.ok) return { status: resp.status, comment: answer };
    if ((resp.status === 503 || resp.status === 429) && attempt < maxRetries) {
      const wait = Math.min(Number(resp.headers.get("Retry-After")) || 2 ** attempt, 30);
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      continue;
    }
    // problem+json: branch on answer.code, quote answer.request_id when asking for help.
    throw Object.assign(new Error(`${resp.status} ${answer.code}: ${answer.detail}`), { problem: answer });
  }
}

/**
 * Check an X-Moderation-Signature header against the raw body (a Buffer or string) with the
 * site's webhook secret. True only for the right secret, the exact body and a timestamp within
 * toleranceSeconds of now.
 */
function verifyWebhookSignature(secret, header, rawBody, { toleranceSeconds = 300, now = Date.now() / 1000 } = {}) {
  if (typeof header !== "string") return false;
  const fields = Object.fromEntries(
    header.split(",").map((part) => {
      const i = part.indexOf("=");
      return [part.slice(0, i).trim(), part.slice(i + 1).trim()];
    }),
  );
  const timestamp = Number.parseInt(fields.t, 10);
  if (!Number.isFinite(timestamp) || !/^[0-9a-f]{64}$/.test(fields.v1 ?? "")) return false;
  if (Math.abs(now - timestamp) > toleranceSeconds) return false;
  const expected = crypto
    .createHmac("sha256", secret)
    .update(`${timestamp}.`)
    .update(rawBody)
    .digest();
  return crypto.timingSafeEqual(expected, Buffer.from(fields.v1, "hex"));
}

/**
 * An Express-style handler for webhook deliveries. Mount it with a raw body parser, e.g.
 * app.post("/moderation-webhook", express.raw({ type: "application/json" }), webhookHandler(secret, onEvent)).
 */
function webhookHandler(secret, onEvent) {
  return (req, res) => {
    if (!verifyWebhookSignature(secret, req.get("X-Moderation-Signature"), req.body)) {
      res.status(401).end();
      return;
    }
    // Deliveries are retried until acknowledged: deduplicate by X-Moderation-Event-Id.
    onEvent(JSON.parse(req.body.toString("utf8")), req.get("X-Moderation-Event-Id"));
    res.status(204).end();
  };
}

module.exports = { postComment, verifyWebhookSignature, webhookHandler };

// `node website.js` posts one comment: MODERATION_URL and MODERATION_KEY from the environment.
if (require.main === module) {
  postComment({
    baseUrl: process.env.MODERATION_URL ?? "http://127.0.0.1:8080",
    apiKey: process.env.MODERATION_KEY,
    articleId: "budget-2026",
    authorId: "reader-1",
    text: process.argv[2] ?? "A clear explanation of the budget, thank you.",
  }).then(
    ({ status, comment }) => console.log(status, comment.status, comment.reasons.map((r) => r.code).join(",")),
    (err) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
