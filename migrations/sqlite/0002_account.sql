-- Phonebook search: `name_key` is the entry's name case-folded by the application (Unicode
-- lower case, which neither engine's LOWER() does reliably: SQLite folds ASCII only), so a
-- search for "пётр" finds "Пётр Смирнов" on both engines. Rows written before this migration
-- get LOWER(name), exact for ASCII names; every entry written since is folded by the application.
ALTER TABLE phonebook_entries ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
UPDATE phonebook_entries SET name_key = LOWER(name);
CREATE INDEX phonebook_entries_user ON phonebook_entries (user_id, name_key);
