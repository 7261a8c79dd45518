//! The demo's money: invoices made from the calls the demo wrote, payments that pay them, top-ups
//! that keep a prepaid balance above water, and the ledger that all of them move, so that every
//! balance is the sum of its ledger rows, as the portal's own postings keep it.
//!
//! - Invoices are what `bill` makes for each of the three months before the subscriber's current
//!   one: a line per destination of the month's outgoing calls, a line per subscription (priced
//!   in the subscriber's currency), VAT; numbered without gaps in order of issue, issued at six in
//!   the morning of the 1st, due 14 days later.
//! - Postpaid: each invoice is owed when issued (a debit) and paid in full by one payment a few
//!   days later (a credit), except the latest, which is open with its due date.
//! - Prepaid: the calls of each day are charged that day, an invoice takes its subscriptions and
//!   VAT from the balance when issued (as `bill` does), and the subscriber tops up by card or bank
//!   transfer whenever the balance runs low.

use std::collections::HashMap;

use chrono::NaiveDate;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::calls::Written;
use super::{with_vat, DemoUser, Dest};
use crate::billing::invoice::{call_lines, DestinationCalls};
use crate::billing::month::Month;
use crate::money::{Money, MICROS};
use crate::store::ledger::EntryKind;
use crate::store::seed::{self, NewInvoice, NewLedgerEntry, NewPayment};
use crate::store::Store;

/// Days from an invoice's issue to its due date (the wallet's default).
const DUE_DAYS: i64 = 14;

/// A movement of a balance, before it is written.
struct Movement {
    at: i64,
    kind: EntryKind,
    amount: i64,
    key: String,
    reference: String,
    note: String,
}

/// An invoice as written, for the payments and the ledger.
struct Issued {
    id: i64,
    number: String,
    issued_at: i64,
    /// Net plus VAT, exact.
    gross: i64,
    /// Its call lines' sum (a prepaid account paid those as they were made).
    calls: i64,
    paid_at: Option<i64>,
}

impl Issued {
    /// What a postpaid subscriber owes for it: its total as shown, in whole cents.
    fn owed(&self) -> Money {
        Money(self.gross).round_to(2)
    }
}

