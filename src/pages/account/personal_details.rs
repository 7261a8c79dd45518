//! Personal details: the operator's figures (shown, never changed here) and the subscriber's own
//! fields, which a POST may change some of at a time. Every given field is parsed before
//! anything is written, so one bad field saves nothing.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::input::{self, Email, FieldError, PhoneNumber};
use crate::money::{format_percent, Money};
use crate::pages::notice;
use crate::store::details::{DetailField, DetailsChange, PersonalDetails};
use crate::store::Store;
use crate::web::openapi::ApiDoc;
use crate::web::values::Amount;
use crate::web::{
    respond, respond_action, Chrome, Ctx, CurrentUser, Format, OwnUserId, Page, StrictForm,
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/users/personal_details")
            .name("personal_details")
            .route(web::get().to(show)),
    )
    .service(
        web::resource("/users/update_personal_details/{userid}")
            .name("edit_personal")
            .route(web::post().to(update)),
    );
}

#[derive(Serialize, ToSchema)]
pub struct PersonalDetailsPage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub userid: i64,
    pub details: Details,
    /// The language and time zone kept in the profile (`POST /users/preferences`).
    pub preferences: Preferences,
    /// The form as shown: stored values, or what was typed when it was refused.
    #[serde(skip)]
    pub form: Vec<FormField>,
    #[serde(skip)]
    pub notice: Option<String>,
    #[serde(skip)]
    pub has_errors: bool,
}

#[derive(Serialize, ToSchema)]
pub struct Preferences {
    /// `en` or `ru`: every login starts in it.
    pub language: String,
    /// An IANA time zone (`Europe/Riga`): the one every time of the portal is shown in.
    pub time_zone: String,
}

#[derive(Serialize, ToSchema)]
pub struct Details {
    pub main_details: MainDetails,
    pub other_details: OtherDetails,
    pub registration: Registration,
}

/// The operator's figures.
#[derive(Serialize, ToSchema)]
pub struct MainDetails {
    pub alias: String,
    /// `Prepaid` or `Postpaid`.
    pub account: &'static str,
    pub balance: Amount,
    /// The credit limit; `null`: no limit (the XML's `No Limit`).
    pub credit: Option<Amount>,
}

#[derive(Serialize, ToSchema)]
pub struct OtherDetails {
    /// The first name (the contract's name for it).
    pub username: String,
    pub surname: String,
    pub personalid: String,
    pub agreement_number: String,
    /// The agreement's day; `null` when there is no agreement (the XML's empty element).
    pub agreement_date: Option<chrono::NaiveDate>,
    pub taxation_country: String,
    pub vat_reg_number: String,
    /// A decimal string, `18.0` (a rate, not money).
    pub vat_percent: String,
}

#[derive(Serialize, ToSchema)]
pub struct Registration {
    pub reg_address: String,
    pub reg_postcode: String,
    pub reg_city: String,
    pub reg_country: String,
    pub reg_state: String,
    pub reg_direction: String,
    pub reg_phone: String,
    pub reg_mobile: String,
    pub reg_fax: String,
    pub reg_email: String,
}

/// One input of the HTML form.
pub struct FormField {
    pub name: &'static str,
    pub label: String,
    pub value: String,
    pub error: Option<String>,
    pub input_type: &'static str,
    pub autocomplete: &'static str,
    pub max: usize,
    /// In the first fieldset (about the person) or the second (registration).
    pub personal: bool,
}

/// How a field is parsed, and how its input looks.
#[derive(Clone, Copy)]
enum Kind {
    Text(usize),
    Phone,
    Email,
}

fn kind(f: DetailField) -> Kind {
    match f {
        DetailField::FirstName | DetailField::LastName => Kind::Text(100),
        DetailField::PersonalId | DetailField::VatRegNumber => Kind::Text(50),
        DetailField::RegAddress => Kind::Text(200),
        DetailField::RegPostcode => Kind::Text(20),
        DetailField::TaxationCountry
        | DetailField::RegCity
        | DetailField::RegCountry
        | DetailField::RegState
        | DetailField::RegDirection => Kind::Text(100),
        DetailField::RegPhone | DetailField::RegMobile | DetailField::RegFax => Kind::Phone,
        DetailField::RegEmail => Kind::Email,
    }
}

