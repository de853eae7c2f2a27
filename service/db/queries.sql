-- Every SQL statement of the service, by name. Each block starts with
-- "-- name: <query_name>" followed by a one-line description, and uses $n parameters only.

-- name: get_api_key_by_hash
-- The live (not revoked) key with this hash.
SELECT id, name, role, site_id, key_hash
FROM api_keys
WHERE key_hash = $1 AND revoked_at IS NULL;

-- name: insert_api_key
-- Create a key; the name must be unique among live keys.
INSERT INTO api_keys (name, role, key_hash, key_prefix, site_id)
VALUES ($1, $2, $3, $4, $5)
RETURNING id, name, role, key_prefix, site_id, created_at;

-- name: list_api_keys
-- Every key, newest first, without hashes.
SELECT id, name, role, key_prefix, site_id, created_at, revoked_at, last_used_at
FROM api_keys
ORDER BY id DESC;

-- name: revoke_api_key
-- Revoke the live key with this name.
UPDATE api_keys SET revoked_at = now()
WHERE name = $1 AND revoked_at IS NULL
RETURNING id;

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

-- name: register_bundled_model_version
-- Record the bundled model with its artifact (active when none is); fill in the artifact of an older record.
INSERT INTO model_versions (version, state, manifest, artifact, artifact_sha256, activated_at, origin, state_reason)
SELECT $1, CASE WHEN active.version IS NULL THEN 'active' ELSE 'candidate' END, $2, $3, $4,
       CASE WHEN active.version IS NULL THEN now() END, 'bundled', 'the model bundled with the service'
FROM (SELECT (SELECT version FROM model_versions WHERE state = 'active') AS version) AS active
ON CONFLICT (version) DO UPDATE
SET artifact = EXCLUDED.artifact, artifact_sha256 = EXCLUDED.artifact_sha256
WHERE model_versions.artifact IS NULL;

-- name: get_active_model_version
-- The active version and its artifact's hash (cheap: no artifact bytes).
SELECT version, artifact_sha256 FROM model_versions WHERE state = 'active';

-- name: get_shadow_model_version
-- The shadow version and its artifact's hash, if any.
SELECT version, artifact_sha256 FROM model_versions WHERE shadow;

-- name: get_model_artifact
-- One version's artifact bytes and recorded hash.
SELECT version, state, artifact, artifact_sha256 FROM model_versions WHERE version = $1;

-- name: list_model_versions
-- Every version, newest first, with its shadow comparison; never the artifact bytes.
SELECT m.version, m.state, m.manifest, m.artifact_sha256, octet_length(m.artifact) AS artifact_bytes,
       m.state_reason, m.created_at, m.activated_at, m.origin, m.created_by, m.evaluation, m.shadow,
       s.compared, s.agreed, s.shadow_stricter, s.shadow_laxer, s.mean_max_delta
FROM model_versions AS m
LEFT JOIN LATERAL (
    SELECT count(*) AS compared,
           count(*) FILTER (WHERE shadow_status = active_status) AS agreed,
           count(*) FILTER (WHERE shadow_status = 'rejected' AND active_status <> 'rejected'
                               OR shadow_status = 'pending' AND active_status = 'approved') AS shadow_stricter,
           count(*) FILTER (WHERE active_status = 'rejected' AND shadow_status <> 'rejected'
                               OR active_status = 'pending' AND shadow_status = 'approved') AS shadow_laxer,
           avg(max_score_delta)::float8 AS mean_max_delta
    FROM model_shadow_scores WHERE model_version = m.version
) AS s ON true
WHERE ($1::text IS NULL OR m.version = $1)
ORDER BY m.created_at DESC, m.version DESC;

-- name: insert_model_version
-- Register a new version (candidate or rejected); nothing when the version exists.
INSERT INTO model_versions (version, state, manifest, artifact, artifact_sha256, state_reason, origin,
                            created_by, evaluation)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (version) DO NOTHING
RETURNING version;

-- name: lock_model_version
-- Lock one version's row for a state change; its state and whether it has an artifact.
SELECT version, state, artifact IS NOT NULL AS has_artifact
FROM model_versions WHERE version = $1
FOR UPDATE;

