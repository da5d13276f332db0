-- The journal's events about the system rather than builds (workers, the master), newest
-- first, for the waterfall's builder events. The condition is the one `ACTIVITY` queries with.
CREATE INDEX events_activity ON events (seq) WHERE json_extract(data, '$.event.type') IN
    ('worker_connected', 'worker_disconnected', 'worker_paused', 'worker_unpaused', 'master_started',
    'master_stopping', 'reconfigured');
