//! What the portal keeps in a session, in one place.

use actix_session::Session;

use crate::i18n::Lang;

const USER_ID: &str = "uid";
const KIND: &str = "kind";
const LANG: &str = "lang";

/// How the session was opened: a browser form, or the legacy XML client's `/api/login`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    Web,
    Legacy,
}

pub fn user_id(s: &Session) -> Option<i64> {
    s.get::<i64>(USER_ID).ok().flatten()
}

pub fn kind(s: &Session) -> Option<SessionKind> {
    match s.get::<String>(KIND).ok().flatten()?.as_str() {
        "api" => Some(SessionKind::Legacy),
        "web" => Some(SessionKind::Web),
        _ => None,
    }
}

pub fn lang(s: &Session) -> Option<Lang> {
    s.get::<String>(LANG)
        .ok()
        .flatten()
        .and_then(|c| Lang::parse(&c))
}

pub fn set_lang(s: &Session, lang: Lang) -> Result<(), actix_session::SessionInsertError> {
    s.insert(LANG, lang.code())
}

/// Starts a fresh session for a user: a new session id, so a cookie planted before login is useless.
pub fn log_in(
    s: &Session,
    user_id: i64,
    kind: SessionKind,
    lang: Lang,
) -> Result<(), actix_session::SessionInsertError> {
    // `clear` + `renew`, not `purge`: after a purge actix-session ignores inserts.
    s.clear();
    s.renew();
    s.insert(USER_ID, user_id)?;
    s.insert(
        KIND,
        if kind == SessionKind::Legacy {
            "api"
        } else {
            "web"
        },
    )?;
    s.insert(LANG, lang.code())
}

pub fn log_out(s: &Session) {
    s.purge();
}
