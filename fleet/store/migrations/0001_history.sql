-- fleet history, version 1: revisions, syncs (with their bundles) and drift.
--
-- Enumerations (trigger, result, action, operation) are plain text without CHECK
-- constraints: fleet validates them on the way in, and a value added by a later fleet then
-- needs no migration. Text that keyset pages order by is COLLATE "C" (bytewise), which is
-- how the in-memory store orders it too.
--
-- Every index on (time, key) serves one filter of the API's keyset pages, read backwards
-- for "newest first"; docs/history.md lists which query uses which.

CREATE TABLE revisions (
    repository    text COLLATE "C" NOT NULL,
    sha           text COLLATE "C" NOT NULL,
    ref           text NOT NULL,
    author_name   text NOT NULL,
    author_email  text NOT NULL,
    committed_at  timestamptz NOT NULL,
    message       text NOT NULL,
    first_seen_at timestamptz NOT NULL,
    PRIMARY KEY (repository, sha)
);
CREATE INDEX revisions_page ON revisions (committed_at, repository, sha);
-- Lead time for changes joins a sync's revision to its commit time.
CREATE INDEX revisions_sha ON revisions (sha);
CREATE INDEX revisions_retention ON revisions (first_seen_at);

CREATE TABLE syncs (
    id          uuid PRIMARY KEY,
    cluster     text NOT NULL,
    revision    text NOT NULL,
    trigger     text NOT NULL,
    result      text NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    -- Totals over the bundles, as columns so that aggregates need not open the JSON.
    created     integer NOT NULL,
    configured  integer NOT NULL,
    unchanged   integer NOT NULL,
    deleted     integer NOT NULL,
    skipped     integer NOT NULL,
    failed      integer NOT NULL,
    error       text,
    trace_id    text,
    -- [{"name", "revision", "result", "counts": {...}, "error"}], as the API shows them.
    bundles     jsonb NOT NULL
);
CREATE INDEX syncs_page ON syncs (finished_at, id);
CREATE INDEX syncs_cluster ON syncs (cluster, finished_at, id);
CREATE INDEX syncs_revision ON syncs (revision, finished_at, id);
CREATE INDEX syncs_result ON syncs (result, finished_at, id);
-- Delivery metrics: the first successful sync of each revision on each cluster
-- (deployment frequency, lead time for changes).
CREATE INDEX syncs_first_success ON syncs (revision, cluster, finished_at)
    WHERE result = 'succeeded';

-- One row per bundle of a sync: what /syncs?bundle= pages through, and what per-bundle
-- delivery metrics need (a pinned bundle may be at another revision than its sync).
CREATE TABLE sync_bundles (
    sync_id     uuid NOT NULL REFERENCES syncs (id) ON DELETE CASCADE,
    bundle      text NOT NULL,
    cluster     text NOT NULL,
    revision    text NOT NULL,
    result      text NOT NULL,
    finished_at timestamptz NOT NULL,
    PRIMARY KEY (sync_id, bundle)
);
CREATE INDEX sync_bundles_page ON sync_bundles (bundle, finished_at, sync_id);
CREATE INDEX sync_bundles_first_success ON sync_bundles (bundle, revision, cluster, finished_at)
    WHERE result = 'succeeded';

-- Changed field paths only, never values: a Secret's data must not reach history.
CREATE TABLE drift (
    id               uuid PRIMARY KEY,
    cluster          text NOT NULL,
    bundle           text NOT NULL,
    object_group     text NOT NULL,
    object_kind      text NOT NULL,
    object_namespace text NOT NULL,
    object_name      text NOT NULL,
    fields           text[] NOT NULL,
    field_manager    text,
    operation        text NOT NULL,
    action           text NOT NULL,
    revision         text NOT NULL,
    observed_at      timestamptz NOT NULL,
    trace_id         text
);
CREATE INDEX drift_page ON drift (observed_at, id);
CREATE INDEX drift_cluster ON drift (cluster, observed_at, id);
CREATE INDEX drift_bundle ON drift (bundle, observed_at, id);
-- "Who changed object Y": the name is the most selective part of an object's key.
CREATE INDEX drift_object ON drift (object_name, object_kind, object_namespace, observed_at, id);
CREATE INDEX drift_field_manager ON drift (field_manager, observed_at, id);
