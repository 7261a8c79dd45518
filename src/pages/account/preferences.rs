//! `POST /users/preferences` (`language`, `time_zone`): the language and the time zone a
//! subscriber keeps in his profile, so every login, in any browser, starts with them. The
//! personal details page has the form; the header's language switch posts here too, with
//! `language` alone and `back`, the page to return to. A field left out keeps its value.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::pages::notice;
use crate::store::Store;
use crate::time;
use crate::web::form::StrictForm;
use crate::web::{respond_action, see_other, session, Ctx, CurrentUser, Format};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/users/preferences")
            .name("preferences")
            .route(web::post().to(save)),
    );
}

#[derive(Deserialize)]
pub struct PreferencesFields {
    language: Option<String>,
    time_zone: Option<String>,
    /// Where a browser goes back to (the header's switch sends the page it is on).
    back: Option<String>,
}

/// A field's value, `None` when left out or empty.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// POST /users/preferences
pub async fn save(
    ctx: Ctx,
    user: CurrentUser,
    session: Session,
    store: web::Data<Store>,
    form: StrictForm<PreferencesFields>,
) -> AppResult<HttpResponse> {
    let f = form.into_inner();
    let account = store
        .account(user.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let language = match given(&f.language) {
        None => Lang::parse(&account.language).unwrap_or_default(),
        Some(code) => Lang::parse(code).ok_or_else(|| {
            AppError::bad_input(
                ctx.lang
                    .fill("preferences.bad_language", &[("code", &code)]),
            )
        })?,
    };
    let time_zone = match given(&f.time_zone) {
        None => time::zone(&account.time_zone),
        Some(name) => name.parse::<chrono_tz::Tz>().map_err(|_| {
            AppError::bad_input(
                ctx.lang
                    .fill("preferences.bad_time_zone", &[("zone", &name)]),
            )
        })?,
    };
    store
        .set_preferences(user.id, language, time_zone, &ctx.address)
        .await?;
    // This session switches at once; the stored language is every later login's.
    session::set_lang(&session, language)?;
    Ok(match ctx.format {
        Format::Html => match given(&f.back).filter(|b| is_own_path(b)) {
            Some(back) => see_other(back),
            None => notice::redirect("/users/personal_details", "preferences"),
        },
        format => respond_action(
            format,
            StatusCode::OK,
            "preferences",
            language.t("preferences.saved"),
        ),
    })
}

/// A path of this portal: `/…`, never `//host` or a backslash (which browsers read as a slash),
/// so `back` cannot send anyone to another site.
fn is_own_path(p: &str) -> bool {
    p.starts_with('/') && !p.starts_with("//") && !p.contains('\\')
}

#[cfg(test)]
mod tests {
    use super::is_own_path;

    #[test]
    fn back_stays_on_the_portal() {
        assert!(is_own_path("/stats/call_list"));
        for other in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "",
        ] {
            assert!(!is_own_path(other), "{other}");
        }
    }
}
