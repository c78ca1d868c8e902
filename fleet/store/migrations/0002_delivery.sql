-- fleet history, version 2: what delivery metrics read.
--
-- A bundle's deployment is judged as a sync's is: by the sync's trigger and by what it
-- changed (fleet.store.delivering). Both become columns of sync_bundles, so that a track's
-- records and its partial index need no join and no JSON. The rows of version 1 take them
-- from their sync and its bundles' JSON into a new table, which is several times faster
-- than updating every row in place (each update writes a new row version and three index
-- entries); its keys and indexes are built after the rows are in.
CREATE TABLE sync_bundles_2 (
    sync_id     uuid NOT NULL,
    bundle      text NOT NULL,
    cluster     text NOT NULL,
    revision    text NOT NULL,
    result      text NOT NULL,
    finished_at timestamptz NOT NULL,
    -- The sync's, and this bundle's counts as in the sync's JSON.
    trigger     text NOT NULL,
    created     integer NOT NULL,
    configured  integer NOT NULL,
    unchanged   integer NOT NULL,
    deleted     integer NOT NULL,
    skipped     integer NOT NULL,
    failed      integer NOT NULL
);

-- Every row has its sync (a foreign key) and is in its sync's JSON (both were written from
-- one record); one that were not would be a bug, and its NULLs fail the migration.
INSERT INTO sync_bundles_2
SELECT x.sync_id, x.bundle, x.cluster, x.revision, x.result, x.finished_at, s.trigger,
       (b.value -> 'counts' ->> 'created')::integer,
       (b.value -> 'counts' ->> 'configured')::integer,
       (b.value -> 'counts' ->> 'unchanged')::integer,
       (b.value -> 'counts' ->> 'deleted')::integer,
       (b.value -> 'counts' ->> 'skipped')::integer,
       (b.value -> 'counts' ->> 'failed')::integer
FROM sync_bundles x
LEFT JOIN syncs s ON s.id = x.sync_id
LEFT JOIN LATERAL jsonb_array_elements(s.bundles) b ON b.value ->> 'name' = x.bundle;

DROP TABLE sync_bundles;
ALTER TABLE sync_bundles_2 RENAME TO sync_bundles;
ALTER TABLE sync_bundles
    ADD PRIMARY KEY (sync_id, bundle),
    ADD FOREIGN KEY (sync_id) REFERENCES syncs (id) ON DELETE CASCADE;
CREATE INDEX sync_bundles_page ON sync_bundles (bundle, finished_at, sync_id);

-- The revision a track had deployed when a range begins is that of its last record that
-- could deploy (succeeded, by a trigger of DELIVERY_TRIGGERS, changing something): one
-- descent of these partial indexes, even for a cluster that has failed for weeks. The
-- predicates are the ones fleet.store.delivering writes, word for word, so the planner
-- can use them.
CREATE INDEX syncs_cluster_deploying ON syncs (cluster, finished_at, id)
    WHERE result = 'succeeded' AND trigger IN ('commit', 'manual', 'retry')
      AND created + configured + deleted > 0;
CREATE INDEX sync_bundles_track_deploying ON sync_bundles (cluster, bundle, finished_at, sync_id)
    WHERE result = 'succeeded' AND trigger IN ('commit', 'manual', 'retry')
      AND created + configured + deleted > 0;

-- Laid down in version 1 for a "first success of a revision" definition that delivery
-- metrics do not use (a rollback to an older revision deploys too): nothing read it, and
-- every write paid for it. (sync_bundles_first_success went with the old table.)
DROP INDEX syncs_first_success;
