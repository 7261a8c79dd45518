//! The PBX's question before it connects a call: may `account` call `dst`, and for how long?
//! The facts come from the database in a few indexed lookups on one connection (the device,
//! the subscriber and their controls, the destination by longest prefix, its service in the
//! calling plan, the rate in force, this month's spend from the hourly roll-up); the answer is
//! [`super::decision`]'s.

use serde::Serialize;
use sqlx::AnyConnection;

use super::decision::{self, Destination, Funds, Reason, Subscriber, MAX_CALL_S};
use crate::billing::number::Dialing;
use crate::billing::{price, RateTerms};
use crate::money::Money;
use crate::store::controls::{self as rows, default_enabled};
use crate::store::Store;

/// The statements a question runs (`benches/authorize.rs` times them directly too).
pub const CALLER: &str = "SELECT u.id AS user_id, u.blocked, u.account_type, u.balance_micros,
                u.credit_limit_micros, u.currency, cur.decimals, u.time_zone, u.tariff_id,
                u.reg_country
         FROM devices d JOIN users u ON u.id = d.user_id
         JOIN currencies cur ON cur.code = u.currency
         WHERE d.username = $1 ORDER BY d.id LIMIT 1";
pub const IS_DEVICE: &str = "SELECT id FROM devices WHERE username = $1 OR extension = $1 LIMIT 1";
pub const SERVICE: &str = "SELECT s.service_type, s.risk, u.enabled FROM plan_services s
         LEFT JOIN user_plan_services u ON u.service_id = s.id AND u.user_id = $1
         WHERE s.group_id = $2 AND s.dir_code = $3";
pub const RATE: &str =
    "SELECT r.price_micros, r.connection_fee_micros, r.increment_s, r.min_time_s, t.currency
         FROM rates r JOIN tariffs t ON t.id = r.tariff_id
         WHERE r.tariff_id = $1 AND r.group_id = $2 AND r.rate_type = $3 AND r.effective_from <= $4
         ORDER BY r.effective_from DESC LIMIT 1";
pub const FX: &str =
    "SELECT rate_micros FROM exchange_rates WHERE currency = $1 AND valid_from <= $2
         ORDER BY valid_from DESC LIMIT 1";

/// What the PBX is told.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Answer {
    pub allow: bool,
    /// Why not (empty when allowed).
    pub reason: &'static str,
    /// The matched destination's name and prefix (empty when none matched).
    pub destination: String,
    pub prefix: String,
    /// The longest the call may last, in seconds (0 when refused).
    pub max_duration: i64,
    /// The price per minute at that destination, in the account's currency (empty when none).
    pub rate: String,
    pub currency: String,
}

impl Answer {
    pub fn denied(reason: Reason) -> Answer {
        Answer {
            allow: false,
            reason: reason.code(),
            destination: String::new(),
            prefix: String::new(),
            max_duration: 0,
            rate: String::new(),
            currency: String::new(),
        }
    }

    /// Allowed, with no bound from money (an incoming call).
    pub fn allowed_without_limit() -> Answer {
        Answer {
            allow: true,
            reason: "",
            max_duration: MAX_CALL_S,
            ..Answer::denied(Reason::Blocked)
        }
    }

    /// `key=value&…`, percent-encoded: what Asterisk's `CURLOPT(hashcompat)` reads into a HASH.
    pub fn query(&self) -> String {
        let allow = if self.allow { "1" } else { "0" };
        let duration = self.max_duration.to_string();
        serde_urlencoded::to_string([
            ("allow", allow),
            ("reason", self.reason),
            ("max_duration", &duration),
            ("destination", &self.destination),
            ("prefix", &self.prefix),
            ("rate", &self.rate),
            ("currency", &self.currency),
        ])
        .unwrap_or_default()
    }

    /// `key=value` lines, for Asterisk's `CURL()` and FreeSWITCH's `curl`.
    pub fn lines(&self) -> String {
        format!(
            "allow={}\nreason={}\nmax_duration={}\ndestination={}\nprefix={}\nrate={}\ncurrency={}\n",
            self.allow as u8,
            self.reason,
            self.max_duration,
            self.destination.replace(['\n', '\r', '&', '='], " "),
            self.prefix,
            self.rate,
            self.currency
        )
    }
}

