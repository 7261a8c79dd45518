//! Inserts used to fill a database: the demo data and (later) the operator's imports.
//! Each function takes a connection so the caller decides the transaction.

use sqlx::AnyConnection;

use super::users::NewUser;

pub async fn insert_user(c: &mut AnyConnection, u: &NewUser<'_>) -> sqlx::Result<i64> {
    let q = sqlx::query_as(
        "INSERT INTO users (username, password_hash, first_name, last_name, language, currency,
                            time_zone, account_type, balance_micros, credit_limit_micros, tariff_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(u.username)
    .bind(u.password_hash)
    .bind(u.first_name)
    .bind(u.last_name)
    .bind(u.language)
    .bind(u.currency)
    .bind(u.time_zone)
    .bind(u.account_type)
    .bind(u.balance_micros)
    .bind(u.credit_limit_micros)
    .bind(u.tariff_id)
    .bind(u.created_at);
    let id = returning_id(q, &mut *c).await?;
    // Every subscriber has a main account, which new subscriptions join (see store::accounts).
    sqlx::query("INSERT INTO accounts (user_id, name, created_at) VALUES ($1, '', $2)")
        .bind(id)
        .bind(u.created_at)
        .execute(&mut *c)
        .await?;
    // The ledger starts with the balance the account is created with (see store::ledger).
    sqlx::query(
        "INSERT INTO ledger (user_id, entry_key, kind, amount_micros, balance_after_micros, note, created_at)
         VALUES ($1, $2, 'opening', $3, $3, 'Opening balance', $4)",
    )
    .bind(id)
    .bind(format!("opening:{id}"))
    .bind(u.balance_micros)
    .bind(u.created_at)
    .execute(c)
    .await?;
    Ok(id)
}

pub async fn insert_currency(
    c: &mut AnyConnection,
    code: &str,
    name: &str,
    decimals: i64,
    is_base: bool,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO currencies (code, name, decimals, is_base) VALUES ($1, $2, $3, $4)")
        .bind(code)
        .bind(name)
        .bind(decimals)
        .bind(is_base as i64)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn insert_exchange_rate(
    c: &mut AnyConnection,
    code: &str,
    rate_micros: i64,
    valid_from: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO exchange_rates (currency, rate_micros, valid_from) VALUES ($1, $2, $3)",
    )
    .bind(code)
    .bind(rate_micros)
    .bind(valid_from)
    .execute(c)
    .await?;
    Ok(())
}

async fn returning_id<'q>(
    q: sqlx::query::QueryAs<'q, sqlx::Any, (i64,), sqlx::any::AnyArguments<'q>>,
    c: &mut AnyConnection,
) -> sqlx::Result<i64> {
    Ok(q.fetch_one(c).await?.0)
}

pub async fn insert_tariff(c: &mut AnyConnection, name: &str, currency: &str) -> sqlx::Result<i64> {
    let q = sqlx::query_as("INSERT INTO tariffs (name, currency) VALUES ($1, $2) RETURNING id")
        .bind(name)
        .bind(currency);
    returning_id(q, c).await
}

pub async fn insert_destination_group(
    c: &mut AnyConnection,
    name: &str,
    flag: &str,
) -> sqlx::Result<i64> {
    let q =
        sqlx::query_as("INSERT INTO destination_groups (name, flag) VALUES ($1, $2) RETURNING id")
            .bind(name)
            .bind(flag);
    returning_id(q, c).await
}

pub async fn insert_destination(
    c: &mut AnyConnection,
    group_id: i64,
    prefix: &str,
    details: &str,
    dir_code: &str,
) -> sqlx::Result<i64> {
    let q = sqlx::query_as(
        "INSERT INTO destinations (group_id, prefix, details, dir_code) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(group_id)
    .bind(prefix)
    .bind(details)
    .bind(dir_code);
    returning_id(q, c).await
}

pub struct NewRate<'a> {
    pub tariff_id: i64,
    pub group_id: i64,
    pub rate_type: &'a str,
    pub price_micros: i64,
    pub connection_fee_micros: i64,
    pub increment_s: i64,
    pub min_time_s: i64,
}

pub async fn insert_rate(c: &mut AnyConnection, r: &NewRate<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO rates (tariff_id, group_id, rate_type, price_micros, connection_fee_micros, increment_s, min_time_s)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(r.tariff_id)
    .bind(r.group_id)
    .bind(r.rate_type)
    .bind(r.price_micros)
    .bind(r.connection_fee_micros)
    .bind(r.increment_s)
    .bind(r.min_time_s)
    .execute(c)
    .await?;
    Ok(())
}

