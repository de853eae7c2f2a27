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
-- Create the article on first use, following its site's default mode (mode NULL).
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
                      scores, reasons, spans, model_version, author_ip, user_agent, max_score,
                      fingerprint, language)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
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
-- Settle a pending or reported comment whose lease key $2 holds; nothing when it does not.
-- Returns the status it had before ($from_status) and clears the unsettled-report marker.
UPDATE comments AS c
SET status = $3, decided_at = now(), updated_at = now(), version = c.version + 1,
    lease_key_id = NULL, lease_expires_at = NULL, reported_at = NULL
FROM (SELECT id, status FROM comments WHERE id = $1 FOR UPDATE) AS before
WHERE c.id = before.id AND (c.status = 'pending' OR c.reported_at IS NOT NULL)
  AND c.lease_key_id = $2 AND c.lease_expires_at >= now()
RETURNING c.*, before.status AS from_status;

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

-- ---------------------------------------------------------------------------------------------
-- Site settings and word lists

-- name: get_site_settings
-- A site's settings document and its version (the word-list cache key).
SELECT id, settings, settings_version FROM sites WHERE id = $1;

-- name: put_site_settings
-- Replace a site's settings (creating the site), bumping its version.
INSERT INTO sites (id, settings) VALUES ($1, $2)
ON CONFLICT (id) DO UPDATE SET settings = EXCLUDED.settings, settings_version = sites.settings_version + 1
RETURNING id, settings, settings_version;

-- name: get_article_settings
-- An article's overrides of its site's settings.
SELECT settings FROM articles WHERE site_id = $1 AND id = $2;

-- name: put_article_settings
-- Replace an article's overrides, creating the article (following the site's mode) if needed.
INSERT INTO articles (site_id, id, settings) VALUES ($1, $2, $3)
ON CONFLICT (site_id, id) DO UPDATE SET settings = EXCLUDED.settings, updated_at = now()
RETURNING settings;

-- name: bump_site_settings_version
-- Mark a site's word lists changed so every instance rebuilds its automaton.
UPDATE sites SET settings_version = settings_version + 1 WHERE id = $1 RETURNING settings_version;

-- name: list_word_terms
-- One of a site's word lists, alphabetically.
SELECT term FROM site_word_terms WHERE site_id = $1 AND kind = $2 ORDER BY term;

-- name: list_all_word_terms
-- Both of a site's word lists, for building the automaton.
SELECT kind, term FROM site_word_terms WHERE site_id = $1;

-- name: delete_word_terms
-- Empty one of a site's word lists, or remove the given terms ($3 NULL: all).
DELETE FROM site_word_terms WHERE site_id = $1 AND kind = $2 AND ($3::text[] IS NULL OR term = ANY($3));

-- name: insert_word_terms
-- Add terms to a site's list (duplicates ignored).
INSERT INTO site_word_terms (site_id, kind, term)
SELECT $1, $2, t FROM unnest($3::text[]) AS t
ON CONFLICT ON CONSTRAINT pk__site_word_terms DO NOTHING;

-- ---------------------------------------------------------------------------------------------
-- Authors

-- name: get_author
-- One author's standing and tallies.
SELECT site_id, id, standing, suspended_until, approved_count, rejected_count, erased_at, created_at, updated_at
FROM authors WHERE site_id = $1 AND id = $2;

-- name: set_author_standing
-- Change an author's standing (creating the author); returns the standing it had before.
WITH before AS (
    SELECT standing FROM authors WHERE site_id = $1 AND id = $2 FOR UPDATE
), upsert AS (
    INSERT INTO authors (site_id, id, standing, suspended_until) VALUES ($1, $2, $3, $4)
    ON CONFLICT (site_id, id) DO UPDATE
    SET standing = EXCLUDED.standing, suspended_until = EXCLUDED.suspended_until, updated_at = now()
    RETURNING site_id, id, standing, suspended_until, approved_count, rejected_count, erased_at,
              created_at, updated_at
)
SELECT upsert.*, (SELECT standing FROM before) AS from_standing FROM upsert;

