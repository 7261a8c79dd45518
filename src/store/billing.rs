//! Tariffs, rates, destinations and invoices as the operator's commands change them: the rate
//! deck import, the rating data, `user tariff`, `device add` and `bill`. Functions that run
//! inside the caller's transaction take a connection.

use sqlx::AnyConnection;

use super::Store;
use crate::billing::invoice::DestinationCalls;
use crate::billing::rater::RatingData;
use crate::billing::RateTerms;
use crate::money::{Money, MICROS};

/// A rate row of one tariff: (id, group id, rate type, effective from, terms).
pub type TariffRate = (i64, i64, String, i64, RateTerms);

#[derive(Clone, Debug, sqlx::FromRow)]
struct RateRow {
    id: i64,
    tariff_id: i64,
    group_id: i64,
    rate_type: String,
    price_micros: i64,
    connection_fee_micros: i64,
    increment_s: i64,
    min_time_s: i64,
    effective_from: i64,
}

impl RateRow {
    fn terms(&self) -> RateTerms {
        RateTerms {
            per_minute: Money(self.price_micros),
            connection_fee: Money(self.connection_fee_micros),
            increment_s: self.increment_s,
            min_time_s: self.min_time_s,
        }
    }
}

const RATE_COLUMNS: &str =
    "id, tariff_id, group_id, rate_type, price_micros, connection_fee_micros,
                            increment_s, min_time_s, effective_from";

/// A subscriber as `bill` needs them: currency, VAT in hundredths of a percent, and the time
/// zone (an IANA name) whose calendar months they are billed by.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct BillableUser {
    pub id: i64,
    pub username: String,
    pub currency: String,
    pub vat_percent_bp: i64,
    pub time_zone: String,
    pub account_type: String,
    pub currency_decimals: i64,
}

/// A subscription that may fall in a billing period.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SubscriptionCharge {
    pub name: String,
    pub price_micros: i64,
    pub currency: String,
    pub period: String,
    pub active_from: i64,
}

impl Store {
    /// Everything the rater needs, read in one go.
    pub async fn rating_data(&self) -> sqlx::Result<RatingData> {
        let p = self.pool();
        let destinations = sqlx::query_as(
            "SELECT id, prefix, group_id, dir_code FROM destinations
             WHERE tariff_id IS NULL ORDER BY id",
        )
        .fetch_all(p)
        .await?;
        let tariff_destinations = sqlx::query_as(
            "SELECT tariff_id, id, prefix, group_id, dir_code FROM destinations
             WHERE tariff_id IS NOT NULL ORDER BY id",
        )
        .fetch_all(p)
        .await?;
        let rates: Vec<RateRow> =
            sqlx::query_as(&format!("SELECT {RATE_COLUMNS} FROM rates ORDER BY id"))
                .fetch_all(p)
                .await?;
        let tariffs = sqlx::query_as("SELECT id, currency FROM tariffs")
            .fetch_all(p)
            .await?;
        let users = sqlx::query_as("SELECT id, tariff_id, currency FROM users")
            .fetch_all(p)
            .await?;
        let exchange_rates =
            sqlx::query_as("SELECT currency, rate_micros, valid_from FROM exchange_rates")
                .fetch_all(p)
                .await?;
        let names: Vec<(String, String)> =
            sqlx::query_as("SELECT username, extension FROM devices")
                .fetch_all(p)
                .await?;
        let numbers: Vec<(String,)> =
            sqlx::query_as("SELECT number FROM dids WHERE state = 'active'")
                .fetch_all(p)
                .await?;
        let local_patterns: Vec<(String,)> =
            sqlx::query_as("SELECT pattern FROM local_patterns ORDER BY pattern")
                .fetch_all(p)
                .await?;
        let on_net = self.number_settings().await?;
        let on_net_currency = if on_net.on_net_currency.is_empty() {
            self.base_currency().await?.unwrap_or_default()
        } else {
            on_net.on_net_currency
        };
        Ok(RatingData {
            destinations,
            tariff_destinations,
            rates: rates
                .iter()
                .map(|r| {
                    (
                        r.tariff_id,
                        r.group_id,
                        r.rate_type.clone(),
                        r.terms(),
                        r.effective_from,
                    )
                })
                .collect(),
            tariffs,
            users,
            exchange_rates,
            device_names: names.into_iter().flat_map(|(u, e)| [u, e]).collect(),
            numbers: numbers
                .into_iter()
                .map(|(n,)| n.trim_start_matches('+').to_string())
                .collect(),
            on_net: (Money(on_net.on_net_rate_micros), on_net_currency),
            local_patterns: local_patterns.into_iter().map(|(p,)| p).collect(),
        })
    }

