-- Operator settings kept in the database, one value per name, read by every portal process.
-- `mor_api_secret_key`: the MOR API secret key (`selfcare api-key set`); while it is set, every
-- MOR API request (`/api/<name>`) must carry MOR's `hash` made with it.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