#[derive(sqlx::FromRow)]
struct Caller {
    user_id: i64,
    blocked: i64,
    account_type: String,
    balance_micros: i64,
    credit_limit_micros: Option<i64>,
    currency: String,
    decimals: i64,
    time_zone: String,
    tariff_id: Option<i64>,
    reg_country: String,
}

#[derive(sqlx::FromRow)]
struct Matched {
    group_id: i64,
    dir_code: String,
    prefix: String,
    details: String,
    flag: String,
    group_name: String,
    country_risk: i64,
}

/// Answers the question for a call from the device named `account` to `dst` at `now`.
pub async fn authorize(
    store: &Store,
    dialing: &Dialing,
    account: &str,
    dst: &str,
    now: i64,
) -> sqlx::Result<Answer> {
    let mut c = store.pool().acquire().await?;
    let c = &mut *c;
    let Some(caller) = caller(c, account).await? else {
        return Ok(Answer::denied(Reason::UnknownAccount));
    };
    let controls = rows::user_controls(c, caller.user_id).await?;
    let who = Subscriber {
        blocked: caller.blocked != 0 || controls.lost_phone_at.is_some(),
        barrings: controls.barrings,
    };
    if who.blocked {
        return Ok(Answer::denied(Reason::Blocked));
    }
    if who.barrings.outgoing {
        return Ok(Answer::denied(Reason::BarredOutgoing));
    }
    if is_device(c, dst.trim()).await? {
        // A call to one of the operator's own devices stays on the network and costs nothing.
        return Ok(Answer {
            allow: true,
            reason: "",
            destination: "internal".into(),
            prefix: String::new(),
            max_duration: MAX_CALL_S,
            rate: super::rate_text(Money::default(), caller.decimals as u32),
            currency: caller.currency,
        });
    }
    let Some(number) = dialing.normalise(dst).filter(|n| n.len() <= 20) else {
        return Ok(Answer::denied(Reason::BadNumber));
    };
    let Some(m) = longest_prefix(c, &number).await? else {
        return Ok(Answer::denied(Reason::UnknownDestination));
    };
    let settings = rows::control_settings(c).await?;
    let (service_type, service_risk, chosen) = service(c, caller.user_id, &m).await?;
    let risk = service_risk.max(m.country_risk);
    let is = |iso: &str| !m.flag.is_empty() && m.flag.eq_ignore_ascii_case(iso);
    let to = Destination {
        national: settings.national_country.is_empty() || is(&settings.national_country),
        home: is(&caller.reg_country) || m.group_name.eq_ignore_ascii_case(&caller.reg_country),
        premium: service_type == "premium",
        risk,
        enabled: chosen.unwrap_or_else(|| default_enabled(&service_type, risk)),
        risk_ceiling: settings.risk_ceiling,
    };
    let named = |mut a: Answer| {
        a.destination = m.details.clone();
        a.prefix = m.prefix.clone();
        a
    };
    if let Err(reason) = decision::policy(&who, &to) {
        return Ok(named(Answer::denied(reason)));
    }
    let Some(tariff) = caller.tariff_id else {
        return Ok(named(Answer::denied(Reason::NoRate)));
    };
    let Some((terms, tariff_currency)) = rate(c, tariff, &m, now).await? else {
        return Ok(named(Answer::denied(Reason::NoRate)));
    };
    // The price in the account's currency, converted at the rates in force now.
    let fx = if tariff_currency == caller.currency {
        None
    } else {
        match (
            fx_rate(c, &tariff_currency, now).await?,
            fx_rate(c, &caller.currency, now).await?,
        ) {
            (Some(from), Some(to)) => Some((from, to)),
            _ => return Ok(named(Answer::denied(Reason::NoRate))),
        }
    };
    let cost = |s: i64| {
        let p = price(&terms, s);
        fx.map_or(p, |(from, to)| p.convert_between(from, to))
    };
    let funds = Funds {
        available: match (caller.account_type.as_str(), caller.credit_limit_micros) {
            ("postpaid", None) => None,
            (_, credit) => Some(Money(caller.balance_micros + credit.unwrap_or(0))),
        },
        limit_left: match controls.spending_limit_micros {
            Some(limit) => {
                let tz = crate::time::zone(&caller.time_zone);
                let (_, month_start) = crate::time::day_and_month_start(now, tz);
                let spent = rows::spend_since(c, caller.user_id, month_start).await?;
                Some(Money(limit - spent))
            }
            None => None,
        },
    };
    let per_minute = fx.map_or(terms.per_minute, |(from, to)| {
        terms.per_minute.convert_between(from, to)
    });
    Ok(named(match decision::outgoing(&who, &to, funds, cost) {
        Ok(seconds) => Answer {
            allow: true,
            reason: "",
            destination: String::new(),
            prefix: String::new(),
            max_duration: seconds,
            rate: super::rate_text(per_minute, caller.decimals as u32),
            currency: caller.currency,
        },
        Err(reason) => Answer::denied(reason),
    }))
}

