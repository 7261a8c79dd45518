-- What the subscriber's sessions page shows of each session: the browser (its User-Agent, cut to
-- 200 characters) and how the login was made (password, password+totp, oidc).
ALTER TABLE user_sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE user_sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password';