/// A field's new value as stored: trimmed text, digits of a phone number, an e-mail address.
/// Empty clears the field.
fn parse_field(f: DetailField, raw: &str) -> Result<String, FieldError> {
    if raw.trim().is_empty() {
        return Ok(String::new());
    }
    match kind(f) {
        Kind::Text(max) => input::text(raw, max),
        Kind::Phone => PhoneNumber::parse(raw).map(PhoneNumber::into_string),
        Kind::Email => Email::parse(raw).map(Email::into_string),
    }
}

fn autocomplete(f: DetailField) -> &'static str {
    match f {
        DetailField::FirstName => "given-name",
        DetailField::LastName => "family-name",
        DetailField::RegAddress => "street-address",
        DetailField::RegPostcode => "postal-code",
        DetailField::RegCity => "address-level2",
        DetailField::RegState => "address-level1",
        DetailField::RegCountry | DetailField::TaxationCountry => "country-name",
        DetailField::RegPhone | DetailField::RegFax => "tel",
        DetailField::RegMobile => "mobile tel",
        DetailField::RegEmail => "email",
        _ => "off",
    }
}

#[derive(Template)]
#[template(path = "pages/account/personal_details.html")]
struct DetailsHtml<'a> {
    c: &'a Chrome,
    v: &'a PersonalDetailsPage,
}

#[derive(Template)]
#[template(path = "xml/account/personal_details.xml")]
struct DetailsXml<'a> {
    v: &'a PersonalDetailsPage,
}

impl Page for PersonalDetailsPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        DetailsHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        DetailsXml { v: self }.render()
    }
}

impl PersonalDetailsPage {
    /// Every IANA time zone, for the preferences form: grouped by area (`America`), each shown
    /// without it (`Argentina/Buenos Aires`), so that the longest fits a phone's width; zones of
    /// no area (`UTC`) come first, in a group of no name.
    pub fn time_zone_groups(&self) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
        let mut groups: Vec<(&'static str, Vec<(&'static str, String)>)> = Vec::new();
        for zone in chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()) {
            let (area, place) = zone.split_once('/').unwrap_or(("", zone));
            let shown = (zone, place.replace('_', " "));
            match groups.iter_mut().find(|(a, _)| *a == area) {
                Some((_, zones)) => zones.push(shown),
                None => groups.push((area, vec![shown])),
            }
        }
        groups.sort_by_key(|(area, _)| *area);
        groups
    }

    pub fn languages(&self) -> [Lang; 2] {
        Lang::ALL
    }

    /// The page for row `d`; `typed` and `errors` are a refused form's values and messages.
    fn new(
        lang: Lang,
        d: &PersonalDetails,
        typed: &[(DetailField, String)],
        errors: &[(DetailField, FieldError)],
    ) -> Self {
        let decimals = d.currency_decimals as u32;
        let money = |m: i64| Amount::new(Money(m), decimals, d.currency.clone());
        let form = DetailField::ALL
            .into_iter()
            .map(|f| {
                let (input_type, max) = match kind(f) {
                    Kind::Text(max) => ("text", max),
                    Kind::Phone => ("tel", input::PHONE_MAX * 2),
                    Kind::Email => ("email", Email::MAX),
                };
                FormField {
                    name: f.key(),
                    label: lang.t(&format!("details.{}", f.key())).to_string(),
                    value: typed
                        .iter()
                        .find(|(t, _)| *t == f)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_else(|| f.of(d).to_string()),
                    error: errors
                        .iter()
                        .find(|(e, _)| *e == f)
                        .map(|(_, e)| e.message(lang)),
                    input_type,
                    autocomplete: autocomplete(f),
                    max,
                    personal: matches!(
                        f,
                        DetailField::FirstName
                            | DetailField::LastName
                            | DetailField::PersonalId
                            | DetailField::TaxationCountry
                            | DetailField::VatRegNumber
                    ),
                }
            })
            .collect();
        PersonalDetailsPage {
            pagename: "Personal details",
            language: lang.code(),
            userid: d.id,
            preferences: Preferences {
                language: d.language.clone(),
                time_zone: d.time_zone.clone(),
            },
            details: Details {
                main_details: MainDetails {
                    alias: d.alias.clone(),
                    account: if d.account_type == "postpaid" {
                        "Postpaid"
                    } else {
                        "Prepaid"
                    },
                    balance: money(d.balance_micros),
                    credit: d.credit_limit_micros.map(money),
                },
                other_details: OtherDetails {
                    username: d.first_name.clone(),
                    surname: d.last_name.clone(),
                    personalid: d.personal_id.clone(),
                    agreement_number: d.agreement_number.clone(),
                    agreement_date: d
                        .agreement_date
                        .as_deref()
                        .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()),
                    taxation_country: d.taxation_country.clone(),
                    vat_reg_number: d.vat_reg_number.clone(),
                    vat_percent: format_percent(d.vat_percent_bp),
                },
                registration: Registration {
                    reg_address: d.reg_address.clone(),
                    reg_postcode: d.reg_postcode.clone(),
                    reg_city: d.reg_city.clone(),
                    reg_country: d.reg_country.clone(),
                    reg_state: d.reg_state.clone(),
                    reg_direction: d.reg_direction.clone(),
                    reg_phone: d.reg_phone.clone(),
                    reg_mobile: d.reg_mobile.clone(),
                    reg_fax: d.reg_fax.clone(),
                    reg_email: d.reg_email.clone(),
                },
            },
            form,
            notice: None,
            has_errors: !errors.is_empty(),
        }
    }
}

