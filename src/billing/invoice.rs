//! `selfcare bill --period YYYY-MM`: one invoice per subscriber and calendar month.
//!
//! The month is the subscriber's: the calendar month in their time zone (`users.time_zone`, see
//! [`Month::bounds`]), stored as its first and its last second. A subscriber is billed once the
//! month has ended where they live; one whose month has not ended yet is named and billed by a
//! later run. An invoice has a line per destination of the month's priced outgoing
//! calls (see [`call_lines`]: count, billed seconds, sum of their prices, already in the
//! subscriber's currency), then a line per subscription: a monthly service active at any time in
//! the month is charged its full monthly price, a one-off service in the month it starts,
//! converted to the subscriber's currency at the exchange rates in force at the end of the month.
//! VAT is the subscriber's rate on the net total (see [`vat`]). A subscriber with nothing to
//! charge gets no invoice.
//!
//! Numbers are `INV-YYYY-NNNNNN` (the period's year and one sequence across years, as the demo's),
//! taken from the `counters` row inside the transaction that writes the invoice: a rollback gives
//! the number back, a concurrent run waits for it, so numbers have no gaps. A subscriber who
//! already has an invoice for the month is skipped, so running `bill` twice makes nothing new;
//! "for the month" is an invoice whose middle falls in it, so an invoice written while the
//! subscriber had another zone (or before months were local) still counts. For the same reason an
//! invoice starts where the previous month's invoice ended and ends where the next month's
//! starts, when those exist: a change of zone never bills a call twice or drops one.
//! Calls that have no price in the period (flagged by the rater) are never billed at zero
//! silently, and never hold the rest back: the invoice is made of what is priced, the unpriced
//! calls are named per subscriber and kept in `calls_left_out` (`selfcare calls unmatched` lists
//! them). Once a local pattern, a rate and `selfcare rate` price them, the subscriber's next
//! invoice takes them on a line of their own ([`LATE_CALLS`]), as it takes the calls imported
//! into a month after its invoice was made.

use super::month::Month;
use crate::money::Money;
use crate::store::billing as sql;
use crate::store::ledger::{EntryKind, Posting};
use crate::store::local_calls as left_out;
use crate::store::seed::{self, NewInvoice};
use crate::store::Store;
use crate::time;
use crate::wallet::WalletSettings;

/// VAT on a net amount: `vat_bp` hundredths of a percent, rounded by the money rule.
pub fn vat(net: Money, vat_bp: i64) -> Money {
    net.convert(vat_bp * 100)
}

/// Calls of one destination in a period, as an invoice line sums them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DestinationCalls {
    /// The destination's details (its name) as stored; `None` for calls with no matched
    /// destination (calls to the operator's own devices).
    pub name: Option<String>,
    pub calls: i64,
    pub seconds: i64,
    pub amount_micros: i64,
}

