//! TM Forum Open APIs for one's own record: TMF629 `Customer` (read) and TMF632 `Individual`
//! (read, and change with a JSON merge patch), for the logged-in subscriber only.
//!
//! - `caller`: who calls (session or Bearer token) and what they may do.
//! - `customer`, `individual`: the resources' shapes, made from the personal details.
//! - `merge_patch`: RFC 7386.
//! - `error`: the TMF error resource every failure under `/tmf-api/` is answered in.
//! - `routes`: the thin handlers.
//!
//! The `{id}` of both resources is the subscriber's user id; any other id is 404
//! (`web::access::own_id`). A change goes through `pages::account::personal_details::check_change`, the
//! personal-details form's own validation, and is written and audit-logged by the same store
//! function.

pub mod caller;
pub mod customer;
pub mod error;
pub mod individual;
pub mod merge_patch;
mod routes;

pub use caller::{BearerCheck, Need, TmfCaller};
pub use error::TmfError;
pub use routes::routes;

/// Where the API lives.
pub const PREFIX: &str = "/tmf-api";
pub const CUSTOMER_PATH: &str = "/tmf-api/customerManagement/v4/customer";
pub const INDIVIDUAL_PATH: &str = "/tmf-api/partyManagement/v4/individual";

/// Whether a request path is the API's (its errors are answered in the TMF shape).
pub fn serves(path: &str) -> bool {
    path == PREFIX || path.starts_with("/tmf-api/")
}

/// Absolute links to the resources, from `Settings::public_url`.
#[derive(Clone, Debug)]
pub struct Links {
    base: String,
}

impl Links {
    pub fn new(public_url: &str) -> Links {
        Links {
            base: public_url.trim_end_matches('/').to_string(),
        }
    }

    pub fn customer(&self, id: i64) -> String {
        format!("{}{CUSTOMER_PATH}/{id}", self.base)
    }

    pub fn individual(&self, id: i64) -> String {
        format!("{}{INDIVIDUAL_PATH}/{id}", self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_absolute_and_paths_are_recognised() {
        let links = Links::new("https://portal.example.com/");
        assert_eq!(
            links.customer(7),
            "https://portal.example.com/tmf-api/customerManagement/v4/customer/7"
        );
        assert!(serves("/tmf-api/partyManagement/v4/individual/7"));
        assert!(serves("/tmf-api"));
        assert!(!serves("/tmf-apis/x") && !serves("/users/personal_details"));
    }
}