/// The one validation of a change to the personal details, shared by the form and the TM Forum
/// API (`tmf::routes`): every typed field is parsed (so each error is named), and a new
/// e-mail address needs the current password, which `password_is_right` checks (it is asked
/// only then). `Ok` holds the change to write; `Err` every field's error, and nothing is written.
pub async fn check_change<F, Fut>(
    store: &Store,
    user_id: i64,
    typed: &[(DetailField, String)],
    password_is_right: F,
) -> AppResult<Result<DetailsChange, Vec<(DetailField, FieldError)>>>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = AppResult<bool>>,
{
    let mut change = DetailsChange::default();
    let mut errors: Vec<(DetailField, FieldError)> = Vec::new();
    for (f, raw) in typed {
        match parse_field(*f, raw) {
            Ok(v) => change.set(*f, v),
            Err(e) => errors.push((*f, e)),
        }
    }

    // Where reset mails go is changed only by someone who knows the password (or a stolen
    // session could take the account over through a reset).
    if errors.is_empty() {
        if let Some(new_email) = change.get(DetailField::RegEmail) {
            let current = store
                .personal_details(user_id)
                .await?
                .ok_or(AppError::Unauthenticated)?;
            if new_email != current.reg_email && !password_is_right().await? {
                errors.push((DetailField::RegEmail, FieldError::PasswordNeeded));
            }
        }
    }
    Ok(if errors.is_empty() {
        Ok(change)
    } else {
        Err(errors)
    })
}

/// The page in the JSON API's description.
pub fn api(doc: &mut ApiDoc) {
    doc.page::<PersonalDetailsPage>("Account", "/users/personal_details", &[]);
}

#[derive(serde::Deserialize)]
pub struct ShowQuery {
    done: Option<String>,
}

async fn load(store: &Store, user: CurrentUser) -> AppResult<PersonalDetails> {
    // A session whose user has since been removed is no session.
    store
        .personal_details(user.id)
        .await?
        .ok_or(AppError::Unauthenticated)
}

