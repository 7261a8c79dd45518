//! The portal's navigation: five sections, each with its pages. The top row names the sections,
//! the second the current section's pages, so a phone shows two short rows instead of a strip of
//! twenty-five links, and the page a subscriber is on is always visible. No script is needed.

/// One page of the menu: where it is, its label's locale key, and the other addresses that count
/// as being on it (a detail page, the forms' targets).
pub struct MenuPage {
    pub href: &'static str,
    pub label: &'static str,
    also: &'static [&'static str],
}

pub struct Section {
    pub label: &'static str,
    pub pages: &'static [MenuPage],
}

const fn page(href: &'static str, label: &'static str, also: &'static [&'static str]) -> MenuPage {
    MenuPage { href, label, also }
}

pub static SECTIONS: &[Section] = &[
    Section {
        label: "nav.section.home",
        pages: &[
            page("/callc/main", "nav.main", &[]),
            page("/users/activity", "nav.activity", &[]),
        ],
    },
    Section {
        label: "nav.section.calls",
        pages: &[
            page("/stats/call_list", "nav.calls", &[]),
            page("/stats/new_calls_list", "nav.new_calls", &[]),
            page("/stats/missed_calls", "nav.missed_calls", &[]),
            page("/stats/user_stats", "nav.user_stats", &[]),
            page("/stats/faxes", "nav.faxes", &["/stats/faxes_list/"]),
            page("/functions/callback", "nav.callback", &["/functions/"]),
        ],
    },
    Section {
        label: "nav.section.money",
        pages: &[
            page(
                "/payments/topup",
                "nav.wallet",
                &[
                    "/payments/methods",
                    "/payments/auto_topup",
                    "/payments/voucher",
                ],
            ),
            page("/payments/personal_payments", "nav.payments", &[]),
            page(
                "/accounting/user_invoices",
                "nav.invoices",
                &["/accounting/"],
            ),
            page("/services/user_subscriptions", "nav.subscriptions", &[]),
            page(
                "/tariffs/user_rates",
                "nav.rates",
                &["/tariffs/", "/directions/"],
            ),
            page(
                "/services/barrings",
                "nav.controls",
                &["/services/spending_limit", "/services/lost_phone"],
            ),
            page("/services/calling_plan", "nav.plan", &[]),
        ],
    },
    Section {
        label: "nav.section.phone",
        pages: &[
            page("/devices/user_devices", "nav.devices", &[]),
            page("/devices/user_device_clis", "nav.clis", &["/devices/cli_"]),
            page("/dids", "nav.numbers", &["/dids/"]),
            page("/phonebooks/list", "nav.phonebook", &["/phonebooks/"]),
            page("/users/pin", "nav.pin", &["/users/pin/"]),
        ],
    },
    Section {
        label: "nav.section.account",
        pages: &[
            page(
                "/users/personal_details",
                "nav.details",
                &["/users/update_personal_details/"],
            ),
            page("/accounts/tree", "nav.account_tree", &[]),
            page("/users/change_password", "nav.password", &[]),
            page(
                "/users/two_factor",
                "two_factor.link",
                &["/users/two_factor/"],
            ),
            page("/users/sessions", "nav.sessions", &["/users/sessions/"]),
            page("/help/api", "nav.api", &[]),
        ],
    },
];

impl MenuPage {
    fn is_at(&self, path: &str) -> bool {
        path == self.href
            || self
                .also
                .iter()
                .any(|a| path == *a || (a.ends_with('/') && path.starts_with(a)))
    }
}

/// The section and page `path` belongs to (the main page's section for a page not in the menu).
pub fn locate(path: &str) -> (usize, Option<usize>) {
    for (s, section) in SECTIONS.iter().enumerate() {
        if let Some(p) = section.pages.iter().position(|p| p.is_at(path)) {
            return (s, Some(p));
        }
    }
    (0, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_is_found_in_its_section() {
        assert_eq!(locate("/callc/main"), (0, Some(0)));
        assert_eq!(locate("/stats/faxes_list/7"), (1, Some(4)));
        assert_eq!(locate("/accounting/user_invoices/12"), (2, Some(2)));
        assert_eq!(
            locate("/directions/dg_list_user_destinations/3"),
            (2, Some(4))
        );
        assert_eq!(locate("/phonebooks/list/1"), (3, Some(3)));
        assert_eq!(locate("/users/pin"), (3, Some(4)));
        assert_eq!(locate("/users/sessions"), (4, Some(4)));
        assert_eq!(locate("/somewhere/else"), (0, None));
    }

    #[test]
    fn no_page_is_in_two_sections() {
        let mut seen = std::collections::HashSet::new();
        for s in SECTIONS {
            for p in s.pages {
                assert!(seen.insert(p.href), "{} twice", p.href);
                assert_eq!(
                    locate(p.href).0,
                    SECTIONS.iter().position(|x| std::ptr::eq(x, s)).unwrap()
                );
            }
        }
    }

    #[test]
    fn every_label_is_translated() {
        for s in SECTIONS {
            for lang in crate::i18n::Lang::ALL {
                assert_ne!(lang.t(s.label), s.label, "{} in {lang:?}", s.label);
                for p in s.pages {
                    assert_ne!(lang.t(p.label), p.label, "{} in {lang:?}", p.label);
                }
            }
        }
    }
}
