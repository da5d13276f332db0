-- The ids senders gave the events they posted to /api/v1/events, so that a repeated event is
-- acknowledged and not applied twice. Written in the commit that applies the events.
CREATE TABLE ingest_receipts (
    id TEXT PRIMARY KEY NOT NULL,
    seq INTEGER NOT NULL
) WITHOUT ROWID;