pub struct NewDevice<'a> {
    pub user_id: i64,
    pub device_type: &'a str,
    pub description: &'a str,
    pub extension: &'a str,
    pub username: &'a str,
    pub secret: &'a str,
    pub caller_id: &'a str,
    pub last_registered_at: Option<i64>,
    pub created_at: i64,
}

pub async fn insert_device(c: &mut AnyConnection, d: &NewDevice<'_>) -> sqlx::Result<i64> {
    let q = sqlx::query_as(
        "INSERT INTO devices (user_id, device_type, description, extension, username, secret, caller_id,
                              last_registered_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(d.user_id)
    .bind(d.device_type)
    .bind(d.description)
    .bind(d.extension)
    .bind(d.username)
    .bind(d.secret)
    .bind(d.caller_id)
    .bind(d.last_registered_at)
    .bind(d.created_at);
    returning_id(q, c).await
}

pub async fn insert_cli(
    c: &mut AnyConnection,
    device_id: i64,
    cli: &str,
    description: &str,
    added_at: i64,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO clis (device_id, cli, description, added_at) VALUES ($1, $2, $3, $4)")
        .bind(device_id)
        .bind(cli)
        .bind(description)
        .bind(added_at)
        .execute(c)
        .await?;
    Ok(())
}

/// Fills in the user's personal and registration details (the personal-details page's fields).
pub struct Details<'a> {
    pub personal_id: &'a str,
    pub alias: &'a str,
    pub agreement_number: &'a str,
    pub agreement_date: &'a str,
    pub taxation_country: &'a str,
    pub vat_reg_number: &'a str,
    pub vat_percent_bp: i64,
    pub reg_address: &'a str,
    pub reg_postcode: &'a str,
    pub reg_city: &'a str,
    pub reg_country: &'a str,
    pub reg_direction: &'a str,
    pub reg_phone: &'a str,
    pub reg_mobile: &'a str,
    pub reg_email: &'a str,
    pub daily_call_target: i64,
}

pub async fn update_details(
    c: &mut AnyConnection,
    user_id: i64,
    d: &Details<'_>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users SET personal_id = $1, alias = $2, agreement_number = $3, agreement_date = $4,
            taxation_country = $5, vat_reg_number = $6, vat_percent_bp = $7, reg_address = $8,
            reg_postcode = $9, reg_city = $10, reg_country = $11, reg_direction = $12, reg_phone = $13,
            reg_mobile = $14, reg_email = $15, daily_call_target = $16
         WHERE id = $17",
    )
    .bind(d.personal_id)
    .bind(d.alias)
    .bind(d.agreement_number)
    .bind(d.agreement_date)
    .bind(d.taxation_country)
    .bind(d.vat_reg_number)
    .bind(d.vat_percent_bp)
    .bind(d.reg_address)
    .bind(d.reg_postcode)
    .bind(d.reg_city)
    .bind(d.reg_country)
    .bind(d.reg_direction)
    .bind(d.reg_phone)
    .bind(d.reg_mobile)
    .bind(d.reg_email)
    .bind(d.daily_call_target)
    .bind(user_id)
    .execute(c)
    .await?;
    Ok(())
}

pub struct NewPayment<'a> {
    pub user_id: i64,
    pub paid_at: i64,
    pub confirmed_at: Option<i64>,
    pub payment_type: &'a str,
    pub amount_micros: i64,
    pub vat_percent_bp: i64,
    pub amount_vat_micros: i64,
    pub currency: &'a str,
    pub completed: bool,
    /// `topup`, `invoice`, … (see the wallet's payments).
    pub purpose: &'a str,
    /// The invoice it pays.
    pub invoice_id: Option<i64>,
}

/// A payment; its id.
pub async fn insert_payment(c: &mut AnyConnection, p: &NewPayment<'_>) -> sqlx::Result<i64> {
    let q = sqlx::query_as(
        "INSERT INTO payments (user_id, paid_at, confirmed_at, payment_type, amount_micros, vat_percent_bp,
                               amount_vat_micros, currency, completed, state, purpose, invoice_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $9 = 1 THEN 'completed' ELSE 'pending' END,
                 $10, $11)
         RETURNING id",
    )
    .bind(p.user_id)
    .bind(p.paid_at)
    .bind(p.confirmed_at)
    .bind(p.payment_type)
    .bind(p.amount_micros)
    .bind(p.vat_percent_bp)
    .bind(p.amount_vat_micros)
    .bind(p.currency)
    .bind(p.completed as i64)
    .bind(p.purpose)
    .bind(p.invoice_id);
    returning_id(q, c).await
}

