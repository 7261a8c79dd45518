//! Account: logging in (password, e-mailed code, single sign-on), personal details and preferences,
//! the account tree, password, two-factor login, sessions and the API help page.

pub mod account_tree;
pub mod api_help;
pub mod login;
pub mod login_code;
pub mod password;
pub mod personal_details;
pub mod preferences;
pub mod sessions;
pub mod sso;
pub mod two_factor;
