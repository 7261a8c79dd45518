//! Demo data, deterministic from a seed: the same seed gives the same users, tariff, devices and
//! calls (call times are placed relative to the moment of generation).

mod fax_pdf;

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::billing::invoice::{call_lines, DestinationCalls};
use crate::billing::month::Month;
use crate::billing::{self, RateTerms};
use crate::money::{Money, MICROS};
use crate::password;
use crate::store::seed::{self, NewCall, NewDevice, NewFax, NewInvoice, NewPayment, NewRate};
use crate::store::users::NewUser;
use crate::store::Store;

pub struct DemoOptions {
    pub users: u32,
    pub calls: u64,
    pub seed: u64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            users: 2,
            calls: 20_000,
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
}

/// What a demo user owns that calls refer to.
struct DemoUser {
    id: i64,
    currency: &'static str,
    did: String,
    voice_devices: Vec<i64>,
    /// Units of the user's currency per USD, × 10^6.
    rate_micros: i64,
    vat_bp: i64,
    /// Their invoices are for their calendar months.
    tz: chrono_tz::Tz,
    /// Their monthly services, active all the demo's months: (name, price in USD), in the order
    /// `bill` lists them.
    subscriptions: Vec<(String, i64)>,
    /// A postpaid account owes its open invoice (the ledger has it as a debit).
    postpaid: bool,
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
                });
            }
        }
    }

    if let Some(uk) = uk {
        premium_and_risk(c, tariff, uk).await?;
    }

    let services = [
        ("Voicemail to e-mail", 2 * MICROS),
        ("Extra DID number", 5 * MICROS),
        ("Call recording", 3_500_000),
        ("Fax to e-mail", MICROS),
    ];
    let mut service_ids = Vec::new();
    for (name, price) in services {
        service_ids.push((
            seed::insert_service(c, name, price, "USD", "month").await?,
            name,
            price,
        ));
    }

    // Users: hashing is the slow part of creating one; it runs off the async threads.
    let mut logins = Vec::new();
    let mut users = Vec::new();
    for n in 1..=opts.users {
        let profile = Profile::of(n);
        let pw = profile.username.clone();
        let hash = tokio::task::spawn_blocking(move || password::hash(&pw)).await??;
        let id = store_user(c, &profile, &hash, tariff, now).await?;
        logins.push((profile.username.clone(), profile.username.clone()));
        let ext = 100 * n as i64;
        let mut voice_devices = Vec::new();
        for (k, (kind, desc)) in [
            ("SIP", "Desk phone"),
            ("IAX2", "Softphone"),
            ("FAX", "Fax machine"),
        ]
        .iter()
        .enumerate()
        {
            let extension = (ext + k as i64 + 1).to_string();
            let secret: String = (0..12)
                .map(|_| {
                    *b"abcdefghjkmnpqrstuvwxyz23456789"
                        .choose(&mut rng)
                        .unwrap_or(&b'x') as char
                })
                .collect();
            let device = seed::insert_device(
                c,
                &NewDevice {
                    user_id: id,
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
            if *kind == "FAX" {
                write_faxes(c, data_dir, &mut rng, id, device, now).await?;
            } else {
                voice_devices.push(device);
                seed::insert_cli(
                    c,
                    device,
                    &format!("{}{}", profile.did, k),
                    &format!("{desc} line"),
                    now - 200 * 86_400,
                )
                .await?;
            }
        }
        for (i, (number, name)) in phonebook(&mut rng).into_iter().enumerate() {
            seed::insert_phonebook_entry(c, id, &number, &name, now - (i as i64 + 1) * 86_400 * 3)
                .await?;
        }
        let mut subscriptions = Vec::new();
        for (i, (service, name, price)) in service_ids
            .iter()
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
            did: profile.did.clone(),
            voice_devices,
            rate_micros: match profile.currency {
                "EUR" => 920_000,
                "RUB" => 92_500_000,
                _ => MICROS,
            },
            vat_bp: profile.vat_bp,
            tz: crate::time::zone(profile.time_zone),
            subscriptions,
            postpaid: profile.account_type == "postpaid",
        });
        for m in 0..6 {
            let amount = rng.gen_range(1..10) * 10 * MICROS;
            let paid = now - (m * 30 + rng.gen_range(1..20)) * 86_400;
            seed::insert_payment(
                c,
                &NewPayment {
                    user_id: id,
                    paid_at: paid,
                    confirmed_at: if m == 0 { None } else { Some(paid + 3 * 3600) },
                    payment_type: ["Manual", "Card", "Bank transfer"][m as usize % 3],
                    amount_micros: amount,
                    vat_percent_bp: profile.vat_bp,
                    amount_vat_micros: with_vat(amount, profile.vat_bp),
                    currency: profile.currency,
                    completed: m != 0,
                },
            )
            .await?;
        }
    }
    number_pool(c, &users, now).await?;
    tx.commit().await?;

    // The months the calls fall in get their partitions first (PostgreSQL), so no call has to
    // be moved out of the default partition afterwards.
    store.make_call_months(now - 90 * 86_400, now).await?;
    let totals = write_calls(store, &mut rng, &users, &dests, opts.calls, now).await?;
    write_invoices(store, &users, &dests, &totals, now).await?;
    store.after_bulk_load().await?;
    store.set_setting(FILLED_AT, &now.to_string()).await?;
    Ok(Summary {
        logins,
        calls: opts.calls,
        seconds: started.elapsed().as_secs_f64(),
    })
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
        .bind(user.voice_devices.first().copied())
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

