//! Demo data, deterministic from a seed: the same seed gives the same users, tariff, devices and
//! calls (call times are placed relative to the moment of generation).
//!
//! Believable by default: a household that makes a few calls a day per line (`demo`), a small
//! office that makes more in business hours (`demo2`), invoices made from those calls, payments
//! that pay them and prepaid balances that follow the ledger (see `people`, `calls`,
//! `accounts`). `--calls N` is for benchmarks: N calls shared equally by the subscribers.

mod accounts;
mod calls;
mod fax_pdf;
mod people;

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::billing::{self, RateTerms};
use crate::money::{Money, MICROS};
use crate::password;
use crate::store::seed::{self, NewDevice, NewFax, NewRate};
use crate::store::Store;
use people::{Places, Profile};

pub struct DemoOptions {
    pub users: u32,
    /// `None`: each subscriber calls as much as their kind does (the believable demo). `Some(N)`:
    /// N calls in all, an equal share for each subscriber (benchmarks).
    pub calls: Option<u64>,
    pub seed: u64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            users: 2,
            calls: None,
            seed: 1,
        }
    }
}

pub struct Summary {
    /// (user name, password) of every demo login.
    pub logins: Vec<(String, String)>,
    pub calls: u64,
    pub seconds: f64,
}

/// One country of `countries.csv`: its groups' destinations and its FIX/MOB prices.
struct Country {
    name: String,
    iso2: String,
    calling_code: String,
    mobile: Vec<String>,
    fixed: Vec<(String, String)>,
}

fn countries() -> anyhow::Result<Vec<Country>> {
    let mut out = Vec::new();
    for (i, line) in include_str!("countries.csv").lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split(';').collect();
        anyhow::ensure!(
            f.len() == 6,
            "countries.csv line {}: expected 6 fields",
            i + 1
        );
        let fixed = f[5]
            .split('|')
            .filter(|s| !s.is_empty())
            .map(|e| {
                let (p, area) = e.split_once('=').unwrap_or((e, f[0]));
                (p.to_string(), area.to_string())
            })
            .collect();
        out.push(Country {
            name: f[0].to_string(),
            iso2: f[1].to_string(),
            calling_code: f[3].to_string(),
            mobile: f[4].split_whitespace().map(str::to_string).collect(),
            fixed,
        });
    }
    Ok(out)
}

/// A destination calls can be made to, with the terms of its rate.
struct Dest {
    id: i64,
    prefix: String,
    /// Its name, as invoice lines show it (several prefixes share one).
    details: String,
    terms: RateTerms,
    /// Its country's ISO code (lower case) and whether it is a mobile network.
    country: String,
    mobile: bool,
}

/// What a demo user owns that calls and money refer to.
struct DemoUser {
    id: i64,
    currency: &'static str,
    /// The voice lines: (device id, caller ID).
    lines: Vec<(i64, String)>,
    /// Units of the user's currency per USD, × 10^6.
    rate_micros: i64,
    vat_bp: i64,
    /// Their invoices are for their calendar months.
    tz: chrono_tz::Tz,
    /// Their monthly services, active all the demo's months: (name, price in the user's
    /// currency), in the order `bill` lists them.
    subscriptions: Vec<(String, i64)>,
    /// A postpaid account owes its open invoice (the ledger has it as a debit).
    postpaid: bool,
    rhythm: &'static calls::Rhythm,
    places: Places,
    /// Phonebook numbers and the destination each is in.
    contacts: Vec<(String, usize)>,
    /// The prepaid first top-up and top-up rule (see `Profile`).
    first_topup: i64,
    topup: (i64, i64),
}

/// The `settings` name of when demo data filled the database (UTC seconds): present only in a
/// database that holds demo data and nothing else.
const FILLED_AT: &str = "demo_filled_at";

/// What `serve --demo` finds in the database.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// No users: the demo fills it.
    Empty,
    /// Demo data made today (UTC): kept as it is, with what the visitor did in it.
    Today,
    /// Demo data made on an earlier day: its "today" and "this month" have gone stale, so it is
    /// made again (everything in the database goes).
    Stale(chrono::NaiveDate),
    /// Users that are not demo data: never touched.
    NotDemo,
}

