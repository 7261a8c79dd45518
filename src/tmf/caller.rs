//! Who calls the TM Forum API, and what they may do.
//!
//! Two ways in:
//! - the portal's session cookie: the subscriber, who may read and write their own record. A
//!   state-changing request then carries the session's CSRF token in the `X-CSRF-Token` header
//!   (`web::csrf`, as for every session); a session-authenticated GET hands it out in that
//!   response header.
//! - `Authorization: Bearer <access token>` from the operator's OpenID provider, checked by the
//!   `BearerCheck` in the app data; its scopes say what it may do (`read`, `write`, or the
//!   seed's `obp-apigw:read`, `obp-apigw:write`). A request with an `Authorization` header is
//!   judged by that header alone: the session is never looked at (so `web::csrf` lets such a
//!   request through without a token: a browser cannot add the header to a cross-site request).

use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::error::TmfError;
use crate::oidc::{BearerError, Oidc};
use crate::web::Ctx;

/// The scopes that allow reading one's record.
pub const READ_SCOPES: [&str; 2] = ["read", "obp-apigw:read"];
/// The scopes that allow changing it.
pub const WRITE_SCOPES: [&str; 2] = ["write", "obp-apigw:write"];

/// Checks a Bearer access token (signature against the provider's keys, issuer, audience,
/// expiry) and answers the subscriber it belongs to and its scopes, or why it is refused. The
/// portal's is `oidc::Oidc` (present when single sign-on is configured); tests use fakes.
pub trait BearerCheck {
    fn verify<'a>(
        &'a self,
        token: &'a str,
    ) -> LocalBoxFuture<'a, Result<(i64, Vec<String>), BearerError>>;
}

impl BearerCheck for Oidc {
    fn verify<'a>(
        &'a self,
        token: &'a str,
    ) -> LocalBoxFuture<'a, Result<(i64, Vec<String>), BearerError>> {
        Box::pin(async move {
            let grant = self.verify_bearer(token).await?;
            Ok((grant.user_id, grant.scopes))
        })
    }
}

/// How the caller proved who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Session,
    Bearer,
}

/// The subscriber calling, and what the credentials allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TmfCaller {
    pub user_id: i64,
    pub can_read: bool,
    pub can_write: bool,
    pub via: Via,
}

/// What a request needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    Read,
    Write,
}

impl TmfCaller {
    /// A logged-in session: the subscriber may do everything the pages let them do.
    pub fn session(user_id: i64) -> TmfCaller {
        TmfCaller {
            user_id,
            can_read: true,
            can_write: true,
            via: Via::Session,
        }
    }

    /// A verified token with its scopes.
    pub fn bearer(user_id: i64, scopes: &[String]) -> TmfCaller {
        let has = |wanted: &[&str]| scopes.iter().any(|s| wanted.contains(&s.as_str()));
        TmfCaller {
            user_id,
            can_read: has(&READ_SCOPES),
            can_write: has(&WRITE_SCOPES),
            via: Via::Bearer,
        }
    }

    /// 403 unless the credentials allow `need`.
    pub fn require(&self, need: Need) -> Result<(), TmfError> {
        let (allowed, scope) = match need {
            Need::Read => (self.can_read, "read"),
            Need::Write => (self.can_write, "write"),
        };
        if allowed {
            Ok(())
        } else {
            Err(TmfError::forbidden(format!(
                "Insufficient scope: this request needs the access token's scope `{scope}`"
            )))
        }
    }
}

/// The token of an `Authorization: Bearer …` header; `Err` for another scheme.
fn bearer_token(value: &str) -> Result<&str, TmfError> {
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(TmfError::unauthorized(
            "The Authorization header must be `Bearer <access token>`",
        )),
    }
}

/// Who calls: the Bearer token when an `Authorization` header came, else the session.
pub async fn identify(
    authorization: Option<&str>,
    checker: Option<&dyn BearerCheck>,
    session_user: Option<i64>,
) -> Result<TmfCaller, TmfError> {
    let Some(value) = authorization else {
        return session_user.map(TmfCaller::session).ok_or_else(|| {
            TmfError::unauthorized(
                "No credentials: log in (session cookie) or send Authorization: Bearer <access token>",
            )
        });
    };
    let token = bearer_token(value)?;
    let checker = checker.ok_or_else(|| {
        TmfError::unauthorized(
            "Bearer tokens need single sign-on configured; log in to the portal and use its session instead",
        )
    })?;
    let (user_id, scopes) = checker.verify(token).await.map_err(|why| match why {
        BearerError::InvalidToken(_) | BearerError::NotLinked => {
            TmfError::unauthorized(format!("The access token is refused: {why}"))
        }
        BearerError::Blocked => TmfError::forbidden("This account is blocked"),
        BearerError::Unavailable(_) => TmfError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The access token cannot be checked now; please try again",
        ),
    })?;
    Ok(TmfCaller::bearer(user_id, &scopes))
}