    pub async fn user_id_by_name(&self, username: &str) -> sqlx::Result<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.0))
    }

    /// (id, currency) of a tariff.
    pub async fn tariff_by_name(&self, name: &str) -> sqlx::Result<Option<(i64, String)>> {
        sqlx::query_as("SELECT id, currency FROM tariffs WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await
    }

    pub async fn set_user_tariff(&self, user_id: i64, tariff_id: i64) -> sqlx::Result<()> {
        sqlx::query("UPDATE users SET tariff_id = $1 WHERE id = $2")
            .bind(tariff_id)
            .bind(user_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// True when a device already uses `name` as its user name or extension.
    pub async fn device_name_taken(&self, name: &str) -> sqlx::Result<bool> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM devices WHERE username = $1 OR extension = $1")
                .bind(name)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.is_some())
    }

    pub async fn insert_device(&self, d: &super::seed::NewDevice<'_>) -> sqlx::Result<i64> {
        let mut conn = self.pool().acquire().await?;
        super::seed::insert_device(&mut conn, d).await
    }

    /// Users to bill, in id order.
    pub async fn billable_users(&self) -> sqlx::Result<Vec<BillableUser>> {
        sqlx::query_as(
            "SELECT u.id, u.username, u.currency, u.vat_percent_bp, u.time_zone, u.account_type,
                    c.decimals AS currency_decimals
             FROM users u JOIN currencies c ON c.code = u.currency ORDER BY u.id",
        )
        .fetch_all(self.pool())
        .await
    }
}

/// The currency, created when missing: the first currency of a database becomes its base
/// (rate 1). Returns true when it was created.
pub async fn ensure_currency(c: &mut AnyConnection, code: &str) -> sqlx::Result<bool> {
    let exists: Option<(String,)> = sqlx::query_as("SELECT code FROM currencies WHERE code = $1")
        .bind(code)
        .fetch_optional(&mut *c)
        .await?;
    if exists.is_some() {
        return Ok(false);
    }
    let (bases,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM currencies WHERE is_base = 1")
        .fetch_one(&mut *c)
        .await?;
    super::seed::insert_currency(c, code, code, 2, bases == 0).await?;
    if bases == 0 {
        super::seed::insert_exchange_rate(c, code, MICROS, 0).await?;
    }
    Ok(true)
}

/// True when the currency has an exchange rate (the base currency has one of 1).
pub async fn has_exchange_rate(c: &mut AnyConnection, code: &str) -> sqlx::Result<bool> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM exchange_rates WHERE currency = $1")
        .bind(code)
        .fetch_one(c)
        .await?;
    Ok(n > 0)
}

/// (id, currency) of the tariff, created in `currency` when missing.
pub async fn ensure_tariff(
    c: &mut AnyConnection,
    name: &str,
    currency: &str,
) -> sqlx::Result<(i64, String, bool)> {
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT id, currency FROM tariffs WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *c)
            .await?;
    match row {
        Some((id, cur)) => Ok((id, cur, false)),
        None => Ok((
            super::seed::insert_tariff(c, name, currency).await?,
            currency.to_string(),
            true,
        )),
    }
}

pub async fn groups_by_name(c: &mut AnyConnection) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query_as("SELECT name, id FROM destination_groups")
        .fetch_all(c)
        .await
}

/// The tariff's own destinations (those its decks gave it): (prefix, id, group id, details,
/// dir code). The shared destinations (of no tariff) are never changed by a deck.
pub async fn tariff_destinations(
    c: &mut AnyConnection,
    tariff_id: i64,
) -> sqlx::Result<Vec<(String, i64, i64, String, String)>> {
    sqlx::query_as(
        "SELECT prefix, id, group_id, details, dir_code FROM destinations WHERE tariff_id = $1",
    )
    .bind(tariff_id)
    .fetch_all(c)
    .await
}

/// A destination of the tariff's own.
pub async fn insert_tariff_destination(
    c: &mut AnyConnection,
    tariff_id: i64,
    group_id: i64,
    prefix: &str,
    details: &str,
    dir_code: &str,
) -> sqlx::Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO destinations (tariff_id, group_id, prefix, details, dir_code)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(tariff_id)
    .bind(group_id)
    .bind(prefix)
    .bind(details)
    .bind(dir_code)
    .fetch_one(c)
    .await?;
    Ok(id)
}

