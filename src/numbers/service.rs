//! The services the portal makes for a subscriber's number (its monthly fee, its one-off setup
//! fee). They are stored with their kind and number (migration 0031), so that every page names
//! them in the reader's language; the stored name (`Number +44… setup`, unique) is the stable
//! one the XML keeps. The operator's own services have no kind: their name is the operator's.

use crate::i18n::Lang;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceKind {
    NumberFee,
    NumberSetup,
}

impl ServiceKind {
    pub fn code(self) -> &'static str {
        match self {
            ServiceKind::NumberFee => "number_fee",
            ServiceKind::NumberSetup => "number_setup",
        }
    }

    pub fn parse(code: &str) -> Option<ServiceKind> {
        match code {
            "number_fee" => Some(ServiceKind::NumberFee),
            "number_setup" => Some(ServiceKind::NumberSetup),
            _ => None,
        }
    }

    fn key(self) -> &'static str {
        match self {
            ServiceKind::NumberFee => "services.number_fee",
            ServiceKind::NumberSetup => "services.number_setup",
        }
    }
}

/// A service the portal makes for a number.
#[derive(Clone, Debug)]
pub struct Service {
    pub name: String,
    pub kind: ServiceKind,
    pub number: String,
}

impl Service {
    pub fn number_fee(number: &str) -> Service {
        Service {
            name: format!("Number {number}"),
            kind: ServiceKind::NumberFee,
            number: number.to_string(),
        }
    }

    pub fn number_setup(number: &str) -> Service {
        Service {
            name: format!("Number {number} setup"),
            kind: ServiceKind::NumberSetup,
            number: number.to_string(),
        }
    }

    /// `month` or `once`, as `services.period` holds it.
    pub fn period(&self) -> &'static str {
        match self.kind {
            ServiceKind::NumberFee => "month",
            ServiceKind::NumberSetup => "once",
        }
    }
}

/// A service's name for a person: one the portal made, in `lang`; the operator's, as given.
pub fn service_name(lang: Lang, stored: &str, kind: Option<&str>, number: Option<&str>) -> String {
    match (kind.and_then(ServiceKind::parse), number) {
        (Some(kind), Some(number)) => lang.fill(kind.key(), &[("number", &number)]),
        _ => stored.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_portals_services_are_named_in_the_readers_language() {
        let fee = Service::number_fee("+442079460000");
        assert_eq!(fee.name, "Number +442079460000");
        let named = |lang, kind| service_name(lang, &fee.name, Some(kind), Some(&fee.number));
        assert_eq!(named(Lang::En, "number_fee"), "Number +442079460000");
        assert_eq!(named(Lang::Ru, "number_fee"), "Номер +442079460000");
        assert_eq!(
            named(Lang::Ru, "number_setup"),
            "Подключение номера +442079460000"
        );
        // The operator's own services keep their names.
        assert_eq!(
            service_name(Lang::Ru, "Call recording", None, None),
            "Call recording"
        );
    }
}
