-- What a service the portal made itself is, so that its name is shown in the reader's language:
-- `number_fee` (a number's monthly fee) or `number_setup` (its one-off setup fee), for `number`.
-- NULL: the operator's own service, shown by the name the operator gave it.
ALTER TABLE services ADD COLUMN kind TEXT CHECK (kind IN ('number_fee', 'number_setup'));
ALTER TABLE services ADD COLUMN number TEXT;
-- The services made before, by the names they were given ("Number +44… setup").
UPDATE services SET kind = 'number_setup', number = substr(name, 8, length(name) - 13)
 WHERE name LIKE 'Number +% setup';
UPDATE services SET kind = 'number_fee', number = substr(name, 8)
 WHERE kind IS NULL AND name LIKE 'Number +%';
