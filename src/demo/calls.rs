//! The demo's calls: each subscriber's lines ring and dial at the rhythm of a household or of a
//! small office (few calls at night, fewer at weekends, an office hardly any), from the first of
//! the month three months back until now, so that every demo invoice is for a whole month.
//!
//! Without `--calls` a line makes about as many calls a day as its kind does; with `--calls N`
//! (benchmarks) every subscriber takes an equal share of N at the same rhythm. Either way the
//! calls of a subscriber are spread over the days by weight (weekday, a day's own ups and downs,
//! the hours of a partial first or last day), so the count is exact.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate, Weekday};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{DemoUser, Dest};
use crate::billing;
use crate::billing::month::Month;
use crate::period::{local_date, Period};
use crate::store::seed::{self, NewCall};
use crate::store::Store;

/// How a kind of subscriber calls.
pub struct Rhythm {
    /// Calls a weekday per line, both directions, whatever their result.
    pub per_line: f64,
    /// A Saturday's or a Sunday's calls as a share of a weekday's.
    pub weekend: f64,
    /// Weight of each local hour of the day.
    pub hours: [u32; 24],
    /// Median talk time of an answered call, seconds (talk times are log-normal).
    pub median_talk: f64,
    /// Share of calls that are outgoing.
    pub outgoing: f64,
    /// Share of calls with somebody in the phonebook.
    pub contacts: f64,
}

/// A family at home: evenings, a little during the day, nothing at night.
pub const HOUSEHOLD: Rhythm = Rhythm {
    per_line: 3.5,
    weekend: 0.7,
    hours: [
        1, 0, 0, 0, 0, 0, 1, 3, 5, 5, 5, 5, 6, 5, 4, 4, 5, 7, 9, 10, 9, 6, 3, 1,
    ],
    median_talk: 150.0,
    outgoing: 0.55,
    contacts: 0.35,
};

/// A small office: business hours with a lunch dip, next to nothing at weekends.
pub const OFFICE: Rhythm = Rhythm {
    per_line: 12.0,
    weekend: 0.06,
    hours: [
        0, 0, 0, 0, 0, 0, 0, 1, 3, 10, 12, 12, 9, 6, 11, 12, 11, 8, 3, 1, 0, 0, 0, 0,
    ],
    median_talk: 100.0,
    outgoing: 0.5,
    contacts: 0.03,
};

/// Per user, month (the user's, as `bill` has it) and destination (its index in `dests`): calls,
/// seconds and price of the outgoing calls, for the invoices' lines.
pub type MonthTotals = HashMap<(i64, Month, usize), (i64, i64, i64)>;

/// Per user and local day: the outgoing calls and their price, for a prepaid account's ledger.
pub type DayCharges = HashMap<(i64, NaiveDate), (i64, i64)>;

/// What the calls add up to, summed while they are written: a query per invoice would read
/// every call again (10M in the largest demo).
#[derive(Default)]
pub struct Written {
    pub calls: u64,
    pub months: MonthTotals,
    pub days: DayCharges,
}

/// The first instant of the demo's calls for a user in `tz`: local midnight of the first of the
/// month three months before the current one.
pub fn history_start(now: i64, tz: chrono_tz::Tz) -> i64 {
    Month::of(now, tz).before(3).bounds(tz).0
}

/// One local day of the history: its hours' weights inside the history (a partial first or last
/// day has fewer) and where each hour starts and ends.
struct Day {
    date: NaiveDate,
    /// (from, until, weight) per hour with any time inside the history.
    hours: Vec<(i64, i64, f64)>,
}

impl Day {
    fn weight(&self) -> f64 {
        self.hours.iter().map(|h| h.2).sum()
    }
}

fn days(start: i64, now: i64, tz: chrono_tz::Tz, rhythm: &Rhythm) -> Vec<Day> {
    let mut out = Vec::new();
    let mut date = local_date(start, tz);
    let last = local_date(now - 1, tz);
    while date <= last {
        let day = Period::days(date, date, tz);
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        let factor = if weekend { rhythm.weekend } else { 1.0 };
        let mut hours = Vec::new();
        for (h, w) in rhythm.hours.iter().enumerate() {
            // An hour of a day with a clock change may be cut short or be missing.
            let from = (day.from() + h as i64 * 3600).max(start);
            let until = (day.from() + (h as i64 + 1) * 3600)
                .min(day.until())
                .min(now);
            if until > from && *w > 0 {
                let share = (until - from) as f64 / 3600.0;
                hours.push((from, until, *w as f64 * share * factor));
            }
        }
        out.push(Day { date, hours });
        match date.succ_opt() {
            Some(d) => date = d,
            None => break,
        }
    }
    out
}

/// How many calls each day gets: `total` spread by the days' weights, rounded so that they add up
/// to it exactly.
fn spread(total: u64, weights: &[f64]) -> Vec<u64> {
    let sum: f64 = weights.iter().sum();
    if sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let mut out = Vec::with_capacity(weights.len());
    let (mut acc, mut given) = (0.0, 0_u64);
    for w in weights {
        acc += w;
        let upto = ((total as f64 * acc / sum).round() as u64).min(total);
        out.push(upto - given);
        given = upto;
    }
    out
}