impl FromRequest for TmfCaller {
    type Error = TmfError;
    type Future = LocalBoxFuture<'static, Result<TmfCaller, TmfError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let authorization = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or("").to_string());
        let checker = req.app_data::<web::Data<Oidc>>().cloned();
        let session_user = req.extensions().get::<Ctx>().and_then(|c| c.user_id);
        Box::pin(async move {
            let checker = checker.as_ref().map(|o| o.get_ref() as &dyn BearerCheck);
            identify(authorization.as_deref(), checker, session_user).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Knows a few tokens by name.
    struct Fixed;

    impl BearerCheck for Fixed {
        fn verify<'a>(
            &'a self,
            token: &'a str,
        ) -> LocalBoxFuture<'a, Result<(i64, Vec<String>), BearerError>> {
            Box::pin(async move {
                match token {
                    "reader" => Ok((7, vec!["openid".into(), "read".into()])),
                    "writer" => Ok((7, vec!["obp-apigw:write".into()])),
                    "both" => Ok((7, vec!["obp-apigw:read".into(), "write".into()])),
                    "none" => Ok((7, vec!["openid".into(), "profile".into()])),
                    "blocked" => Err(BearerError::Blocked),
                    "later" => Err(BearerError::Unavailable("no keys".into())),
                    _ => Err(BearerError::InvalidToken("expired".into())),
                }
            })
        }
    }

    async fn caller(auth: Option<&str>, session: Option<i64>) -> Result<TmfCaller, TmfError> {
        identify(auth, Some(&Fixed), session).await
    }

    #[actix_web::test]
    async fn a_session_may_read_and_write() {
        let c = caller(None, Some(3)).await.unwrap();
        assert_eq!(c, TmfCaller::session(3));
        assert!(c.require(Need::Read).is_ok() && c.require(Need::Write).is_ok());
    }

    #[actix_web::test]
    async fn no_credentials_is_401() {
        let e = caller(None, None).await.unwrap_err();
        assert_eq!(e.status, StatusCode::UNAUTHORIZED);
        assert!(e.message.contains("No credentials"), "{e}");
    }

    #[actix_web::test]
    async fn scopes_decide_reading_and_writing() {
        // (token, may read, may write)
        for (token, read, write) in [
            ("reader", true, false),
            ("writer", false, true),
            ("both", true, true),
            ("none", false, false),
        ] {
            let c = caller(Some(&format!("Bearer {token}")), None)
                .await
                .unwrap();
            assert_eq!((c.user_id, c.via), (7, Via::Bearer));
            assert_eq!(c.require(Need::Read).is_ok(), read, "{token} reads");
            assert_eq!(c.require(Need::Write).is_ok(), write, "{token} writes");
            for (need, allowed) in [(Need::Read, read), (Need::Write, write)] {
                if !allowed {
                    let e = c.require(need).unwrap_err();
                    assert_eq!(e.status, StatusCode::FORBIDDEN);
                    assert!(e.message.contains("scope"), "{e}");
                }
            }
        }
    }

    #[actix_web::test]
    async fn a_token_is_judged_alone_even_with_a_session() {
        // The session's user 3 is not used: the token speaks for user 7, or is refused.
        let c = caller(Some("bearer reader"), Some(3)).await.unwrap();
        assert_eq!(c.user_id, 7);
        assert!(!c.can_write);
        let e = caller(Some("Bearer stale"), Some(3)).await.unwrap_err();
        assert_eq!(e.status, StatusCode::UNAUTHORIZED);
        assert!(e.message.contains("expired"), "{e}");
        for bad in ["Basic ZGVtbzpkZW1v", "Bearer", "Bearer   ", ""] {
            let e = caller(Some(bad), Some(3)).await.unwrap_err();
            assert_eq!(e.status, StatusCode::UNAUTHORIZED, "{bad:?}");
        }
        let e = caller(Some("Bearer blocked"), None).await.unwrap_err();
        assert_eq!(e.status, StatusCode::FORBIDDEN);
        let e = caller(Some("Bearer later"), None).await.unwrap_err();
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
    }

    /// Without single sign-on in the app data, a token is refused.
    #[actix_web::test]
    async fn without_the_verifier_in_the_app_data_a_token_is_refused() {
        use actix_web::{test, App};
        let without = test::init_service(App::new().route(
            "/",
            web::get().to(|c: TmfCaller| async move { c.user_id.to_string() }),
        ))
        .await;
        let req = test::TestRequest::get()
            .uri("/")
            .insert_header((header::AUTHORIZATION, "Bearer reader"))
            .to_request();
        let resp = test::call_service(&without, req).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }

    #[actix_web::test]
    async fn without_single_sign_on_a_token_is_refused_clearly() {
        let e = identify(Some("Bearer reader"), None, Some(3))
            .await
            .unwrap_err();
        assert_eq!(e.status, StatusCode::UNAUTHORIZED);
        assert!(e.message.contains("single sign-on"), "{e}");
    }
}