/// A new group's calling code (from the country of its first prefix).
pub async fn set_group_country_code(
    c: &mut AnyConnection,
    group_id: i64,
    calling_code: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE destination_groups SET country_code = $1 WHERE id = $2")
        .bind(calling_code)
        .bind(group_id)
        .execute(c)
        .await?;
    Ok(())
}

/// Gives the calling plan's service of a group and type its service type and risk (each only
/// when given).
pub async fn classify_plan_service(
    c: &mut AnyConnection,
    group_id: i64,
    dir_code: &str,
    service_type: Option<&str>,
    risk: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE plan_services SET service_type = COALESCE($1, service_type),
                risk = COALESCE($2, risk)
         WHERE group_id = $3 AND dir_code = $4",
    )
    .bind(service_type)
    .bind(risk)
    .bind(group_id)
    .bind(dir_code)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn update_destination(
    c: &mut AnyConnection,
    id: i64,
    group_id: i64,
    details: &str,
    dir_code: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE destinations SET group_id = $1, details = $2, dir_code = $3 WHERE id = $4")
        .bind(group_id)
        .bind(details)
        .bind(dir_code)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

/// The rates of one tariff.
pub async fn tariff_rates(c: &mut AnyConnection, tariff_id: i64) -> sqlx::Result<Vec<TariffRate>> {
    let rows: Vec<RateRow> = sqlx::query_as(&format!(
        "SELECT {RATE_COLUMNS} FROM rates WHERE tariff_id = $1"
    ))
    .bind(tariff_id)
    .fetch_all(c)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let terms = r.terms();
            (r.id, r.group_id, r.rate_type, r.effective_from, terms)
        })
        .collect())
}

pub async fn insert_rate(
    c: &mut AnyConnection,
    tariff_id: i64,
    group_id: i64,
    rate_type: &str,
    effective_from: i64,
    t: &RateTerms,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO rates (tariff_id, group_id, rate_type, price_micros, connection_fee_micros,
                            increment_s, min_time_s, effective_from)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tariff_id)
    .bind(group_id)
    .bind(rate_type)
    .bind(t.per_minute.micros())
    .bind(t.connection_fee.micros())
    .bind(t.increment_s)
    .bind(t.min_time_s)
    .bind(effective_from)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn update_rate(c: &mut AnyConnection, id: i64, t: &RateTerms) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE rates SET price_micros = $1, connection_fee_micros = $2, increment_s = $3,
                          min_time_s = $4
         WHERE id = $5",
    )
    .bind(t.per_minute.micros())
    .bind(t.connection_fee.micros())
    .bind(t.increment_s)
    .bind(t.min_time_s)
    .bind(id)
    .execute(c)
    .await?;
    Ok(())
}

/// Advances the invoice counter and returns the new value. Run it FIRST in the transaction that
/// writes the invoice: the row lock (PostgreSQL) or the write lock (SQLite) it takes holds other
/// `bill` runs until this transaction ends, and a rollback gives the number back.
pub async fn next_invoice_number(c: &mut AnyConnection) -> sqlx::Result<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "UPDATE counters SET value = value + 1 WHERE name = 'invoice' RETURNING value",
    )
    .fetch_one(c)
    .await?;
    Ok(n)
}

/// Sets the invoice counter (after invoices were written without it, as the demo does).
pub async fn set_invoice_counter(c: &mut AnyConnection, value: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE counters SET value = $1 WHERE name = 'invoice'")
        .bind(value)
        .execute(c)
        .await?;
    Ok(())
}

/// True when the user has an invoice for the month `[start, end]`: one whose middle falls in it.
/// The same month in another zone is at most 26 hours off and a month is four weeks long, so an
/// invoice of the month written under another zone (or as a UTC month, before invoices followed
/// the subscriber's zone) is found, and one of a neighbouring month never is.
pub async fn invoice_for_month(
    c: &mut AnyConnection,
    user_id: i64,
    start: i64,
    end: i64,
) -> sqlx::Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM invoices WHERE user_id = $1
           AND period_start + period_end >= $2 AND period_start + period_end <= $3",
    )
    .bind(user_id)
    .bind(2 * start)
    .bind(2 * end)
    .fetch_optional(c)
    .await?;
    Ok(row.is_some())
}

