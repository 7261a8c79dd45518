//! `selfcare bill --period YYYY-MM`: one invoice per subscriber and calendar month.
//!
//! Periods are calendar months in UTC (as the demo invoices are), stored as the first and the last
//! second of the month. An invoice has a line for the month's priced outgoing calls (count,
//! billed seconds, sum of their prices, already in the subscriber's currency) and a line per
//! subscription: a monthly service active at any time in the month is charged its full monthly
//! price, a one-off service in the month it starts, converted to the subscriber's currency at the
//! exchange rates in force at the end of the month. VAT is the subscriber's rate on the net total
//! (see [`vat`]). A subscriber with nothing to charge gets no invoice.
//!
//! Numbers are `INV-YYYY-NNNNNN` (the period's year and one sequence across years, as the demo's),
//! taken from the `counters` row inside the transaction that writes the invoice: a rollback gives
//! the number back, a concurrent run waits for it, so numbers have no gaps. A subscriber who
//! already has an invoice for the period is skipped, so running `bill` twice makes nothing new.
//! A subscriber with calls that have no price in the period (flagged by the rater) is not billed
//! and is named, so unpriced calls are never billed at zero silently: fix the rates,
//! `selfcare rate`, and bill again.

use chrono::{Datelike, NaiveDate};

use crate::money::Money;
use crate::store::billing as sql;
use crate::store::seed::{self, NewInvoice};
use crate::store::Store;

/// VAT on a net amount: `vat_bp` hundredths of a percent, rounded by the money rule.
pub fn vat(net: Money, vat_bp: i64) -> Money {
    net.convert(vat_bp * 100)
}

/// A billing period: one calendar month.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    first: NaiveDate,
}

impl Period {
    /// Parses `YYYY-MM`.
    pub fn parse(s: &str) -> Result<Period, String> {
        let bad = || format!("period {s:?} is not a month like 2024-03");
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let y: i32 = y.parse().map_err(|_| bad())?;
        let m: u32 = m.parse().map_err(|_| bad())?;
        NaiveDate::from_ymd_opt(y, m, 1)
            .map(|first| Period { first })
            .ok_or_else(bad)
    }

    /// The first second of the month, UTC.
    pub fn start(self) -> i64 {
        self.first
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .timestamp()
    }

    /// The last second of the month, UTC.
    pub fn end(self) -> i64 {
        let next = self.first + chrono::Months::new(1);
        next.and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .timestamp()
            - 1
    }

    pub fn year(self) -> i32 {
        self.first.year()
    }

    /// `March 2024`.
    pub fn label(self) -> String {
        self.first.format("%B %Y").to_string()
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.first.format("%Y-%m"))
    }
}

#[derive(Debug, Default)]
pub struct BillSummary {
    /// Invoice numbers issued.
    pub issued: Vec<String>,
    pub already_invoiced: u64,
    pub nothing_to_bill: u64,
    /// (user name, why) of subscribers not billed.
    pub not_billed: Vec<(String, String)>,
}

/// Bills the period for every subscriber; see the module documentation.
pub async fn bill(store: &Store, period: Period, now: i64) -> anyhow::Result<BillSummary> {
    anyhow::ensure!(
        period.end() < now,
        "the period {period} has not ended yet; bill it when it has"
    );
    let (start, end) = (period.start(), period.end());
    let mut summary = BillSummary::default();
    for user in store.billable_users().await? {
        let mut tx = store.pool().begin().await?;
        // First: the counter's lock orders this transaction after any other run's.
        let number = sql::next_invoice_number(&mut tx).await?;
        if sql::invoice_exists(&mut tx, user.id, start, end).await? {
            tx.rollback().await?;
            summary.already_invoiced += 1;
            continue;
        }
        let unpriced = sql::unpriced_calls(&mut tx, user.id, start, end).await?;
        if unpriced > 0 {
            tx.rollback().await?;
            summary.not_billed.push((
                user.username,
                format!("{unpriced} call(s) without a price (calls.rating_status)"),
            ));
            continue;
        }
        let mut lines: Vec<(&str, String, i64, i64, i64)> = Vec::new();
        let (calls, seconds, amount) = sql::call_totals(&mut tx, user.id, start, end).await?;
        if calls > 0 {
            lines.push((
                "calls",
                format!("Calls {}", period.label()),
                calls,
                seconds,
                amount,
            ));
        }
        let mut missing_rate = None;
        for sub in sql::subscription_charges(&mut tx, user.id, start, end).await? {
            if sub.period == "once" && !(start..=end).contains(&sub.active_from) {
                continue;
            }
            let price = if sub.currency == user.currency {
                Money(sub.price_micros)
            } else {
                match (
                    sql::exchange_rate_at(&mut tx, &sub.currency, end).await?,
                    sql::exchange_rate_at(&mut tx, &user.currency, end).await?,
                ) {
                    (Some(from), Some(to)) => Money(sub.price_micros).convert_between(from, to),
                    _ => {
                        missing_rate = Some(format!(
                            "no exchange rate between {} and {}",
                            sub.currency, user.currency
                        ));
                        break;
                    }
                }
            };
            lines.push(("subscription", sub.name, 1, 0, price.micros()));
        }
        if let Some(why) = missing_rate {
            tx.rollback().await?;
            summary.not_billed.push((user.username, why));
            continue;
        }
        if lines.is_empty() {
            tx.rollback().await?;
            summary.nothing_to_bill += 1;
            continue;
        }
        let net = Money(lines.iter().map(|l| l.4).sum());
        let number = format!("INV-{}-{number:06}", period.year());
        seed::insert_invoice(
            &mut tx,
            &NewInvoice {
                user_id: user.id,
                number: &number,
                period_start: start,
                period_end: end,
                issued_at: now,
                paid_at: None,
                currency: &user.currency,
                vat_percent_bp: user.vat_percent_bp,
                lines,
                price_micros: net.micros(),
                price_vat_micros: (net + vat(net, user.vat_percent_bp)).micros(),
            },
        )
        .await?;
        tx.commit().await?;
        summary.issued.push(number);
    }
    Ok(summary)
}

impl std::fmt::Display for BillSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} invoice(s) issued", self.issued.len())?;
        if let (Some(a), Some(b)) = (self.issued.first(), self.issued.last()) {
            write!(f, " ({a} … {b})")?;
        }
        write!(
            f,
            "; {} subscriber(s) already invoiced for the period, {} with nothing to bill.",
            self.already_invoiced, self.nothing_to_bill
        )?;
        for (user, why) in &self.not_billed {
            write!(f, "\nNot billed: {user}: {why}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_utc_months() {
        let p = Period::parse("2024-02").unwrap();
        assert_eq!(p.start(), 1_706_745_600); // 2024-02-01 00:00:00 UTC
        assert_eq!(p.end(), 1_709_251_199); // 2024-02-29 23:59:59 UTC (leap year)
        assert_eq!(p.label(), "February 2024");
        assert_eq!(p.to_string(), "2024-02");
        let dec = Period::parse("2023-12").unwrap();
        assert_eq!(dec.end() + 1, Period::parse("2024-01").unwrap().start());
        for bad in [
            "2024-13", "2024-2", "24-02", "2024/02", "", "2024-00", "march",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn vat_follows_the_money_rule() {
        assert_eq!(vat(Money(10_000_000), 2000), Money(2_000_000));
        assert_eq!(vat(Money(1_234_567), 1550), Money(191_358)); // 191,357.885 → up
        assert_eq!(vat(Money(5), 0), Money(0));
    }
}
