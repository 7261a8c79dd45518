//! The PBX's question before it connects a call: may `account` call `dst`, and for how long?
//! The facts come from the database in two statements of indexed lookups on one connection —
//! the caller with their controls and the operator's settings ([`CALLER`]); the destination by
//! longest prefix with its country, its service in the calling plan, the subscriber's choice
//! and the rate in force ([`destination_sql`]) — and a third for this month's spend (from the
//! hourly roll-up) when there is a limit; the answer is [`super::decision`]'s.

use serde::Serialize;
use sqlx::AnyConnection;

use super::decision::{self, Barrings, Destination, Funds, Reason, Subscriber, MAX_CALL_S};
use crate::billing::number::Dialing;
use crate::billing::{price, RateTerms};
use crate::money::Money;
use crate::store::controls::{self as rows, default_enabled};
use crate::store::Store;

/// The caller, their controls, the operator's settings, and whether the number dialled stays
/// on the network (one of the operator's devices, or a subscriber's number), in one
/// statement: `$1` the account, `$2` the number as dialled, `$3` it in E.164 (`+…`).
const CALLER: &str = "SELECT u.id AS user_id, u.blocked, u.account_type, u.balance_micros,
        u.credit_limit_micros, u.currency, cur.decimals, u.time_zone, u.tariff_id, u.reg_country,
        uc.spending_limit_micros, COALESCE(uc.bar_outgoing, 0) AS bar_outgoing,
        COALESCE(uc.bar_international, 0) AS bar_international,
        COALESCE(uc.bar_international_except_home, 0) AS bar_international_except_home,
        COALESCE(uc.bar_premium, 0) AS bar_premium, uc.lost_phone_at,
        s.national_country, s.risk_ceiling,
        CASE WHEN EXISTS (SELECT 1 FROM devices x WHERE x.username = $2)
               OR EXISTS (SELECT 1 FROM devices x WHERE x.extension = $2)
               OR EXISTS (SELECT 1 FROM dids x WHERE x.number = $3 AND x.state = 'active')
             THEN 1 ELSE 0 END AS internal,
        ns.on_net_rate_micros, ns.on_net_currency
    FROM devices d JOIN users u ON u.id = d.user_id
    JOIN currencies cur ON cur.code = u.currency
    LEFT JOIN user_controls uc ON uc.user_id = u.id
    CROSS JOIN control_settings s
    CROSS JOIN number_settings ns
    WHERE d.username = $1 ORDER BY d.id LIMIT 1";

/// The destination with the longest prefix of the number (of the tariff's own prefixes when one
/// matches, else of the shared ones, as the rater does), with its country, its service in
/// the calling plan, the subscriber's choice for it, and the rate of their tariff in force,
/// in one statement: `$1` the user, `$2` the tariff, `$3` now, `$4`… the number's prefixes.
fn destination_sql(prefixes: usize) -> String {
    let placeholders: Vec<String> = (4..4 + prefixes).map(|i| format!("${i}")).collect();
    format!(
        "SELECT d.prefix, d.details, g.flag, g.name AS group_name,
                g.risk AS country_risk,
                COALESCE(ps.service_type, 'standard') AS service_type,
                COALESCE(ps.risk, 1) AS service_risk, ups.enabled AS chosen,
                r.price_micros, r.connection_fee_micros, r.increment_s, r.min_time_s,
                t.currency AS tariff_currency
         FROM destinations d JOIN destination_groups g ON g.id = d.group_id
         LEFT JOIN plan_services ps ON ps.group_id = d.group_id AND ps.dir_code = d.dir_code
         LEFT JOIN user_plan_services ups ON ups.service_id = ps.id AND ups.user_id = $1
         LEFT JOIN rates r ON r.id = (SELECT r2.id FROM rates r2
                WHERE r2.tariff_id = $2 AND r2.group_id = d.group_id AND r2.rate_type = d.dir_code
                  AND r2.effective_from <= $3
                ORDER BY r2.effective_from DESC LIMIT 1)
         LEFT JOIN tariffs t ON t.id = r.tariff_id
         WHERE d.prefix IN ({}) AND (d.tariff_id IS NULL OR d.tariff_id = $2)
         ORDER BY CASE WHEN d.tariff_id IS NULL THEN 1 ELSE 0 END, LENGTH(d.prefix) DESC
         LIMIT 1",
        placeholders.join(", ")
    )
}