/// Of the user's invoices for the months around `[start, end]`: the end of the previous month's
/// (one ending within two days of `start`) and the start of the next month's (one starting
/// within two days of `end`). Months of one subscriber in different zones are at most 26 hours
/// apart, so nothing else comes this close.
pub async fn adjacent_invoices(
    c: &mut AnyConnection,
    user_id: i64,
    start: i64,
    end: i64,
) -> sqlx::Result<(Option<i64>, Option<i64>)> {
    const NEAR: i64 = 2 * 86_400;
    let (previous_end, next_start): (Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT MAX(CASE WHEN period_end >= $2 AND period_end <= $3 THEN period_end END),
                MIN(CASE WHEN period_start >= $4 AND period_start <= $5 THEN period_start END)
         FROM invoices WHERE user_id = $1",
    )
    .bind(user_id)
    .bind(start - NEAR)
    .bind(start + NEAR)
    .bind(end - NEAR)
    .bind(end + NEAR)
    .fetch_one(c)
    .await?;
    Ok((previous_end, next_start))
}

/// Priced outgoing calls of a user in `[start, end]` per destination name (`None`: no matched
/// destination, i.e. internal calls). Grouped by name, not by id: one name often has many
/// prefixes.
pub async fn calls_by_destination(
    c: &mut AnyConnection,
    user_id: i64,
    start: i64,
    end: i64,
) -> sqlx::Result<Vec<DestinationCalls>> {
    let rows: Vec<(Option<String>, i64, i64, i64)> = sqlx::query_as(
        "SELECT d.details, COUNT(*), CAST(COALESCE(SUM(c.billsec), 0) AS BIGINT),
                CAST(COALESCE(SUM(c.price_micros), 0) AS BIGINT)
         FROM calls c LEFT JOIN destinations d ON d.id = c.destination_id
         WHERE c.user_id = $1 AND c.started_at >= $2 AND c.started_at <= $3
           AND c.direction = 'out' AND c.price_micros IS NOT NULL
         GROUP BY d.details",
    )
    .bind(user_id)
    .bind(start)
    .bind(end)
    .fetch_all(c)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, calls, seconds, amount_micros)| DestinationCalls {
            name,
            calls,
            seconds,
            amount_micros,
        })
        .collect())
}

/// Subscriptions of a user active at some time in `[start, end]`.
pub async fn subscription_charges(
    c: &mut AnyConnection,
    user_id: i64,
    start: i64,
    end: i64,
) -> sqlx::Result<Vec<SubscriptionCharge>> {
    sqlx::query_as(
        "SELECT s.name, s.price_micros, s.currency, s.period, sub.active_from
         FROM subscriptions sub JOIN services s ON s.id = sub.service_id
         WHERE sub.user_id = $1 AND sub.active_from <= $3
           AND (sub.active_until IS NULL OR sub.active_until >= $2)
         ORDER BY sub.active_from, sub.id",
    )
    .bind(user_id)
    .bind(start)
    .bind(end)
    .fetch_all(c)
    .await
}

/// The exchange rate of a currency in force at `at` (the oldest known before every rate).
pub async fn exchange_rate_at(
    c: &mut AnyConnection,
    code: &str,
    at: i64,
) -> sqlx::Result<Option<i64>> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT rate_micros FROM exchange_rates WHERE currency = $1
         ORDER BY CASE WHEN valid_from <= $2 THEN 0 ELSE 1 END,
                  CASE WHEN valid_from <= $2 THEN -valid_from ELSE valid_from END
         LIMIT 1",
    )
    .bind(code)
    .bind(at)
    .fetch_optional(c)
    .await?;
    Ok(row.map(|r| r.0))
}

impl Store {
    /// (code, is base, newest rate, its first day) of every currency.
    pub async fn currencies_with_rates(
        &self,
    ) -> sqlx::Result<Vec<(String, i64, Option<i64>, Option<i64>)>> {
        sqlx::query_as(
            "SELECT c.code, c.is_base, r.rate_micros, r.valid_from FROM currencies c
             LEFT JOIN exchange_rates r ON r.id = (SELECT id FROM exchange_rates
                 WHERE currency = c.code ORDER BY valid_from DESC LIMIT 1)
             ORDER BY c.is_base DESC, c.code",
        )
        .fetch_all(self.pool())
        .await
    }

    /// Sets `code`'s rate from `valid_from` on (replacing one of the same day), creating the
    /// currency when it is new; true when it was.
    pub async fn set_exchange_rate(
        &self,
        code: &str,
        rate_micros: i64,
        valid_from: i64,
    ) -> sqlx::Result<bool> {
        let mut tx = self.begin_write().await?;
        let created = ensure_currency(&mut tx, code).await?;
        sqlx::query(
            "INSERT INTO exchange_rates (currency, rate_micros, valid_from) VALUES ($1, $2, $3)
             ON CONFLICT (currency, valid_from) DO UPDATE SET rate_micros = excluded.rate_micros",
        )
        .bind(code)
        .bind(rate_micros)
        .bind(valid_from)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(created)
    }
}
