//! Calling-card PINs (`calling_card_pins`): the hash, when it was set, and the count of wrong
//! tries with the lock it leads to. The rules (how many, how long) are in `crate::pin`.

use sqlx::FromRow;

use super::audit;
use super::Store;

/// What the PIN page shows of a subscriber's PIN (never the PIN, nor its hash).
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct PinState {
    pub set_at: i64,
    pub failures: i64,
    pub locked_until: Option<i64>,
}

impl PinState {
    /// Locked at `now`.
    pub fn locked_at(&self, now: i64) -> bool {
        self.locked_until.is_some_and(|t| t > now)
    }
}

/// One try, counted before its PIN is checked.
#[derive(Debug)]
pub enum Try {
    /// The subscriber has no PIN: nothing counted.
    NoPin,
    /// Locked until then: nothing counted, nothing to check.
    Locked { until: i64 },
    /// Counted: check against `hash`. `failures` counts this try; at the limit `locked_until`
    /// is already set (a right PIN then clears it).
    Check {
        hash: String,
        failures: i64,
        locked_until: Option<i64>,
    },
}

/// How a new PIN replaces the old.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replace {
    /// Only if the subscriber has none (the first PIN: one set meanwhile wins).
    IfNone,
    /// Whatever is there; the count of wrong tries and the lock are cleared.
    Always,
}

/// A new PIN with its activity-log entry (and, for a reset, its mail): all or nothing.
pub struct NewPin<'a> {
    pub user_id: i64,
    pub hash: &'a str,
    pub replace: Replace,
    /// The activity log's action and detail (never the PIN).
    pub action: &'a str,
    pub detail: &'a str,
    pub address: &'a str,
    /// (recipient, subject, body) of a mail to queue with the change.
    pub mail: Option<(&'a str, &'a str, &'a str)>,
}

impl Store {
    pub async fn pin_state(&self, user_id: i64) -> sqlx::Result<Option<PinState>> {
        sqlx::query_as(
            "SELECT set_at, failures, locked_until FROM calling_card_pins WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(self.pool())
        .await
    }

    /// Counts one try in a single statement, so tries sent at once are each counted and no
    /// more than `max_failures` pass while the PIN is not locked: the try that reaches
    /// `max_failures` locks it until `lock_until`; a lock that has run out starts the count
    /// again.
    pub async fn count_pin_try(
        &self,
        user_id: i64,
        now: i64,
        max_failures: i64,
        lock_until: i64,
    ) -> sqlx::Result<Try> {
        // Twice at most: a lock that ran out between the two statements is counted next time.
        for _ in 0..2 {
            let counted: Option<(String, i64, Option<i64>)> = sqlx::query_as(
                "UPDATE calling_card_pins SET
                     failures = CASE WHEN locked_until IS NULL THEN failures + 1 ELSE 1 END,
                     locked_until = CASE
                         WHEN (CASE WHEN locked_until IS NULL THEN failures + 1 ELSE 1 END) >= $3
                         THEN $4 ELSE NULL END
                 WHERE user_id = $1 AND (locked_until IS NULL OR locked_until <= $2)
                 RETURNING pin_hash, failures, locked_until",
            )
            .bind(user_id)
            .bind(now)
            .bind(max_failures)
            .bind(lock_until)
            .fetch_optional(self.pool())
            .await?;
            if let Some((hash, failures, locked_until)) = counted {
                return Ok(Try::Check {
                    hash,
                    failures,
                    locked_until,
                });
            }
            // Not counted: locked, or no PIN at all.
            match self.pin_state(user_id).await? {
                None => return Ok(Try::NoPin),
                Some(PinState {
                    locked_until: Some(until),
                    ..
                }) if until > now => return Ok(Try::Locked { until }),
                Some(_) => continue,
            }
        }
        Ok(Try::Locked { until: now })
    }

    /// A right PIN: the count of wrong tries and any lock are cleared.
    pub async fn clear_pin_failures(&self, user_id: i64) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE calling_card_pins SET failures = 0, locked_until = NULL WHERE user_id = $1",
        )
        .bind(user_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Stores a new PIN's hash (with no wrong tries, not locked), its activity-log entry and
    /// its mail, in one transaction. False when `Replace::IfNone` found a PIN already there.
    pub async fn save_pin(&self, new: NewPin<'_>) -> sqlx::Result<bool> {
        let now = crate::time::now();
        let mut tx = self.begin_write().await?;
        let sql = match new.replace {
            Replace::IfNone => {
                "INSERT INTO calling_card_pins (user_id, pin_hash, set_at, failures, locked_until)
                 VALUES ($1, $2, $3, 0, NULL) ON CONFLICT (user_id) DO NOTHING"
            }
            Replace::Always => {
                "INSERT INTO calling_card_pins (user_id, pin_hash, set_at, failures, locked_until)
                 VALUES ($1, $2, $3, 0, NULL) ON CONFLICT (user_id) DO UPDATE SET
                 pin_hash = excluded.pin_hash, set_at = excluded.set_at, failures = 0, locked_until = NULL"
            }
        };
        let written = sqlx::query(sql)
            .bind(new.user_id)
            .bind(new.hash)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if written == 0 {
            return Ok(false);
        }
        audit::record(
            &mut tx,
            Some(new.user_id),
            new.action,
            new.detail,
            new.address,
        )
        .await?;
        if let Some((to, subject, body)) = new.mail {
            super::mail::queue(&mut tx, to, subject, body).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Removes the subscriber's PIN, with its activity-log entry; false when there was none.
    pub async fn delete_pin(&self, user_id: i64, address: &str) -> sqlx::Result<bool> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("DELETE FROM calling_card_pins WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Ok(false);
        }
        audit::record(&mut tx, Some(user_id), "pin_deleted", "", address).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Where a new PIN is mailed: the subscriber's registered address ('' when none) and
    /// language.
    pub async fn pin_mail_of(&self, user_id: i64) -> sqlx::Result<Option<(String, String)>> {
        sqlx::query_as("SELECT reg_email, language FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(self.pool())
            .await
    }

    /// The subscriber a calling-card account names, as the PBX gives it: a user name, or a
    /// number that is one of the subscriber's numbers (DIDs) or caller IDs (written with `+`,
    /// `00` or neither in front; a number two subscribers could claim names nobody).
    pub async fn pin_account(&self, account: &str) -> sqlx::Result<Option<i64>> {
        let by_name: Option<(i64,)> = sqlx::query_as("SELECT id FROM users WHERE username = $1")
            .bind(account)
            .fetch_optional(self.pool())
            .await?;
        if let Some((id,)) = by_name {
            return Ok(Some(id));
        }
        let Some(number) = crate::pbx::number::DialNumber::parse(account) else {
            return Ok(None);
        };
        let digits = number.as_str().trim_start_matches('+');
        let digits = digits.strip_prefix("00").unwrap_or(digits);
        if digits.len() < 6 {
            return Ok(None);
        }
        let owners: Vec<(i64,)> = sqlx::query_as(
            "SELECT d.user_id FROM clis c JOIN devices d ON d.id = c.device_id
             WHERE c.cli IN ($1, $2, $3)
             UNION
             SELECT user_id FROM dids WHERE number = $2 AND state = 'active'",
        )
        .bind(digits)
        .bind(format!("+{digits}"))
        .bind(format!("00{digits}"))
        .fetch_all(self.pool())
        .await?;
        Ok(match owners.as_slice() {
            [(id,)] => Some(*id),
            _ => None,
        })
    }
}
