//! The logged-in user. Every page but the login form takes a `CurrentUser`; without a session
//! the request ends here with `AppError::Unauthenticated`.

use std::future::{ready, Ready};

use actix_web::{FromRequest, HttpMessage, HttpRequest};

use super::context::Ctx;
use crate::error::AppError;

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
