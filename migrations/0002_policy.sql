-- 0002: the newsroom policy: site settings and word lists, author standing history, reader
-- reports, edits (revisions), webhooks (outbox + delivery log), erasure and retention.

-- Bumped on every change of a site's settings or word lists, so each instance can tell whether
-- its cached word-list automaton is current with one column read.
ALTER TABLE sites ADD COLUMN settings_version bigint NOT NULL DEFAULT 1;

-- An article without its own mode follows its site's default mode (site settings).
ALTER TABLE articles ALTER COLUMN mode DROP DEFAULT;
ALTER TABLE articles ALTER COLUMN mode DROP NOT NULL;
-- Per-article overrides of some site settings (thresholds, links, new-author rule, language check).
ALTER TABLE articles ADD COLUMN settings jsonb NOT NULL DEFAULT '{}'::jsonb;

-- Banned terms reject, suspect terms hold for review. Stored as the administrator typed them;
-- the service normalizes them the same way it normalizes comments.
CREATE TABLE site_word_terms (
    site_id     text NOT NULL CONSTRAINT fk__site_word_terms__site REFERENCES sites (id),
    kind        text NOT NULL CONSTRAINT ck__site_word_terms__kind CHECK (kind IN ('banned', 'suspect')),
    term        text NOT NULL CONSTRAINT ck__site_word_terms__term CHECK (length(term) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk__site_word_terms PRIMARY KEY (site_id, kind, term)
);

-- Comments: a fingerprint of the normalized text (repeat-post rule), the unsettled-report marker
-- (the "reported" queue), and when the text was erased (author erasure or retention).
ALTER TABLE comments ADD COLUMN fingerprint bytea;
ALTER TABLE comments ADD COLUMN reported_at timestamptz;
ALTER TABLE comments ADD COLUMN text_erased_at timestamptz;
ALTER TABLE comments ADD COLUMN language text;
CREATE INDEX ix__comments__reported ON comments (created_at, id) WHERE reported_at IS NOT NULL;
-- Retention: rejected comments whose text is still there, by age.
CREATE INDEX ix__comments__retention ON comments (site_id, created_at)
    WHERE status = 'rejected' AND text_erased_at IS NULL;

-- Earlier texts of an edited comment (kept out of the append-only event log so erasure can
-- remove them).
CREATE TABLE comment_revisions (
    comment_id  uuid NOT NULL CONSTRAINT fk__comment_revisions__comment REFERENCES comments (id),
    revision    integer NOT NULL,
    text        text NOT NULL,
    replaced_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk__comment_revisions PRIMARY KEY (comment_id, revision)
);

-- Reader reports from the website.
CREATE TABLE comment_reports (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    comment_id  uuid NOT NULL CONSTRAINT fk__comment_reports__comment REFERENCES comments (id),
    reason      text NOT NULL
                CONSTRAINT ck__comment_reports__reason
                CHECK (reason IN ('spam', 'abuse', 'harassment', 'hate', 'off_topic', 'misinformation', 'other')),
    detail      text CONSTRAINT ck__comment_reports__detail CHECK (length(detail) <= 500),
    reporter_id text CONSTRAINT ck__comment_reports__reporter CHECK (length(reporter_id) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- Set when a moderator decides the reported comment.
    settled_at  timestamptz,
    settled_status text
);
CREATE INDEX ix__comment_reports__comment ON comment_reports (comment_id, id);
-- One open report per reader and comment: a reader who reports twice is counted once.
CREATE UNIQUE INDEX uq__comment_reports__open_reporter ON comment_reports (comment_id, reporter_id)
    WHERE reporter_id IS NOT NULL AND settled_at IS NULL;

-- Every change of an author's standing, by whom and why.
CREATE TABLE author_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id      text NOT NULL,
    author_id    text NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    actor_kind   text NOT NULL
                 CONSTRAINT ck__author_events__actor_kind
                 CHECK (actor_kind IN ('system', 'submitter', 'moderator', 'admin', 'trainer')),
    actor_name   text NOT NULL,
    action       text NOT NULL,
    from_standing text,
    to_standing  text,
    details      jsonb NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT fk__author_events__author FOREIGN KEY (site_id, author_id) REFERENCES authors (site_id, id)
        ON UPDATE CASCADE
);
CREATE INDEX ix__author_events__author ON author_events (site_id, author_id, id);

-- Erasure re-points an author's rows to an anonymous id: let the key change cascade.
ALTER TABLE comments DROP CONSTRAINT fk__comments__author;
ALTER TABLE comments ADD CONSTRAINT fk__comments__author FOREIGN KEY (site_id, author_id)
    REFERENCES authors (site_id, id) ON UPDATE CASCADE;

-- Webhook outbox: one row per event, written in the transaction that changed the comment, so an
-- event exists if and only if its change committed. ``id`` is the event id sent to receivers.
CREATE TABLE webhook_outbox (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    site_id         text NOT NULL CONSTRAINT fk__webhook_outbox__site REFERENCES sites (id),
    event_type      text NOT NULL
                    CONSTRAINT ck__webhook_outbox__event_type
                    CHECK (event_type IN ('comment.approved', 'comment.rejected', 'comment.pending',
                                          'comment.reported')),
    comment_id      uuid CONSTRAINT fk__webhook_outbox__comment REFERENCES comments (id),
    payload         jsonb NOT NULL,
    state           text NOT NULL DEFAULT 'pending'
                    CONSTRAINT ck__webhook_outbox__state CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    -- When the next attempt is due; a claim pushes it forward by a lease so that a crashed
    -- deliverer's claim expires and another instance retries.
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_status     integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);
CREATE INDEX ix__webhook_outbox__due ON webhook_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX ix__webhook_outbox__site ON webhook_outbox (site_id, created_at DESC);

-- The delivery log: one row per attempt.
CREATE TABLE webhook_attempts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     uuid NOT NULL CONSTRAINT fk__webhook_attempts__event REFERENCES webhook_outbox (id),
    attempt      integer NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    url          text NOT NULL,
    status_code  integer,
    error        text,
    duration_ms  integer NOT NULL
);
CREATE INDEX ix__webhook_attempts__event ON webhook_attempts (event_id, id);
