//! TMF632 `Individual`: the subscriber as a person, made of the personal details the
//! subscriber sees and changes on `/users/personal_details`, and the way back from a merge
//! patch to the same form fields (which `pages::account::personal_details::check_change` then validates).
//!
//! | TMF632                                                  | personal details |
//! | ------------------------------------------------------- | ---------------- |
//! | `givenName`, `familyName`                               | `username`, `surname` |
//! | `individualIdentification[personalId]`                  | `personalid` |
//! | `partyCharacteristic[taxationCountry, vatRegNumber]`    | `taxation_country`, `vat_reg_number` |
//! | `contactMedium[email].emailAddress`                     | `reg_email` |
//! | `contactMedium[phone, contactType fixed/mobile]`        | `reg_phone`, `reg_mobile` |
//! | `contactMedium[fax].faxNumber`                          | `reg_fax` |
//! | `contactMedium[postalAddress]` street1, postCode, city, stateOrProvince, country | `reg_address`, `reg_postcode`, `reg_city`, `reg_state`, `reg_country` |
//!
//! `reg_direction` has no TMF counterpart: it is not shown here, and a patch leaves it alone.
//! Everything else on the subscriber's row is the operator's and cannot be patched.

use serde::Serialize;
use serde_json::{Map, Value};

use super::error::TmfError;
use super::merge_patch;
use super::Links;
use crate::store::details::{DetailField, PersonalDetails};

pub const AT_TYPE: &str = "Individual";

#[derive(Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Individual {
    pub id: String,
    pub href: String,
    #[serde(rename = "@type")]
    pub at_type: &'static str,
    #[serde(rename = "@baseType")]
    pub at_base_type: &'static str,
    pub given_name: String,
    pub family_name: String,
    pub contact_medium: Vec<ContactMedium>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub individual_identification: Vec<IndividualIdentification>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub party_characteristic: Vec<Characteristic>,
}

/// TMF `ContactMedium`: `mediumType` and its `characteristic` (only the keys with a value).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactMedium {
    pub medium_type: &'static str,
    pub characteristic: Map<String, Value>,
}

#[derive(Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IndividualIdentification {
    pub identification_type: &'static str,
    pub identification_id: String,
}

#[derive(Debug, PartialEq, Serialize)]
pub struct Characteristic {
    pub name: &'static str,
    pub value: String,
}

/// A characteristic of a medium, the form field it is, and how a message names it.
struct Slot {
    medium: &'static str,
    /// `contactType` of a phone: `fixed` or `mobile`.
    contact_type: Option<&'static str>,
    key: &'static str,
    field: DetailField,
}

const SLOTS: [Slot; 9] = [
    Slot {
        medium: "email",
        contact_type: None,
        key: "emailAddress",
        field: DetailField::RegEmail,
    },
    Slot {
        medium: "phone",
        contact_type: Some("fixed"),
        key: "phoneNumber",
        field: DetailField::RegPhone,
    },
    Slot {
        medium: "phone",
        contact_type: Some("mobile"),
        key: "phoneNumber",
        field: DetailField::RegMobile,
    },
    Slot {
        medium: "fax",
        contact_type: None,
        key: "faxNumber",
        field: DetailField::RegFax,
    },
    Slot {
        medium: "postalAddress",
        contact_type: None,
        key: "street1",
        field: DetailField::RegAddress,
    },
    Slot {
        medium: "postalAddress",
        contact_type: None,
        key: "postCode",
        field: DetailField::RegPostcode,
    },
    Slot {
        medium: "postalAddress",
        contact_type: None,
        key: "city",
        field: DetailField::RegCity,
    },
    Slot {
        medium: "postalAddress",
        contact_type: None,
        key: "stateOrProvince",
        field: DetailField::RegState,
    },
    Slot {
        medium: "postalAddress",
        contact_type: None,
        key: "country",
        field: DetailField::RegCountry,
    },
];

/// The media in the order they are shown: (mediumType, contactType).
const MEDIA: [(&str, Option<&str>); 5] = [
    ("email", None),
    ("phone", Some("fixed")),
    ("phone", Some("mobile")),
    ("fax", None),
    ("postalAddress", None),
];