-- name: insert_author_event
-- Append one entry to an author's history.
INSERT INTO author_events (site_id, author_id, actor_kind, actor_name, action, from_standing, to_standing, details)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: list_author_events
-- An author's history, oldest first.
SELECT at, actor_kind, actor_name, action, from_standing, to_standing, details
FROM author_events WHERE site_id = $1 AND author_id = $2 ORDER BY id;

-- name: author_activity
-- What an author did lately: comments in the last minute (and the oldest one's age), comments
-- with fingerprint $3 within $4 seconds, and decisions within $5 days.
SELECT count(*) FILTER (WHERE created_at > now() - interval '60 seconds') AS last_minute,
       COALESCE(EXTRACT(EPOCH FROM now() - min(created_at) FILTER (
           WHERE created_at > now() - interval '60 seconds')), 0)::float8 AS oldest_in_last_minute_age_s,
       count(*) FILTER (WHERE fingerprint = $3 AND created_at > now() - make_interval(secs => $4)) AS repeats,
       count(*) FILTER (WHERE status = 'approved' AND created_at > now() - make_interval(days => $5))
           AS window_approved,
       count(*) FILTER (WHERE status = 'rejected' AND created_at > now() - make_interval(days => $5))
           AS window_rejected
FROM comments
WHERE site_id = $1 AND author_id = $2
  AND created_at > least(now() - make_interval(secs => greatest(60, $4::float8)), now() - make_interval(days => $5));

-- name: adjust_author_counts
-- Move one comment's weight in an author's tallies from status $3 to status $4.
UPDATE authors
SET approved_count = approved_count + (CASE WHEN $4 = 'approved' THEN 1 ELSE 0 END)
                                    - (CASE WHEN $3 = 'approved' THEN 1 ELSE 0 END),
    rejected_count = rejected_count + (CASE WHEN $4 = 'rejected' THEN 1 ELSE 0 END)
                                    - (CASE WHEN $3 = 'rejected' THEN 1 ELSE 0 END),
    updated_at = now()
WHERE site_id = $1 AND id = $2;

-- name: reject_pending_by_author
-- Reject every pending comment of an author (a ban with "reject pending"); returns them.
UPDATE comments
SET status = 'rejected', decided_at = now(), updated_at = now(), version = version + 1,
    lease_key_id = NULL, lease_expires_at = NULL, reasons = $3
WHERE site_id = $1 AND author_id = $2 AND status = 'pending'
RETURNING *;

-- name: rename_author
-- Erasure: re-point the author (and, by cascade, their comments and history) to an anonymous id.
UPDATE authors SET id = $3, erased_at = now(), updated_at = now(), standing = 'active', suspended_until = NULL
WHERE site_id = $1 AND id = $2
RETURNING id;

-- name: erase_author_comment_texts
-- Erasure: remove the text and personal data of every comment of the (renamed) author.
UPDATE comments
SET text = '', spans = '[]'::jsonb, author_ip = NULL, user_agent = NULL, fingerprint = NULL,
    text_erased_at = COALESCE(text_erased_at, now()), updated_at = now()
WHERE site_id = $1 AND author_id = $2;

-- name: delete_author_revisions
-- Erasure: drop the earlier texts of the author's edited comments.
DELETE FROM comment_revisions
WHERE comment_id IN (SELECT id FROM comments WHERE site_id = $1 AND author_id = $2);

-- name: forget_reporter
-- Erasure: the author's reports stay counted but no longer name them or keep their words.
UPDATE comment_reports SET reporter_id = NULL, detail = NULL
WHERE reporter_id = $2 AND comment_id IN (SELECT id FROM comments WHERE site_id = $1);

-- name: scrub_webhook_author
-- Erasure: replace the author id in queued and logged webhook payloads.
UPDATE webhook_outbox
SET payload = jsonb_set(payload, '{data,comment,author_id}', to_jsonb($3::text))
WHERE site_id = $1 AND payload #>> '{data,comment,author_id}' = $2;

-- name: purge_expired_rejected_texts
-- Retention: erase the text of rejected comments older than their site's retention_days.
UPDATE comments AS c
SET text = '', spans = '[]'::jsonb, author_ip = NULL, user_agent = NULL, text_erased_at = now()
FROM sites AS s
WHERE c.site_id = s.id
  AND c.status = 'rejected' AND c.text_erased_at IS NULL
  AND jsonb_typeof(s.settings -> 'retention_days') = 'number'
  AND COALESCE(c.decided_at, c.created_at) < now() - make_interval(days => (s.settings ->> 'retention_days')::int)
RETURNING c.id;

-- name: delete_revisions_of
-- Retention: drop the earlier texts of the given comments.
DELETE FROM comment_revisions WHERE comment_id = ANY($1::uuid[]);

-- ---------------------------------------------------------------------------------------------
-- Edits and reports

-- name: update_comment_text
-- Replace a comment's text and its moderation result, if it is still at version $12.
UPDATE comments AS c
SET text = $2, status = $3, scores = $4, reasons = $5, spans = $6, model_version = $7, max_score = $8,
    fingerprint = $9, language = $10, version = c.version + 1, updated_at = now(),
    decided_at = NULL, lease_key_id = NULL, lease_expires_at = NULL
WHERE c.id = $1 AND c.version = $11
RETURNING c.*;

-- name: insert_comment_revision
-- Keep the text an edit replaced.
INSERT INTO comment_revisions (comment_id, revision, text) VALUES ($1, $2, $3);

-- name: list_comment_revisions
-- The earlier texts of a comment, oldest first.
SELECT revision, text, replaced_at FROM comment_revisions WHERE comment_id = $1 ORDER BY revision;

-- name: insert_report
-- Record a reader report; nothing when this reader already has an open report on the comment.
INSERT INTO comment_reports (comment_id, reason, detail, reporter_id) VALUES ($1, $2, $3, $4)
ON CONFLICT (comment_id, reporter_id) WHERE reporter_id IS NOT NULL AND settled_at IS NULL DO NOTHING
RETURNING id;

-- name: mark_reported
-- Count a report on the comment and put it in the reported queue.
UPDATE comments
SET report_count = report_count + 1, reported_at = COALESCE(reported_at, now()), updated_at = now()
WHERE id = $1
RETURNING *;

-- name: open_report_reasons
-- How many unsettled reports the comment has, per reason.
SELECT reason, count(*) AS n FROM comment_reports
WHERE comment_id = $1 AND settled_at IS NULL
GROUP BY reason ORDER BY reason;

-- name: settle_reports
-- A moderator decided the comment: its open reports are settled with that outcome.
UPDATE comment_reports SET settled_at = now(), settled_status = $2
WHERE comment_id = $1 AND settled_at IS NULL;

-- name: claim_reported
-- Lease up to $1 free reported comments, oldest first, to key $4 for $5 seconds.
WITH candidate AS (
    SELECT id
    FROM comments
    WHERE reported_at IS NOT NULL
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
RETURNING c.*,
          (SELECT COALESCE(jsonb_object_agg(r.reason, r.n), '{}'::jsonb)
        FROM (SELECT reason, count(*) AS n FROM comment_reports
              WHERE comment_id = c.id AND settled_at IS NULL GROUP BY reason) AS r) AS open_reports;

-- name: list_reported_queue_oldest
-- Reported comments oldest first, after the keyset cursor ($4, $5).
SELECT comments.*,
       (SELECT COALESCE(jsonb_object_agg(r.reason, r.n), '{}'::jsonb)
        FROM (SELECT reason, count(*) AS n FROM comment_reports
              WHERE comment_id = comments.id AND settled_at IS NULL GROUP BY reason) AS r) AS open_reports
FROM comments
WHERE reported_at IS NOT NULL
  AND ($1::text IS NULL OR site_id = $1)
  AND ($2::text IS NULL OR article_id = $2)
  AND ($4::timestamptz IS NULL OR (created_at, id) > ($4, $5::uuid))
ORDER BY created_at, id
LIMIT $3;

-- name: list_reported_queue_newest
-- Reported comments newest first, after the keyset cursor ($4, $5).
SELECT comments.*,
       (SELECT COALESCE(jsonb_object_agg(r.reason, r.n), '{}'::jsonb)
        FROM (SELECT reason, count(*) AS n FROM comment_reports
              WHERE comment_id = comments.id AND settled_at IS NULL GROUP BY reason) AS r) AS open_reports
FROM comments
WHERE reported_at IS NOT NULL
  AND ($1::text IS NULL OR site_id = $1)
  AND ($2::text IS NULL OR article_id = $2)
  AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $3;

-- name: list_reported_queue_score
-- Reported comments most likely to be rejected first, after the keyset cursor ($4, $5).
SELECT comments.*,
       (SELECT COALESCE(jsonb_object_agg(r.reason, r.n), '{}'::jsonb)
        FROM (SELECT reason, count(*) AS n FROM comment_reports
              WHERE comment_id = comments.id AND settled_at IS NULL GROUP BY reason) AS r) AS open_reports
FROM comments
WHERE reported_at IS NOT NULL
  AND ($1::text IS NULL OR site_id = $1)
  AND ($2::text IS NULL OR article_id = $2)
  AND ($4::real IS NULL OR (max_score, id) < ($4, $5::uuid))
ORDER BY max_score DESC, id DESC
LIMIT $3;

-- name: reported_stats
-- Reported-queue depth, leased share and the oldest unsettled report's age in seconds.
SELECT count(*) AS depth,
       count(*) FILTER (WHERE lease_expires_at >= now()) AS leased,
       COALESCE(EXTRACT(EPOCH FROM now() - min(reported_at)), 0)::float8 AS oldest_age_s
FROM comments
WHERE reported_at IS NOT NULL
  AND ($1::text IS NULL OR site_id = $1)
  AND ($2::text IS NULL OR article_id = $2);

-- ---------------------------------------------------------------------------------------------
-- Webhooks

-- name: enqueue_webhook
-- Queue one event for delivery (in the transaction of the change it announces).
INSERT INTO webhook_outbox (id, site_id, event_type, comment_id, payload) VALUES ($1, $2, $3, $4, $5);

-- name: claim_webhooks
-- Take up to $1 due events for delivery and push their due time $2 seconds ahead, so a deliverer
-- that dies mid-attempt leaves them to be retried; SKIP LOCKED lets instances share the work.
WITH due AS (
    SELECT id FROM webhook_outbox
    WHERE state = 'pending' AND next_attempt_at <= now()
    ORDER BY next_attempt_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE webhook_outbox AS w
SET attempts = w.attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
FROM due, sites AS s
WHERE w.id = due.id AND s.id = w.site_id
RETURNING w.id, w.site_id, w.event_type, w.payload, w.attempts,
          s.settings ->> 'webhook_url' AS url, s.settings ->> 'webhook_secret' AS secret;

-- name: record_webhook_attempt
-- Log one delivery attempt.
INSERT INTO webhook_attempts (event_id, attempt, url, status_code, error, duration_ms)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: mark_webhook_delivered
-- The receiver answered 2xx.
UPDATE webhook_outbox
SET state = 'delivered', delivered_at = now(), last_status = $2, last_error = NULL
WHERE id = $1;

-- name: schedule_webhook_retry
-- The attempt failed: try again in $2 seconds.
UPDATE webhook_outbox
SET next_attempt_at = now() + make_interval(secs => $2), last_status = $3, last_error = $4
WHERE id = $1;

-- name: mark_webhook_dead
-- The last allowed attempt failed: stop trying.
UPDATE webhook_outbox SET state = 'dead', last_status = $2, last_error = $3 WHERE id = $1;

-- name: list_webhook_deliveries
-- Recent events, newest first, optionally of one site and state.
SELECT id, site_id, event_type, comment_id, state, attempts, next_attempt_at, last_status, last_error,
       created_at, delivered_at
FROM webhook_outbox
WHERE ($1::text IS NULL OR site_id = $1) AND ($2::text IS NULL OR state = $2)
ORDER BY created_at DESC, id
LIMIT $3;

-- name: list_webhook_attempts
-- The delivery log of the given events, oldest first.
SELECT event_id, attempt, at, url, status_code, error, duration_ms
FROM webhook_attempts WHERE event_id = ANY($1::uuid[]) ORDER BY id;
