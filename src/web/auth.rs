//! The logged-in user. Every page but the login form takes a `CurrentUser`; without a session
//! the request ends here with `AppError::Unauthenticated`. A page that shows the account takes
//! a `UserAccount`: the account as the request found it, read with the session.

use std::future::{ready, Ready};

use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::context::Ctx;
use crate::error::AppError;
use crate::store::users::Account;
use crate::store::Store;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CurrentUser {
    pub id: i64,
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Ready<Result<CurrentUser, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let id = req.extensions().get::<Ctx>().and_then(|c| c.user_id);
        ready(
            id.map(|id| CurrentUser { id })
                .ok_or(AppError::Unauthenticated),
        )
    }
}

/// The logged-in user's account as it was when the request came in. The session's own
/// statement reads it (`Store::session_user`), so a page costs no second statement for it; a
/// MOR API call, which has no session, reads it from the store. A handler that changes the
/// account and then shows it reads it again (`Store::account`).
pub struct UserAccount(pub Account);

impl FromRequest for UserAccount {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<UserAccount, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let id = req.extensions().get::<Ctx>().and_then(|c| c.user_id);
        let read = req.extensions().get::<Account>().cloned();
        let store = req.app_data::<web::Data<Store>>().cloned();
        Box::pin(async move {
            let id = id.ok_or(AppError::Unauthenticated)?;
            if let Some(account) = read.filter(|a| a.id == id) {
                return Ok(UserAccount(account));
            }
            let store = store.ok_or_else(|| AppError::Internal(anyhow::anyhow!("no store")))?;
            // A user removed since the session began is no user.
            let account = store.account(id).await?.ok_or(AppError::Unauthenticated)?;
            Ok(UserAccount(account))
        })
    }
}