const PERSONAL_ID: &str = "personalId";
const CHARACTERISTICS: [(&str, DetailField); 2] = [
    ("taxationCountry", DetailField::TaxationCountry),
    ("vatRegNumber", DetailField::VatRegNumber),
];

/// The members a patch may name; every other one (`id`, `href`, `@type` …) is refused.
pub const PATCHABLE: [&str; 5] = [
    "givenName",
    "familyName",
    "contactMedium",
    "individualIdentification",
    "partyCharacteristic",
];

/// The contact media of a subscriber (shared with the customer).
pub fn contact_media(d: &PersonalDetails) -> Vec<ContactMedium> {
    MEDIA
        .iter()
        .filter_map(|&(medium, contact_type)| {
            let mut characteristic = Map::new();
            if let Some(t) = contact_type {
                characteristic.insert("contactType".into(), t.into());
            }
            let mut any = false;
            for slot in SLOTS
                .iter()
                .filter(|s| s.medium == medium && s.contact_type == contact_type)
            {
                let value = slot.field.of(d);
                if !value.is_empty() {
                    characteristic.insert(slot.key.into(), value.into());
                    any = true;
                }
            }
            any.then_some(ContactMedium {
                medium_type: medium,
                characteristic,
            })
        })
        .collect()
}

impl Individual {
    pub fn of(d: &PersonalDetails, links: &Links) -> Individual {
        Individual {
            id: d.id.to_string(),
            href: links.individual(d.id),
            at_type: AT_TYPE,
            at_base_type: "Party",
            given_name: d.first_name.clone(),
            family_name: d.last_name.clone(),
            contact_medium: contact_media(d),
            individual_identification: if d.personal_id.is_empty() {
                Vec::new()
            } else {
                vec![IndividualIdentification {
                    identification_type: PERSONAL_ID,
                    identification_id: d.personal_id.clone(),
                }]
            },
            party_characteristic: CHARACTERISTICS
                .iter()
                .filter(|(_, f)| !f.of(d).is_empty())
                .map(|&(name, f)| Characteristic {
                    name,
                    value: f.of(d).to_string(),
                })
                .collect(),
        }
    }
}

/// How an error message names a form field in TMF terms.
pub fn tmf_name(field: DetailField) -> String {
    match field {
        DetailField::FirstName => "givenName".into(),
        DetailField::LastName => "familyName".into(),
        DetailField::PersonalId => format!("individualIdentification {PERSONAL_ID}"),
        DetailField::TaxationCountry | DetailField::VatRegNumber => {
            let name = CHARACTERISTICS
                .iter()
                .find(|(_, f)| *f == field)
                .map_or("", |(n, _)| n);
            format!("partyCharacteristic {name}")
        }
        other => match SLOTS.iter().find(|s| s.field == other) {
            Some(s) => match s.contact_type {
                Some(t) => format!("contactMedium {} ({t}) {}", s.medium, s.key),
                None => format!("contactMedium {} {}", s.medium, s.key),
            },
            None => other.key().to_string(),
        },
    }
}

/// The form fields a merge patch changes, with their new values as typed (not yet validated):
/// `current` is the stored row. Refuses members that cannot be patched and values of the
/// wrong shape, naming them.
pub fn patched_fields(
    current: &PersonalDetails,
    links: &Links,
    patch: &Value,
) -> Result<Vec<(DetailField, String)>, TmfError> {
    let Value::Object(members) = patch else {
        return Err(TmfError::bad_request(
            "The patch must be a JSON object (RFC 7386 merge patch)",
        ));
    };
    if let Some(name) = members.keys().find(|k| !PATCHABLE.contains(&k.as_str())) {
        return Err(TmfError::bad_request(format!(
            "{name} cannot be patched: only {} can",
            PATCHABLE.join(", ")
        )));
    }
    let before = serde_json::to_value(Individual::of(current, links))
        .map_err(|e| TmfError::bad_request(e.to_string()))?;
    let after = merge_patch::apply(&before, patch);

    let mut wanted: Vec<(DetailField, String)> = Vec::new();
    wanted.push((DetailField::FirstName, string_member(&after, "givenName")?));
    wanted.push((DetailField::LastName, string_member(&after, "familyName")?));
    wanted.extend(media_fields(after.get("contactMedium"))?);
    wanted.push((
        DetailField::PersonalId,
        identification(after.get("individualIdentification"))?,
    ));
    wanted.extend(characteristics(after.get("partyCharacteristic"))?);
    // Only what differs from the row is typed: an unchanged field is not validated again.
    Ok(wanted
        .into_iter()
        .filter(|(f, v)| v != f.of(current))
        .collect())
}

