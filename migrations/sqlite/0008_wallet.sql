-- The wallet (issue 12): a ledger of balance movements, cards, top-ups, vouchers, refunds.

-- Every movement of a subscriber's balance, in the account's currency (+ credit, - debit).
-- Append-only: a correction is a new row. `entry_key` names what caused the row (a payment, an
-- invoice, an import of calls…) so the same cause can never be applied twice.
-- users.balance_micros is the sum of a user's rows, written in the same transaction.
CREATE TABLE ledger (
    id                  INTEGER PRIMARY KEY,
    user_id             INTEGER NOT NULL REFERENCES users(id),
    entry_key           TEXT NOT NULL UNIQUE,
    kind                TEXT NOT NULL CHECK (kind IN ('opening', 'calls', 'rerate',
                            'invoice', 'topup', 'invoice_payment', 'voucher', 'refund', 'adjustment')),
    amount_micros       INTEGER NOT NULL,
    balance_after_micros INTEGER NOT NULL,
    reference           TEXT NOT NULL DEFAULT '',    -- e.g. the payment's or invoice's id
    note                TEXT NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL
);
CREATE INDEX ledger_user ON ledger (user_id, id);

-- Today's balances stay what they are: each becomes the opening row of its ledger.
INSERT INTO ledger (user_id, entry_key, kind, amount_micros, balance_after_micros, note, created_at)
SELECT id, 'opening:' || id, 'opening', balance_micros, balance_micros, 'Balance before the ledger',
       created_at
FROM users;

-- Payments move through states; the gateway's reference and our idempotency key are kept.
ALTER TABLE payments ADD COLUMN state TEXT NOT NULL DEFAULT 'completed'
    CHECK (state IN ('pending', 'completed', 'declined', 'failed'));
UPDATE payments SET state = CASE WHEN completed = 1 THEN 'completed' ELSE 'pending' END;
-- topup, auto_topup, invoice, voucher; '' for payments recorded before the wallet.
ALTER TABLE payments ADD COLUMN purpose TEXT NOT NULL DEFAULT '';
ALTER TABLE payments ADD COLUMN invoice_id INTEGER REFERENCES invoices(id);
ALTER TABLE payments ADD COLUMN gateway TEXT NOT NULL DEFAULT '';
ALTER TABLE payments ADD COLUMN gateway_ref TEXT;
ALTER TABLE payments ADD COLUMN attempt_key TEXT;
ALTER TABLE payments ADD COLUMN failure_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE payments ADD COLUMN refunded_micros INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN tries INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX payments_attempt ON payments (attempt_key);
CREATE UNIQUE INDEX payments_gateway_ref ON payments (gateway, gateway_ref);
-- One payment of an invoice in flight or done at a time: a second one is refused, not charged.
CREATE UNIQUE INDEX payments_invoice ON payments (invoice_id)
    WHERE invoice_id IS NOT NULL AND state IN ('pending', 'completed');
CREATE INDEX payments_pending ON payments (state) WHERE state = 'pending';

-- An invoice is due some days after it is issued.
ALTER TABLE invoices ADD COLUMN due_at INTEGER;
UPDATE invoices SET due_at = issued_at + 14 * 86400;

-- The one stored card of a subscriber (004: "an account can have only one stored payment
-- method"): the gateway's token and what may be shown of the card, never its number.
CREATE TABLE payment_methods (
    user_id     INTEGER PRIMARY KEY REFERENCES users(id),
    gateway     TEXT NOT NULL,
    token       TEXT NOT NULL,
    brand       TEXT NOT NULL,
    last4       TEXT NOT NULL,
    exp_month   INTEGER NOT NULL,
    exp_year    INTEGER NOT NULL,
    added_at    INTEGER NOT NULL
);

-- The subscriber as the gateway knows him.
CREATE TABLE gateway_customers (
    user_id     INTEGER NOT NULL REFERENCES users(id),
    gateway     TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    PRIMARY KEY (user_id, gateway)
);

CREATE TABLE auto_topup (
    user_id             INTEGER PRIMARY KEY REFERENCES users(id),
    enabled             INTEGER NOT NULL DEFAULT 0,
    threshold_micros    INTEGER NOT NULL,
    amount_micros       INTEGER NOT NULL,
    monthly_cap_micros  INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);

-- Operator-issued codes, stored as SHA-256 of the normalised code; single use.
CREATE TABLE vouchers (
    id              INTEGER PRIMARY KEY,
    code_hash       TEXT NOT NULL UNIQUE,
    amount_micros   INTEGER NOT NULL CHECK (amount_micros > 0),
    currency        TEXT NOT NULL REFERENCES currencies(code),
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER,
    redeemed_by     INTEGER REFERENCES users(id),
    redeemed_at     INTEGER
);

-- Refunds made through the gateway, against a payment.
CREATE TABLE refunds (
    id              INTEGER PRIMARY KEY,
    payment_id      INTEGER NOT NULL REFERENCES payments(id),
    gateway_ref     TEXT NOT NULL UNIQUE,
    amount_micros   INTEGER NOT NULL CHECK (amount_micros > 0),
    created_at      INTEGER NOT NULL
);

-- Webhook events already applied, by the gateway's event id.
CREATE TABLE webhook_events (
    gateway     TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (gateway, event_id)
);
