//! Who the demo's subscribers are: `demo`, a London household on a postpaid account; `demo2`, a
//! small Moscow office on a prepaid account; `user3`, `user4`, … New York households, prepaid.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::calls::{Rhythm, HOUSEHOLD, OFFICE};
use super::Dest;
use crate::money::MICROS;
use crate::store::seed;
use crate::store::users::NewUser;

/// The personal data of demo user number `n` (1 = demo, 2 = demo2).
pub struct Profile {
    pub username: String,
    pub display: String,
    pub first: &'static str,
    pub last: String,
    pub language: &'static str,
    pub currency: &'static str,
    pub time_zone: &'static str,
    pub account_type: &'static str,
    /// A prepaid account's first top-up, the day before the demo's history starts.
    pub first_topup: i64,
    pub credit: Option<i64>,
    pub did: String,
    pub vat_bp: i64,
    pub city: &'static str,
    pub country: &'static str,
    /// The voice lines (device type, description); a fax machine comes after them.
    pub lines: &'static [(&'static str, &'static str)],
    pub rhythm: &'static Rhythm,
    /// Where the subscriber calls: the home country (ISO), the home city's fixed prefix, and the
    /// countries of friends, family or trading partners abroad.
    pub home: &'static str,
    pub city_prefix: &'static str,
    pub abroad: &'static [&'static str],
    /// A prepaid subscriber tops up under the first amount by at least the second.
    pub topup: (i64, i64),
}

const HOME_LINES: &[(&str, &str)] = &[("SIP", "Desk phone"), ("IAX2", "Softphone")];

const OFFICE_LINES: &[(&str, &str)] = &[
    ("SIP", "Приёмная"),
    ("SIP", "Отдел продаж 1"),
    ("SIP", "Отдел продаж 2"),
    ("SIP", "Бухгалтерия"),
    ("SIP", "Директор"),
    ("IAX2", "Склад"),
];

impl Profile {
    pub fn of(n: u32) -> Profile {
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
                first_topup: 0,
                credit: None,
                did: "44207946000".into(),
                vat_bp: 2000,
                city: "London",
                country: "United Kingdom",
                lines: HOME_LINES,
                rhythm: &HOUSEHOLD,
                home: "gb",
                city_prefix: "4420",
                abroad: &["fr", "pl", "ie", "in"],
                topup: (0, 0),
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
                first_topup: 150 * MICROS,
                credit: Some(10 * MICROS),
                did: "74951230000".into(),
                vat_bp: 2000,
                city: "Москва",
                country: "Russia",
                lines: OFFICE_LINES,
                rhythm: &OFFICE,
                home: "ru",
                city_prefix: "7495",
                abroad: &["de", "cn", "kz", "by", "tr"],
                topup: (40 * MICROS, 150 * MICROS),
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
                first_topup: 25 * MICROS,
                credit: Some(0),
                did: format!("1212555{:04}", n % 10_000),
                vat_bp: 0,
                city: "New York",
                country: "United States",
                lines: HOME_LINES,
                rhythm: &HOUSEHOLD,
                home: "us",
                city_prefix: "1212",
                abroad: &["mx", "ca", "it", "ie"],
                topup: (10 * MICROS, 25 * MICROS),
            },
        }
    }
}

pub async fn store_user(
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
            balance_micros: 0,
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
            // What a line of this kind makes on a weekday.
            daily_call_target: (p.rhythm.per_line * p.lines.len() as f64).round() as i64,
        },
    )
    .await?;
    Ok(id)
}

pub fn phonebook(rng: &mut ChaCha8Rng) -> Vec<(String, String)> {
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

/// The destinations a subscriber calls, each with its share: people call the same few places
/// again and again, so a month's invoice has a handful of lines.
pub struct Places {
    /// (cumulative weight, index in `dests`)
    cumulative: Vec<(f64, usize)>,
}

impl Places {
    /// Most calls stay in the country (the home city's fixed numbers first, then mobiles, then
    /// the rest of the country); a few go abroad.
    pub fn of(p: &Profile, dests: &[Dest]) -> Places {
        let mut weighted: Vec<(f64, usize)> = Vec::new();
        let mut share = |weight: f64, pick: &dyn Fn(&Dest) -> bool| {
            let chosen: Vec<usize> = (0..dests.len()).filter(|&i| pick(&dests[i])).collect();
            for &i in &chosen {
                weighted.push((weight / chosen.len() as f64, i));
            }
        };
        share(35.0, &|d| d.country == p.home && d.prefix == p.city_prefix);
        share(12.0, &|d| {
            d.country == p.home && !d.mobile && d.prefix != p.city_prefix
        });
        share(38.0, &|d| d.country == p.home && d.mobile);
        for abroad in p.abroad {
            share(15.0 / p.abroad.len() as f64, &|d| d.country == *abroad);
        }
        if weighted.is_empty() {
            // A deck without the subscriber's countries: anywhere.
            weighted = (0..dests.len()).map(|i| (1.0, i)).collect();
        }
        let mut acc = 0.0;
        let cumulative = weighted
            .into_iter()
            .map(|(w, i)| {
                acc += w;
                (acc, i)
            })
            .collect();
        Places { cumulative }
    }

    /// One of the places, by its share.
    pub fn pick(&self, rng: &mut ChaCha8Rng) -> usize {
        let total = self.cumulative.last().map_or(0.0, |c| c.0);
        let at = rng.gen::<f64>() * total;
        let i = self.cumulative.partition_point(|c| c.0 <= at);
        self.cumulative[i.min(self.cumulative.len() - 1)].1
    }
}

/// The phonebook's numbers that a destination of the deck matches (the longest prefix), with it.
pub fn contacts(entries: &[(String, String)], dests: &[Dest]) -> Vec<(String, usize)> {
    entries
        .iter()
        .filter_map(|(number, _)| {
            dests
                .iter()
                .enumerate()
                .filter(|(_, d)| number.starts_with(&d.prefix))
                .max_by_key(|(_, d)| d.prefix.len())
                .map(|(i, _)| (number.clone(), i))
        })
        .collect()
}