/// A text member; absent (or removed with `null`) is empty.
fn string_member(doc: &Value, name: &str) -> Result<String, TmfError> {
    match doc.get(name) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(TmfError::bad_request(format!("{name} must be a string"))),
    }
}

fn array<'a>(value: Option<&'a Value>, name: &str) -> Result<&'a [Value], TmfError> {
    match value {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(TmfError::bad_request(format!("{name} must be an array"))),
    }
}

fn object<'a>(value: &'a Value, name: &str) -> Result<&'a Map<String, Value>, TmfError> {
    value
        .as_object()
        .ok_or_else(|| TmfError::bad_request(format!("{name} must be an object")))
}

/// Refuses members other than `allowed`.
fn only(members: &Map<String, Value>, allowed: &[&str], name: &str) -> Result<(), TmfError> {
    match members.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(TmfError::bad_request(format!(
            "{name}: {k} is not known here (known: {})",
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

/// The contact media as form fields: every medium's field, empty when the medium is absent (a
/// merge patch replaces the whole array).
fn media_fields(value: Option<&Value>) -> Result<Vec<(DetailField, String)>, TmfError> {
    let mut fields: Vec<(DetailField, String)> =
        SLOTS.iter().map(|s| (s.field, String::new())).collect();
    let mut seen: Vec<(String, Option<String>)> = Vec::new();
    for (i, item) in array(value, "contactMedium")?.iter().enumerate() {
        let name = format!("contactMedium[{i}]");
        let medium = object(item, &name)?;
        only(medium, &["mediumType", "characteristic"], &name)?;
        let medium_type = string_member(item, "mediumType")?;
        let characteristic = object(
            medium.get("characteristic").unwrap_or(&Value::Null),
            &format!("{name}.characteristic"),
        )?;
        let contact_type = match characteristic.get("contactType") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(TmfError::bad_request(format!(
                    "{name}.characteristic.contactType must be a string"
                )))
            }
        };
        let Some(&(known, _)) = MEDIA
            .iter()
            .find(|(m, t)| *m == medium_type && t.map(str::to_string) == contact_type)
        else {
            return Err(TmfError::bad_request(format!(
                "{name}: mediumType {medium_type:?}{} is not one of email, phone (contactType fixed or mobile), fax, postalAddress",
                contact_type.as_deref().map(|t| format!(" with contactType {t:?}")).unwrap_or_default()
            )));
        };
        if seen.contains(&(medium_type.clone(), contact_type.clone())) {
            return Err(TmfError::bad_request(format!(
                "{name}: a second {medium_type} medium{}",
                contact_type
                    .as_deref()
                    .map(|t| format!(" ({t})"))
                    .unwrap_or_default()
            )));
        }
        seen.push((medium_type.clone(), contact_type.clone()));
        let slots: Vec<&Slot> = SLOTS
            .iter()
            .filter(|s| s.medium == known && s.contact_type.map(str::to_string) == contact_type)
            .collect();
        let mut allowed: Vec<&str> = slots.iter().map(|s| s.key).collect();
        if contact_type.is_some() {
            allowed.push("contactType");
        }
        only(characteristic, &allowed, &format!("{name}.characteristic"))?;
        for slot in slots {
            let value = match characteristic.get(slot.key) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(_) => {
                    return Err(TmfError::bad_request(format!(
                        "{name}.characteristic.{} must be a string",
                        slot.key
                    )))
                }
            };
            if let Some(entry) = fields.iter_mut().find(|(f, _)| *f == slot.field) {
                entry.1 = value;
            }
        }
    }
    Ok(fields)
}

/// The personal id from `individualIdentification` (at most one, of type `personalId`).
fn identification(value: Option<&Value>) -> Result<String, TmfError> {
    let items = array(value, "individualIdentification")?;
    match items {
        [] => Ok(String::new()),
        [item] => {
            let name = "individualIdentification[0]";
            only(
                object(item, name)?,
                &["identificationType", "identificationId"],
                name,
            )?;
            let kind = string_member(item, "identificationType")?;
            if kind != PERSONAL_ID {
                return Err(TmfError::bad_request(format!(
                    "{name}.identificationType must be {PERSONAL_ID:?}"
                )));
            }
            string_member(item, "identificationId")
        }
        _ => Err(TmfError::bad_request(
            "individualIdentification: at most one (personalId)",
        )),
    }
}

fn characteristics(value: Option<&Value>) -> Result<Vec<(DetailField, String)>, TmfError> {
    let mut fields: Vec<(DetailField, String)> = CHARACTERISTICS
        .iter()
        .map(|&(_, f)| (f, String::new()))
        .collect();
    let mut seen: Vec<String> = Vec::new();
    for (i, item) in array(value, "partyCharacteristic")?.iter().enumerate() {
        let name = format!("partyCharacteristic[{i}]");
        only(object(item, &name)?, &["name", "value"], &name)?;
        let key = string_member(item, "name")?;
        let Some(&(_, field)) = CHARACTERISTICS.iter().find(|(n, _)| *n == key) else {
            return Err(TmfError::bad_request(format!(
                "{name}: {key:?} is not one of taxationCountry, vatRegNumber"
            )));
        };
        if seen.contains(&key) {
            return Err(TmfError::bad_request(format!("{name}: {key} given twice")));
        }
        seen.push(key);
        let value = string_member(item, "value")?;
        if let Some(entry) = fields.iter_mut().find(|(f, _)| *f == field) {
            entry.1 = value;
        }
    }
    Ok(fields)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn row() -> PersonalDetails {
        PersonalDetails {
            id: 42,
            first_name: "John".into(),
            last_name: "Smith".into(),
            personal_id: "AB123".into(),
            alias: "1001".into(),
            agreement_number: "A-1".into(),
            agreement_date: None,
            taxation_country: "GB".into(),
            vat_reg_number: String::new(),
            vat_percent_bp: 2000,
            reg_address: "1 High St".into(),
            reg_postcode: "N1 9GU".into(),
            reg_city: "London".into(),
            reg_country: "United Kingdom".into(),
            reg_state: String::new(),
            reg_direction: "UK".into(),
            reg_phone: "442079460000".into(),
            reg_mobile: String::new(),
            reg_fax: String::new(),
            reg_email: "john@example.com".into(),
            account_type: "postpaid".into(),
            balance_micros: 0,
            credit_limit_micros: None,
            currency: "USD".into(),
            currency_decimals: 2,
            language: "en".into(),
            time_zone: "UTC".into(),
        }
    }

    fn links() -> Links {
        Links::new("https://portal.example.com/")
    }

    #[test]
    fn the_individual_in_tmf632_shape() {
        let json = serde_json::to_value(Individual::of(&row(), &links())).unwrap();
        assert_eq!(
            json,
            json!({
                "id": "42",
                "href": "https://portal.example.com/tmf-api/partyManagement/v4/individual/42",
                "@type": "Individual",
                "@baseType": "Party",
                "givenName": "John",
                "familyName": "Smith",
                "contactMedium": [
                    {"mediumType": "email", "characteristic": {"emailAddress": "john@example.com"}},
                    {"mediumType": "phone", "characteristic": {"contactType": "fixed", "phoneNumber": "442079460000"}},
                    {"mediumType": "postalAddress", "characteristic": {
                        "street1": "1 High St", "postCode": "N1 9GU", "city": "London",
                        "country": "United Kingdom"}},
                ],
                "individualIdentification": [
                    {"identificationType": "personalId", "identificationId": "AB123"}
                ],
                "partyCharacteristic": [{"name": "taxationCountry", "value": "GB"}],
            })
        );
    }

    #[test]
    fn a_patch_types_only_what_changes() {
        let patch = json!({
            "givenName": "Jon",
            "contactMedium": [
                {"mediumType": "email", "characteristic": {"emailAddress": "john@example.com"}},
                {"mediumType": "phone", "characteristic": {"contactType": "mobile", "phoneNumber": "+44 7700 900123"}},
                {"mediumType": "postalAddress", "characteristic": {"city": "Leeds"}},
            ],
        });
        let typed = patched_fields(&row(), &links(), &patch).unwrap();
        assert_eq!(
            typed,
            vec![
                (DetailField::FirstName, "Jon".to_string()),
                // The array is replaced: the fixed phone and the rest of the address go.
                (DetailField::RegPhone, String::new()),
                (DetailField::RegMobile, "+44 7700 900123".to_string()),
                (DetailField::RegAddress, String::new()),
                (DetailField::RegPostcode, String::new()),
                (DetailField::RegCity, "Leeds".to_string()),
                (DetailField::RegCountry, String::new()),
            ]
        );
        // null removes; the same values change nothing.
        let typed = patched_fields(
            &row(),
            &links(),
            &json!({"familyName": null, "individualIdentification": null}),
        )
        .unwrap();
        assert_eq!(
            typed,
            vec![
                (DetailField::LastName, String::new()),
                (DetailField::PersonalId, String::new())
            ]
        );
        let same = serde_json::to_value(Individual::of(&row(), &links())).unwrap();
        let mut same = same.as_object().unwrap().clone();
        same.retain(|k, _| PATCHABLE.contains(&k.as_str()));
        assert_eq!(
            patched_fields(&row(), &links(), &Value::Object(same)).unwrap(),
            vec![]
        );
    }

    #[test]
    fn what_cannot_be_patched_is_named() {
        // (patch, words the message must contain)
        let cases = [
            (json!({"id": "43"}), "id cannot be patched"),
            (json!({"href": "x"}), "href cannot be patched"),
            (json!({"@type": "Organization"}), "@type cannot be patched"),
            (json!({"status": "validated"}), "status cannot be patched"),
            (json!({"balance": 100}), "balance cannot be patched"),
            (json!({"givenName": 5}), "givenName must be a string"),
            (
                json!({"contactMedium": {}}),
                "contactMedium must be an array",
            ),
            (
                json!({"contactMedium": [{"mediumType": "pigeon", "characteristic": {}}]}),
                "contactMedium[0]: mediumType \"pigeon\"",
            ),
            (
                json!({"contactMedium": [{"mediumType": "phone", "characteristic": {"phoneNumber": "1"}}]}),
                "contactMedium[0]: mediumType \"phone\" is not one of",
            ),
            (
                json!({"contactMedium": [{"mediumType": "email", "characteristic": {"phoneNumber": "1"}}]}),
                "contactMedium[0].characteristic: phoneNumber is not known here",
            ),
            (
                json!({"contactMedium": [{"mediumType": "fax", "preferred": true, "characteristic": {}}]}),
                "contactMedium[0]: preferred is not known here",
            ),
            (
                json!({"contactMedium": [
                    {"mediumType": "fax", "characteristic": {"faxNumber": "1"}},
                    {"mediumType": "fax", "characteristic": {"faxNumber": "2"}}]}),
                "contactMedium[1]: a second fax medium",
            ),
            (
                json!({"individualIdentification": [{"identificationType": "passport", "identificationId": "1"}]}),
                "identificationType must be",
            ),
            (
                json!({"partyCharacteristic": [{"name": "vatPercent", "value": "0"}]}),
                "\"vatPercent\" is not one of",
            ),
            (json!(["givenName"]), "must be a JSON object"),
        ];
        for (patch, expected) in cases {
            let e = patched_fields(&row(), &links(), &patch).unwrap_err();
            assert_eq!(e.status, actix_web::http::StatusCode::BAD_REQUEST);
            assert!(e.message.contains(expected), "{patch}: {e}");
        }
    }

    #[test]
    fn fields_are_named_in_tmf_terms() {
        assert_eq!(tmf_name(DetailField::FirstName), "givenName");
        assert_eq!(
            tmf_name(DetailField::RegMobile),
            "contactMedium phone (mobile) phoneNumber"
        );
        assert_eq!(
            tmf_name(DetailField::RegEmail),
            "contactMedium email emailAddress"
        );
        assert_eq!(
            tmf_name(DetailField::VatRegNumber),
            "partyCharacteristic vatRegNumber"
        );
    }
}