/// Writes the calls of every user: `share[i]` calls for `users[i]`, or its rhythm's own number
/// when `None`.
pub async fn write(
    store: &Store,
    rng: &mut ChaCha8Rng,
    users: &[DemoUser],
    shares: &[Option<u64>],
    dests: &[Dest],
    now: i64,
) -> anyhow::Result<Written> {
    let mut out = Written::default();
    let mut loader = Loader::start(store).await?;
    for (user, share) in users.iter().zip(shares) {
        let rhythm = user.rhythm;
        let days = days(history_start(now, user.tz), now, user.tz, rhythm);
        // Each day has ups and downs of its own.
        let weights: Vec<f64> = days
            .iter()
            .map(|d| d.weight() * rng.gen_range(0.6..1.4))
            .collect();
        let total = share.unwrap_or_else(|| {
            let full: f64 = rhythm.hours.iter().map(|&h| h as f64).sum();
            let lines = user.lines.len() as f64;
            (weights.iter().sum::<f64>() / full * rhythm.per_line * lines).round() as u64
        });
        for (day, n) in days.iter().zip(spread(total, &weights)) {
            for _ in 0..n {
                let (call, dest) = one_call(rng, user, day, dests, now);
                if let (Some(price), "out") = (call.price_micros, call.direction) {
                    let month = Month::of(call.started_at, user.tz);
                    let t = out.months.entry((user.id, month, dest)).or_default();
                    t.0 += 1;
                    t.1 += call.billsec;
                    t.2 += price;
                    let d = out.days.entry((user.id, day.date)).or_default();
                    d.0 += 1;
                    d.1 += price;
                }
                loader.push(call).await?;
            }
        }
    }
    out.calls = loader.finish().await?;
    Ok(out)
}

const DISPOSITIONS_OUT: [(&str, u32); 4] = [
    ("ANSWERED", 78),
    ("NO ANSWER", 12),
    ("BUSY", 6),
    ("FAILED", 4),
];
const DISPOSITIONS_IN: [(&str, u32); 4] = [
    ("ANSWERED", 80),
    ("NO ANSWER", 14),
    ("BUSY", 5),
    ("FAILED", 1),
];

fn pick<T: Copy>(rng: &mut ChaCha8Rng, weighted: &[(T, u32)]) -> T {
    let total: u32 = weighted.iter().map(|w| w.1).sum();
    let mut at = rng.gen_range(0..total);
    for (v, w) in weighted {
        if at < *w {
            return *v;
        }
        at -= w;
    }
    weighted[weighted.len() - 1].0
}

/// A time of `day`, by the weights of its hours.
fn time_of(rng: &mut ChaCha8Rng, day: &Day) -> i64 {
    let mut at = rng.gen::<f64>() * day.weight();
    for (from, until, w) in &day.hours {
        if at < *w {
            return rng.gen_range(*from..*until);
        }
        at -= w;
    }
    let (from, until, _) = day.hours[day.hours.len() - 1];
    rng.gen_range(from..until)
}

/// Talk time: log-normal around the rhythm's median (Box–Muller), from 3 s to an hour.
fn talk_time(rng: &mut ChaCha8Rng, median: f64) -> i64 {
    let (u1, u2): (f64, f64) = (rng.gen_range(f64::EPSILON..1.0), rng.gen());
    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    ((median * (0.9 * z).exp()) as i64).clamp(3, 3600)
}

/// A number of `dest`: its prefix and random digits, as long as the country's numbers are.
fn number_in(rng: &mut ChaCha8Rng, dest: &Dest) -> String {
    let len = if dest.prefix.starts_with("44") {
        12
    } else {
        11
    };
    let digits = len.max(dest.prefix.len() + 4) - dest.prefix.len();
    let mut n = dest.prefix.clone();
    for _ in 0..digits {
        n.push(char::from(b'0' + rng.gen_range(0..10_u8)));
    }
    n
}