pub async fn found(store: &Store, now: i64) -> anyhow::Result<Found> {
    if store.user_count().await? == 0 {
        return Ok(Found::Empty);
    }
    let Some(at) = store.setting(FILLED_AT).await? else {
        return Ok(Found::NotDemo);
    };
    let day = |t: i64| crate::period::local_date(t, chrono_tz::UTC);
    let filled = day(at.parse().context("demo_filled_at is not a time")?);
    Ok(if filled < day(now) {
        Found::Stale(filled)
    } else {
        Found::Today
    })
}

/// `serve --demo`: fills an empty database, makes stale demo data again for today, and leaves
/// today's demo data and any real data alone. Returns the summary when it filled.
pub async fn fill_or_refresh(
    store: &Store,
    data_dir: &Path,
    opts: &DemoOptions,
) -> anyhow::Result<Option<Summary>> {
    match found(store, crate::time::now()).await? {
        Found::Empty => Ok(Some(fill(store, data_dir, opts).await?)),
        Found::Stale(day) => {
            println!("The demo data is from {day}: making it again for today.");
            store.erase_and_migrate().await?;
            Ok(Some(fill(store, data_dir, opts).await?))
        }
        Found::Today => {
            println!("The demo data is from today: kept.");
            Ok(None)
        }
        Found::NotDemo => {
            println!("The database already has users that are not demo data; nothing added.");
            Ok(None)
        }
    }
}

