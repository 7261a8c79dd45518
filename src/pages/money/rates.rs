//! Rates: the user's tariff per destination group and type, without and with the user's VAT, in
//! a currency the subscriber picks among those with an exchange rate (`?currency=EUR`), and a
//! search by country or prefix (`?q=`). XML keeps one `<rate>` per type as the seed does; the
//! HTML table puts a country's types side by side so 235 countries stay readable on a phone.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::export::{key_in, Column, Export, ExportRow, FileName, Owner, WordTable};
use crate::i18n::Lang;
use crate::locale;
use crate::money::{format_percent_short, CurrencyCode, ExchangeRate, Money};
use crate::store::rates::{CurrencyRate, RateSearch, RateSettings, RatesOfUser};
use crate::store::Store;
use crate::time;
use crate::web::openapi::ApiDoc;
use crate::web::values::{Amount, Links};
use crate::web::{respond, Chrome, Ctx, CurrentUser, Format, OwnUserId, Page, UserAccount};

/// Rates are per-minute prices: tariffs carry them to 1/10,000 of a unit (0.0184), finer than
/// any currency's minor unit, so they are shown with four decimals in every format (the seed's
/// two would turn 0.0184 and 0.0221 into 0.02 and 0.02). Conversion and VAT are rounded once,
/// to these four decimals (`Money::exchange`).
pub const RATE_DECIMALS: u32 = 4;

/// The longest search text accepted.
const MAX_SEARCH: usize = 100;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/tariffs/user_rates")
            .name("user_rates")
            .route(web::get().to(show)),
    )
    // The seed's export links: the same page with a fixed format (`?format=` still wins).
    .service(
        web::resource("/tariffs/generate_personal_rates_pdf/{userid}")
            .name("generate_personal_rates_pdf")
            .route(web::get().to(pdf)),
    )
    .service(
        web::resource("/tariffs/generate_personal_rates_csv/{userid}")
            .name("generate_personal_rates_csv")
            .route(web::get().to(csv)),
    );
}

#[derive(Serialize, ToSchema)]
pub struct RatesPage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub userid: i64,
    /// The currency the prices are shown in.
    pub currency: String,
    /// The user's VAT, `20` or `15.5`, as the seed shows it.
    pub vat_percent: String,
    pub aval_currencies: Vec<String>,
    /// The search the list is filtered by (empty: all).
    pub q: String,
    pub rates: Vec<Rate>,
    /// Both `null`: the tariff's rates are a bounded list, given whole (`q` narrows it).
    pub links: Links,
    /// Whose rates, on which day: for the exports' title and file name.
    #[serde(skip)]
    pub owner: Owner,
    #[serde(skip)]
    pub day: String,
}

#[derive(Clone, Serialize, ToSchema)]
pub struct Rate {
    pub ratename: String,
    /// The flag's file name under `/static/flags/` (`gb.svg`); empty when the group has none.
    pub rateicon: String,
    /// FIX, MOB, …
    pub ratetype: String,
    /// Per minute, in the page's `currency`, with four decimals.
    pub ratecost: Amount,
    /// The same with the subscriber's VAT.
    pub rate_vat_cost: Amount,
    /// The destination group, for `/directions/dg_list_user_destinations/{dest_id}`.
    pub dest_id: i64,
    /// The group's country (ISO code), for its name in the reader's language.
    #[serde(skip)]
    pub flag: String,
}

/// The HTML table: one row per destination group, one column per rate type.
struct Table<'a> {
    columns: Vec<&'a str>,
    rows: Vec<Row<'a>>,
}

struct Row<'a> {
    dest_id: i64,
    /// In the reader's language.
    name: String,
    icon: &'a str,
    /// Aligned with `Table::columns`; `None` where the group has no rate of that type.
    cells: Vec<Option<&'a Rate>>,
}

