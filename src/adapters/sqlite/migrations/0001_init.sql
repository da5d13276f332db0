-- The status model. Each record is stored whole as JSON in `data`; the other columns exist to
-- be indexed, one index for every query a page makes. Times are epoch milliseconds.
CREATE TABLE builders (name TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE workers (name TEXT PRIMARY KEY, data TEXT NOT NULL);

CREATE TABLE builds (
    id INTEGER PRIMARY KEY,
    builder TEXT NOT NULL,
    number INTEGER NOT NULL,
    started INTEGER NOT NULL,
    finished INTEGER,
    result INTEGER,
    branch TEXT,
    revision TEXT,
    worker TEXT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (builder, number)
);
-- A builder's history by number uses the UNIQUE index above.
CREATE INDEX builds_by_builder_finished ON builds (builder, finished);
CREATE INDEX builds_by_finished ON builds (finished, builder, number);
CREATE INDEX builds_by_started ON builds (started, builder, number);
CREATE INDEX builds_by_revision ON builds (revision);
CREATE INDEX builds_by_worker_finished ON builds (worker, finished, builder, number);
CREATE INDEX builds_running ON builds (builder, number) WHERE finished IS NULL;

CREATE TABLE changes (
    number INTEGER PRIMARY KEY,
    when_ms INTEGER NOT NULL,
    branch TEXT,
    revision TEXT,
    data TEXT NOT NULL
);
CREATE INDEX changes_by_branch ON changes (branch, number);
CREATE INDEX changes_by_revision ON changes (revision);

CREATE TABLE requests (id INTEGER PRIMARY KEY, builder TEXT NOT NULL, submitted INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX requests_by_builder ON requests (builder, submitted);

CREATE TABLE buildsets (id INTEGER PRIMARY KEY, complete INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX buildsets_open ON buildsets (id) WHERE complete = 0;

CREATE TABLE users (uid INTEGER PRIMARY KEY, data TEXT NOT NULL);

-- The event journal (log chunks excluded), for subscribers catching up by sequence number.
CREATE TABLE events (seq INTEGER PRIMARY KEY, data TEXT NOT NULL);

-- Counters: last_seq, next_log_id.
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
