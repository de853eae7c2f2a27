-- Every SQL statement of the service, by name. Each block starts with
-- "-- name: <query_name>" followed by a one-line description, and uses $n parameters only.

-- name: get_api_key_by_hash
-- The live key with this hash: not revoked, or revoked at a time still to come (a rotation's grace).
SELECT id, name, role, site_id, key_hash
FROM api_keys
WHERE key_hash = $1 AND (revoked_at IS NULL OR revoked_at > now());

-- name: insert_api_key
-- Create a key; the name must be unique among live keys.
INSERT INTO api_keys (name, role, key_hash, key_prefix, site_id)
VALUES ($1, $2, $3, $4, $5)
RETURNING id, name, role, key_prefix, site_id, created_at;

-- name: list_api_keys
-- Every key, newest first, without hashes; revoked is true once revoked_at has passed.
SELECT id, name, role, key_prefix, site_id, created_at, revoked_at, last_used_at,
       (revoked_at IS NOT NULL AND revoked_at <= now()) AS revoked
FROM api_keys
ORDER BY id DESC;

-- name: revoke_api_key
-- Revoke now every live key with this name, including one still in a rotation's grace period.
UPDATE api_keys SET revoked_at = now()
WHERE name = $1 AND (revoked_at IS NULL OR revoked_at > now())
RETURNING id;

-- name: retire_api_key
-- Rotation, step one: the current key with this name stops working $2 seconds from now.
UPDATE api_keys SET revoked_at = now() + make_interval(secs => $2)
WHERE name = $1 AND revoked_at IS NULL
RETURNING id, role, site_id, revoked_at;

-- name: touch_api_key
-- Record that a key was used (at most once a minute per key, to spare writes).
UPDATE api_keys SET last_used_at = now()
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');

-- name: ensure_site
-- Create the site on first use.
INSERT INTO sites (id) VALUES ($1) ON CONFLICT (id) DO NOTHING;

-- name: ensure_article
-- Create the article on first use, in postmod.
INSERT INTO articles (site_id, id) VALUES ($1, $2) ON CONFLICT (site_id, id) DO NOTHING;

-- name: ensure_author
-- Create the author on first use.
INSERT INTO authors (site_id, id) VALUES ($1, $2) ON CONFLICT (site_id, id) DO NOTHING;

-- name: get_article
-- One article's moderation settings.
SELECT site_id, id, title, url, mode, created_at, updated_at
FROM articles
WHERE site_id = $1 AND id = $2;

-- name: upsert_article
-- Set an article's mode (and optionally title and url), creating it if needed.
INSERT INTO articles (site_id, id, mode, title, url)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (site_id, id) DO UPDATE
SET mode = EXCLUDED.mode,
    title = COALESCE(EXCLUDED.title, articles.title),
    url = COALESCE(EXCLUDED.url, articles.url),
    updated_at = now()
RETURNING site_id, id, title, url, mode, created_at, updated_at;

-- name: insert_comment
-- Store a scored comment; nothing when the (site, external id) pair exists already.
INSERT INTO comments (site_id, external_id, article_id, author_id, parent_id, text, status,
                      scores, reasons, spans, model_version, author_ip, user_agent, max_score)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT ON CONSTRAINT uq__comments__site_external DO NOTHING
RETURNING *;

-- name: get_comment
-- One comment by id.
SELECT * FROM comments WHERE id = $1;

-- name: get_comment_by_external_id
-- One comment by the website's own id.
SELECT * FROM comments WHERE site_id = $1 AND external_id = $2;

-- name: get_parent_comment
-- The parent a reply points at, which must be on the same site and article.
SELECT id FROM comments WHERE id = $1 AND site_id = $2 AND article_id = $3;

-- name: insert_comment_event
-- Append one entry to a comment's history.
INSERT INTO comment_events (comment_id, actor_kind, actor_name, action, from_status, to_status,
                            reasons, details)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: list_comment_events
-- A comment's history, oldest first.
SELECT at, actor_kind, actor_name, action, from_status, to_status, reasons, details
FROM comment_events
WHERE comment_id = $1
ORDER BY id;

-- name: claim_reviews
-- Lease up to $1 free pending comments, oldest first, to key $4 for $5 seconds.
-- SKIP LOCKED lets concurrent claimers pass each other instead of queueing on the same rows.
WITH candidate AS (
    SELECT id
    FROM comments
    WHERE status = 'pending'
      AND (lease_expires_at IS NULL OR lease_expires_at < now())
      AND ($2::text IS NULL OR site_id = $2)
      AND ($3::text IS NULL OR article_id = $3)
    ORDER BY created_at, id
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE comments AS c
SET lease_key_id = $4, lease_expires_at = now() + make_interval(secs => $5)
FROM candidate
WHERE c.id = candidate.id
RETURNING c.*;

-- name: decide_review
-- Settle a pending comment whose lease key $2 holds; nothing when it does not.
UPDATE comments
SET status = $3, decided_at = now(), updated_at = now(), version = version + 1,
    lease_key_id = NULL, lease_expires_at = NULL
WHERE id = $1 AND status = 'pending' AND lease_key_id = $2 AND lease_expires_at >= now()
RETURNING *;

-- name: count_author_decision
-- Keep an author's approved/rejected tallies (reputation rules read them).
UPDATE authors
SET approved_count = approved_count + CASE WHEN $3 = 'approved' THEN 1 ELSE 0 END,
    rejected_count = rejected_count + CASE WHEN $3 = 'rejected' THEN 1 ELSE 0 END,
    updated_at = now()
WHERE site_id = $1 AND id = $2;

-- name: list_review_queue_oldest
-- Pending comments oldest first, after the keyset cursor ($4, $5).
SELECT * FROM comments
WHERE status = 'pending'
  AND ($1::text IS NULL OR site_id = $1)
  AND ($2::text IS NULL OR article_id = $2)
  AND ($4::timestamptz IS NULL OR (created_at, id) > ($4, $5::uuid))
ORDER BY created_at, id
LIMIT $3;

-- name: list_review_queue_newest
-- Pending comments newest first, after the keyset cursor ($4, $5).
SELECT * FROM comments
WHERE status = 'pending'
  AND ($1::text IS NULL OR site_id = $1)
  AND ($2::text IS NULL OR article_id = $2)
  AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $3;

-- name: list_review_queue_score
-- Pending comments most likely to be rejected first, after the keyset cursor ($4, $5).
SELECT * FROM comments
WHERE status = 'pending'
  AND ($1::text IS NULL OR site_id = $1)
  AND ($2::text IS NULL OR article_id = $2)
  AND ($4::real IS NULL OR (max_score, id) < ($4, $5::uuid))
ORDER BY max_score DESC, id DESC
LIMIT $3;

-- name: review_stats
-- Queue depth, leased share and the oldest pending comment's age in seconds.
SELECT count(*) AS depth,
       count(*) FILTER (WHERE lease_expires_at >= now()) AS leased,
       COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS oldest_age_s
FROM comments
WHERE status = 'pending'
  AND ($1::text IS NULL OR site_id = $1)
  AND ($2::text IS NULL OR article_id = $2);

-- name: register_model_version
-- Record a model version (first registration wins); active when no model is active yet.
INSERT INTO model_versions (version, state, manifest, artifact_sha256, activated_at)
SELECT $1, CASE WHEN active.version IS NULL THEN 'active' ELSE 'candidate' END, $2, $3,
       CASE WHEN active.version IS NULL THEN now() END
FROM (SELECT (SELECT version FROM model_versions WHERE state = 'active') AS version) AS active
ON CONFLICT (version) DO NOTHING;

-- name: ping
-- Cheap round trip for readiness checks.
SELECT 1;
