//! The calling plan: per country, its services (standard and premium numbers) with their risk,
//! and whether the subscriber has them on. Premium and high-risk services are off until the
//! subscriber switches them on, and none above the operator's risk ceiling can be.
//!
//! JSON keeps the shape of the reference calling-plan API (`callingPlans`, each country with
//! `countryCode`, `isoCode`, `region`, `countryRisk` and `services[{id, name, type, risk,
//! enabled}]`), which clients use, beside the keys every page has (`pagename`, `language`,
//! `userid`, `links`) and the operator's `risk_ceiling`; `PUT` takes its `{"plans": [...]}` and
//! answers `{errors, skip, success}`: what was malformed, what was not changed (and why), what
//! was.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::error::AppResult;
use crate::export::{key_in, WordTable};
use crate::i18n::Lang;
use crate::locale;
use crate::pages::notice;
use crate::store::controls::PlanRow;
use crate::store::Store;
use crate::web::form::StrictForm;
use crate::web::openapi::ApiDoc;
use crate::web::values::Links;
use crate::web::{respond, Chrome, Ctx, CurrentUser, Format, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/services/calling_plan")
            .name("calling_plan")
            .route(web::get().to(show))
            .route(web::put().to(put))
            .route(web::post().to(post)),
    );
}

#[derive(Serialize, ToSchema)]
pub struct CallingPlanPage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub userid: i64,
    /// The highest risk a subscriber may switch on.
    pub risk_ceiling: i64,
    /// The reference calling-plan API's list, one entry per country of the tariff.
    #[serde(rename = "callingPlans")]
    pub calling_plans: Vec<PlanCountry>,
    /// Both `null`: the tariff's countries are a bounded list, given whole.
    pub links: Links,
    #[serde(skip)]
    pub notice: Option<String>,
    /// After a form: what was not applied, one line each.
    #[serde(skip)]
    pub problems: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanCountry {
    pub country: String,
    /// `+44`
    pub country_code: String,
    pub country_risk: i64,
    /// `GB`
    pub iso_code: String,
    pub region: &'static str,
    pub services: Vec<PlanService>,
    /// Always `calling_plan`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct PlanService {
    pub enabled: bool,
    pub id: i64,
    pub name: String,
    pub risk: i64,
    /// `standard` or `premium`.
    #[serde(rename = "type")]
    pub service_type: String,
    /// Within the operator's ceiling (the country's risk counts too): it may be switched on.
    pub allowed: bool,
    /// `FIX`, `MOB`, `PRM`: what the page shows in words beside the country.
    #[serde(skip)]
    pub dir_code: String,
}

/// The kinds of numbers a service covers, and their locale keys.
const KINDS: WordTable = &[
    ("FIX", "rates.type.FIX"),
    ("MOB", "rates.type.MOB"),
    ("PRM", "plan.premium"),
];

impl PlanService {
    /// The kind of numbers in the reader's language (`Мобильные`); another code as it is.
    pub fn kind_in(&self, lang: Lang) -> &str {
        key_in(KINDS, &self.dir_code).map_or(&self.dir_code, |k| lang.t(k))
    }

    /// Worth the subscriber's attention: premium, high risk (the country's risk counts), or
    /// switched off; the page lists these first and the rest folded.
    pub fn notable(&self, country_risk: &i64) -> bool {
        self.service_type == "premium"
            || self.risk.max(*country_risk) >= crate::controls::decision::HIGH_RISK
            || !self.enabled
    }
}

#[derive(Template)]
#[template(path = "pages/money/calling_plan.html")]
struct PlanHtml<'a> {
    c: &'a Chrome,
    v: &'a CallingPlanPage,
    /// The countries by their names in the page's language.
    countries: Vec<&'a PlanCountry>,
}

#[derive(Template)]
#[template(path = "xml/money/calling_plan.xml")]
struct PlanXml<'a> {
    v: &'a CallingPlanPage,
}

impl Page for CallingPlanPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        let mut countries: Vec<&PlanCountry> = self.calling_plans.iter().collect();
        countries
            .sort_by_cached_key(|p| locale::sort_key(c.lang, &c.place(&p.country, &p.iso_code)));
        PlanHtml {
            c,
            v: self,
            countries,
        }
        .render()
    }
    fn xml(&self) -> askama::Result<String> {
        PlanXml { v: self }.render()
    }
}

/// The ITU world numbering zone of a country code: the region the plan files it under.
pub fn region(country_code: &str) -> &'static str {
    match country_code.trim_start_matches('+').chars().next() {
        Some('1') => "North America",
        Some('2') => "Africa",
        Some('3') | Some('4') => "Europe",
        Some('5') => "South and Central America",
        Some('6') => "South Pacific and Oceania",
        Some('7') => "Russia and Kazakhstan",
        Some('8') => "East Asia",
        Some('9') => "West, South and Central Asia",
        _ => "",
    }
}

/// `FIX` → `Fixed`, as services are named.
fn kind_name(dir_code: &str) -> &str {
    match dir_code {
        "FIX" => "Fixed",
        "MOB" => "Mobile",
        "PRM" => "Premium",
        other => other,
    }
}