-- name: retire_active_model_version
-- Retire the active version (before another becomes active), saying why.
UPDATE model_versions SET state = 'retired', state_reason = $1
WHERE state = 'active'
RETURNING version;

-- name: activate_model_version
-- Make a version active (it stops being the shadow).
UPDATE model_versions
SET state = 'active', activated_at = now(), state_reason = $2, shadow = false
WHERE version = $1
RETURNING version;

-- name: set_model_version_state
-- Set a (non-active) version's state, reason and evaluation report.
UPDATE model_versions SET state = $2, state_reason = $3, evaluation = $4
WHERE version = $1 AND state <> 'active'
RETURNING version;

-- name: clear_shadow_model_version
-- No version scores in the shadow any more.
UPDATE model_versions SET shadow = false WHERE shadow;

-- name: set_shadow_model_version
-- Let a non-active version score live traffic in the shadow.
UPDATE model_versions SET shadow = true WHERE version = $1 AND state <> 'active'
RETURNING version;

-- name: notify_model_activated
-- Tell every instance (LISTEN model_activated) that the active or shadow model changed; sent at commit.
SELECT pg_notify('model_activated', $1);

-- name: list_comments_after
-- Comments scored by model $3 created after the keyset cursor ($1, $2), oldest first (the shadow's feed).
SELECT id, text, status, scores, model_version, created_at
FROM comments
WHERE (created_at, id) > ($1, $2::uuid) AND model_version = $3 AND text <> ''
ORDER BY created_at, id
LIMIT $4;

-- name: latest_comment_cursor
-- The newest comment's keyset position (where a new shadow starts reading).
SELECT created_at, id FROM comments ORDER BY created_at DESC, id DESC LIMIT 1;

-- name: insert_shadow_score
-- Record the shadow model's opinion of one comment.
INSERT INTO model_shadow_scores (model_version, comment_id, active_version, active_status, shadow_status,
                                 active_scores, shadow_scores, max_score_delta)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT ON CONSTRAINT pk__model_shadow_scores DO NOTHING;

-- name: list_training_labels
-- Human decisions after event id $1 (the cursor), oldest first, with the comment's text and the
-- model's opinion; never the text of an erased author or of an emptied comment.
SELECT e.id AS cursor, e.at, e.actor_kind, e.actor_name, e.action, e.from_status, e.to_status,
       e.reasons, e.details, c.id AS comment_id, c.site_id, c.article_id, c.text,
       c.model_version AS comment_model_version, c.scores AS comment_scores
FROM comment_events AS e
JOIN comments AS c ON c.id = e.comment_id
JOIN authors AS a ON a.site_id = c.site_id AND a.id = c.author_id
WHERE e.id > $1
  AND e.actor_kind IN ('moderator', 'admin') AND e.to_status IN ('approved', 'rejected')
  AND ($3::text IS NULL OR c.site_id = $3)
  AND a.erased_at IS NULL AND c.text <> ''
ORDER BY e.id
LIMIT $2;

-- name: try_retrain_lock
-- Take the retraining advisory lock for this session; false when another session holds it.
SELECT pg_try_advisory_lock($1);

-- name: release_retrain_lock
-- Release the retraining advisory lock.
SELECT pg_advisory_unlock($1);

-- name: insert_retrain_run
-- Open a retraining run's record.
INSERT INTO retrain_runs (active_version) VALUES ($1) RETURNING id;

-- name: finish_retrain_run
-- Close a retraining run's record with its outcome.
UPDATE retrain_runs
SET finished_at = now(), outcome = $2, labels_cursor = $3, labels_used = $4, candidate_version = $5,
    message = $6, report = $7
WHERE id = $1;

-- name: last_retrain_cursor
-- The label cursor the last run that trained a candidate read up to (0 before any).
SELECT COALESCE(max(labels_cursor), 0) FROM retrain_runs WHERE outcome IN ('promoted', 'not_promoted');

-- name: count_training_labels_after
-- How many human decisions arrived after event id $1.
SELECT count(*) FROM comment_events
WHERE id > $1 AND actor_kind IN ('moderator', 'admin') AND to_status IN ('approved', 'rejected');

-- name: ping
-- Cheap round trip for readiness checks.
SELECT 1;
