//! Access control in one place. Every id a subscriber sends, in a URL or a form, is checked here
//! against the logged-in user; anything not theirs is 404, exactly like an id that does not exist.
//!
//! - `{userid}` in a URL: take an `OwnUserId` instead of a `CurrentUser`.
//! - any other id: `require(&store, user, Resource::X, id)` before using it.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest};

use super::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::store::access::Resource;
use crate::store::Store;

/// A URL's `{userid}` that is the logged-in user's own.
#[derive(Clone, Copy, Debug)]
pub struct OwnUserId(pub CurrentUser);

impl FromRequest for OwnUserId {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let user = CurrentUser::from_request(req, payload);
        let given = req
            .match_info()
            .get("userid")
            .and_then(|s| s.parse::<i64>().ok());
        Box::pin(async move {
            let user = user.await?;
            match given {
                Some(id) if id == user.id => Ok(OwnUserId(user)),
                _ => Err(AppError::NotFound),
            }
        })
    }
}

/// Succeeds when record `id` of kind `what` is the user's; otherwise 404.
pub async fn require(store: &Store, user: CurrentUser, what: Resource, id: i64) -> AppResult<()> {
    if store.owns(user.id, what, id).await? {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}
