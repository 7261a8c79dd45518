//! The pages, grouped as the menu groups them (`web::menu`): one folder per section, one module
//! per page with its view models and handlers. Templates: `templates/pages/<page>.html` and
//! `templates/xml/<page>.xml`.

pub mod account;
pub mod calls;
pub mod home;
pub mod money;
pub mod notice;
pub mod phone;

use crate::i18n::Lang;

/// The languages a client may choose, listed in several XML pages as `aval_languages`.
pub fn available_languages() -> Vec<&'static str> {
    Lang::ALL.iter().map(|l| l.code()).collect()
}
