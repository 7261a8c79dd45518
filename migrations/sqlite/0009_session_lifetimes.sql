-- Sessions end after a time without use and after a time in all (issue 13): when a session was
-- last used, kept to the minute.
ALTER TABLE user_sessions ADD COLUMN last_seen_at INTEGER;
UPDATE user_sessions SET last_seen_at = created_at;