/// GET /users/personal_details
pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    query: web::Query<ShowQuery>,
) -> AppResult<HttpResponse> {
    let d = load(&store, user).await?;
    let mut page = PersonalDetailsPage::new(ctx.lang, &d, &[], &[]);
    page.notice = notice::text(
        ctx.lang,
        "details",
        &["saved", "unchanged", "preferences"],
        query.done.as_deref(),
    );
    respond(&ctx, &page)
}

/// POST /users/update_personal_details/{userid}: the fields given change, the others stay;
/// fields that are not the subscriber's (balance, alias, agreement, VAT …) are ignored.
pub async fn update(
    ctx: Ctx,
    OwnUserId(user): OwnUserId,
    store: web::Data<Store>,
    settings: web::Data<crate::config::Settings>,
    gate: web::Data<crate::login_gate::LoginGate>,
    form: StrictForm<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let fields = form.into_inner();
    let mut typed: Vec<(DetailField, String)> = Vec::new();
    for f in DetailField::ALL {
        let mut given = fields.iter().filter(|(k, _)| k == f.key());
        if let Some((_, value)) = given.next() {
            if given.next().is_some() {
                return Err(AppError::bad_input(
                    ctx.lang.fill("error.field_twice", &[("field", &f.key())]),
                ));
            }
            typed.push((f, value.clone()));
        }
    }

    let given_password = fields
        .iter()
        .find(|(k, _)| k == "current_password")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let checked = check_change(&store, user.id, &typed, || async {
        Ok(!given_password.is_empty()
            && crate::pages::account::login::current_password_is_right(
                &store,
                &settings.login,
                &gate,
                &ctx,
                user.id,
                given_password,
            )
            .await?)
    })
    .await?;
    let (change, errors) = match checked {
        Ok(change) => (change, Vec::new()),
        Err(errors) => (DetailsChange::default(), errors),
    };

    if !errors.is_empty() {
        return Ok(match ctx.format {
            Format::Html => {
                let d = load(&store, user).await?;
                let page = PersonalDetailsPage::new(ctx.lang, &d, &typed, &errors);
                let mut resp = respond(&ctx, &page)?;
                *resp.status_mut() = StatusCode::BAD_REQUEST;
                resp
            }
            f => {
                let list: Vec<String> = errors
                    .iter()
                    .map(|(field, e)| format!("{}: {e}", field.key()))
                    .collect();
                respond_action(
                    f,
                    StatusCode::BAD_REQUEST,
                    "edit_personal",
                    &format!("Personal details not changed. {}", list.join("; ")),
                )
            }
        });
    }

    let changed = store
        .update_personal_details(user.id, &change, &ctx.address)
        .await?;
    Ok(match ctx.format {
        Format::Html => notice::redirect(
            "/users/personal_details",
            if changed.is_empty() {
                "unchanged"
            } else {
                "saved"
            },
        ),
        // The contract's one success message, whether or not a value was different.
        f => respond_action(
            f,
            StatusCode::OK,
            "edit_personal",
            "Personal details changed",
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_parse_by_kind() {
        assert_eq!(
            parse_field(DetailField::RegPhone, "+998 97 555-1234"),
            Ok("998975551234".into())
        );
        assert_eq!(
            parse_field(DetailField::RegPhone, "call me"),
            Err(FieldError::Phone)
        );
        assert_eq!(parse_field(DetailField::RegFax, "  "), Ok(String::new()));
        assert_eq!(
            parse_field(DetailField::RegEmail, "admin@voip"),
            Err(FieldError::Email)
        );
        assert_eq!(
            parse_field(DetailField::RegPostcode, &"1".repeat(21)),
            Err(FieldError::TooLong { max: 20 })
        );
        assert_eq!(
            parse_field(DetailField::LastName, " O'Brien <&\"> "),
            Ok("O'Brien <&\">".into())
        );
        assert_eq!(
            parse_field(DetailField::RegAddress, "a\r\nb"),
            Err(FieldError::ControlCharacter)
        );
    }
}
