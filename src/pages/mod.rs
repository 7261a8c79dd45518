//! One module per portal section: its view models and handlers. Templates mirror these
//! modules: `templates/pages/<page>.html` and `templates/xml/<page>.xml`.

pub mod calls;
pub mod charts;
pub mod login;
pub mod main_page;
pub mod missed_calls;
pub mod user_stats;

use crate::i18n::Lang;

/// The languages a client may choose, listed in several XML pages as `aval_languages`.
pub fn available_languages() -> Vec<&'static str> {
    Lang::ALL.iter().map(|l| l.code()).collect()
}