impl RatesPage {
    /// The rows by the groups' names in `lang` (the store orders them by the stored name).
    fn table(&self, lang: Lang) -> Table<'_> {
        let mut columns: Vec<&str> = Vec::new();
        for r in &self.rates {
            if !columns.contains(&r.ratetype.as_str()) {
                columns.push(&r.ratetype);
            }
        }
        // Fixed first, mobile second, anything else after them by name.
        columns.sort_by_key(|t| match *t {
            "FIX" => (0, ""),
            "MOB" => (1, ""),
            other => (2, other),
        });
        let mut rows: Vec<Row> = Vec::new();
        for r in &self.rates {
            let col = columns.iter().position(|c| *c == r.ratetype).unwrap_or(0);
            match rows.last_mut() {
                Some(row) if row.dest_id == r.dest_id => row.cells[col] = Some(r),
                _ => {
                    let mut cells = vec![None; columns.len()];
                    cells[col] = Some(r);
                    rows.push(Row {
                        dest_id: r.dest_id,
                        name: locale::destination(lang, &r.ratename, &r.flag),
                        icon: &r.rateicon,
                        cells,
                    });
                }
            }
        }
        rows.sort_by_cached_key(|r| locale::sort_key(lang, &r.name));
        Table { columns, rows }
    }

    /// This page's URL with another currency (the search kept).
    fn currency_href(&self, code: &str) -> String {
        let mut query = vec![("currency", code)];
        if !self.q.is_empty() {
            query.push(("q", &self.q));
        }
        format!(
            "/tariffs/user_rates?{}",
            serde_urlencoded::to_string(query).unwrap_or_default()
        )
    }

    /// The seed's export URL (`pdf` or `csv`), with the same currency and search.
    /// A rate type's heading in the reader's language.
    fn type_in<'a>(&self, rate_type: &'a str, lang: Lang) -> &'a str {
        key_in(RATE_TYPES, rate_type).map_or(rate_type, |k| lang.t(k))
    }

    fn export_href(&self, format: &str) -> String {
        let mut query = vec![("currency", self.currency.as_str())];
        if !self.q.is_empty() {
            query.push(("q", &self.q));
        }
        format!(
            "/tariffs/generate_personal_rates_{format}/{}?{}",
            self.userid,
            serde_urlencoded::to_string(query).unwrap_or_default()
        )
    }
}

#[derive(Template)]
#[template(path = "pages/money/rates.html")]
struct RatesHtml<'a> {
    c: &'a Chrome,
    v: &'a RatesPage,
    table: Table<'a>,
}

#[derive(Template)]
#[template(path = "xml/money/rates.xml")]
struct RatesXml<'a> {
    v: &'a RatesPage,
}

impl Page for RatesPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        RatesHtml {
            c,
            v: self,
            table: self.table(c.lang),
        }
        .render()
    }
    fn xml(&self) -> askama::Result<String> {
        RatesXml { v: self }.render()
    }
    fn export(&self, lang: Lang) -> Option<Export> {
        let mut e = Export::list(
            FileName::new(
                &format!("rates-{}", self.currency),
                &self.owner.username,
                &self.day,
            ),
            lang,
            lang.t("rates.title").to_string(),
            &self.rates,
        );
        // The countries in the reader's language (column 0 is `ratename`).
        for (row, rate) in e.rows.iter_mut().zip(&self.rates) {
            row[0] = locale::destination(lang, &rate.ratename, &rate.flag);
        }
        e.subtitle.push(self.owner.label());
        e.subtitle.push(lang.fill(
            "export.rates.legend",
            &[("currency", &self.currency), ("vat", &self.vat_percent)],
        ));
        if !self.q.is_empty() {
            e.subtitle
                .push(format!("{}: «{}»", lang.t("export.search"), self.q));
        }
        e.subtitle.push(format!(
            "{} {}",
            lang.t("export.in_force"),
            locale::local_text(lang, &self.day)
        ));
        e.totals.push((
            lang.t("export.count").to_string(),
            self.rates.len().to_string(),
        ));
        e.empty = lang
            .t(if self.q.is_empty() {
                "rates.empty"
            } else {
                "rates.none"
            })
            .to_string();
        Some(e)
    }
}