/// Fills an empty database. Refuses a database that already has users.
pub async fn fill(store: &Store, data_dir: &Path, opts: &DemoOptions) -> anyhow::Result<Summary> {
    anyhow::ensure!(
        opts.users >= 2,
        "--users must be at least 2 (demo and demo2)"
    );
    anyhow::ensure!(
        store.user_count().await? == 0,
        "the database already has users; demo data goes into an empty database"
    );
    let started = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let now = crate::time::now() / 60 * 60;
    let countries = countries()?;

    let mut tx = store.pool().begin().await?;
    let c = &mut *tx;
    seed::insert_currency(c, "USD", "US dollar", 2, true).await?;
    seed::insert_currency(c, "EUR", "Euro", 2, false).await?;
    seed::insert_currency(c, "RUB", "Russian rouble", 2, false).await?;
    seed::insert_exchange_rate(c, "USD", MICROS, 0).await?;
    seed::insert_exchange_rate(c, "EUR", 920_000, now - 30 * 86_400).await?;
    seed::insert_exchange_rate(c, "RUB", 92_500_000, now - 30 * 86_400).await?;
    let tariff = seed::insert_tariff(c, "Standard", "USD").await?;

    let mut dests = Vec::new();
    let mut uk = None;
    for country in &countries {
        let group = seed::insert_destination_group(c, &country.name, &country.iso2).await?;
        sqlx::query("UPDATE destination_groups SET country_code = $1 WHERE id = $2")
            .bind(&country.calling_code)
            .bind(group)
            .execute(&mut *c)
            .await?;
        if country.iso2 == "gb" {
            uk = Some(group);
        }
        for (kind, list) in [
            ("FIX", country_fixed(country)),
            ("MOB", country_mobile(country)),
        ] {
            if list.is_empty() {
                continue;
            }
            let (lo, hi) = if kind == "FIX" {
                (50, 1500)
            } else {
                (200, 4000)
            };
            // Prices in 1/10,000 of a dollar per minute; a few tariffs bill by the minute.
            let per_minute = Money(rng.gen_range(lo..hi) * 100);
            let per_minute_billing = rng.gen_bool(0.1);
            let terms = RateTerms {
                per_minute,
                connection_fee: Money(if rng.gen_bool(0.2) {
                    rng.gen_range(1..5) * 10_000
                } else {
                    0
                }),
                increment_s: if per_minute_billing { 60 } else { 1 },
                min_time_s: if per_minute_billing { 60 } else { 0 },
            };
            seed::insert_rate(
                c,
                &NewRate {
                    tariff_id: tariff,
                    group_id: group,
                    rate_type: kind,
                    price_micros: terms.per_minute.micros(),
                    connection_fee_micros: terms.connection_fee.micros(),
                    increment_s: terms.increment_s,
                    min_time_s: terms.min_time_s,
                },
            )
            .await?;
            for (prefix, details) in list {
                let id = seed::insert_destination(c, group, &prefix, &details, kind).await?;
                dests.push(Dest {
                    id,
                    prefix,
                    details,
                    terms,
                    country: country.iso2.clone(),
                    mobile: kind == "MOB",
                });
            }
        }
    }

    if let Some(uk) = uk {
        premium_and_risk(c, tariff, uk).await?;
    }

    // The operator's price lists: each subscriber's services are priced in their own currency.
    let services: [(&str, [(&str, i64); 4]); 2] = [
        (
            "USD",
            [
                ("Voicemail to e-mail", 2 * MICROS),
                ("Extra DID number", 5 * MICROS),
                ("Call recording", 3_500_000),
                ("Fax to e-mail", MICROS),
            ],
        ),
        (
            "EUR",
            [
                ("Голосовая почта на e-mail", 1_900_000),
                ("Дополнительный номер", 4_500_000),
                ("Запись разговоров", 3_200_000),
                ("Факс на e-mail", 900_000),
            ],
        ),
    ];
    let mut service_ids = Vec::new();
    for (currency, list) in services {
        for (name, price) in list {
            let id = seed::insert_service(c, name, price, currency, "month").await?;
            service_ids.push((currency, id, name, price));
        }
    }

    // Users: hashing is the slow part of creating one; it runs off the async threads.
    let mut logins = Vec::new();
    let mut users = Vec::new();
    for n in 1..=opts.users {
        let profile = Profile::of(n);
        let pw = profile.username.clone();
        let hash = tokio::task::spawn_blocking(move || password::hash(&pw)).await??;
        let id = people::store_user(c, &profile, &hash, tariff, now).await?;
        logins.push((profile.username.clone(), profile.username.clone()));
        let lines = devices(c, data_dir, &mut rng, &profile, id, n, now).await?;
        let entries = people::phonebook(&mut rng);
        for (i, (number, name)) in entries.iter().enumerate() {
            seed::insert_phonebook_entry(c, id, number, name, now - (i as i64 + 1) * 86_400 * 3)
                .await?;
        }
        let mut subscriptions = Vec::new();
        let own = service_ids.iter().filter(|s| s.0 == profile.currency);
        for (i, (_, service, name, price)) in own
            .enumerate()
            .filter(|(i, _)| (*i as u32 + n).is_multiple_of(2))
        {
            let start = now - (300 + 30 * i as i64) * 86_400;
            seed::insert_subscription(c, id, *service, start, start, None).await?;
            subscriptions.push((name.to_string(), *price));
        }
        // As `bill` lists them: the oldest first (the later services started earlier).
        subscriptions.reverse();
        users.push(DemoUser {
            id,
            currency: profile.currency,
            lines,
            rate_micros: match profile.currency {
                "EUR" => 920_000,
                "RUB" => 92_500_000,
                _ => MICROS,
            },
            vat_bp: profile.vat_bp,
            tz: crate::time::zone(profile.time_zone),
            subscriptions,
            postpaid: profile.account_type == "postpaid",
            rhythm: profile.rhythm,
            places: Places::of(&profile, &dests),
            contacts: people::contacts(&entries, &dests),
            first_topup: profile.first_topup,
            topup: profile.topup,
        });
    }
    number_pool(c, &users, now).await?;
    tx.commit().await?;

    // The months the calls fall in get their partitions first (PostgreSQL), so no call has to
    // be moved out of the default partition afterwards (a day's margin for time zones).
    store
        .make_call_months(calls::history_start(now, chrono_tz::UTC) - 86_400, now)
        .await?;
    // With `--calls`, an equal share each (the first ones take what does not divide).
    let n = users.len() as u64;
    let shares: Vec<Option<u64>> = (0..n)
        .map(|i| opts.calls.map(|all| all / n + u64::from(i < all % n)))
        .collect();
    let written = calls::write(store, &mut rng, &users, &shares, &dests, now).await?;
    accounts::write(store, &mut rng, &users, &dests, &written, now).await?;
    store.after_bulk_load().await?;
    store.set_setting(FILLED_AT, &now.to_string()).await?;
    Ok(Summary {
        logins,
        calls: written.calls,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The user's devices: the profile's voice lines, each with a caller ID of its own, and a fax
/// machine with a few faxes. Returns the voice lines (device id, caller ID).
async fn devices(
    c: &mut sqlx::AnyConnection,
    data_dir: &Path,
    rng: &mut ChaCha8Rng,
    profile: &Profile,
    user_id: i64,
    n: u32,
    now: i64,
) -> anyhow::Result<Vec<(i64, String)>> {
    let ext = 100 * n as i64;
    let mut lines = Vec::new();
    let all = profile
        .lines
        .iter()
        .copied()
        .chain(std::iter::once(("FAX", "Fax machine")));
    for (k, (kind, desc)) in all.enumerate() {
        let extension = (ext + k as i64 + 1).to_string();
        let secret: String = (0..12)
            .map(|_| {
                *b"abcdefghjkmnpqrstuvwxyz23456789"
                    .choose(rng)
                    .unwrap_or(&b'x') as char
            })
            .collect();
        let device = seed::insert_device(
            c,
            &NewDevice {
                user_id,
                device_type: kind,
                description: desc,
                extension: &extension,
                username: &extension,
                secret: &secret,
                caller_id: &format!("\"{}\" <{extension}>", profile.display),
                last_registered_at: Some(now - rng.gen_range(60..86_400 * 3)),
                created_at: now - 400 * 86_400,
            },
        )
        .await?;
        if kind == "FAX" {
            write_faxes(c, data_dir, rng, user_id, device, now).await?;
        } else {
            let cli = format!("{}{}", profile.did, k);
            seed::insert_cli(c, device, &cli, &format!("{desc} line"), now - 200 * 86_400).await?;
            lines.push((device, cli));
        }
    }
    Ok(lines)
}

/// The number pool: numbers in fictional ranges (Ofcom's drama numbers, North America's
/// 555-01xx) and a few others, and one allocated to each demo subscriber (the first 99),
/// ringing his desk phone.
async fn number_pool(
    c: &mut sqlx::AnyConnection,
    users: &[DemoUser],
    now: i64,
) -> anyhow::Result<()> {
    use crate::numbers::E164;
    // (country, region, number without its last digits, how many, monthly fee, setup fee, currency)
    let ranges: [(&str, &str, &str, u32, i64, i64, &str); 6] = [
        ("GB", "London", "+44207946", 40, 3 * MICROS, 0, "USD"),
        ("GB", "Manchester", "+44161496", 25, 2_500_000, 0, "USD"),
        (
            "US",
            "New York",
            "+1212555",
            30,
            2 * MICROS,
            5 * MICROS,
            "USD",
        ),
        ("RU", "Moscow", "+7495123", 20, 4 * MICROS, 0, "EUR"),
        ("DE", "Berlin", "+4930901820", 15, 3_500_000, 0, "EUR"),
        (
            "FR",
            "Paris",
            "+3319988",
            10,
            3 * MICROS,
            10 * MICROS,
            "EUR",
        ),
    ];
    for (country, region, stem, count, monthly, setup, currency) in ranges {
        for i in 0..count {
            // 0100… so the numbers stay in the fictional ranges.
            let number = format!("{stem}{:04}", 100 + i);
            sqlx::query(
                "INSERT INTO dids (number, country, region, monthly_fee_micros, setup_fee_micros,
                                   currency, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&number)
            .bind(country)
            .bind(region)
            .bind(monthly)
            .bind(setup)
            .bind(currency)
            .bind(now)
            .execute(&mut *c)
            .await?;
        }
    }
    for (n, user) in users.iter().enumerate().take(99) {
        let stem = match n {
            0 => "+44207946",
            1 => "+7495123",
            _ => "+1212555",
        };
        // Each its own number past the pool's free ones.
        let number = E164::parse(&format!("{stem}{:04}", 500 + n)).map_err(anyhow::Error::msg)?;
        let (country, region, monthly, currency) = match n {
            0 => ("GB", "London", 3 * MICROS, "USD"),
            1 => ("RU", "Moscow", 4 * MICROS, "EUR"),
            _ => ("US", "New York", 2 * MICROS, "USD"),
        };
        let (did_id,): (i64,) = sqlx::query_as(
            "INSERT INTO dids (number, country, region, monthly_fee_micros, currency, state,
                               user_id, device_id, updated_at)
             VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $8) RETURNING id",
        )
        .bind(number.as_str())
        .bind(country)
        .bind(region)
        .bind(monthly)
        .bind(currency)
        .bind(user.id)
        .bind(user.lines.first().map(|l| l.0))
        .bind(now)
        .fetch_one(&mut *c)
        .await?;
        crate::store::numbers::start_allocation(
            c,
            did_id,
            user.id,
            &number,
            (monthly, 0, currency),
            now,
        )
        .await?;
    }
    Ok(())
}

fn country_fixed(c: &Country) -> Vec<(String, String)> {
    c.fixed
        .iter()
        .map(|(p, area)| {
            let details = if area == &c.name {
                c.name.clone()
            } else {
                format!("{} {area}", c.name)
            };
            (p.clone(), details)
        })
        .collect()
}

fn country_mobile(c: &Country) -> Vec<(String, String)> {
    c.mobile
        .iter()
        .map(|p| (p.clone(), format!("{} Mobile", c.name)))
        .collect()
}

/// The calling plan's demo: UK premium-rate numbers (09…, a premium service of medium risk,
/// off until a subscriber switches it on), a few countries of high risk (common toll-fraud
/// destinations), the UK as the operator's own country. No demo call goes to these, so the
/// call history is the same as before they existed.
async fn premium_and_risk(c: &mut sqlx::AnyConnection, tariff: i64, uk: i64) -> anyhow::Result<()> {
    seed::insert_destination(c, uk, "449", "United Kingdom premium rate", "PRM").await?;
    seed::insert_rate(
        c,
        &NewRate {
            tariff_id: tariff,
            group_id: uk,
            rate_type: "PRM",
            price_micros: 1_500_000,
            connection_fee_micros: 0,
            increment_s: 1,
            min_time_s: 0,
        },
    )
    .await?;
    crate::store::controls::sync_plan_services(c).await?;
    sqlx::query(
        "UPDATE plan_services SET service_type = 'premium', risk = 2 WHERE dir_code = 'PRM'",
    )
    .execute(&mut *c)
    .await?;
    sqlx::query(
        "UPDATE destination_groups SET risk = 3 WHERE flag IN ('cu', 'so', 'sl', 'gn', 'tv', 'nr')",
    )
    .execute(&mut *c)
    .await?;
    sqlx::query("UPDATE control_settings SET national_country = 'GB' WHERE id = 1")
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub(crate) fn with_vat(amount: i64, vat_bp: i64) -> i64 {
    amount + billing::invoice::vat(Money(amount), vat_bp).micros()
}

async fn write_faxes(
    c: &mut sqlx::AnyConnection,
    data_dir: &Path,
    rng: &mut ChaCha8Rng,
    user_id: i64,
    device_id: i64,
    now: i64,
) -> anyhow::Result<()> {
    let dir = data_dir.join("faxes").join(user_id.to_string());
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for n in 1..=5_i64 {
        let received = now - rng.gen_range(3600..60 * 86_400);
        let sender = format!("4420{}", rng.gen_range(70_000_000..79_999_999));
        let status = ["received", "received", "sent", "received", "failed"][(n - 1) as usize];
        let name = format!("fax-{user_id}-{n}.pdf");
        let at = crate::time::format_instant(received, chrono_tz::Tz::UTC);
        let pdf = fax_pdf::render(&[
            format!("FAX {status} {at} UTC"),
            format!("From: +{sender}"),
            format!("Document {n} for subscriber {user_id}"),
            "This is a demo fax page.".to_string(),
        ]);
        let rel = format!("faxes/{user_id}/{name}");
        std::fs::write(data_dir.join(&rel), pdf).with_context(|| format!("cannot write {rel}"))?;
        seed::insert_fax(
            c,
            &NewFax {
                user_id,
                device_id,
                received_at: received,
                sender: &sender,
                status,
                file_name: &name,
                file_path: &rel,
                pages: 1,
            },
        )
        .await?;
    }
    Ok(())
}