/// An exchange rate in force: `$1` the currency, `$2` now (only when the tariff's currency is
/// not the account's).
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

    /// Allowed and free (a call that stays on the network, or a local number), named
    /// `destination`, in the caller's currency.
    fn free(destination: &str, caller: &Caller) -> Answer {
        Answer {
            destination: destination.into(),
            rate: super::rate_text(Money::default(), caller.decimals as u32),
            currency: caller.currency.clone(),
            ..Answer::allowed_without_limit()
        }
    }
}

impl crate::web::pbx_answer::PbxAnswer for Answer {
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("allow", (self.allow as u8).to_string()),
            ("reason", self.reason.to_string()),
            ("max_duration", self.max_duration.to_string()),
            ("destination", self.destination.clone()),
            ("prefix", self.prefix.clone()),
            ("rate", self.rate.clone()),
            ("currency", self.currency.clone()),
        ]
    }

    fn error() -> Answer {
        Answer {
            reason: "error",
            ..Answer::denied(Reason::Blocked)
        }
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
    spending_limit_micros: Option<i64>,
    bar_outgoing: i64,
    bar_international: i64,
    bar_international_except_home: i64,
    bar_premium: i64,
    lost_phone_at: Option<i64>,
    national_country: String,
    risk_ceiling: i64,
    /// The number dialled stays on the network.
    internal: i64,
    on_net_rate_micros: i64,
    on_net_currency: String,
}

#[derive(sqlx::FromRow)]
struct Matched {
    prefix: String,
    details: String,
    flag: String,
    group_name: String,
    country_risk: i64,
    service_type: String,
    service_risk: i64,
    chosen: Option<i64>,
    price_micros: Option<i64>,
    connection_fee_micros: Option<i64>,
    increment_s: Option<i64>,
    min_time_s: Option<i64>,
    tariff_currency: Option<String>,
}

impl Matched {
    /// The rate in force, and its tariff's currency.
    fn rate(&self) -> Option<(RateTerms, &str)> {
        Some((
            RateTerms {
                per_minute: Money(self.price_micros?),
                connection_fee: Money(self.connection_fee_micros?),
                increment_s: self.increment_s?,
                min_time_s: self.min_time_s?,
            },
            self.tariff_currency.as_deref()?,
        ))
    }
}