impl ExportRow for Rate {
    fn columns(lang: Lang) -> Vec<Column> {
        vec![
            Column::text("ratename", lang.t("rates.destination")),
            Column::words("ratetype", lang.t("export.rates.type"), lang, RATE_TYPES),
            Column::number("ratecost", lang.t("export.rates.price")),
            Column::number("rate_vat_cost", lang.t("export.rates.price_vat")),
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.ratename.clone(),
            self.ratetype.clone(),
            self.ratecost.to_string(),
            self.rate_vat_cost.to_string(),
        ]
    }
}

/// Our rate types and their locale keys; another type is shown as it is.
pub const RATE_TYPES: WordTable = &[("FIX", "rates.type.FIX"), ("MOB", "rates.type.MOB")];

#[derive(Deserialize)]
pub struct RatesQuery {
    currency: Option<String>,
    q: Option<String>,
}

/// The currencies prices can be shown in, with the rate in force of each.
struct Currencies(Vec<(String, ExchangeRate)>);

impl Currencies {
    fn new(list: Vec<CurrencyRate>) -> Currencies {
        Currencies(
            list.into_iter()
                .filter_map(|c| {
                    let rate = if c.is_base == 1 {
                        Some(ExchangeRate::BASE)
                    } else {
                        c.rate_micros.and_then(ExchangeRate::from_micros)
                    };
                    rate.map(|r| (c.code, r))
                })
                .collect(),
        )
    }

    fn rate(&self, code: &str) -> Option<ExchangeRate> {
        self.0.iter().find(|(c, _)| c == code).map(|(_, r)| *r)
    }

    fn codes(&self) -> Vec<String> {
        self.0.iter().map(|(c, _)| c.clone()).collect()
    }
}

/// The conversion from the tariff's currency into the one shown: `(from, to)` rates.
type Conversion = (ExchangeRate, ExchangeRate);

/// Picks the currency to show and how to get there from the tariff's currency. Without a choice,
/// the user's own currency (or the tariff's when the user's cannot be reached).
fn choose(
    asked: Option<&str>,
    settings: &RateSettings,
    currencies: &Currencies,
    lang: Lang,
) -> AppResult<(String, Conversion)> {
    let tariff = settings
        .tariff_currency
        .clone()
        .unwrap_or_else(|| settings.user_currency.clone());
    let conversion = |code: &str| -> Option<Conversion> {
        if code == tariff {
            return Some((ExchangeRate::BASE, ExchangeRate::BASE));
        }
        Some((currencies.rate(&tariff)?, currencies.rate(code)?))
    };
    match asked.map(str::trim).filter(|s| !s.is_empty()) {
        Some(raw) => {
            let code = CurrencyCode::parse(raw)
                .map_err(|_| AppError::bad_input(lang.t("currency.bad_code")))?;
            if currencies.rate(code.as_str()).is_none() {
                return Err(AppError::bad_input(lang.fill(
                    "rates.unknown_currency",
                    &[
                        ("code", &code.as_str()),
                        ("codes", &currencies.codes().join(", ")),
                    ],
                )));
            }
            let conv = conversion(code.as_str()).ok_or_else(|| {
                AppError::bad_input(lang.fill(
                    "rates.no_exchange_rate",
                    &[("code", &code.as_str()), ("tariff", &tariff)],
                ))
            })?;
            Ok((code.to_string(), conv))
        }
        None => match conversion(&settings.user_currency) {
            Some(conv) => Ok((settings.user_currency.clone(), conv)),
            None => Ok((tariff, (ExchangeRate::BASE, ExchangeRate::BASE))),
        },
    }
}