fn countries(rows: Vec<PlanRow>, ceiling: i64) -> Vec<PlanCountry> {
    let mut by_group: BTreeMap<(String, i64), PlanCountry> = BTreeMap::new();
    for r in rows {
        let enabled = r.enabled();
        let code = format!("+{}", r.country_code());
        let country = by_group
            .entry((r.country.clone(), r.group_id))
            .or_insert_with(|| PlanCountry {
                region: region(&code),
                country: r.country.clone(),
                country_code: code,
                country_risk: r.country_risk,
                iso_code: r.iso.to_ascii_uppercase(),
                services: Vec::new(),
                kind: "calling_plan",
            });
        country.services.push(PlanService {
            enabled,
            id: r.service_id,
            name: format!("{} {}", r.country, kind_name(&r.dir_code)),
            risk: r.risk,
            allowed: r.risk.max(r.country_risk) <= ceiling,
            service_type: r.service_type,
            dir_code: r.dir_code,
        });
    }
    by_group.into_values().collect()
}

/// The page in the JSON API's description (its `PUT` keeps the reference API's own shapes).
pub fn api(doc: &mut ApiDoc) {
    doc.page::<CallingPlanPage>("Money", "/services/calling_plan", &[]);
}

async fn load(ctx: &Ctx, store: &Store, user: CurrentUser) -> AppResult<CallingPlanPage> {
    let ceiling = store.control_settings().await?.risk_ceiling;
    let rows = store.calling_plan(user.id).await?;
    Ok(CallingPlanPage {
        pagename: "Calling plan",
        language: ctx.lang.code(),
        userid: user.id,
        risk_ceiling: ceiling,
        calling_plans: countries(rows, ceiling),
        links: Links::whole(),
        notice: None,
        problems: Vec::new(),
    })
}

#[derive(Deserialize)]
pub struct ShowQuery {
    done: Option<String>,
    n: Option<String>,
}

/// GET /services/calling_plan
pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    query: web::Query<ShowQuery>,
) -> AppResult<HttpResponse> {
    let mut page = load(&ctx, &store, user).await?;
    page.notice = notice::text_count(
        ctx.lang,
        "plan",
        &["saved"],
        query.done.as_deref(),
        query.n.as_deref(),
    );
    respond(&ctx, &page)
}

/// Which services of a country a change names.
#[derive(Clone, Debug)]
enum Selector {
    Type(String),
    Id(i64),
}

/// One requested change, as read from a PUT or a form.
#[derive(Clone, Debug)]
struct Change {
    /// How the request named the country (echoed in the answer).
    country: String,
    selector: Selector,
    enabled: Result<bool, String>,
}

/// The reference API's answer.
#[derive(Default, Serialize)]
pub struct Outcome {
    pub errors: Vec<Value>,
    pub skip: Vec<Value>,
    pub success: Vec<Value>,
}

fn item(c: &Change, extra: Value) -> Value {
    let mut v = json!({ "countryCode": c.country });
    match &c.selector {
        Selector::Type(t) => v["type"] = json!(t),
        Selector::Id(id) => v["id"] = json!(id),
    }
    if let (Value::Object(o), Value::Object(e)) = (&mut v, extra) {
        o.extend(e);
    }
    v
}

/// Applies the changes that can be, all at once; says what happened to each.
async fn apply(
    store: &Store,
    ctx: &Ctx,
    user: CurrentUser,
    changes: Vec<Change>,
) -> AppResult<Outcome> {
    let ceiling = store.control_settings().await?.risk_ceiling;
    let rows = store.calling_plan(user.id).await?;
    let mut out = Outcome::default();
    let mut writes: BTreeMap<i64, bool> = BTreeMap::new();
    let mut log = Vec::new();
    for c in changes {
        let enabled = match &c.enabled {
            Ok(e) => *e,
            Err(why) => {
                out.errors.push(item(&c, json!({ "error": why })));
                continue;
            }
        };
        let wanted = c.country.trim_start_matches('+');
        let in_country: Vec<&PlanRow> = rows
            .iter()
            .filter(|r| {
                r.iso.eq_ignore_ascii_case(wanted)
                    || (!wanted.is_empty() && r.country_code() == wanted)
                    || matches!(c.selector, Selector::Id(_)) && wanted.is_empty()
            })
            .collect();
        if in_country.is_empty() {
            out.skip
                .push(item(&c, json!({ "reason": "unknown country" })));
            continue;
        }
        let services: Vec<&PlanRow> = in_country
            .into_iter()
            .filter(|r| match &c.selector {
                Selector::Type(t) => &r.service_type == t,
                Selector::Id(id) => r.service_id == *id,
            })
            .collect();
        if services.is_empty() {
            let reason = match &c.selector {
                Selector::Type(t) if t != "standard" && t != "premium" => "unknown service type",
                _ => "no such service in this country",
            };
            out.skip.push(item(&c, json!({ "reason": reason })));
            continue;
        }
        if enabled
            && services
                .iter()
                .any(|r| r.risk.max(r.country_risk) > ceiling)
        {
            out.skip.push(item(
                &c,
                json!({ "enabled": enabled, "reason": "risk above the operator's ceiling" }),
            ));
            continue;
        }
        let changed: Vec<&&PlanRow> = services
            .iter()
            .filter(|r| writes.get(&r.service_id).copied().unwrap_or(r.enabled()) != enabled)
            .collect();
        if changed.is_empty() {
            out.skip.push(item(
                &c,
                json!({ "enabled": enabled, "reason": "unchanged" }),
            ));
            continue;
        }
        for r in changed {
            writes.insert(r.service_id, enabled);
            log.push(format!(
                "{} {}: {} → {}",
                r.country,
                kind_name(&r.dir_code),
                if r.enabled() { "on" } else { "off" },
                if enabled { "on" } else { "off" }
            ));
        }
        out.success.push(item(&c, json!({ "enabled": enabled })));
    }
    if !writes.is_empty() {
        let choices: Vec<(i64, bool)> = writes.into_iter().collect();
        store
            .set_plan_services(user.id, &choices, &log, &ctx.address)
            .await?;
    }
    Ok(out)
}

