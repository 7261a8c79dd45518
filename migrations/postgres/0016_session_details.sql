-- What the subscriber's sessions page shows of each session: the browser (its User-Agent, cut to
-- 200 characters) and how the login was made (password, password+totp, oidc). `handle` names a
-- session in the page's forms: the id itself is kept out of pages.
ALTER TABLE user_sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE user_sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password';
ALTER TABLE user_sessions ADD COLUMN handle BIGINT NOT NULL DEFAULT 0;
UPDATE user_sessions SET handle = floor(random() * 9007199254740990)::bigint + 1;
