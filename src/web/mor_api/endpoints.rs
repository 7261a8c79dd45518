//! MOR's API names for the portal's pages: which route each answers with, who it is answered
//! for, and the parameters its `hash` covers (MOR's documented order); MOR's hash itself.

use actix_web::http::Method;

/// Who a MOR endpoint is answered for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Auth {
    /// A page: `u`/`p` on every request, no session.
    Stateless,
    /// The login page's form: anyone.
    Anyone,
    /// Our `/api/login`: it checks `u`/`p` itself and opens the session.
    Login,
    /// Logout: the caller's session, if any.
    Session,
}

/// One MOR API endpoint: its name, our route, and the parameters its `hash` covers, in order.
#[derive(Debug)]
pub(super) struct Endpoint {
    pub(super) name: &'static str,
    /// Our path; `{dest_gr_id}` is filled from that parameter.
    pub(super) path: &'static str,
    pub(super) method: Method,
    pub(super) auth: Auth,
    pub(super) hashed: &'static [&'static str],
}

/// MOR X's user-call parameters that its `hash` covers, in its documented order.
pub(super) const CALL_LIST_HASHED: &[&str] = &[
    "period_start",
    "period_end",
    "s_user",
    "s_call_type",
    "s_device",
    "s_provider",
    "s_hgc",
    "s_did",
    "s_destination",
    "order_by",
    "order_desc",
    "only_did",
];

const fn page(name: &'static str, path: &'static str, hashed: &'static [&'static str]) -> Endpoint {
    Endpoint {
        name,
        path,
        method: Method::GET,
        auth: Auth::Stateless,
        hashed,
    }
}

/// MOR's names for our pages.
pub(super) static ENDPOINTS: std::sync::LazyLock<Vec<Endpoint>> = std::sync::LazyLock::new(|| {
    vec![
        page("main_page", "/callc/main", &[]),
        page("user_devices", "/devices/user_devices", &[]),
        page("user_rates", "/tariffs/user_rates", &[]),
        page(
            "dg_list_user_destinations",
            "/directions/dg_list_user_destinations/{dest_gr_id}",
            &["dest_gr_id"],
        ),
        page("personal_payments", "/payments/personal_payments", &[]),
        page("user_invoices", "/accounting/user_invoices", &[]),
        page("user_subscriptions", "/services/user_subscriptions", &[]),
        page("new_calls_list", "/stats/new_calls_list", &[]),
        page("user_calls", "/stats/call_list", CALL_LIST_HASHED),
        page("user_calls_get", "/stats/call_list", CALL_LIST_HASHED),
        page(
            "user_details_get",
            "/users/personal_details",
            &["user_id", "username"],
        ),
        page(
            "user_details",
            "/users/personal_details",
            &["user_id", "username"],
        ),
        Endpoint {
            name: "login_form",
            path: "/callc/login",
            method: Method::GET,
            auth: Auth::Anyone,
            hashed: &[],
        },
        Endpoint {
            name: "user_login",
            path: "/api/login",
            method: Method::POST,
            auth: Auth::Login,
            hashed: &[],
        },
        Endpoint {
            name: "login",
            path: "/api/login",
            method: Method::POST,
            auth: Auth::Login,
            hashed: &[],
        },
        Endpoint {
            name: "user_logout",
            path: "/callc/logout",
            method: Method::POST,
            auth: Auth::Session,
            hashed: &[],
        },
        Endpoint {
            name: "logout",
            path: "/callc/logout",
            method: Method::POST,
            auth: Auth::Session,
            hashed: &[],
        },
    ]
});

/// The endpoint a path names (`/api/main_page`), if it is one of MOR's.
pub(super) fn endpoint(path: &str) -> Option<&'static Endpoint> {
    let name = path.strip_prefix("/api/")?;
    ENDPOINTS.iter().find(|e| e.name == name)
}

/// MOR's parameters that name the user a call is about: a subscriber may only name itself.
pub(super) const USER_SELECTORS: &[&str] = &["user_id", "s_user", "username"];
/// MOR's call-list filters and ours.
pub(super) const RENAMED: &[(&str, &str)] = &[("s_call_type", "status"), ("s_device", "device")];
/// Never passed on to the page: the credentials, the hash, and what the path carries.
pub(super) const CONSUMED: &[&str] = &["u", "p", "hash", "dest_gr_id"];

/// MOR's hash of a request: SHA-1 (hex) of the values of `hashed` present, in that order, then
/// the key.
pub fn mor_hash(values: &[&str], key: &str) -> String {
    use sha1::Digest as _;
    let mut h = sha1::Sha1::new();
    for v in values {
        h.update(v.as_bytes());
    }
    h.update(key.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_mors_documented_example() {
        // MOR's documentation: user 123, period_start 1252454580, calltype answered, key
        // "Very Sercet Key".
        assert_eq!(
            mor_hash(&["123", "1252454580", "answered"], "Very Sercet Key"),
            "b93c35d5c6183288322122561a3da7e09abb63b7"
        );
    }

    #[test]
    fn every_endpoint_is_under_api_and_named_once() {
        for e in ENDPOINTS.iter() {
            assert_eq!(ENDPOINTS.iter().filter(|o| o.name == e.name).count(), 1);
            assert!(endpoint(&format!("/api/{}", e.name)).is_some());
        }
        assert!(endpoint("/api/openapi.json").is_none());
        assert!(endpoint("/callc/main").is_none());
    }
}