/// The icon file of a group's flag code (`gb` → `gb.svg`); none for an empty or odd code.
pub(crate) fn flag_icon(flag: &str) -> String {
    let ok = !flag.is_empty()
        && flag.len() <= 16
        && flag
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        format!("{flag}.svg")
    } else {
        String::new()
    }
}

/// The page in the JSON API's description (the export routes serve CSV and PDF).
pub fn api(doc: &mut ApiDoc) {
    doc.page::<RatesPage>(
        "Money",
        "/tariffs/user_rates",
        &[
            (
                "currency",
                "An ISO 4217 code among `aval_currencies`: the currency prices are shown in \
                 (the subscriber's own when not given)",
            ),
            (
                "q",
                "A search by country or prefix (100 characters at most)",
            ),
        ],
    );
}

/// GET /tariffs/generate_personal_rates_pdf/{userid}[?currency=XXX][&q=…]
pub async fn pdf(
    ctx: Ctx,
    user: OwnUserId,
    account: UserAccount,
    store: web::Data<Store>,
    query: web::Query<RatesQuery>,
) -> AppResult<HttpResponse> {
    show(ctx.exporting(Format::Pdf), user.0, account, store, query).await
}

/// GET /tariffs/generate_personal_rates_csv/{userid}[?currency=XXX][&q=…]
pub async fn csv(
    ctx: Ctx,
    user: OwnUserId,
    account: UserAccount,
    store: web::Data<Store>,
    query: web::Query<RatesQuery>,
) -> AppResult<HttpResponse> {
    show(ctx.exporting(Format::Csv), user.0, account, store, query).await
}

/// GET /tariffs/user_rates[?currency=XXX][&q=…][&format=csv|pdf|…]
pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    UserAccount(account): UserAccount,
    store: web::Data<Store>,
    query: web::Query<RatesQuery>,
) -> AppResult<HttpResponse> {
    let q = query.q.as_deref().unwrap_or("").trim().to_string();
    if q.chars().count() > MAX_SEARCH {
        return Err(AppError::bad_input(
            ctx.lang
                .fill("rates.search_too_long", &[("max", &MAX_SEARCH)]),
        ));
    }
    let now = time::now();
    // A country is found by its name in either language (CLDR's names, matched here in
    // memory, then searched for by ISO code) as well as by the stored name or a prefix.
    let search = RateSearch::new(&q).with_countries(&locale::countries_named(&q));
    let RatesOfUser {
        settings,
        currencies,
        rates: found,
    } = store
        .rates_page(user.id, now, &search)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let currencies = Currencies::new(currencies);
    let (currency, (from, to)) =
        choose(query.currency.as_deref(), &settings, &currencies, ctx.lang)?;
    let vat = settings.vat_percent_bp;
    let mut rates = Vec::with_capacity(found.len());
    for r in found {
        let price = Money(r.price_micros);
        let (net, gross) = price
            .exchange(from, to, 0, RATE_DECIMALS)
            .zip(price.exchange(from, to, vat, RATE_DECIMALS))
            .ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!(
                    "rate {} of group {} overflows in {currency}",
                    r.price_micros,
                    r.group_id
                ))
            })?;
        rates.push(Rate {
            ratename: r.group_name,
            rateicon: flag_icon(&r.flag),
            flag: r.flag,
            ratetype: r.rate_type,
            ratecost: Amount::new(net, RATE_DECIMALS, currency.clone()),
            rate_vat_cost: Amount::new(gross, RATE_DECIMALS, currency.clone()),
            dest_id: r.group_id,
        });
    }
    let page = RatesPage {
        pagename: "Rates",
        language: ctx.lang.code(),
        userid: user.id,
        currency,
        vat_percent: format_percent_short(vat),
        aval_currencies: currencies.codes(),
        q,
        rates,
        links: Links::whole(),
        day: time::format_instant(now, time::zone(&account.time_zone))
            .get(..10)
            .unwrap_or("")
            .to_string(),
        owner: Owner::of(&account),
    };
    respond(&ctx, &page)
}
