//! Access control in one place. Every id a subscriber sends, in a URL or a form, is checked here
//! against the logged-in user; anything not theirs is 404, exactly like an id that does not exist.
//!
//! - `{userid}` in a URL: take an `OwnUserId` instead of a `CurrentUser`.
//! - any other id: `require(&store, user, Resource::X, id)` before using it.
//! - a URL's id that names the user itself in another way (the TM Forum API's `{id}`, whose
//!   caller may come with a Bearer token instead of a session): `own_id(user_id, given)`.

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
        let given = req.match_info().get("userid").map(str::to_string);
        Box::pin(async move {
            let user = user.await?;
            own_id(user.id, given.as_deref())?;
            Ok(OwnUserId(user))
        })
    }
}

/// Succeeds when `given` (a URL's id, as typed) is `user_id` itself; anything else (another
/// user's id, a missing one, not a number) is 404.
pub fn own_id(user_id: i64, given: Option<&str>) -> AppResult<()> {
    match given.and_then(|s| s.parse::<i64>().ok()) {
        Some(id) if id == user_id => Ok(()),
        _ => Err(AppError::NotFound),
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

#[cfg(test)]
mod tests {
    use super::own_id;

    #[test]
    fn only_the_users_own_id_passes() {
        assert!(own_id(42, Some("42")).is_ok());
        for other in [Some("43"), Some("042x"), Some(""), Some("-42"), None] {
            assert!(own_id(42, other).is_err(), "{other:?}");
        }
    }
}
