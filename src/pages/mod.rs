//! One module per portal section: its view models and handlers. Templates mirror these
//! modules: `templates/pages/<page>.html` and `templates/xml/<page>.xml`.

pub mod account_tree;
pub mod activity;
pub mod api_help;
pub mod callback;
pub mod calling_plan;
pub mod calls;
pub mod charts;
pub mod clis;
pub mod controls;
pub mod destinations;
pub mod devices;
pub mod faxes;
pub mod invoices;
pub mod login;
pub mod login_code;
pub mod main_page;
pub mod missed_calls;
pub mod notice;
pub mod numbers;
pub mod password;
pub mod payments;
pub mod period_form;
pub mod personal_details;
pub mod phonebook;
pub mod phonebook_import;
pub mod pin;
pub mod preferences;
pub mod rates;
pub mod sessions;
pub mod sso;
pub mod subscriptions;
pub mod two_factor;
pub mod user_stats;
pub mod wallet;

use crate::i18n::Lang;

/// The languages a client may choose, listed in several XML pages as `aval_languages`.
pub fn available_languages() -> Vec<&'static str> {
    Lang::ALL.iter().map(|l| l.code()).collect()
}
