//! The number pool (`dids`) and who had which number when (`did_allocations`). Every change of
//! a number's state is one conditional UPDATE of its row inside a transaction that first takes
//! the subscriber's row lock: of two requests racing for a number one changes the row, the
//! other finds the condition false and is told why.

use sqlx::{AnyConnection, FromRow};

use super::{audit, Store};
use crate::numbers::service::Service;
use crate::numbers::{Destination, Refusal, E164, MAX_HOLDS, POOL_PAGE};

/// A number is in the pool when free, or when its hold or its quarantine has run out (`$1` is
/// now): nothing has to sweep expired holds.
const IN_POOL: &str = "(state = 'free' OR (state = 'held' AND held_until <= $1)
                        OR (state = 'closed' AND closed_until <= $1))";

/// Where a page of the number pool starts (numbers sort as text: E.164 with its `+`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolFrom<'a> {
    /// After this number; `""`: from the first.
    After(&'a str),
    /// Before this number.
    Before(&'a str),
}

/// A number offered in the pool.
#[derive(Clone, Debug, FromRow)]
pub struct PoolNumber {
    pub number: String,
    pub country: String,
    pub region: String,
    pub monthly_fee_micros: i64,
    pub setup_fee_micros: i64,
    pub currency: String,
    pub decimals: i64,
}

/// A number of a subscriber's, with where its calls go.
#[derive(Clone, Debug, FromRow)]
pub struct OwnNumber {
    pub number: String,
    pub country: String,
    pub region: String,
    pub monthly_fee_micros: i64,
    pub currency: String,
    pub decimals: i64,
    pub allocated_at: i64,
    pub device_id: Option<i64>,
    /// The device's extension and description, when calls go to a device.
    pub device_extension: Option<String>,
    pub device_description: Option<String>,
    pub forward_to: Option<String>,
}

/// A number a subscriber holds now.
#[derive(Clone, Debug, FromRow)]
pub struct HeldNumber {
    pub number: String,
    pub held_until: i64,
}

/// A number as the operator loads it (`selfcare did import`).
#[derive(Clone, Debug)]
pub struct NewNumber {
    pub number: E164,
    pub country: String,
    pub region: String,
    pub monthly_fee_micros: i64,
    pub setup_fee_micros: i64,
    pub currency: String,
}

/// Where the PBX sends a call to a number (`/pbx/route`).
#[derive(Clone, Debug, FromRow)]
pub struct Route {
    pub user_id: i64,
    pub username: String,
    pub blocked: i64,
    pub device_username: Option<String>,
    pub device_extension: Option<String>,
    pub forward_to: Option<String>,
    /// One of the owner's devices, as the PBX names it: a forward is his outgoing call, asked
    /// about as if from it.
    pub owner_device: Option<String>,
}

/// Who had a number from when until when (`until` None: still has it), as the importer
/// attributes calls: (number, user id, from, until, device id, forward to).
pub type NumberSpan = (String, i64, i64, Option<i64>, Option<i64>, Option<String>);

/// A number's row as an allocation checks it.
#[derive(FromRow)]
struct HoldRow {
    id: i64,
    state: String,
    held_by: Option<i64>,
    held_until: Option<i64>,
    hold_key_hash: Option<String>,
    monthly_fee_micros: i64,
    setup_fee_micros: i64,
    currency: String,
}

/// The operator's number settings.
#[derive(Clone, Debug, FromRow)]
pub struct NumberSettings {
    pub quarantine_days: i64,
    pub on_net_rate_micros: i64,
    /// '' : the base currency.
    pub on_net_currency: String,
}

/// What the operator does to a number (`selfcare did free|reserve|terminate|release`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperatorAction {
    Free,
    Reserve,
    Terminate,
    Release,
}

