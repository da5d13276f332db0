-- The outbox in a database file of its own (beside the status database, which kept it in its
-- migrations 4 and 7): its writes take this file's write lock, not the one the hub's commits
-- take. The schema is the status database's version 7, moved. Times are epoch milliseconds;
-- `n` gives the insertion order.
CREATE TABLE outbox (
    n INTEGER PRIMARY KEY,
    target TEXT NOT NULL,
    id TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    created INTEGER NOT NULL,
    next_attempt INTEGER NOT NULL,
    last_error TEXT,
    summary TEXT NOT NULL,
    payload TEXT NOT NULL,
    key TEXT,
    UNIQUE (target, id)
);
-- Due messages and leases: the open ones.
CREATE INDEX outbox_due ON outbox (target, next_attempt, n) WHERE state IN ('pending', 'sending');
-- Counts and the log by state; the log; an ordered target's head; a key's messages.
CREATE INDEX outbox_by_state ON outbox (target, state, n);
CREATE INDEX outbox_log ON outbox (target, n);
CREATE INDEX outbox_open ON outbox (target, n) WHERE state IN ('pending', 'sending');
CREATE INDEX outbox_by_key ON outbox (target, key, n) WHERE key IS NOT NULL;

CREATE TABLE notifier_cursors (target TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE notifier_notes (target TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (target, key));
