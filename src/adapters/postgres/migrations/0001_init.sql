-- The whole store on PostgreSQL, at the SQLite schema's version 8 (status, journal, receipts)
-- and its outbox's version 1, plus the logs, which SQLite's deployment keeps in files: here
-- they are rows, so that instances share the database and no file system.
-- Records are stored whole as JSON text in `data`; the other columns exist to be indexed.
-- Times are epoch milliseconds; every integer is BIGINT (what the store binds and reads).

CREATE TABLE builders (name TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE workers (name TEXT PRIMARY KEY, data TEXT NOT NULL);

CREATE TABLE builds (
    builder TEXT NOT NULL,
    number BIGINT NOT NULL,
    started BIGINT NOT NULL,
    finished BIGINT,
    result BIGINT,
    branch TEXT,
    revision TEXT,
    worker TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (builder, number)
);
-- One index for each listing's order, within one builder and across builders.
CREATE INDEX builds_by_builder_finished ON builds (builder, finished, number);
CREATE INDEX builds_by_builder_started ON builds (builder, started, number);
CREATE INDEX builds_by_finished ON builds (finished, builder, number);
CREATE INDEX builds_by_started ON builds (started, builder, number);
CREATE INDEX builds_by_revision ON builds (revision);
CREATE INDEX builds_by_worker_finished ON builds (worker, finished, builder, number);
CREATE INDEX builds_running ON builds (builder, number) WHERE finished IS NULL;

CREATE TABLE changes (
    number BIGINT PRIMARY KEY,
    when_ms BIGINT NOT NULL,
    branch TEXT,
    revision TEXT,
    data TEXT NOT NULL
);
CREATE INDEX changes_by_branch ON changes (branch, number);
CREATE INDEX changes_by_revision ON changes (revision);

CREATE TABLE requests (id BIGINT PRIMARY KEY, builder TEXT NOT NULL, submitted BIGINT NOT NULL, data TEXT NOT NULL);
CREATE INDEX requests_by_builder ON requests (builder, submitted, id);
CREATE INDEX requests_by_submitted ON requests (submitted, id);

CREATE TABLE buildsets (id BIGINT PRIMARY KEY, complete BOOLEAN NOT NULL, data TEXT NOT NULL);
CREATE INDEX buildsets_open ON buildsets (id) WHERE NOT complete;

CREATE TABLE users (uid BIGINT PRIMARY KEY, data TEXT NOT NULL);

-- The event journal (log chunks excluded). `kind` is the event's type, written beside it so
-- that the activity and master-state queries walk partial indexes (their conditions are the
-- queries', word for word).
CREATE TABLE events (seq BIGINT PRIMARY KEY, kind TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX events_activity ON events (seq) WHERE kind IN
    ('worker_connected', 'worker_disconnected', 'worker_paused', 'worker_unpaused', 'master_started',
    'master_stopping', 'reconfigured');
CREATE INDEX events_master ON events (seq) WHERE kind IN ('master_started', 'master_stopping');

-- Counters: last_seq, next_log_id.
CREATE TABLE meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);

-- The ids senders gave the events they posted to /api/v1/events (written in the commit that
-- applies them).
CREATE TABLE ingest_receipts (id TEXT PRIMARY KEY, seq BIGINT NOT NULL);

-- The notifiers' outbox and delivery log; `n` gives the insertion order.
CREATE TABLE outbox (
    n BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target TEXT NOT NULL,
    id TEXT NOT NULL,
    key TEXT,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    created BIGINT NOT NULL,
    next_attempt BIGINT NOT NULL,
    last_error TEXT,
    summary TEXT NOT NULL,
    payload TEXT NOT NULL,
    UNIQUE (target, id)
);
CREATE INDEX outbox_due ON outbox (target, next_attempt, n) WHERE state IN ('pending', 'sending');
CREATE INDEX outbox_by_state ON outbox (target, state, n);
CREATE INDEX outbox_open ON outbox (target, n) WHERE state IN ('pending', 'sending');
CREATE INDEX outbox_by_key ON outbox (target, key, n) WHERE key IS NOT NULL;

CREATE TABLE notifier_cursors (target TEXT PRIMARY KEY, seq BIGINT NOT NULL);
CREATE TABLE notifier_notes (target TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (target, key));

-- Logs: each log's sizes and state, and its content as chunks of one channel, keyed by the
-- content offset of their first byte (so a read from an offset is one index probe). `whole`:
-- the log was written in one write that finished it, and such a write again replaces it (a
-- round whose commit failed hands its log ids out again); a log appended over time is
-- appended to.
CREATE TABLE logs (
    id BIGINT PRIMARY KEY,
    total BIGINT NOT NULL,
    header BIGINT NOT NULL,
    finished BOOLEAN NOT NULL,
    whole BOOLEAN NOT NULL
);
CREATE TABLE log_chunks (
    log BIGINT NOT NULL,
    start BIGINT NOT NULL,
    channel SMALLINT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (log, start)
);
