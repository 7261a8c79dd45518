//! What the portal keeps in a session, in one place. The session (cookie or Redis) holds the
//! user id and a session id; `user_sessions` in the database says whether that id is still alive.

use actix_session::Session;

use crate::i18n::Lang;

const USER_ID: &str = "uid";
const SESSION_ID: &str = "sid";
const KIND: &str = "kind";
const LANG: &str = "lang";
/// A right password waiting for its second-factor code: the user and until when (UTC seconds).
const CODE_USER: &str = "code_uid";
const CODE_UNTIL: &str = "code_until";

/// How the session was opened: a browser form, or the legacy XML client's `/api/login`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    Web,
    Legacy,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Web => "web",
            SessionKind::Legacy => "api",
        }
    }
}

/// How a login was proven, recorded with the session (the sessions page shows it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginMethod {
    Password,
    /// A password and a second-factor code (or recovery code).
    PasswordAndCode,
    /// Single sign-on through the operator's OpenID provider.
    OpenIdConnect,
}

impl LoginMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginMethod::Password => "password",
            LoginMethod::PasswordAndCode => "password+totp",
            LoginMethod::OpenIdConnect => "oidc",
        }
    }
}

/// The user id and session id of a logged-in session (not yet checked against the database).
pub fn login(s: &Session) -> Option<(i64, String)> {
    let uid = s.get::<i64>(USER_ID).ok().flatten()?;
    let sid = s.get::<String>(SESSION_ID).ok().flatten()?;
    Some((uid, sid))
}

pub fn session_id(s: &Session) -> Option<String> {
    s.get::<String>(SESSION_ID).ok().flatten()
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

/// Starts a fresh session for a user: a new session key, so a cookie planted before login is useless.
pub fn log_in(
    s: &Session,
    user_id: i64,
    session_id: &str,
    kind: SessionKind,
    lang: Lang,
) -> Result<(), actix_session::SessionInsertError> {
    // `clear` + `renew`, not `purge`: after a purge actix-session ignores inserts.
    s.clear();
    s.renew();
    s.insert(USER_ID, user_id)?;
    s.insert(SESSION_ID, session_id)?;
    s.insert(KIND, kind.as_str())?;
    s.insert(LANG, lang.code())
}

/// Remembers a right password whose account asks for a code too, until `until`: a fresh
/// session key (so a cookie planted before cannot take over the second step), no login yet,
/// the language kept.
pub fn begin_second_step(
    s: &Session,
    user_id: i64,
    until: i64,
    lang: Lang,
) -> Result<(), actix_session::SessionInsertError> {
    s.clear();
    s.renew();
    s.insert(CODE_USER, user_id)?;
    s.insert(CODE_UNTIL, until)?;
    s.insert(LANG, lang.code())
}

/// The user of a second step still open at `now` (see [`begin_second_step`]).
pub fn second_step(s: &Session, now: i64) -> Option<i64> {
    let uid = s.get::<i64>(CODE_USER).ok().flatten()?;
    let until = s.get::<i64>(CODE_UNTIL).ok().flatten()?;
    (now <= until).then_some(uid)
}

/// Ends a second step (its time ran out).
pub fn end_second_step(s: &Session) {
    s.remove(CODE_USER);
    s.remove(CODE_UNTIL);
}

/// Forgets the login but keeps the language choice (a dead or ended session).
pub fn forget(s: &Session) {
    let lang = lang(s);
    s.clear();
    if let Some(l) = lang {
        let _ = set_lang(s, l);
    }
}

pub fn log_out(s: &Session) {
    s.purge();
}