/// A call of `user` on `day` and the index in `dests` of the destination it was made to (or came
/// from).
fn one_call(
    rng: &mut ChaCha8Rng,
    user: &DemoUser,
    day: &Day,
    dests: &[Dest],
    now: i64,
) -> (NewCall, usize) {
    let rhythm = user.rhythm;
    let started_at = time_of(rng, day);
    let outgoing = rng.gen_bool(rhythm.outgoing);
    let disposition = pick(
        rng,
        if outgoing {
            &DISPOSITIONS_OUT
        } else {
            &DISPOSITIONS_IN
        },
    );
    let billsec = match disposition {
        "ANSWERED" => talk_time(rng, rhythm.median_talk),
        _ => 0,
    };
    let duration_s = billsec
        + match disposition {
            "ANSWERED" => rng.gen_range(3..12),
            "NO ANSWER" => rng.gen_range(15..45),
            "BUSY" => rng.gen_range(1..5),
            _ => rng.gen_range(0..3),
        };
    let contact = (!user.contacts.is_empty() && rng.gen_bool(rhythm.contacts))
        .then(|| &user.contacts[rng.gen_range(0..user.contacts.len())]);
    let (number, dest_index) = match contact {
        Some((number, dest)) => (number.clone(), *dest),
        None => {
            let dest = user.places.pick(rng);
            (number_in(rng, &dests[dest]), dest)
        }
    };
    let (device, cli) = &user.lines[rng.gen_range(0..user.lines.len())];
    let age = now - started_at;
    let call = if outgoing {
        let usd = billing::price(&dests[dest_index].terms, billsec);
        NewCall {
            user_id: user.id,
            device_id: Some(*device),
            started_at,
            src: cli.clone(),
            dst: number,
            destination_id: Some(dests[dest_index].id),
            direction: "out",
            disposition,
            duration_s,
            billsec,
            price_micros: Some(usd.convert(user.rate_micros).micros()),
            unique_id: None,
            processed: false,
            seen: age > 86_400,
        }
    } else {
        let answered = disposition == "ANSWERED";
        NewCall {
            user_id: user.id,
            device_id: Some(*device),
            started_at,
            src: number,
            dst: cli.clone(),
            destination_id: None,
            direction: "in",
            disposition,
            duration_s,
            billsec,
            price_micros: Some(0),
            unique_id: None,
            // A missed call is dealt with (called back) within a week, nearly always: the
            // last week's are still to do (a household has a few; none would be unlikely).
            processed: !answered && age > 7 * 86_400 && rng.gen_bool(0.98),
            seen: age > 86_400,
        }
    };
    (call, dest_index)
}

/// Writes calls in batches: PostgreSQL through COPY on a connection of its own, SQLite through
/// multi-row INSERTs; committed every 100,000 calls.
struct Loader {
    pg: Option<sqlx::PgConnection>,
    tx: sqlx::Transaction<'static, sqlx::Any>,
    store: Store,
    batch: Vec<NewCall>,
    written: u64,
    started: std::time::Instant,
}

impl Loader {
    async fn start(store: &Store) -> anyhow::Result<Loader> {
        let mut pg = store.postgres_connection().await?;
        if let Some(pg) = pg.as_mut() {
            sqlx::query("BEGIN").execute(&mut *pg).await?;
        }
        Ok(Loader {
            pg,
            tx: store.pool().begin().await?,
            store: store.clone(),
            batch: Vec::with_capacity(seed::CALL_BATCH),
            written: 0,
            started: std::time::Instant::now(),
        })
    }

    async fn push(&mut self, call: NewCall) -> anyhow::Result<()> {
        self.batch.push(call);
        if self.batch.len() == seed::CALL_BATCH {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> anyhow::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        match self.pg.as_mut() {
            Some(pg) => seed::copy_calls(pg, &self.batch).await?,
            None => seed::insert_calls(&mut self.tx, &self.batch).await?,
        }
        let before = self.written;
        self.written += self.batch.len() as u64;
        self.batch.clear();
        if before / 100_000 != self.written / 100_000 {
            self.commit().await?;
        }
        if before / 1_000_000 != self.written / 1_000_000 {
            let rate = self.written as f64 / self.started.elapsed().as_secs_f64();
            eprintln!("  {} calls written ({rate:.0} calls/s)", self.written);
        }
        Ok(())
    }

    async fn commit(&mut self) -> anyhow::Result<()> {
        match self.pg.as_mut() {
            Some(pg) => {
                sqlx::query("COMMIT").execute(&mut *pg).await?;
                sqlx::query("BEGIN").execute(&mut *pg).await?;
            }
            None => {
                let tx = std::mem::replace(&mut self.tx, self.store.pool().begin().await?);
                tx.commit().await?;
            }
        }
        Ok(())
    }

    async fn finish(mut self) -> anyhow::Result<u64> {
        self.flush().await?;
        if let Some(pg) = self.pg.as_mut() {
            sqlx::query("COMMIT").execute(&mut *pg).await?;
        }
        self.tx.commit().await?;
        Ok(self.written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_gives_every_call_once_by_weight() {
        assert_eq!(spread(10, &[1.0, 1.0, 0.0, 2.0]), [3, 2, 0, 5]);
        assert_eq!(spread(7, &[0.3, 0.3, 0.3]).iter().sum::<u64>(), 7);
        assert_eq!(spread(5, &[0.0, 0.0]), [0, 0]);
    }

    #[test]
    fn a_partial_day_has_only_its_hours_inside_the_history() {
        let tz = chrono_tz::Europe::London;
        let midnight = Period::days(
            NaiveDate::from_ymd_opt(2024, 7, 3).unwrap(),
            NaiveDate::from_ymd_opt(2024, 7, 3).unwrap(),
            tz,
        )
        .from();
        // From 08:30 to 10:00 on a Wednesday: half of hour 8 and hour 9.
        let d = days(
            midnight + 8 * 3600 + 1800,
            midnight + 10 * 3600,
            tz,
            &OFFICE,
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].hours.len(), 2);
        assert!((d[0].weight() - (1.5 + 10.0)).abs() < 1e-9);
    }
}
