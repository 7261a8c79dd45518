//! TMF629 `Customer`: the subscriber in the role of the operator's customer. Read only: the
//! name and the contact media are the individual's (change them there), the status is the
//! operator's.

use serde::Serialize;

use super::individual::{self, ContactMedium};
use super::Links;
use crate::store::accounts::AccountRow;
use crate::store::details::PersonalDetails;
use crate::store::party::PartyStanding;

#[derive(Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    pub id: String,
    pub href: String,
    #[serde(rename = "@type")]
    pub at_type: &'static str,
    #[serde(rename = "@baseType")]
    pub at_base_type: &'static str,
    /// The person's full name; the login name when the operator recorded no name.
    pub name: String,
    /// `active`, or `blocked` when the operator blocked the subscriber.
    pub status: &'static str,
    pub engaged_party: PartyRef,
    pub contact_medium: Vec<ContactMedium>,
    /// The subscriber's accounts (contracts), as the account tree lists them.
    pub account: Vec<AccountRef>,
    /// Since when the subscriber exists.
    pub valid_for: TimePeriod,
}

/// A reference to the individual the customer is.
#[derive(Debug, PartialEq, Serialize)]
pub struct PartyRef {
    pub id: String,
    pub href: String,
    pub name: String,
    #[serde(rename = "@referredType")]
    pub referred_type: &'static str,
}

/// A reference to one of the customer's accounts (`/accounts/tree` shows it whole).
#[derive(Debug, PartialEq, Serialize)]
pub struct AccountRef {
    pub id: String,
    /// The operator's name; `Main account` for the one every subscriber has.
    pub name: String,
    #[serde(rename = "@referredType")]
    pub referred_type: &'static str,
}

#[derive(Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimePeriod {
    /// RFC 3339, UTC.
    pub start_date_time: String,
}

impl Customer {
    pub fn of(
        d: &PersonalDetails,
        standing: &PartyStanding,
        accounts: &[AccountRow],
        links: &Links,
    ) -> Customer {
        let full_name = [d.first_name.as_str(), d.last_name.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        let name = if full_name.is_empty() {
            standing.username.clone()
        } else {
            full_name
        };
        Customer {
            id: d.id.to_string(),
            href: links.customer(d.id),
            at_type: "Customer",
            at_base_type: "PartyRole",
            name: name.clone(),
            status: if standing.blocked != 0 {
                "blocked"
            } else {
                "active"
            },
            engaged_party: PartyRef {
                id: d.id.to_string(),
                href: links.individual(d.id),
                name,
                referred_type: individual::AT_TYPE,
            },
            contact_medium: individual::contact_media(d),
            account: accounts
                .iter()
                .map(|a| AccountRef {
                    id: a.id.to_string(),
                    name: if a.name.is_empty() {
                        "Main account".to_string()
                    } else {
                        a.name.clone()
                    },
                    referred_type: "PartyAccount",
                })
                .collect(),
            valid_for: TimePeriod {
                start_date_time: chrono::DateTime::from_timestamp(standing.created_at, 0)
                    .unwrap_or_default()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_customer_in_tmf629_shape() {
        let mut d = individual::tests::row();
        d.reg_phone = String::new();
        d.reg_address = String::new();
        d.reg_postcode = String::new();
        d.reg_city = String::new();
        d.reg_country = String::new();
        let standing = PartyStanding {
            username: "demo".into(),
            blocked: 0,
            created_at: 1_700_000_000,
        };
        let links = Links::new("http://127.0.0.1:8080");
        let accounts = [
            AccountRow {
                id: 7,
                name: String::new(),
                created_at: 1_700_000_000,
                closed_at: None,
            },
            AccountRow {
                id: 9,
                name: "Office line".into(),
                created_at: 1_700_000_000,
                closed_at: None,
            },
        ];
        assert_eq!(
            serde_json::to_value(Customer::of(&d, &standing, &accounts, &links)).unwrap(),
            json!({
                "id": "42",
                "href": "http://127.0.0.1:8080/tmf-api/customerManagement/v4/customer/42",
                "@type": "Customer",
                "@baseType": "PartyRole",
                "name": "John Smith",
                "status": "active",
                "engagedParty": {
                    "id": "42",
                    "href": "http://127.0.0.1:8080/tmf-api/partyManagement/v4/individual/42",
                    "name": "John Smith",
                    "@referredType": "Individual",
                },
                "contactMedium": [
                    {"mediumType": "email", "characteristic": {"emailAddress": "john@example.com"}},
                ],
                "account": [
                    {"id": "7", "name": "Main account", "@referredType": "PartyAccount"},
                    {"id": "9", "name": "Office line", "@referredType": "PartyAccount"},
                ],
                "validFor": {"startDateTime": "2023-11-14T22:13:20Z"},
            })
        );
        // No name recorded: the login name; blocked by the operator.
        d.first_name = String::new();
        d.last_name = String::new();
        let blocked = PartyStanding {
            blocked: 1,
            ..standing
        };
        let c = Customer::of(&d, &blocked, &[], &links);
        assert_eq!((c.name.as_str(), c.status), ("demo", "blocked"));
        assert_eq!(c.engaged_party.name, "demo");
    }
}
