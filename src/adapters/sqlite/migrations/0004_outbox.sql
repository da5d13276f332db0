-- The notifiers' outbox and delivery log, and each notifier's cursor in the event journal.
-- Times are epoch milliseconds; `n` gives the insertion order.
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
    UNIQUE (target, id)
);
-- Claiming walks a target's due messages in order; the log lists a target's newest first.
CREATE INDEX outbox_due ON outbox (target, next_attempt, n) WHERE state = 'pending';
CREATE INDEX outbox_by_state ON outbox (target, state, n);
CREATE INDEX outbox_log ON outbox (target, n);

CREATE TABLE notifier_cursors (target TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE notifier_notes (target TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (target, key));
