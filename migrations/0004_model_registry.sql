-- 0003: the model registry (gate reports, shadow mode), retraining runs and the label stream.
-- Forward-only. Constraint names are explicit so driver errors can be translated by name.

-- Where a version came from, who registered it, and the gate's evaluation (why it was or was
-- not promoted). ``shadow``: the candidate scores live traffic beside the active model.
ALTER TABLE model_versions
    ADD COLUMN origin      text NOT NULL DEFAULT 'bundled'
                           CONSTRAINT ck__model_versions__origin CHECK (origin IN ('bundled', 'upload', 'retrain')),
    ADD COLUMN created_by  text,
    ADD COLUMN evaluation  jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN shadow      boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT ck__model_versions__artifact_hash
        CHECK (artifact IS NULL OR artifact_sha256 IS NOT NULL);
-- At most one shadow model at a time, and never the active one.
CREATE UNIQUE INDEX uq__model_versions__one_shadow ON model_versions ((true)) WHERE shadow;
ALTER TABLE model_versions
    ADD CONSTRAINT ck__model_versions__shadow_not_active CHECK (NOT (shadow AND state = 'active'));

-- The shadow model's opinion of live comments, beside the decision the active model took.
CREATE TABLE model_shadow_scores (
    model_version   text NOT NULL
                    CONSTRAINT fk__model_shadow_scores__model REFERENCES model_versions (version),
    comment_id      uuid NOT NULL CONSTRAINT fk__model_shadow_scores__comment REFERENCES comments (id),
    active_version  text,
    active_status   text NOT NULL,
    shadow_status   text NOT NULL,
    active_scores   jsonb NOT NULL,
    shadow_scores   jsonb NOT NULL,
    -- Largest per-label difference between the two models' scores.
    max_score_delta real NOT NULL,
    at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk__model_shadow_scores PRIMARY KEY (model_version, comment_id)
);

-- One row per ``moderation retrain`` run: what it used, what it produced and why it ended so.
CREATE TABLE retrain_runs (
    id                bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT pk__retrain_runs PRIMARY KEY,
    started_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    outcome           text
                      CONSTRAINT ck__retrain_runs__outcome
                      CHECK (outcome IN ('promoted', 'not_promoted', 'not_enough_labels', 'error')),
    -- The label stream cursor (comment_events.id) this run read up to.
    labels_cursor     bigint NOT NULL DEFAULT 0,
    labels_used       integer NOT NULL DEFAULT 0,
    candidate_version text CONSTRAINT fk__retrain_runs__candidate REFERENCES model_versions (version),
    active_version    text,
    message           text NOT NULL DEFAULT '',
    report            jsonb NOT NULL DEFAULT '{}'::jsonb
);

-- The label stream reads human decisions in event order.
CREATE INDEX ix__comment_events__human_decisions ON comment_events (id)
    WHERE actor_kind IN ('moderator', 'admin') AND to_status IN ('approved', 'rejected');
CREATE INDEX ix__comments__created ON comments (created_at, id);