fn with_vat(amount: i64, vat_bp: i64) -> i64 {
    amount + billing::invoice::vat(Money(amount), vat_bp).micros()
}

/// The personal data of demo user number `n` (1 = demo, 2 = demo2).
struct Profile {
    username: String,
    display: String,
    first: &'static str,
    last: String,
    language: &'static str,
    currency: &'static str,
    time_zone: &'static str,
    account_type: &'static str,
    balance: i64,
    credit: Option<i64>,
    did: String,
    vat_bp: i64,
    city: &'static str,
    country: &'static str,
}

impl Profile {
    fn of(n: u32) -> Profile {
        match n {
            1 => Profile {
                username: "demo".into(),
                display: "John Smith".into(),
                first: "John",
                last: "Smith".into(),
                language: "en",
                currency: "USD",
                time_zone: "Europe/London",
                account_type: "postpaid",
                balance: 100 * MICROS,
                credit: None,
                did: "44207946000".into(),
                vat_bp: 2000,
                city: "London",
                country: "United Kingdom",
            },
            2 => Profile {
                username: "demo2".into(),
                display: "Мария Иванова".into(),
                first: "Мария",
                last: "Иванова".into(),
                language: "ru",
                currency: "EUR",
                time_zone: "Europe/Moscow",
                account_type: "prepaid",
                balance: 25_500_000,
                credit: Some(10 * MICROS),
                did: "74951230000".into(),
                vat_bp: 2000,
                city: "Москва",
                country: "Russia",
            },
            n => Profile {
                username: format!("user{n}"),
                display: format!("Subscriber {n}"),
                first: "Subscriber",
                last: n.to_string(),
                language: "en",
                currency: "USD",
                time_zone: "UTC",
                account_type: "prepaid",
                balance: 50 * MICROS,
                credit: Some(0),
                did: format!("1212555{:04}", n % 10_000),
                vat_bp: 0,
                city: "New York",
                country: "United States",
            },
        }
    }
}

async fn store_user(
    c: &mut sqlx::AnyConnection,
    p: &Profile,
    hash: &str,
    tariff: i64,
    now: i64,
) -> anyhow::Result<i64> {
    let id = seed::insert_user(
        c,
        &NewUser {
            username: &p.username,
            password_hash: hash,
            first_name: p.first,
            last_name: &p.last,
            language: p.language,
            currency: p.currency,
            time_zone: p.time_zone,
            account_type: p.account_type,
            balance_micros: p.balance,
            credit_limit_micros: p.credit,
            tariff_id: Some(tariff),
            created_at: now - 400 * 86_400,
        },
    )
    .await?;
    seed::update_details(
        c,
        id,
        &seed::Details {
            personal_id: &format!("ID{:07}", 1_000_000 + id),
            alias: &(100 * id + 1).to_string(),
            agreement_number: &format!("AG-{:05}", id),
            agreement_date: "2025-03-11",
            taxation_country: p.country,
            vat_reg_number: "",
            vat_percent_bp: p.vat_bp,
            reg_address: "1 Example Street",
            reg_postcode: "100100",
            reg_city: p.city,
            reg_country: p.country,
            reg_direction: p.country,
            reg_phone: &p.did,
            reg_mobile: &p.did,
            reg_email: &format!("{}@example.com", p.username),
            daily_call_target: 20,
        },
    )
    .await?;
    Ok(id)
}

