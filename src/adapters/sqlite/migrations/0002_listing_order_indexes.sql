-- Indexes that serve a listing's whole order within one builder, so that no listing sorts
-- more rows than it shows (a listing of several builders is one such listing per builder).

-- One builder's finished builds by finish time, and its running builds by number (this index
-- serves what `builds_running` did).
DROP INDEX builds_by_builder_finished;
DROP INDEX builds_running;
CREATE INDEX builds_by_builder_finished ON builds (builder, finished, number);

-- One builder's builds by start time.
CREATE INDEX builds_by_builder_started ON builds (builder, started, number);

-- All pending requests, oldest first (ties by id, which the index holds as the rowid).
CREATE INDEX requests_by_submitted ON requests (submitted);
