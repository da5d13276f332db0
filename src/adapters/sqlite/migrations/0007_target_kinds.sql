-- Notification targets are named `kind/name`; before this version every target was a mail
-- target named by itself. Messages may carry a key (latest-wins targets), and a claimed
-- message is in state 'sending' until its lease ends.
UPDATE outbox SET target = 'mail/' || target WHERE instr(target, '/') = 0;
UPDATE notifier_cursors SET target = 'mail/' || target WHERE instr(target, '/') = 0;
UPDATE notifier_notes SET target = 'mail/' || target WHERE instr(target, '/') = 0;
ALTER TABLE outbox ADD COLUMN key TEXT;
-- Due messages and leases: the open ones.
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (target, next_attempt, n) WHERE state IN ('pending', 'sending');
-- An ordered target's head, and a key's messages.
CREATE INDEX outbox_open ON outbox (target, n) WHERE state IN ('pending', 'sending');
CREATE INDEX outbox_by_key ON outbox (target, key, n) WHERE key IS NOT NULL;