fn phonebook(rng: &mut ChaCha8Rng) -> Vec<(String, String)> {
    let names = [
        "Alice Brown",
        "Bob Miller",
        "Office",
        "Dr. Patel",
        "Пётр Смирнов",
        "O'Brien & Sons <Sales>",
        "Mum",
        "Taxi",
        "Pizza \"Napoli\"",
        "Support line",
    ];
    names
        .iter()
        .map(|n| {
            (
                format!("44{}", rng.gen_range(7_000_000_000_u64..7_999_999_999)),
                n.to_string(),
            )
        })
        .collect()
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

/// Per user, the user's calendar month (in their zone, as `bill` has it) and destination (its
/// index in `dests`): calls, seconds and price, for the demo invoices' lines. Summed while the
/// calls are written: a query per invoice would read every call again (10M in the largest demo).
type MonthTotals = HashMap<(i64, Month, usize), (i64, i64, i64)>;

const DISPOSITIONS: [(&str, u32); 4] = [
    ("ANSWERED", 70),
    ("NO ANSWER", 15),
    ("BUSY", 8),
    ("FAILED", 7),
];

async fn write_calls(
    store: &Store,
    rng: &mut ChaCha8Rng,
    users: &[DemoUser],
    dests: &[Dest],
    count: u64,
    now: i64,
) -> anyhow::Result<MonthTotals> {
    let mut totals = MonthTotals::new();
    let mut batch = Vec::with_capacity(seed::CALL_BATCH);
    let mut written = 0_u64;
    // PostgreSQL loads through COPY on a connection of its own; SQLite through multi-row INSERTs.
    let mut pg = store.postgres_connection().await?;
    let mut tx = store.pool().begin().await?;
    if let Some(pg) = pg.as_mut() {
        sqlx::query("BEGIN").execute(&mut *pg).await?;
    }
    let started = Instant::now();
    while written < count {
        batch.clear();
        let n = (count - written).min(seed::CALL_BATCH as u64);
        for _ in 0..n {
            let user = &users[rng.gen_range(0..users.len())];
            let (call, dest) = random_call(rng, user, dests, now);
            if let (Some(price), "out") = (call.price_micros, call.direction) {
                let month = Month::of(call.started_at, user.tz);
                let t = totals.entry((user.id, month, dest)).or_default();
                t.0 += 1;
                t.1 += call.billsec;
                t.2 += price;
            }
            batch.push(call);
        }
        match pg.as_mut() {
            Some(pg) => seed::copy_calls(pg, &batch).await?,
            None => seed::insert_calls(&mut tx, &batch).await?,
        }
        written += n;
        if written.is_multiple_of(100_000) || written == count {
            match pg.as_mut() {
                Some(pg) => {
                    sqlx::query("COMMIT").execute(&mut *pg).await?;
                    sqlx::query("BEGIN").execute(&mut *pg).await?;
                }
                None => {
                    tx.commit().await?;
                    tx = store.pool().begin().await?;
                }
            }
            if written.is_multiple_of(1_000_000) {
                let rate = written as f64 / started.elapsed().as_secs_f64();
                eprintln!("  {written} calls written ({rate:.0} calls/s)");
            }
        }
    }
    if let Some(pg) = pg.as_mut() {
        sqlx::query("COMMIT").execute(&mut *pg).await?;
    }
    tx.commit().await?;
    Ok(totals)
}

/// How many destinations a demo subscriber calls: people call the same few places again and
/// again, so a month's invoice has a few dozen lines rather than one per destination of the deck.
const USUAL_DESTINATIONS: u64 = 24;

/// One of the user's usual destinations (an index in a list of `count`), the first ones far more
/// often than the last (a squared uniform draw).
fn usual_destination(rng: &mut ChaCha8Rng, user_id: i64, count: usize) -> usize {
    let k = (rng.gen::<f64>().powi(2) * USUAL_DESTINATIONS as f64) as u64;
    // A fixed scramble of (user, k), so each user has their own places.
    let h = (user_id as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(k.wrapping_mul(0xC2B2_AE3D_27D4_EB4F));
    ((h >> 17) % count as u64) as usize
}

/// A call and the index in `dests` of the destination it was made to (or came from).
fn random_call(
    rng: &mut ChaCha8Rng,
    user: &DemoUser,
    dests: &[Dest],
    now: i64,
) -> (NewCall, usize) {
    let started_at = now - rng.gen_range(1..90 * 86_400);
    let pick = rng.gen_range(0..100);
    let mut acc = 0;
    let disposition = DISPOSITIONS
        .iter()
        .find(|(_, w)| {
            acc += w;
            pick < acc
        })
        .map(|(d, _)| *d)
        .unwrap_or("ANSWERED");
    let answered = disposition == "ANSWERED";
    let billsec = if answered {
        (rng.gen::<f64>().powi(3) * 1800.0) as i64 + 3
    } else {
        0
    };
    let duration_s = billsec
        + if disposition == "FAILED" {
            rng.gen_range(0..3)
        } else {
            rng.gen_range(3..30)
        };
    let dest_index = usual_destination(rng, user.id, dests.len());
    let dest = &dests[dest_index];
    let number = format!("{}{}", dest.prefix, rng.gen_range(100_000..9_999_999));
    let device = user.voice_devices[rng.gen_range(0..user.voice_devices.len())];
    let outgoing = rng.gen_bool(0.6);
    let age = now - started_at;
    let call = if outgoing {
        let usd = billing::price(&dest.terms, billsec);
        NewCall {
            user_id: user.id,
            device_id: Some(device),
            started_at,
            src: user.did.clone(),
            dst: number,
            destination_id: Some(dest.id),
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
        NewCall {
            user_id: user.id,
            device_id: Some(device),
            started_at,
            src: number,
            dst: user.did.clone(),
            destination_id: None,
            direction: "in",
            disposition,
            duration_s,
            billsec,
            price_micros: Some(0),
            unique_id: None,
            processed: !answered && age > 7 * 86_400 && rng.gen_bool(0.7),
            seen: age > 86_400,
        }
    };
    (call, dest_index)
}

/// One invoice per user for each of the three months before the user's current one, as `bill`
/// makes them: the user's calendar months in their zone, a line per destination from the calls
/// written, a line per subscription; numbered without gaps in order of issue.
async fn write_invoices(
    store: &Store,
    users: &[DemoUser],
    dests: &[Dest],
    totals: &MonthTotals,
    now: i64,
) -> anyhow::Result<()> {
    // The destinations each user called in each month.
    let mut by_month: HashMap<(i64, Month), Vec<DestinationCalls>> = HashMap::new();
    for (&(user, month, dest), &(calls, seconds, amount)) in totals {
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
    let mut tx = store.pool().begin().await?;
    let mut number = 0;
    for k in (1..=3).rev() {
        for user in users {
            let month = Month::of(now, user.tz).before(k);
            let (start_ts, end_ts) = month.bounds(user.tz);
            let mut lines = call_lines(by_month.remove(&(user.id, month)).unwrap_or_default());
            for (name, price) in &user.subscriptions {
                let price = Money(*price).convert(user.rate_micros).micros();
                lines.push(("subscription", name.clone(), 1, 0, price));
            }
            let net: i64 = lines.iter().map(|l| l.4).sum();
            let total = with_vat(net, user.vat_bp);
            // The older months are paid; a postpaid account's last one is still open (and owed
            // on its balance, as `bill` leaves it); a prepaid account's invoices are settled
            // from its balance as they are issued.
            let open = k == 1 && user.postpaid;
            number += 1;
            let invoice_id = seed::insert_invoice(
                &mut tx,
                &NewInvoice {
                    user_id: user.id,
                    number: &format!("INV-{}-{number:06}", month.year()),
                    period_start: start_ts,
                    period_end: end_ts,
                    // A day after the month, or now when the month ended less than a day ago.
                    issued_at: (end_ts + 86_400).min(now),
                    due_at: (end_ts + 86_400).min(now) + 14 * 86_400,
                    paid_at: (!open).then_some((end_ts + 10 * 86_400).min(now)),
                    currency: user.currency,
                    vat_percent_bp: user.vat_bp,
                    lines,
                    price_micros: net,
                    price_vat_micros: total,
                },
            )
            .await?;
            if open {
                crate::store::ledger::post(
                    &mut tx,
                    &crate::store::ledger::Posting {
                        user_id: user.id,
                        key: format!("invoice:{invoice_id}"),
                        kind: crate::store::ledger::EntryKind::Invoice,
                        amount: -Money(total).round_to(2),
                        reference: invoice_id.to_string(),
                        note: "Invoice of the demo data".to_string(),
                    },
                )
                .await?;
            }
        }
    }
    // `selfcare bill` numbers on from here.
    crate::store::billing::set_invoice_counter(&mut tx, number).await?;
    tx.commit().await?;
    Ok(())
}
