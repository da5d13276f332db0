-- The journal's master events, newest first: whether the master is shutting down is whether
-- the newest of them is a `master_stopping`. The condition is the one `MASTER_STATE` queries
-- with. Built over the journal already kept, so a store written before it answers too.
CREATE INDEX events_master ON events (seq) WHERE json_extract(data, '$.event.type') IN
    ('master_started', 'master_stopping');
