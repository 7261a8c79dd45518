-- A subscriber's accounts (contracts), each made of subscriptions: user → accounts →
-- subscriptions. Every subscriber has a main account (name '', shown translated); the operator
-- adds others and moves subscriptions between a subscriber's accounts (`selfcare account`).
CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    closed_at   INTEGER,
    UNIQUE (user_id, name)
);
INSERT INTO accounts (user_id, name, created_at) SELECT id, '', created_at FROM users;
ALTER TABLE subscriptions ADD COLUMN account_id INTEGER REFERENCES accounts(id);
UPDATE subscriptions SET account_id = (SELECT a.id FROM accounts a WHERE a.user_id = subscriptions.user_id AND a.name = '');
CREATE INDEX subscriptions_account ON subscriptions (account_id);
-- The account tree names a number's subscription by its number: found from the subscription.
CREATE INDEX did_allocations_subscription ON did_allocations (subscription_id)
    WHERE subscription_id IS NOT NULL;