async fn caller(c: &mut AnyConnection, account: &str) -> sqlx::Result<Option<Caller>> {
    sqlx::query_as(CALLER).bind(account).fetch_optional(c).await
}

async fn is_device(c: &mut AnyConnection, number: &str) -> sqlx::Result<bool> {
    if number.is_empty() {
        return Ok(false);
    }
    let found: Option<(i64,)> = sqlx::query_as(IS_DEVICE)
        .bind(number)
        .fetch_optional(c)
        .await?;
    Ok(found.is_some())
}

/// The destination with the longest prefix of `number` (digits, at most 20): one indexed
/// lookup of the number's prefixes.
async fn longest_prefix(c: &mut AnyConnection, number: &str) -> sqlx::Result<Option<Matched>> {
    let prefixes: Vec<&str> = (1..=number.len()).map(|n| &number[..n]).collect();
    let sql = longest_prefix_sql(prefixes.len());
    let mut q = sqlx::query_as(&sql);
    for p in prefixes {
        q = q.bind(p);
    }
    q.fetch_optional(c).await
}

/// The longest-prefix lookup for a number of `n` digits: its `n` prefixes as `$1`…`$n`.
pub fn longest_prefix_sql(n: usize) -> String {
    let placeholders: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
    format!(
        "SELECT d.group_id, d.dir_code, d.prefix, d.details, g.flag, g.name AS group_name,
                g.risk AS country_risk
         FROM destinations d JOIN destination_groups g ON g.id = d.group_id
         WHERE d.prefix IN ({}) ORDER BY LENGTH(d.prefix) DESC LIMIT 1",
        placeholders.join(", ")
    )
}

/// The service's type and risk, and the subscriber's choice for it (`None`: never changed).
async fn service(
    c: &mut AnyConnection,
    user_id: i64,
    m: &Matched,
) -> sqlx::Result<(String, i64, Option<bool>)> {
    let row: Option<(String, i64, Option<i64>)> = sqlx::query_as(SERVICE)
        .bind(user_id)
        .bind(m.group_id)
        .bind(&m.dir_code)
        .fetch_optional(c)
        .await?;
    Ok(match row {
        Some((t, risk, chosen)) => (t, risk, chosen.map(|e| e != 0)),
        // A destination added after the plan was last brought up to date: standard, low risk.
        None => ("standard".into(), 1, None),
    })
}

async fn rate(
    c: &mut AnyConnection,
    tariff: i64,
    m: &Matched,
    now: i64,
) -> sqlx::Result<Option<(RateTerms, String)>> {
    let row: Option<(i64, i64, i64, i64, String)> = sqlx::query_as(RATE)
        .bind(tariff)
        .bind(m.group_id)
        .bind(&m.dir_code)
        .bind(now)
        .fetch_optional(c)
        .await?;
    Ok(
        row.map(|(per_minute, fee, increment_s, min_time_s, currency)| {
            (
                RateTerms {
                    per_minute: Money(per_minute),
                    connection_fee: Money(fee),
                    increment_s,
                    min_time_s,
                },
                currency,
            )
        }),
    )
}

async fn fx_rate(c: &mut AnyConnection, currency: &str, now: i64) -> sqlx::Result<Option<i64>> {
    let row: Option<(i64,)> = sqlx::query_as(FX)
        .bind(currency)
        .bind(now)
        .fetch_optional(c)
        .await?;
    Ok(row.map(|(r,)| r))
}