/// An invoice line as written: (kind, description, quantity, seconds, amount).
pub type Line = (&'static str, String, i64, i64, i64);

/// The call lines of an invoice: one per destination name (groups of the same name are merged;
/// a blank name counts as no destination), the largest amount first, then by name, the calls to
/// no destination last among equals. Their description is the name as stored, or empty for the
/// calls to no destination: the invoice page shows those as "Other destinations" in the reader's
/// language, so no words of ours are stored in one language.
pub fn call_lines(groups: impl IntoIterator<Item = DestinationCalls>) -> Vec<Line> {
    let mut merged: std::collections::BTreeMap<Option<String>, DestinationCalls> =
        Default::default();
    for g in groups {
        let name = g.name.filter(|n| !n.trim().is_empty());
        let m = merged
            .entry(name.clone())
            .or_insert_with(|| DestinationCalls {
                name,
                ..Default::default()
            });
        m.calls += g.calls;
        m.seconds += g.seconds;
        m.amount_micros += g.amount_micros;
    }
    let mut lines: Vec<DestinationCalls> = merged.into_values().filter(|g| g.calls > 0).collect();
    lines.sort_by(|a, b| {
        b.amount_micros
            .cmp(&a.amount_micros)
            .then_with(|| a.name.is_none().cmp(&b.name.is_none()))
            .then_with(|| a.name.cmp(&b.name))
    });
    lines
        .into_iter()
        .map(|g| {
            (
                "calls",
                g.name.unwrap_or_default(),
                g.calls,
                g.seconds,
                g.amount_micros,
            )
        })
        .collect()
}

#[derive(Debug, Default)]
pub struct BillSummary {
    /// Invoice numbers issued.
    pub issued: Vec<String>,
    pub already_invoiced: u64,
    pub nothing_to_bill: u64,
    /// (user name, why) of subscribers not billed.
    pub not_billed: Vec<(String, String)>,
    /// (user name, calls) of subscribers billed without their calls that have no price.
    pub left_out: Vec<(String, u64)>,
}

/// The invoice line of calls of earlier months that their month's invoice was made without
/// (unpriced then, or imported after it).
pub const LATE_CALLS: &str = "Calls of earlier months, not on their invoice";

/// Bills the month for every subscriber whose month has ended at `now`; see the module
/// documentation.
pub async fn bill(
    store: &Store,
    month: Month,
    now: i64,
    wallet: &WalletSettings,
) -> anyhow::Result<BillSummary> {
    let users = store.billable_users().await?;
    anyhow::ensure!(
        users.is_empty()
            || users
                .iter()
                .any(|u| month.bounds(time::zone(&u.time_zone)).1 < now),
        "the period {month} has not ended yet in any subscriber's time zone; bill it when it has"
    );
    let mut summary = BillSummary::default();
    for user in users {
        let tz = time::zone(&user.time_zone);
        let (month_start, month_end) = month.bounds(tz);
        if month_end >= now {
            summary.not_billed.push((
                user.username,
                format!(
                    "the month ends at {} in {tz}; bill it again after that",
                    time::format_instant(month_end + 1, tz)
                ),
            ));
            continue;
        }
        let mut tx = store.begin_write().await?;
        // First: the counter's lock orders this transaction after any other run's.
        let number = sql::next_invoice_number(&mut tx).await?;
        if sql::invoice_for_month(&mut tx, user.id, month_start, month_end).await? {
            tx.rollback().await?;
            summary.already_invoiced += 1;
            continue;
        }
        let (previous_end, next_start) =
            sql::adjacent_invoices(&mut tx, user.id, month_start, month_end).await?;
        let start = previous_end.map_or(month_start, |e| e + 1);
        let end = next_start.map_or(month_end, |s| s - 1);
        // Calls without a price stay off this invoice, listed for a later one (see above).
        let unpriced = left_out::leave_out_unpriced(&mut tx, user.id, start, end).await?;
        let mut lines = call_lines(sql::calls_by_destination(&mut tx, user.id, start, end).await?);
        let (late, late_secs, late_amount) =
            left_out::take_priced_left_out(&mut tx, user.id, start, end).await?;
        if late > 0 {
            lines.push((
                "calls",
                LATE_CALLS.to_string(),
                late,
                late_secs,
                late_amount,
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
        if unpriced > 0 {
            summary.left_out.push((user.username.clone(), unpriced));
        }
        if lines.is_empty() {
            // Nothing to invoice (the number goes back); the unpriced calls are listed anyway.
            tx.rollback().await?;
            if unpriced > 0 {
                let mut tx = store.begin_write().await?;
                left_out::leave_out_unpriced(&mut tx, user.id, start, end).await?;
                tx.commit().await?;
            }
            summary.nothing_to_bill += 1;
            continue;
        }
        let net = Money(lines.iter().map(|l| l.4).sum());
        let calls = Money(lines.iter().filter(|l| l.0 == "calls").map(|l| l.4).sum());
        let total = net + vat(net, user.vat_percent_bp);
        let prepaid = user.account_type == "prepaid";
        let number = format!("INV-{}-{number:06}", month.year());
        let invoice_id = seed::insert_invoice(
            &mut tx,
            &NewInvoice {
                user_id: user.id,
                number: &number,
                period_start: start,
                period_end: end,
                issued_at: now,
                due_at: now + wallet.invoice_due_days * 86_400,
                // A prepaid invoice is settled from the balance as it is issued.
                paid_at: prepaid.then_some(now),
                currency: &user.currency,
                vat_percent_bp: user.vat_percent_bp,
                lines,
                price_micros: net.micros(),
                price_vat_micros: total.micros(),
            },
        )
        .await?;
        // Postpaid: the whole invoice is owed. Prepaid: the calls were debited as they were
        // rated, so the rest (subscriptions and VAT) is taken now.
        let (owed, note) = if prepaid {
            (
                total - calls,
                format!("Invoice {number}: subscriptions and VAT (calls were charged as made)"),
            )
        } else {
            // Owed as the invoice shows it: its total in the currency's decimals.
            (
                total.round_to(user.currency_decimals as u32),
                format!("Invoice {number}"),
            )
        };
        left_out::note_left_out_of(&mut tx, user.id, start, end, invoice_id).await?;
        crate::wallet::ledger::post_logged(
            &mut tx,
            &wallet.rules,
            &Posting {
                user_id: user.id,
                key: format!("invoice:{invoice_id}"),
                kind: EntryKind::Invoice,
                amount: -owed,
                reference: invoice_id.to_string(),
                note,
            },
            "invoice_issued",
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
        for (user, n) in &self.left_out {
            write!(
                f,
                "\nLeft out: {user}: {n} call(s) without a price (selfcare calls unmatched); \
                 once priced they go on the next invoice"
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(name: Option<&str>, calls: i64, seconds: i64, amount: i64) -> DestinationCalls {
        DestinationCalls {
            name: name.map(str::to_string),
            calls,
            seconds,
            amount_micros: amount,
        }
    }

    #[test]
    fn call_lines_are_one_per_name_largest_first_other_last() {
        let lines = call_lines([
            group(None, 2, 40, 0),
            group(Some("France"), 1, 10, 10_000),
            group(Some("United Kingdom Mobile"), 1, 61, 110_000),
            group(Some("Austria"), 1, 0, 0),
            // A second prefix of the same name, and a blank name: merged.
            group(Some("France"), 2, 50, 5_000),
            group(Some(" "), 1, 5, 0),
            group(Some("Belgium"), 1, 9, 15_000),
        ]);
        let want: Vec<Line> = vec![
            ("calls", "United Kingdom Mobile".into(), 1, 61, 110_000),
            ("calls", "Belgium".into(), 1, 9, 15_000),
            ("calls", "France".into(), 3, 60, 15_000),
            ("calls", "Austria".into(), 1, 0, 0),
            ("calls", String::new(), 3, 45, 0),
        ];
        assert_eq!(lines, want);
        assert!(call_lines([]).is_empty());
    }

    #[test]
    fn vat_follows_the_money_rule() {
        assert_eq!(vat(Money(10_000_000), 2000), Money(2_000_000));
        assert_eq!(vat(Money(1_234_567), 1550), Money(191_358)); // 191,357.885 → up
        assert_eq!(vat(Money(5), 0), Money(0));
    }
}
