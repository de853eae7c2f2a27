-- 0001: the core schema. Forward-only; never edit once applied (checksums are recorded).
-- Constraint names are explicit so the service can translate driver errors by name.

CREATE TABLE sites (
    id          text PRIMARY KEY CONSTRAINT ck__sites__id CHECK (length(id) BETWEEN 1 AND 200),
    name        text NOT NULL DEFAULT '',
    -- Site-wide policy knobs (default moderation mode, word lists, webhooks come later).
    settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO sites (id, name) VALUES ('default', 'Default site');

CREATE TABLE articles (
    site_id     text NOT NULL CONSTRAINT fk__articles__site REFERENCES sites (id),
    id          text NOT NULL CONSTRAINT ck__articles__id CHECK (length(id) BETWEEN 1 AND 200),
    title       text,
    url         text,
    mode        text NOT NULL DEFAULT 'postmod'
                CONSTRAINT ck__articles__mode CHECK (mode IN ('postmod', 'premod', 'closed')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk__articles PRIMARY KEY (site_id, id)
);

CREATE TABLE authors (
    site_id         text NOT NULL CONSTRAINT fk__authors__site REFERENCES sites (id),
    id              text NOT NULL CONSTRAINT ck__authors__id CHECK (length(id) BETWEEN 1 AND 200),
    -- Moderator standing: active, banned, suspended (until suspended_until), always_review, trusted.
    standing        text NOT NULL DEFAULT 'active'
                    CONSTRAINT ck__authors__standing
                    CHECK (standing IN ('active', 'banned', 'suspended', 'always_review', 'trusted')),
    suspended_until timestamptz,
    approved_count  integer NOT NULL DEFAULT 0,
    rejected_count  integer NOT NULL DEFAULT 0,
    erased_at       timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk__authors PRIMARY KEY (site_id, id)
);

CREATE TABLE api_keys (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text NOT NULL CONSTRAINT ck__api_keys__name CHECK (length(name) BETWEEN 1 AND 200),
    role          text NOT NULL
                  CONSTRAINT ck__api_keys__role CHECK (role IN ('submitter', 'moderator', 'admin', 'trainer')),
    -- sha256 of the whole key: keys are 256-bit random secrets, so a fast hash is the right tool
    -- (slow password hashes exist to protect low-entropy secrets).
    key_hash      bytea NOT NULL CONSTRAINT uq__api_keys__key_hash UNIQUE,
    -- The first characters of the key, safe to show, to tell keys apart in listings.
    key_prefix    text NOT NULL,
    site_id       text CONSTRAINT fk__api_keys__site REFERENCES sites (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz,
    last_used_at  timestamptz
);
CREATE UNIQUE INDEX uq__api_keys__active_name ON api_keys (name) WHERE revoked_at IS NULL;

CREATE TABLE model_versions (
    version        text PRIMARY KEY,
    state          text NOT NULL DEFAULT 'candidate'
                   CONSTRAINT ck__model_versions__state
                   CHECK (state IN ('candidate', 'active', 'retired', 'rejected')),
    manifest       jsonb NOT NULL,
    -- The artifact itself (an archive of plain arrays + manifest), so every instance can read it.
    artifact       bytea,
    artifact_sha256 text,
    state_reason   text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    activated_at   timestamptz
);
-- At most one active model at a time.
CREATE UNIQUE INDEX uq__model_versions__one_active ON model_versions ((true)) WHERE state = 'active';

CREATE TABLE comments (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    site_id          text NOT NULL CONSTRAINT fk__comments__site REFERENCES sites (id),
    -- The website's own id for the comment: the idempotency key for submissions.
    external_id      text CONSTRAINT ck__comments__external_id CHECK (length(external_id) BETWEEN 1 AND 200),
    article_id       text NOT NULL,
    author_id        text NOT NULL,
    parent_id        uuid CONSTRAINT fk__comments__parent REFERENCES comments (id),
    text             text NOT NULL,
    status           text NOT NULL
                     CONSTRAINT ck__comments__status CHECK (status IN ('approved', 'rejected', 'pending')),
    scores           jsonb NOT NULL DEFAULT '{}'::jsonb,
    reasons          jsonb NOT NULL DEFAULT '[]'::jsonb,
    spans            jsonb NOT NULL DEFAULT '[]'::jsonb,
    model_version    text,
    author_ip        inet,
    user_agent       text,
    -- Highest label score, kept as a column so the queue can sort by "most likely rejected".
    max_score        real NOT NULL DEFAULT 0,
    report_count     integer NOT NULL DEFAULT 0,
    -- Optimistic concurrency for edits and decisions.
    version          integer NOT NULL DEFAULT 1,
    -- Review lease: who holds the comment and until when. A lease past its expiry is free.
    lease_key_id     bigint CONSTRAINT fk__comments__lease_key REFERENCES api_keys (id),
    lease_expires_at timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    decided_at       timestamptz,
    CONSTRAINT uq__comments__site_external UNIQUE (site_id, external_id),
    CONSTRAINT fk__comments__article FOREIGN KEY (site_id, article_id) REFERENCES articles (site_id, id),
    CONSTRAINT fk__comments__author FOREIGN KEY (site_id, author_id) REFERENCES authors (site_id, id)
);
-- The review queue: pending comments, oldest first (keyset pagination on (created_at, id)).
CREATE INDEX ix__comments__pending ON comments (created_at, id) WHERE status = 'pending';
CREATE INDEX ix__comments__pending_article ON comments (site_id, article_id, created_at, id)
    WHERE status = 'pending';
CREATE INDEX ix__comments__author ON comments (site_id, author_id, created_at DESC);
CREATE INDEX ix__comments__parent ON comments (parent_id) WHERE parent_id IS NOT NULL;

-- Append-only log of every status change and who made it.
CREATE TABLE comment_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    comment_id   uuid NOT NULL CONSTRAINT fk__comment_events__comment REFERENCES comments (id),
    at           timestamptz NOT NULL DEFAULT now(),
    -- 'system' for automatic decisions; otherwise the kind of principal that acted.
    actor_kind   text NOT NULL
                 CONSTRAINT ck__comment_events__actor_kind
                 CHECK (actor_kind IN ('system', 'submitter', 'moderator', 'admin', 'trainer')),
    -- The API key's name (or 'model:<version>' for automatic decisions).
    actor_name   text NOT NULL,
    action       text NOT NULL,
    from_status  text,
    to_status    text,
    reasons      jsonb NOT NULL DEFAULT '[]'::jsonb,
    details      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX ix__comment_events__comment ON comment_events (comment_id, id);
CREATE INDEX ix__comment_events__at ON comment_events (at);

CREATE FUNCTION comment_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'comment_events is append-only' USING ERRCODE = 'raise_exception';
END;
$$;
CREATE TRIGGER tr__comment_events__append_only
    BEFORE UPDATE OR DELETE ON comment_events
    FOR EACH ROW EXECUTE FUNCTION comment_events_append_only();