/// PUT /services/calling_plan with `{"plans": [{"countryCode": "GB", "services": [{"type":
/// "premium", "enabled": true}]}]}` (`countryCode` the ISO code, or `prefix` `+44`; a service by
/// `type` or by `id`).
pub async fn put(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let Some(plans) = body.get("plans").and_then(Value::as_array) else {
        return Err(crate::error::AppError::bad_input(
            ctx.lang.t("calling_plan.bad_body"),
        ));
    };
    let mut changes = Vec::new();
    let mut out_errors = Vec::new();
    for plan in plans {
        let country = plan
            .get("countryCode")
            .or_else(|| plan.get("isoCode"))
            .or_else(|| plan.get("prefix"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let Some(services) = plan.get("services").and_then(Value::as_array) else {
            out_errors.push(json!({ "countryCode": country, "error": "services is not a list" }));
            continue;
        };
        for s in services {
            let selector = match (s.get("id").and_then(Value::as_i64), s.get("type")) {
                (Some(id), _) => Selector::Id(id),
                (None, Some(Value::String(t))) => Selector::Type(t.to_ascii_lowercase()),
                _ => {
                    out_errors.push(json!({ "countryCode": country, "error": "a service needs its type or id" }));
                    continue;
                }
            };
            let enabled = match s.get("enabled") {
                Some(Value::Bool(b)) => Ok(*b),
                _ => Err("enabled is not a boolean".to_string()),
            };
            changes.push(Change {
                country: country.clone(),
                selector,
                enabled,
            });
        }
    }
    let mut out = apply(&store, &ctx, user, changes).await?;
    out_errors.append(&mut out.errors);
    out.errors = out_errors;
    Ok(HttpResponse::Ok().json(out))
}

/// POST /services/calling_plan: the page's form, `service_<id>` = `1` or `0` for each service
/// (the last value of a field counts: a hidden `0` before its checkbox's `1`).
pub async fn post(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    form: StrictForm<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let mut last: BTreeMap<i64, String> = BTreeMap::new();
    let mut problems = Vec::new();
    for (name, value) in form.into_inner() {
        if name == "csrf_token" || name == "format" {
            continue;
        }
        match name
            .strip_prefix("service_")
            .and_then(|id| id.parse::<i64>().ok())
        {
            Some(id) => {
                last.insert(id, value);
            }
            None => problems.push(format!("{name}: not a service of the plan")),
        }
    }
    let changes = last
        .into_iter()
        .map(|(id, v)| Change {
            country: String::new(),
            selector: Selector::Id(id),
            enabled: match v.trim() {
                "1" => Ok(true),
                "0" => Ok(false),
                _ => Err("enabled is 1 or 0".to_string()),
            },
        })
        .collect();
    let out = apply(&store, &ctx, user, changes).await?;
    for e in out.errors.iter().chain(out.skip.iter()) {
        let reason = e.get("reason").or_else(|| e.get("error"));
        if reason.and_then(Value::as_str) != Some("unchanged") {
            problems.push(format!(
                "{}: {}",
                e.get("id").map(Value::to_string).unwrap_or_default(),
                reason.and_then(Value::as_str).unwrap_or("")
            ));
        }
    }
    if ctx.format != Format::Html {
        return Ok(HttpResponse::build(if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        })
        .json(out));
    }
    if problems.is_empty() {
        return Ok(notice::redirect_count(
            "/services/calling_plan",
            "saved",
            out.success.len() as u64,
        ));
    }
    let mut page = load(&ctx, &store, user).await?;
    page.problems = problems;
    let mut resp = respond(&ctx, &page)?;
    *resp.status_mut() = StatusCode::BAD_REQUEST;
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::region;

    #[test]
    fn regions_are_the_world_numbering_zones() {
        assert_eq!(region("+44"), "Europe");
        assert_eq!(region("+1"), "North America");
        assert_eq!(region("+7"), "Russia and Kazakhstan");
        assert_eq!(region("+244"), "Africa");
        assert_eq!(region(""), "");
    }
}
