-- `buildstatus migrate`: where a database's history was copied from, and how far each table's
-- copy went, so that an interrupted copy goes on from where it stopped, a copy of another
-- source is refused, and a server refuses a database whose copy is not finished.
CREATE TABLE migration (source TEXT NOT NULL, finished BOOLEAN NOT NULL);
-- `part`: a table, or 'logs'; `last`: the key of the last row copied (JSON); `done`: copied whole.
CREATE TABLE migration_progress (part TEXT PRIMARY KEY, last TEXT NOT NULL, done BOOLEAN NOT NULL);
