//! The handlers: who calls and whether they may (`TmfCaller`), whose record (`own_id`), then
//! the record in its TMF shape. Errors are `AppError` or `TmfError`; both reach the client in
//! the TMF error shape (`super::error`).

use actix_session::SessionExt;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::caller::{Need, TmfCaller, Via};
use super::customer::Customer;
use super::error::TmfError;
use super::individual::{self, Individual};
use super::{Links, CUSTOMER_PATH, INDIVIDUAL_PATH};
use crate::config::Settings;
use crate::error::AppError;
use crate::input::FieldError;
use crate::pages::account::personal_details::check_change;
use crate::store::details::{DetailField, PersonalDetails};
use crate::store::Store;
use crate::web::access::own_id;
use crate::web::{csrf, Ctx};

type Answer = Result<HttpResponse, actix_web::Error>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(format!("{CUSTOMER_PATH}/{{id}}"))
            .route(web::get().to(customer))
            .default_service(web::to(not_allowed)),
    )
    .service(
        web::resource(format!("{INDIVIDUAL_PATH}/{{id}}"))
            .route(web::get().to(individual))
            .route(web::patch().to(patch_individual))
            .default_service(web::to(not_allowed)),
    );
}

async fn not_allowed() -> Answer {
    Err(TmfError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method not allowed: the customer can be read (GET), the individual read and patched (PATCH)",
    )
    .into())
}

/// The caller's own record, after the checks every request makes.
async fn own_record(
    caller: &TmfCaller,
    need: Need,
    id: &str,
    store: &Store,
) -> Result<PersonalDetails, actix_web::Error> {
    caller.require(need)?;
    own_id(caller.user_id, Some(id))?;
    // A token for a subscriber that no longer exists finds nothing, like another's id.
    Ok(store
        .personal_details(caller.user_id)
        .await
        .map_err(AppError::from)?
        .ok_or(AppError::NotFound)?)
}

/// 200 with `body`; a session's caller also gets the CSRF token it needs for a PATCH.
fn json(req: &HttpRequest, caller: &TmfCaller, body: &impl serde::Serialize) -> HttpResponse {
    let mut resp = HttpResponse::Ok();
    if caller.via == Via::Session {
        resp.insert_header((csrf::HEADER, csrf::token(&req.get_session())));
    }
    resp.json(body)
}

/// GET /tmf-api/customerManagement/v4/customer/{id}
async fn customer(
    req: HttpRequest,
    caller: TmfCaller,
    id: web::Path<String>,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
) -> Answer {
    let d = own_record(&caller, Need::Read, &id, &store).await?;
    let standing = store
        .party_standing(caller.user_id)
        .await
        .map_err(AppError::from)?
        .ok_or(AppError::NotFound)?;
    let accounts = store
        .accounts_of(caller.user_id)
        .await
        .map_err(AppError::from)?;
    let body = Customer::of(&d, &standing, &accounts, &Links::new(&settings.public_url));
    Ok(json(&req, &caller, &body))
}

/// GET /tmf-api/partyManagement/v4/individual/{id}
async fn individual(
    req: HttpRequest,
    caller: TmfCaller,
    id: web::Path<String>,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
) -> Answer {
    let d = own_record(&caller, Need::Read, &id, &store).await?;
    let body = Individual::of(&d, &Links::new(&settings.public_url));
    Ok(json(&req, &caller, &body))
}

/// The media types a PATCH body may have: a merge patch (RFC 7386), or plain JSON read as one.
fn is_merge_patch(req: &HttpRequest) -> bool {
    let media = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    matches!(
        media.as_deref(),
        Some("application/merge-patch+json" | "application/json")
    )
}

/// PATCH /tmf-api/partyManagement/v4/individual/{id}: a merge patch of the names, the contact
/// media, the personal id and the tax characteristics; validated as the personal-details form
/// is, and all or nothing.
async fn patch_individual(
    req: HttpRequest,
    ctx: Ctx,
    caller: TmfCaller,
    id: web::Path<String>,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    body: web::Bytes,
) -> Answer {
    let d = own_record(&caller, Need::Write, &id, &store).await?;
    if !is_merge_patch(&req) {
        return Err(TmfError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send the patch as Content-Type: application/merge-patch+json (RFC 7386) or application/json",
        )
        .into());
    }
    let patch: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| TmfError::bad_request(format!("The body is not JSON: {e}")))?;
    let links = Links::new(&settings.public_url);
    let typed = individual::patched_fields(&d, &links, &patch)?;

    // The form's own validation. A new e-mail address needs the current password there; an
    // API call has none to give, so that change is refused (403) with where to make it.
    let checked = check_change(&store, caller.user_id, &typed, || async { Ok(false) }).await?;
    let change = match checked {
        Ok(change) => change,
        Err(errors) => return Err(refusal(&errors).into()),
    };
    store
        .update_personal_details(caller.user_id, &change, &ctx.address)
        .await
        .map_err(AppError::from)?;
    let d = store
        .personal_details(caller.user_id)
        .await
        .map_err(AppError::from)?
        .ok_or(AppError::NotFound)?;
    Ok(json(&req, &caller, &Individual::of(&d, &links)))
}

/// The answer to a refused change: 403 for an e-mail change (it needs the current password),
/// else 400 naming every field with its problem.
fn refusal(errors: &[(DetailField, FieldError)]) -> TmfError {
    if errors.iter().any(|(_, e)| *e == FieldError::PasswordNeeded) {
        return TmfError::forbidden(format!(
            "{}: changing the e-mail address needs the current password; change it on the \
             personal details page (/users/personal_details). Nothing was changed.",
            individual::tmf_name(DetailField::RegEmail)
        ));
    }
    let list: Vec<String> = errors
        .iter()
        .map(|(f, e)| format!("{}: {e}", individual::tmf_name(*f)))
        .collect();
    TmfError::bad_request(format!("Nothing was changed. {}", list.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_fields() {
        let e = refusal(&[
            (DetailField::RegPhone, FieldError::Phone),
            (DetailField::FirstName, FieldError::TooLong { max: 100 }),
        ]);
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(
            e.message
                .contains("contactMedium phone (fixed) phoneNumber: Digits"),
            "{e}"
        );
        assert!(e.message.contains("givenName: At most 100"), "{e}");
        let e = refusal(&[(DetailField::RegEmail, FieldError::PasswordNeeded)]);
        assert_eq!(e.status, StatusCode::FORBIDDEN);
        assert!(e.message.contains("/users/personal_details"), "{e}");
    }
}