async fn lock_user(c: &mut AnyConnection, user_id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET id = id WHERE id = $1")
        .bind(user_id)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn number_settings(c: &mut AnyConnection) -> sqlx::Result<NumberSettings> {
    sqlx::query_as(
        "SELECT quarantine_days, on_net_rate_micros, on_net_currency FROM number_settings WHERE id = 1",
    )
    .fetch_one(c)
    .await
}

impl Store {
    pub async fn number_settings(&self) -> sqlx::Result<NumberSettings> {
        let mut c = self.pool().acquire().await?;
        number_settings(&mut c).await
    }

    pub async fn set_quarantine_days(&self, days: i64) -> sqlx::Result<()> {
        sqlx::query("UPDATE number_settings SET quarantine_days = $1 WHERE id = 1")
            .bind(days)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn set_on_net_rate(&self, micros: i64, currency: &str) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE number_settings SET on_net_rate_micros = $1, on_net_currency = $2 WHERE id = 1",
        )
        .bind(micros)
        .bind(currency)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Adds the numbers, or updates the fees and region of those already known (their state is
    /// left as it is); in one transaction. Returns (added, updated).
    pub async fn import_numbers(&self, numbers: &[NewNumber]) -> sqlx::Result<(u64, u64)> {
        let mut tx = self.begin_write().await?;
        let now = crate::time::now();
        let count = "SELECT COUNT(*) FROM dids";
        let (before,): (i64,) = sqlx::query_as(count).fetch_one(&mut *tx).await?;
        for n in numbers {
            sqlx::query(
                "INSERT INTO dids (number, country, region, monthly_fee_micros, setup_fee_micros,
                                   currency, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (number) DO UPDATE SET country = excluded.country,
                    region = excluded.region, monthly_fee_micros = excluded.monthly_fee_micros,
                    setup_fee_micros = excluded.setup_fee_micros, currency = excluded.currency,
                    updated_at = excluded.updated_at",
            )
            .bind(n.number.as_str())
            .bind(&n.country)
            .bind(&n.region)
            .bind(n.monthly_fee_micros)
            .bind(n.setup_fee_micros)
            .bind(&n.currency)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let (after,): (i64,) = sqlx::query_as(count).fetch_one(&mut *tx).await?;
        let added = (after - before) as u64;
        let updated = numbers.len() as u64 - added;
        tx.commit().await?;
        Ok((added, updated))
    }

    /// (country, region, state, count) over the whole pool, for the operator.
    pub async fn number_counts(&self) -> sqlx::Result<Vec<(String, String, String, i64)>> {
        sqlx::query_as(
            "SELECT country, region, state, COUNT(*) FROM dids
             GROUP BY country, region, state ORDER BY country, region, state",
        )
        .fetch_all(self.pool())
        .await
    }

    /// (number, state, owner's username) of every number, for the operator.
    pub async fn all_numbers(&self) -> sqlx::Result<Vec<(String, String, Option<String>)>> {
        sqlx::query_as(
            "SELECT d.number, d.state, u.username FROM dids d LEFT JOIN users u ON u.id = d.user_id
             ORDER BY d.number",
        )
        .fetch_all(self.pool())
        .await
    }

    /// (country, free numbers) of the countries with a number in the pool at `now`.
    pub async fn pool_countries(&self, now: i64) -> sqlx::Result<Vec<(String, i64)>> {
        sqlx::query_as(&format!(
            "SELECT country, COUNT(*) FROM dids WHERE {IN_POOL} GROUP BY country ORDER BY country"
        ))
        .bind(now)
        .fetch_all(self.pool())
        .await
    }

    /// (region, free numbers) of a country's pool at `now`.
    pub async fn pool_regions(&self, now: i64, country: &str) -> sqlx::Result<Vec<(String, i64)>> {
        sqlx::query_as(&format!(
            "SELECT region, COUNT(*) FROM dids WHERE {IN_POOL} AND country = $2
             GROUP BY region ORDER BY region"
        ))
        .bind(now)
        .bind(country)
        .fetch_all(self.pool())
        .await
    }

    /// A page of [`POOL_PAGE`] numbers in the pool of a country (and region), in number order:
    /// the first ones after a number (`PoolFrom::After("")`: from the start) or the last ones
    /// before one; and whether more lie beyond the page in that direction.
    pub async fn pool_numbers(
        &self,
        now: i64,
        country: &str,
        region: Option<&str>,
        from: PoolFrom<'_>,
    ) -> sqlx::Result<(Vec<PoolNumber>, bool)> {
        let (cmp, order, number) = match from {
            PoolFrom::After(n) => (">", "ASC", n),
            PoolFrom::Before(n) => ("<", "DESC", n),
        };
        let mut rows: Vec<PoolNumber> = sqlx::query_as(&format!(
            "SELECT d.number, d.country, d.region, d.monthly_fee_micros, d.setup_fee_micros,
                    d.currency, c.decimals
             FROM dids d JOIN currencies c ON c.code = d.currency
             WHERE {IN_POOL} AND d.country = $2 AND ($3 IS NULL OR d.region = $3)
               AND d.number {cmp} $4
             ORDER BY d.number {order} LIMIT {}",
            POOL_PAGE + 1
        ))
        .bind(now)
        .bind(country)
        .bind(region)
        .bind(number)
        .fetch_all(self.pool())
        .await?;
        let beyond = rows.len() as i64 > POOL_PAGE;
        rows.truncate(POOL_PAGE as usize);
        if let PoolFrom::Before(_) = from {
            rows.reverse();
        }
        Ok((rows, beyond))
    }

    /// The subscriber's active numbers.
    pub async fn own_numbers_list(&self, user_id: i64) -> sqlx::Result<Vec<OwnNumber>> {
        sqlx::query_as(
            "SELECT d.number, d.country, d.region, d.monthly_fee_micros, d.currency, c.decimals,
                    a.allocated_at, d.device_id, v.extension AS device_extension,
                    v.description AS device_description, d.forward_to
             FROM dids d
             JOIN did_allocations a ON a.did_id = d.id AND a.released_at IS NULL
             JOIN currencies c ON c.code = d.currency
             LEFT JOIN devices v ON v.id = d.device_id
             WHERE d.user_id = $1 AND d.state = 'active'
             ORDER BY d.number",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await
    }

    /// Numbers the subscriber holds at `now`.
    pub async fn held_numbers(&self, user_id: i64, now: i64) -> sqlx::Result<Vec<HeldNumber>> {
        sqlx::query_as(
            "SELECT number, held_until FROM dids
             WHERE state = 'held' AND held_by = $1 AND held_until > $2 ORDER BY number",
        )
        .bind(user_id)
        .bind(now)
        .fetch_all(self.pool())
        .await
    }

    /// Holds `number` for the subscriber until `until` under the key whose digest is
    /// `key_hash`; holding a number he already holds renews it under the new key.
    pub async fn hold_number(
        &self,
        user_id: i64,
        number: &E164,
        key_hash: &str,
        now: i64,
        until: i64,
        address: &str,
    ) -> sqlx::Result<Result<(), Refusal>> {
        let mut tx = self.begin_write().await?;
        lock_user(&mut tx, user_id).await?;
        let (holds,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM dids
             WHERE state = 'held' AND held_by = $1 AND held_until > $2 AND number <> $3",
        )
        .bind(user_id)
        .bind(now)
        .bind(number.as_str())
        .fetch_one(&mut *tx)
        .await?;
        if holds >= MAX_HOLDS {
            return Ok(Err(Refusal::TooManyHolds));
        }
        let changed = sqlx::query(&format!(
            "UPDATE dids SET state = 'held', hold_key_hash = $2, held_by = $3, held_until = $4,
                    user_id = NULL, device_id = NULL, forward_to = NULL, closed_until = NULL,
                    updated_at = $1
             WHERE number = $5 AND ({IN_POOL} OR (state = 'held' AND held_by = $3))"
        ))
        .bind(now)
        .bind(key_hash)
        .bind(user_id)
        .bind(until)
        .bind(number.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            let exists: Option<(i64,)> = sqlx::query_as("SELECT id FROM dids WHERE number = $1")
                .bind(number.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            return Ok(Err(if exists.is_some() {
                Refusal::Taken
            } else {
                Refusal::NotFound
            }));
        }
        audit::record(
            &mut tx,
            Some(user_id),
            "number_held",
            number.as_str(),
            address,
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Gives up a hold of the subscriber's (a no-op when he holds no such number).
    pub async fn release_hold(&self, user_id: i64, number: &E164) -> sqlx::Result<bool> {
        let now = crate::time::now();
        let n = sqlx::query(
            "UPDATE dids SET state = 'free', hold_key_hash = NULL, held_by = NULL, held_until = NULL,
                    updated_at = $1
             WHERE number = $2 AND state = 'held' AND held_by = $3",
        )
        .bind(now)
        .bind(number.as_str())
        .bind(user_id)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    /// Allocates a number the subscriber holds under `key_hash`: the number becomes his, its
    /// monthly fee a subscription from `now` (and its setup fee a one-off one), in one
    /// transaction. The number's row changes only if the hold is still his, so a second
    /// allocation (a retry, a double click) finds it active and is refused: no double fee.
    pub async fn allocate_number(
        &self,
        user_id: i64,
        number: &E164,
        key_hash: &str,
        destination: &Destination,
        now: i64,
        address: &str,
    ) -> sqlx::Result<Result<(), Refusal>> {
        let mut tx = self.begin_write().await?;
        lock_user(&mut tx, user_id).await?;
        let row: Option<HoldRow> = sqlx::query_as(
            "SELECT id, state, held_by, held_until, hold_key_hash, monthly_fee_micros,
                    setup_fee_micros, currency
             FROM dids WHERE number = $1",
        )
        .bind(number.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(Err(Refusal::NotFound));
        };
        let held_until = row.held_until.unwrap_or(0);
        if row.state != "held" || row.held_by != Some(user_id) {
            let someone_else = row.state == "active" || (row.state == "held" && held_until > now);
            return Ok(Err(if someone_else {
                Refusal::Taken
            } else {
                Refusal::NotHeld
            }));
        }
        if held_until <= now {
            return Ok(Err(Refusal::HoldExpired));
        }
        let key_ok = row
            .hold_key_hash
            .is_some_and(|h| crate::tokens::constant_time_eq(h.as_bytes(), key_hash.as_bytes()));
        if !key_ok {
            return Ok(Err(Refusal::WrongHoldKey));
        }
        let (device_id, forward_to) = match destination {
            Destination::Device(id) => (Some(*id), None),
            Destination::Forward(n) => (None, Some(n.as_str().to_string())),
        };
        let changed = sqlx::query(
            "UPDATE dids SET state = 'active', user_id = $1, device_id = $2, forward_to = $3,
                    hold_key_hash = NULL, held_by = NULL, held_until = NULL, updated_at = $4
             WHERE id = $5 AND state = 'held' AND held_by = $1 AND held_until > $4",
        )
        .bind(user_id)
        .bind(device_id)
        .bind(forward_to)
        .bind(now)
        .bind(row.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(Err(Refusal::Taken));
        }
        let fees = (
            row.monthly_fee_micros,
            row.setup_fee_micros,
            row.currency.as_str(),
        );
        start_allocation(&mut tx, row.id, user_id, number, fees, now).await?;
        audit::record(
            &mut tx,
            Some(user_id),
            "number_allocated",
            number.as_str(),
            address,
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Points one of the subscriber's numbers elsewhere.
    pub async fn set_number_destination(
        &self,
        user_id: i64,
        number: &E164,
        destination: &Destination,
        address: &str,
    ) -> sqlx::Result<Result<(), Refusal>> {
        let (device_id, forward_to) = match destination {
            Destination::Device(id) => (Some(*id), None),
            Destination::Forward(n) => (None, Some(n.as_str().to_string())),
        };
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE dids SET device_id = $1, forward_to = $2, updated_at = $3
             WHERE number = $4 AND user_id = $5 AND state = 'active'",
        )
        .bind(device_id)
        .bind(forward_to.as_deref())
        .bind(crate::time::now())
        .bind(number.as_str())
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(Err(Refusal::NotFound));
        }
        let detail = match (&forward_to, device_id) {
            (Some(f), _) => format!("{number} → {f}"),
            (None, Some(d)) => format!("{number} → device {d}"),
            (None, None) => number.to_string(),
        };
        audit::record(
            &mut tx,
            Some(user_id),
            "number_destination",
            &detail,
            address,
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Releases one of the subscriber's numbers: it goes into quarantine, its subscription ends.
    pub async fn release_number(
        &self,
        user_id: i64,
        number: &E164,
        address: &str,
    ) -> sqlx::Result<Result<(), Refusal>> {
        let mut tx = self.begin_write().await?;
        let done = close_number(&mut tx, number, Some(user_id)).await?;
        if done.is_none() {
            return Ok(Err(Refusal::NotFound));
        }
        audit::record(
            &mut tx,
            Some(user_id),
            "number_released",
            number.as_str(),
            address,
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// The operator's change of a number's state; Err says why it cannot be done.
    pub async fn operator_number_action(
        &self,
        number: &E164,
        action: OperatorAction,
    ) -> anyhow::Result<String> {
        let mut tx = self.begin_write().await?;
        let now = crate::time::now();
        let state: Option<(String, Option<i64>)> =
            sqlx::query_as("SELECT state, user_id FROM dids WHERE number = $1")
                .bind(number.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let Some((state, owner)) = state else {
            anyhow::bail!("{number} is not in the pool (selfcare did import adds numbers)");
        };
        let new_state = match action {
            OperatorAction::Release => {
                let Some(owner) = owner.filter(|_| state == "active") else {
                    anyhow::bail!(
                        "{number} is {state}, not allocated: there is nothing to release"
                    );
                };
                close_number(&mut tx, number, Some(owner)).await?;
                audit::record(
                    &mut tx,
                    Some(owner),
                    "number_released",
                    number.as_str(),
                    "operator",
                )
                .await?;
                tx.commit().await?;
                return Ok("closed".into());
            }
            _ if state == "active" => anyhow::bail!(
                "{number} is allocated to a subscriber: release it first (selfcare did release)"
            ),
            OperatorAction::Free => "free",
            OperatorAction::Reserve => "reserved",
            OperatorAction::Terminate => "terminated",
        };
        if state == "terminated" {
            anyhow::bail!("{number} is terminated for good");
        }
        sqlx::query(
            "UPDATE dids SET state = $1, hold_key_hash = NULL, held_by = NULL, held_until = NULL,
                    closed_until = NULL, updated_at = $2
             WHERE number = $3",
        )
        .bind(new_state)
        .bind(now)
        .bind(number.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(new_state.into())
    }

    /// Where a call to `number` goes now: None when the number is nobody's.
    pub async fn number_route(&self, number: &E164) -> sqlx::Result<Option<Route>> {
        sqlx::query_as(
            "SELECT d.user_id, u.username, u.blocked, v.username AS device_username,
                    v.extension AS device_extension, d.forward_to,
                    (SELECT x.username FROM devices x WHERE x.user_id = d.user_id
                     ORDER BY x.id LIMIT 1) AS owner_device
             FROM dids d JOIN users u ON u.id = d.user_id LEFT JOIN devices v ON v.id = d.device_id
             WHERE d.number = $1 AND d.state = 'active'",
        )
        .bind(number.as_str())
        .fetch_optional(self.pool())
        .await
    }

    /// Every allocation there has been, for the importer.
    pub async fn number_spans(&self) -> sqlx::Result<Vec<NumberSpan>> {
        sqlx::query_as(
            "SELECT d.number, a.user_id, a.allocated_at, a.released_at,
                    CASE WHEN a.released_at IS NULL THEN d.device_id END,
                    CASE WHEN a.released_at IS NULL THEN d.forward_to END
             FROM did_allocations a JOIN dids d ON d.id = a.did_id
             ORDER BY d.number, a.allocated_at",
        )
        .fetch_all(self.pool())
        .await
    }
}

/// Records that `user_id` has the number from `now`: its monthly fee a subscription (named
/// after the number), its setup fee a one-off one, and the allocation that attributes calls.
/// The caller has made the number's row active.
pub async fn start_allocation(
    c: &mut AnyConnection,
    did_id: i64,
    user_id: i64,
    number: &E164,
    (monthly, setup, currency): (i64, i64, &str),
    now: i64,
) -> sqlx::Result<()> {
    let fee = Service::number_fee(number.as_str());
    let monthly_sub = subscribe(&mut *c, user_id, &fee, monthly, currency, now).await?;
    if setup > 0 {
        let setup_fee = Service::number_setup(number.as_str());
        subscribe(&mut *c, user_id, &setup_fee, setup, currency, now).await?;
    }
    sqlx::query(
        "INSERT INTO did_allocations (did_id, user_id, allocated_at, subscription_id)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(did_id)
    .bind(user_id)
    .bind(now)
    .bind(monthly_sub)
    .execute(c)
    .await?;
    Ok(())
}

/// Ends the allocation of `number` (of `owner` only, when given): the number is closed for the
/// quarantine, the allocation and its subscription end now. None when there was none.
async fn close_number(
    c: &mut AnyConnection,
    number: &E164,
    owner: Option<i64>,
) -> sqlx::Result<Option<()>> {
    let now = crate::time::now();
    let settings = number_settings(&mut *c).await?;
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT id, user_id FROM dids
         WHERE number = $1 AND state = 'active' AND ($2 IS NULL OR user_id = $2)",
    )
    .bind(number.as_str())
    .bind(owner)
    .fetch_optional(&mut *c)
    .await?;
    let Some((did_id, user_id)) = row else {
        return Ok(None);
    };
    lock_user(&mut *c, user_id).await?;
    let changed = sqlx::query(
        "UPDATE dids SET state = 'closed', closed_until = $1, user_id = NULL, device_id = NULL,
                forward_to = NULL, updated_at = $2
         WHERE id = $3 AND state = 'active' AND user_id = $4",
    )
    .bind(now + settings.quarantine_days * 86_400)
    .bind(now)
    .bind(did_id)
    .bind(user_id)
    .execute(&mut *c)
    .await?
    .rows_affected();
    if changed == 0 {
        return Ok(None);
    }
    sqlx::query(
        "UPDATE subscriptions SET active_until = $1
         WHERE id = (SELECT subscription_id FROM did_allocations
                     WHERE did_id = $2 AND released_at IS NULL)",
    )
    .bind(now)
    .bind(did_id)
    .execute(&mut *c)
    .await?;
    sqlx::query(
        "UPDATE did_allocations SET released_at = $1 WHERE did_id = $2 AND released_at IS NULL",
    )
    .bind(now)
    .bind(did_id)
    .execute(&mut *c)
    .await?;
    Ok(Some(()))
}

/// A subscription of the user to `service` (created, or its price brought up to date).
async fn subscribe(
    c: &mut AnyConnection,
    user_id: i64,
    service: &Service,
    price_micros: i64,
    currency: &str,
    now: i64,
) -> sqlx::Result<i64> {
    let (service_id,): (i64,) = sqlx::query_as(
        "INSERT INTO services (name, price_micros, currency, period, kind, number)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (name) DO UPDATE SET price_micros = excluded.price_micros,
            currency = excluded.currency, period = excluded.period, kind = excluded.kind,
            number = excluded.number
         RETURNING id",
    )
    .bind(&service.name)
    .bind(price_micros)
    .bind(currency)
    .bind(service.period())
    .bind(service.kind.code())
    .bind(&service.number)
    .fetch_one(&mut *c)
    .await?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO subscriptions (user_id, service_id, added_at, active_from, account_id)
         VALUES ($1, $2, $3, $3, (SELECT id FROM accounts WHERE user_id = $1 AND name = ''))
         RETURNING id",
    )
    .bind(user_id)
    .bind(service_id)
    .bind(now)
    .fetch_one(c)
    .await?;
    Ok(id)
}
