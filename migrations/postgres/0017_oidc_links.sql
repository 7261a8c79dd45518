-- Single sign-on: which subscriber an identity of an OpenID provider is. The operator links them
-- (`selfcare user link`); a login through the provider never creates an account. `subject` is the
-- value of the configured claim (sub, preferred_username or email) as the provider sends it.
CREATE TABLE oidc_links (
    issuer      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX oidc_links_user ON oidc_links (user_id);