/// A ledger row written as it was at `created_at` (the demo's history); the caller keeps the
/// balances consistent and sets the user's balance to the last one (`set_balance`).
pub struct NewLedgerEntry<'a> {
    pub user_id: i64,
    pub key: &'a str,
    pub kind: &'a str,
    pub amount_micros: i64,
    pub balance_after_micros: i64,
    pub reference: &'a str,
    pub note: &'a str,
    pub created_at: i64,
}

pub async fn insert_ledger_entry(
    c: &mut AnyConnection,
    e: &NewLedgerEntry<'_>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO ledger (user_id, entry_key, kind, amount_micros, balance_after_micros,
                             reference, note, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(e.user_id)
    .bind(e.key)
    .bind(e.kind)
    .bind(e.amount_micros)
    .bind(e.balance_after_micros)
    .bind(e.reference)
    .bind(e.note)
    .bind(e.created_at)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn set_balance(c: &mut AnyConnection, user_id: i64, micros: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET balance_micros = $1 WHERE id = $2")
        .bind(micros)
        .bind(user_id)
        .execute(c)
        .await?;
    Ok(())
}

pub struct NewInvoice<'a> {
    pub user_id: i64,
    pub number: &'a str,
    pub period_start: i64,
    pub period_end: i64,
    pub issued_at: i64,
    pub due_at: i64,
    pub paid_at: Option<i64>,
    pub currency: &'a str,
    pub vat_percent_bp: i64,
    /// (kind, description, quantity, seconds, amount)
    pub lines: Vec<(&'a str, String, i64, i64, i64)>,
    pub price_micros: i64,
    pub price_vat_micros: i64,
}

pub async fn insert_invoice(c: &mut AnyConnection, inv: &NewInvoice<'_>) -> sqlx::Result<i64> {
    let q = sqlx::query_as(
        "INSERT INTO invoices (user_id, number, period_start, period_end, issued_at, paid_at, currency,
                               price_micros, vat_percent_bp, price_vat_micros, due_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(inv.user_id)
    .bind(inv.number)
    .bind(inv.period_start)
    .bind(inv.period_end)
    .bind(inv.issued_at)
    .bind(inv.paid_at)
    .bind(inv.currency)
    .bind(inv.price_micros)
    .bind(inv.vat_percent_bp)
    .bind(inv.price_vat_micros)
    .bind(inv.due_at);
    let id = returning_id(q, &mut *c).await?;
    for (pos, (kind, desc, qty, secs, amount)) in inv.lines.iter().enumerate() {
        sqlx::query(
            "INSERT INTO invoice_lines (invoice_id, position, kind, description, quantity, seconds, amount_micros)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(pos as i64 + 1)
        .bind(*kind)
        .bind(desc.as_str())
        .bind(*qty)
        .bind(*secs)
        .bind(*amount)
        .execute(&mut *c)
        .await?;
    }
    Ok(id)
}

pub async fn insert_service(
    c: &mut AnyConnection,
    name: &str,
    price_micros: i64,
    currency: &str,
    period: &str,
) -> sqlx::Result<i64> {
    let q = sqlx::query_as(
        "INSERT INTO services (name, price_micros, currency, period) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(name)
    .bind(price_micros)
    .bind(currency)
    .bind(period);
    returning_id(q, c).await
}

pub async fn insert_subscription(
    c: &mut AnyConnection,
    user_id: i64,
    service_id: i64,
    added_at: i64,
    active_from: i64,
    active_until: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO subscriptions (user_id, service_id, added_at, active_from, active_until, account_id)
         VALUES ($1, $2, $3, $4, $5, (SELECT id FROM accounts WHERE user_id = $1 AND name = ''))",
    )
    .bind(user_id)
    .bind(service_id)
    .bind(added_at)
    .bind(active_from)
    .bind(active_until)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn insert_phonebook_entry(
    c: &mut AnyConnection,
    user_id: i64,
    number: &str,
    name: &str,
    added_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO phonebook_entries (user_id, number, name, name_key, added_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(user_id)
    .bind(number)
    .bind(name)
    .bind(super::phonebook::search_key(name))
    .bind(added_at)
    .execute(c)
    .await?;
    Ok(())
}

pub struct NewFax<'a> {
    pub user_id: i64,
    pub device_id: i64,
    pub received_at: i64,
    pub sender: &'a str,
    pub status: &'a str,
    pub file_name: &'a str,
    pub file_path: &'a str,
    pub pages: i64,
}

pub async fn insert_fax(c: &mut AnyConnection, f: &NewFax<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO faxes (user_id, device_id, received_at, sender, status, file_name, file_path, pages)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(f.user_id)
    .bind(f.device_id)
    .bind(f.received_at)
    .bind(f.sender)
    .bind(f.status)
    .bind(f.file_name)
    .bind(f.file_path)
    .bind(f.pages)
    .execute(c)
    .await?;
    Ok(())
}

/// One call record as the bulk loader writes it.
#[derive(Clone, Debug)]
pub struct NewCall {
    pub user_id: i64,
    pub device_id: Option<i64>,
    pub started_at: i64,
    pub src: String,
    pub dst: String,
    pub destination_id: Option<i64>,
    pub direction: &'static str,
    pub disposition: &'static str,
    pub duration_s: i64,
    pub billsec: i64,
    pub price_micros: Option<i64>,
    pub unique_id: Option<String>,
    pub processed: bool,
    pub seen: bool,
}

const CALL_COLUMNS: usize = 14;

/// Rows per INSERT statement: under SQLite's 32,766 and PostgreSQL's 65,535 bound values.
pub const CALL_BATCH: usize = 2000;

/// Inserts up to `CALL_BATCH` calls in one multi-row statement.
pub async fn insert_calls(c: &mut AnyConnection, calls: &[NewCall]) -> sqlx::Result<()> {
    if calls.is_empty() {
        return Ok(());
    }
    let sqlite = super::cdrs::is_sqlite(c);
    let mut sql = String::with_capacity(64 + calls.len() * CALL_COLUMNS * 7);
    sql.push_str(
        "INSERT INTO calls (user_id, device_id, started_at, src, dst, destination_id, direction, disposition,
                            duration_s, billsec, price_micros, unique_id, processed, seen) VALUES ",
    );
    for i in 0..calls.len() {
        sql.push_str(if i == 0 { "(" } else { ",(" });
        for j in 0..CALL_COLUMNS {
            if j > 0 {
                sql.push(',');
            }
            super::cdrs::placeholder(&mut sql, sqlite, i * CALL_COLUMNS + j + 1);
        }
        sql.push(')');
    }
    let mut q = sqlx::query(&sql);
    for call in calls {
        q = q
            .bind(call.user_id)
            .bind(call.device_id)
            .bind(call.started_at)
            .bind(call.src.as_str())
            .bind(call.dst.as_str())
            .bind(call.destination_id)
            .bind(call.direction)
            .bind(call.disposition)
            .bind(call.duration_s)
            .bind(call.billsec)
            .bind(call.price_micros)
            .bind(call.unique_id.as_deref())
            .bind(call.processed as i64)
            .bind(call.seen as i64);
    }
    q.execute(c).await?;
    Ok(())
}

/// Writes calls through PostgreSQL's COPY, many times faster than INSERT for bulk loads.
/// The caller owns the transaction (`BEGIN`/`COMMIT` on the same connection).
pub async fn copy_calls(conn: &mut sqlx::PgConnection, calls: &[NewCall]) -> sqlx::Result<()> {
    use std::fmt::Write;
    // CSV without quotes: every text column here is digits or a fixed word; an empty field is NULL.
    let mut data = String::with_capacity(calls.len() * 96);
    for c in calls {
        let opt = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
        let _ = writeln!(
            data,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            c.user_id,
            opt(c.device_id),
            c.started_at,
            c.src,
            c.dst,
            opt(c.destination_id),
            c.direction,
            c.disposition,
            c.duration_s,
            c.billsec,
            opt(c.price_micros),
            c.unique_id.as_deref().unwrap_or(""),
            c.processed as i64,
            c.seen as i64
        );
    }
    let mut copy = conn
        .copy_in_raw(
            "COPY calls (user_id, device_id, started_at, src, dst, destination_id, direction, disposition,
                         duration_s, billsec, price_micros, unique_id, processed, seen) FROM STDIN WITH (FORMAT csv)",
        )
        .await?;
    copy.send(data.into_bytes()).await?;
    copy.finish().await?;
    Ok(())
}
