-- 0005: the intake's read as a function, planned for the tables as they are at every call.
--
-- A prepared statement that PostgreSQL has run five times may switch to one generic plan, costed
-- on the table sizes of that moment, and keep it until the tables are next analyzed. On a new
-- installation that is a plan for empty tables (sequential scans of comments, authors and
-- articles), and it stayed while a comment storm filled them: in one benchmark run in four the
-- read cost PostgreSQL three times its usual CPU. A function with a SET clause is never inlined
-- into the calling statement: its query is planned when it runs (on PostgreSQL 18, where SQL
-- functions cache plans, the setting makes each call's plan a custom one), so only this read
-- pays for planning, not every statement of the connection (before this, every pooled
-- connection set plan_cache_mode, and each foreign-key check of the intake's write was replanned
-- per row).
--
-- Arguments, one element per submission: site, external id, article, author, fingerprint, repeat
-- window (s), rejection window (days), parent id. One row per submission, in input order.
CREATE FUNCTION intake_context(
    p_site_ids text[], p_external_ids text[], p_article_ids text[], p_author_ids text[], p_fingerprints bytea[],
    p_repeat_windows_s float8[], p_window_days int[], p_parent_ids uuid[]
) RETURNS TABLE (
    ord bigint, site_version bigint, existing_id uuid,
    article_found boolean, article_mode text, article_settings jsonb,
    author_found boolean, standing text, suspended_until timestamptz, approved_count integer,
    rejected_count integer, erased_at timestamptz, created_at timestamptz, updated_at timestamptz,
    parent_site_id text, parent_article_id text,
    last_minute bigint, oldest_in_last_minute_age_s float8, repeats bigint, window_approved bigint,
    window_rejected bigint
)
LANGUAGE sql STABLE
SET plan_cache_mode = force_custom_plan
AS $fn$
SELECT k.ord,
       (SELECT s.settings_version FROM sites s WHERE s.id = k.site_id) AS site_version,
       (SELECT c.id FROM comments c WHERE c.site_id = k.site_id AND c.external_id = k.external_id) AS existing_id,
       ar.id IS NOT NULL AS article_found, ar.mode AS article_mode, ar.settings AS article_settings,
       au.id IS NOT NULL AS author_found, au.standing, au.suspended_until, au.approved_count,
       au.rejected_count, au.erased_at, au.created_at, au.updated_at,
       (SELECT p.site_id FROM comments p WHERE p.id = k.parent_id) AS parent_site_id,
       (SELECT p.article_id FROM comments p WHERE p.id = k.parent_id) AS parent_article_id,
       act.*
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::float8[], $7::int[], $8::uuid[])
         WITH ORDINALITY AS k(site_id, external_id, article_id, author_id, fingerprint, repeat_s, window_days,
                              parent_id, ord)
LEFT JOIN articles ar ON ar.site_id = k.site_id AND ar.id = k.article_id
LEFT JOIN authors au ON au.site_id = k.site_id AND au.id = k.author_id
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE created_at > now() - interval '60 seconds') AS last_minute,
           COALESCE(EXTRACT(EPOCH FROM now() - min(created_at) FILTER (
               WHERE created_at > now() - interval '60 seconds')), 0)::float8 AS oldest_in_last_minute_age_s,
           count(*) FILTER (WHERE fingerprint = k.fingerprint
                              AND created_at > now() - make_interval(secs => k.repeat_s)) AS repeats,
           count(*) FILTER (WHERE status = 'approved' AND created_at > now() - make_interval(days => k.window_days))
               AS window_approved,
           count(*) FILTER (WHERE status = 'rejected' AND created_at > now() - make_interval(days => k.window_days))
               AS window_rejected
    FROM comments
    WHERE site_id = k.site_id AND author_id = k.author_id
      AND created_at > least(now() - make_interval(secs => greatest(60, k.repeat_s)),
                             now() - make_interval(days => k.window_days))
) AS act
ORDER BY k.ord;
$fn$;