pub async fn write(
    store: &Store,
    rng: &mut ChaCha8Rng,
    users: &[DemoUser],
    dests: &[Dest],
    written: &Written,
    now: i64,
) -> anyhow::Result<()> {
    let mut tx = store.pool().begin().await?;
    let mut invoices = write_invoices(&mut tx, rng, users, dests, written, now).await?;
    for (i, user) in users.iter().enumerate() {
        let mut moves = Vec::new();
        for inv in invoices.remove(&i).unwrap_or_default() {
            let key = format!("invoice:{}", inv.id);
            let reference = inv.id.to_string();
            if !user.postpaid {
                // As `bill` leaves a prepaid invoice: settled from the balance as it is issued.
                moves.push(Movement {
                    at: inv.issued_at,
                    kind: EntryKind::Invoice,
                    amount: -(inv.gross - inv.calls),
                    key,
                    reference,
                    note: format!(
                        "Invoice {}: subscriptions and VAT (calls were charged as made)",
                        inv.number
                    ),
                });
                continue;
            }
            moves.push(Movement {
                at: inv.issued_at,
                kind: EntryKind::Invoice,
                amount: -inv.owed().micros(),
                key,
                reference,
                note: format!("Invoice {}", inv.number),
            });
            if let Some(paid) = inv.paid_at {
                let how = if rng.gen_bool(0.5) {
                    "Card"
                } else {
                    "Bank transfer"
                };
                let payment = pay(&mut tx, user, paid, how, Some(inv.id), inv.owed()).await?;
                moves.push(Movement {
                    at: paid,
                    kind: EntryKind::InvoicePayment,
                    amount: inv.owed().micros(),
                    key: format!("payment:{payment}"),
                    reference: payment.to_string(),
                    note: format!("Invoice payment #{payment}"),
                });
            }
        }
        if !user.postpaid {
            moves.extend(day_charges(user, &written.days, now));
        }
        moves.sort_by_key(|m| m.at);
        post_all(&mut tx, rng, user, moves, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// One invoice per user for each of the three months before the user's current one, as `bill`
/// makes them; numbered in order of issue. Returns each user's (by index), oldest first.
async fn write_invoices(
    c: &mut sqlx::AnyConnection,
    rng: &mut ChaCha8Rng,
    users: &[DemoUser],
    dests: &[Dest],
    written: &Written,
    now: i64,
) -> anyhow::Result<HashMap<usize, Vec<Issued>>> {
    // The destinations each user called in each month.
    let mut by_month: HashMap<(i64, Month), Vec<DestinationCalls>> = HashMap::new();
    for (&(user, month, dest), &(calls, seconds, amount)) in &written.months {
        by_month
            .entry((user, month))
            .or_default()
            .push(DestinationCalls {
                name: Some(dests[dest].details.clone()),
                calls,
                seconds,
                amount_micros: amount,
            });
    }
    let mut out: HashMap<usize, Vec<Issued>> = HashMap::new();
    let mut number = 0;
    for k in (1..=3).rev() {
        for (i, user) in users.iter().enumerate() {
            let month = Month::of(now, user.tz).before(k);
            let (start_ts, end_ts) = month.bounds(user.tz);
            let mut lines = call_lines(by_month.remove(&(user.id, month)).unwrap_or_default());
            let calls: i64 = lines.iter().map(|l| l.4).sum();
            for (name, price) in &user.subscriptions {
                lines.push(("subscription", name.clone(), 1, 0, *price));
            }
            let net: i64 = lines.iter().map(|l| l.4).sum();
            let gross = with_vat(net, user.vat_bp);
            // At six in the morning of the month's next day, or now if that is still to come.
            let issued_at = (end_ts + 1 + 6 * 3600).min(now);
            // A postpaid subscriber pays a few days after the invoice comes, in office hours;
            // the latest is still open.
            let paid_at = if !user.postpaid {
                Some(issued_at)
            } else if k == 1 {
                None
            } else {
                let days = rng.gen_range(2..10) * 86_400;
                Some((issued_at + days + rng.gen_range(3 * 3600..11 * 3600)).min(now - 60))
            };
            number += 1;
            let number = format!("INV-{}-{number:06}", month.year());
            let id = seed::insert_invoice(
                c,
                &NewInvoice {
                    user_id: user.id,
                    number: &number,
                    period_start: start_ts,
                    period_end: end_ts,
                    issued_at,
                    due_at: issued_at + DUE_DAYS * 86_400,
                    paid_at,
                    currency: user.currency,
                    vat_percent_bp: user.vat_bp,
                    lines,
                    price_micros: net,
                    price_vat_micros: gross,
                },
            )
            .await?;
            out.entry(i).or_default().push(Issued {
                id,
                number,
                issued_at,
                gross,
                calls,
                paid_at,
            });
        }
    }
    // `selfcare bill` numbers on from here.
    crate::store::billing::set_invoice_counter(c, number).await?;
    Ok(out)
}

/// A prepaid subscriber's calls, charged once a day (at the day's end, or now for today).
fn day_charges(
    user: &DemoUser,
    days: &HashMap<(i64, NaiveDate), (i64, i64)>,
    now: i64,
) -> Vec<Movement> {
    days.iter()
        .filter(|((u, _), (_, price))| *u == user.id && *price > 0)
        .map(|(&(_, day), &(calls, price))| {
            let end = crate::period::Period::days(day, day, user.tz).until() - 1;
            Movement {
                at: end.min(now - 1),
                kind: EntryKind::Calls,
                amount: -price,
                key: format!("calls:demo:{}:{day}", user.id),
                reference: String::new(),
                note: format!("{calls} call(s) of {day}"),
            }
        })
        .collect()
}

/// A completed payment of the user (a top-up when `invoice` is `None`); its id.
async fn pay(
    c: &mut sqlx::AnyConnection,
    user: &DemoUser,
    at: i64,
    how: &str,
    invoice: Option<i64>,
    amount: Money,
) -> anyhow::Result<i64> {
    Ok(seed::insert_payment(
        c,
        &NewPayment {
            user_id: user.id,
            paid_at: at,
            // A bank transfer is seen by the bank some hours later; a card at once.
            confirmed_at: Some(if how == "Card" { at } else { at + 3 * 3600 }),
            payment_type: how,
            amount_micros: amount.micros(),
            vat_percent_bp: 0,
            amount_vat_micros: amount.micros(),
            currency: user.currency,
            completed: true,
            purpose: if invoice.is_some() {
                "invoice"
            } else {
                "topup"
            },
            invoice_id: invoice,
        },
    )
    .await?)
}

/// Writes the movements in time order after the opening balance, each with the balance after
/// it; a prepaid subscriber tops up when a debit takes the balance under their low mark. The
/// balance kept on the user's row is the last one.
async fn post_all(
    c: &mut sqlx::AnyConnection,
    rng: &mut ChaCha8Rng,
    user: &DemoUser,
    moves: Vec<Movement>,
    now: i64,
) -> anyhow::Result<()> {
    // A top-up lasts about three weeks of the subscriber's own spending.
    let spent: i64 = moves
        .iter()
        .filter(|m| m.amount < 0)
        .map(|m| -m.amount)
        .sum();
    let days = (now - super::calls::history_start(now, user.tz)).max(86_400) / 86_400;
    let daily = spent / days;
    let step = 50 * MICROS;
    let topup = (user.topup.1.max(daily * 21) + step - 1) / step * step;
    // Low: about a week's spending, so that an invoice's VAT on a month's calls fits too.
    let low = user.topup.0.max(daily * 8);
    let mut balance = 0;
    if user.first_topup > 0 {
        let at = super::calls::history_start(now, user.tz) - 86_400 + 11 * 3600;
        let amount = user.first_topup.max(topup);
        balance += topup_of(c, user, at, "Bank transfer", amount, balance).await?;
    }
    for m in moves {
        balance += m.amount;
        write_entry(c, user.id, &m, balance).await?;
        if !user.postpaid && m.amount < 0 && balance < low {
            // The next morning (a day's calls are charged at its end).
            let at = (m.at + rng.gen_range(8 * 3600..11 * 3600)).min(now - 30);
            let how = if rng.gen_bool(0.7) {
                "Card"
            } else {
                "Bank transfer"
            };
            balance += topup_of(c, user, at, how, topup, balance).await?;
        }
    }
    seed::set_balance(c, user.id, balance).await?;
    Ok(())
}

/// A top-up's payment and its ledger row after `balance`; its amount.
async fn topup_of(
    c: &mut sqlx::AnyConnection,
    user: &DemoUser,
    at: i64,
    how: &str,
    amount: i64,
    balance: i64,
) -> anyhow::Result<i64> {
    let payment = pay(c, user, at, how, None, Money(amount)).await?;
    let credit = Movement {
        at,
        kind: EntryKind::Topup,
        amount,
        key: format!("payment:{payment}"),
        reference: payment.to_string(),
        note: format!("{how} top-up #{payment}"),
    };
    write_entry(c, user.id, &credit, balance + amount).await?;
    Ok(amount)
}

async fn write_entry(
    c: &mut sqlx::AnyConnection,
    user_id: i64,
    m: &Movement,
    balance_after: i64,
) -> sqlx::Result<()> {
    seed::insert_ledger_entry(
        c,
        &NewLedgerEntry {
            user_id,
            key: &m.key,
            kind: m.kind.as_str(),
            amount_micros: m.amount,
            balance_after_micros: balance_after,
            reference: &m.reference,
            note: &m.note,
            created_at: m.at,
        },
    )
    .await
}