/// Answers the question for a call from the device named `account` to `dst` at `now`.
pub async fn authorize(
    store: &Store,
    dialing: &Dialing,
    account: &str,
    dst: &str,
    now: i64,
) -> sqlx::Result<Answer> {
    // Before the connection is taken: reading the plan may take one of its own.
    let plan = store.dial_plan().await?;
    let mut c = store.pool().acquire().await?;
    let c = &mut *c;
    let e164 = dialing
        .normalise(dst)
        .map(|n| format!("+{n}"))
        .unwrap_or_default();
    let caller: Option<Caller> = sqlx::query_as(CALLER)
        .bind(account)
        .bind(dst.trim())
        .bind(e164)
        .fetch_optional(&mut *c)
        .await?;
    let Some(caller) = caller else {
        return Ok(Answer::denied(Reason::UnknownAccount));
    };
    let who = Subscriber {
        blocked: caller.blocked != 0 || caller.lost_phone_at.is_some(),
        barrings: Barrings {
            outgoing: caller.bar_outgoing != 0,
            international: caller.bar_international != 0,
            international_except_home: caller.bar_international_except_home != 0,
            premium: caller.bar_premium != 0,
            incoming: false, // not this direction
        },
    };
    if who.blocked {
        return Ok(Answer::denied(Reason::Blocked));
    }
    if who.barrings.outgoing {
        return Ok(Answer::denied(Reason::BarredOutgoing));
    }
    if caller.internal != 0 && !dst.trim().is_empty() {
        // A call that stays on the network: free, or at the operator's on-net rate.
        if caller.on_net_rate_micros == 0 {
            return Ok(Answer::free("internal", &caller));
        }
        let on_net = RateTerms {
            per_minute: Money(caller.on_net_rate_micros),
            connection_fee: Money(0),
            increment_s: 1,
            min_time_s: 0,
        };
        let to = Destination {
            national: true,
            home: true,
            premium: false,
            risk: 1,
            enabled: true,
            risk_ceiling: caller.risk_ceiling,
        };
        let currency = caller.on_net_currency.clone();
        let mut a = priced(c, &caller, &who, &to, on_net, &currency, now).await?;
        a.destination = "internal".into();
        return Ok(a);
    }
    if plan.is_local(dst) {
        // A feature code, a short extension, an echo test: the PBX's own business, free.
        return Ok(Answer::free("local", &caller));
    }
    let Some(number) = dialing.normalise(dst).filter(|n| n.len() <= 20) else {
        return Ok(Answer::denied(Reason::BadNumber));
    };
    let prefixes: Vec<&str> = (1..=number.len()).map(|n| &number[..n]).collect();
    let sql = destination_sql(prefixes.len());
    let mut q = sqlx::query_as(&sql)
        .bind(caller.user_id)
        .bind(caller.tariff_id)
        .bind(now);
    for p in prefixes {
        q = q.bind(p);
    }
    let m: Option<Matched> = q.fetch_optional(&mut *c).await?;
    let Some(m) = m else {
        return Ok(Answer::denied(Reason::UnknownDestination));
    };
    let risk = m.service_risk.max(m.country_risk);
    let is = |iso: &str| !m.flag.is_empty() && m.flag.eq_ignore_ascii_case(iso);
    let to = Destination {
        national: caller.national_country.is_empty() || is(&caller.national_country),
        home: is(&caller.reg_country) || m.group_name.eq_ignore_ascii_case(&caller.reg_country),
        premium: m.service_type == "premium",
        risk,
        enabled: m
            .chosen
            .map(|e| e != 0)
            .unwrap_or_else(|| default_enabled(&m.service_type, risk)),
        risk_ceiling: caller.risk_ceiling,
    };
    let named = |mut a: Answer| {
        a.destination = m.details.clone();
        a.prefix = m.prefix.clone();
        a
    };
    if let Err(reason) = decision::policy(&who, &to) {
        return Ok(named(Answer::denied(reason)));
    }
    let Some((terms, tariff_currency)) = m.rate() else {
        return Ok(named(Answer::denied(Reason::NoRate)));
    };
    let a = priced(c, &caller, &who, &to, terms, tariff_currency, now).await?;
    Ok(named(a))
}

/// The answer for a call the policy allows, priced by `terms` in `tariff_currency`: how long
/// the funds and the month's limit let it last, or why it may not start.
async fn priced(
    c: &mut AnyConnection,
    caller: &Caller,
    who: &Subscriber,
    to: &Destination,
    terms: RateTerms,
    tariff_currency: &str,
    now: i64,
) -> sqlx::Result<Answer> {
    // The price in the account's currency, converted at the rates in force now.
    let fx = if tariff_currency == caller.currency {
        None
    } else {
        match (
            fx_rate(c, tariff_currency, now).await?,
            fx_rate(c, &caller.currency, now).await?,
        ) {
            (Some(from), Some(to)) => Some((from, to)),
            _ => return Ok(Answer::denied(Reason::NoRate)),
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
        limit_left: match caller.spending_limit_micros {
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
    Ok(match decision::outgoing(who, to, funds, cost) {
        Ok(seconds) => Answer {
            allow: true,
            reason: "",
            destination: String::new(),
            prefix: String::new(),
            max_duration: seconds,
            rate: super::rate_text(per_minute, caller.decimals as u32),
            currency: caller.currency.clone(),
        },
        Err(reason) => Answer::denied(reason),
    })
}

async fn fx_rate(c: &mut AnyConnection, currency: &str, now: i64) -> sqlx::Result<Option<i64>> {
    let row: Option<(i64,)> = sqlx::query_as(FX)
        .bind(currency)
        .bind(now)
        .fetch_optional(c)
        .await?;
    Ok(row.map(|(r,)| r))
}
