//! Typed values parsed from what a subscriber types: free text with a length limit, an e-mail
//! address, a phone number. Handlers parse form fields into these at the edge, so the store and
//! the pages only ever see values that passed; a failure is a `FieldError` that the page shows
//! next to its field (translated) or in the XML action's message (English).

use std::fmt;

use serde::Serialize;

use crate::i18n::Lang;

/// Why one field was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldError {
    /// Empty where a value is needed.
    Required,
    /// Longer than `max` characters.
    TooLong { max: usize },
    /// A control character (newline, tab, NUL …) in a one-line field.
    ControlCharacter,
    /// Not an e-mail address.
    Email,
    /// Not digits with an optional leading `+`, or not `PHONE_MIN..=PHONE_MAX` digits.
    Phone,
    /// A change that needs the current password (the e-mail address) came without it, or with
    /// a wrong one.
    PasswordNeeded,
}

impl FieldError {
    /// The message for a page in `lang`; XML and JSON clients get `Lang::En`.
    pub fn message(self, lang: Lang) -> String {
        match self {
            FieldError::Required => lang.t("field.required").to_string(),
            FieldError::TooLong { max } => lang.fill("field.too_long", &[("n", &max)]),
            FieldError::ControlCharacter => lang.t("field.control").to_string(),
            FieldError::Email => lang.t("field.email").to_string(),
            FieldError::PasswordNeeded => lang.t("field.password_needed").to_string(),
            FieldError::Phone => {
                lang.fill("field.phone", &[("min", &PHONE_MIN), ("max", &PHONE_MAX)])
            }
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

/// One line of text, trimmed, at most `max` characters, without control characters or
/// characters XML cannot hold (U+FFFE, U+FFFF: the XML pages must show whatever is stored).
/// An empty result is allowed; use `required_text` where it is not.
pub fn text(raw: &str, max: usize) -> Result<String, FieldError> {
    let t = raw.trim();
    if t.chars()
        .any(|c| c.is_control() || !crate::web::xml_text::allowed(c))
    {
        return Err(FieldError::ControlCharacter);
    }
    if t.chars().count() > max {
        return Err(FieldError::TooLong { max });
    }
    Ok(t.to_string())
}

/// Like `text`, but an empty (or blank) value is refused.
pub fn required_text(raw: &str, max: usize) -> Result<String, FieldError> {
    let t = text(raw, max)?;
    if t.is_empty() {
        Err(FieldError::Required)
    } else {
        Ok(t)
    }
}

/// An e-mail address: `local@domain`, the domain made of dot-separated labels of letters,
/// digits and hyphens with at least one dot. Not the whole of RFC 5322, but what mail servers
/// of subscribers accept in practice; stored as typed (trimmed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub const MAX: usize = 254;

    pub fn parse(raw: &str) -> Result<Email, FieldError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(FieldError::Required);
        }
        if s.chars().count() > Self::MAX {
            return Err(FieldError::TooLong { max: Self::MAX });
        }
        if s.chars().any(char::is_control) {
            return Err(FieldError::ControlCharacter);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(FieldError::Email)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok {
            Ok(Email(s.to_string()))
        } else {
            Err(FieldError::Email)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

pub const PHONE_MIN: usize = 3;
pub const PHONE_MAX: usize = 20;

/// A phone number or caller ID: digits with an optional leading `+`; spaces and hyphens
/// between digits are allowed as typing aids and dropped. Kept as digits only (international
/// form without `+`, as the XML contract shows numbers), `PHONE_MIN..=PHONE_MAX` of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<PhoneNumber, FieldError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(FieldError::Required);
        }
        if s.chars().any(char::is_control) {
            return Err(FieldError::ControlCharacter);
        }
        let body = s.strip_prefix('+').unwrap_or(s);
        let mut digits = String::with_capacity(body.len());
        let mut last_was_separator = true; // no separator right after `+` or at the start
        for c in body.chars() {
            match c {
                '0'..='9' => {
                    digits.push(c);
                    last_was_separator = false;
                }
                ' ' | '-' if !last_was_separator => last_was_separator = true,
                _ => return Err(FieldError::Phone),
            }
            if digits.len() > PHONE_MAX {
                return Err(FieldError::Phone);
            }
        }
        if last_was_separator || digits.len() < PHONE_MIN {
            return Err(FieldError::Phone);
        }
        Ok(PhoneNumber(digits))
    }

    /// The digits, without `+`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A search term for `LIKE '%…%'`: `\`, `%` and `_` escaped with `\` (the SQL says `ESCAPE '\'`),
/// so what the subscriber types is matched literally.
pub fn like_pattern(term: &str) -> String {
    let mut p = String::with_capacity(term.len() + 2);
    p.push('%');
    for c in term.chars() {
        if matches!(c, '\\' | '%' | '_') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// A field as typed, fit to be shown back (in a form, in XML, in a message): control
/// characters, which XML cannot carry, are dropped, and the length is capped.
pub fn echo(typed: &str) -> String {
    typed.chars().filter(|c| !c.is_control()).take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn typed_text_is_echoed_without_control_characters() {
        assert_eq!(echo("2024-06-01\u{0}\u{1b}x"), "2024-06-01x");
        assert_eq!(echo(&"9".repeat(100)).len(), 64);
    }

    #[test]
    fn text_is_trimmed_bounded_and_one_line() {
        assert_eq!(text("  Anna  ", 10), Ok("Anna".to_string()));
        assert_eq!(text("", 10), Ok(String::new()));
        assert_eq!(
            text("Мария", 5),
            Ok("Мария".to_string()),
            "characters, not bytes"
        );
        assert_eq!(text("abcdef", 5), Err(FieldError::TooLong { max: 5 }));
        for bad in ["a\nb", "a\tb", "a\u{0}b", "a\u{7f}b", "a\u{85}b"] {
            assert_eq!(text(bad, 10), Err(FieldError::ControlCharacter), "{bad:?}");
        }
        assert_eq!(required_text("   ", 10), Err(FieldError::Required));
        assert_eq!(text("<&\">", 10), Ok("<&\">".to_string()));
    }

    #[test]
    fn emails() {
        for good in [
            "admin@voip.com",
            "a.b+tag@mail.example.co.uk",
            "  x@y.io ",
            "o'brien@example.ie",
            "иван@пример.рф",
        ] {
            assert_eq!(
                Email::parse(good).map(|e| e.into_string()),
                Ok(good.trim().to_string())
            );
        }
        for bad in [
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a@@b.com",
            "a b@c.com",
            "a@b .com",
            "a@-b.com",
            "a@b..com",
            ".a@b.com",
            "a..b@c.com",
            "a@b.com.",
            "<a@b.com>",
        ] {
            assert_eq!(Email::parse(bad), Err(FieldError::Email), "{bad}");
        }
        assert_eq!(Email::parse(" "), Err(FieldError::Required));
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(
            Email::parse(&long),
            Err(FieldError::TooLong { max: Email::MAX })
        );
        assert_eq!(Email::parse("a\n@b.com"), Err(FieldError::ControlCharacter));
    }

    #[test]
    fn phone_numbers() {
        for (raw, digits) in [
            ("998975551234", "998975551234"),
            ("+998975551234", "998975551234"),
            (" +44 20 7946-0000 ", "442079460000"),
            ("112", "112"),
            ("12345678901234567890", "12345678901234567890"),
        ] {
            assert_eq!(
                PhoneNumber::parse(raw).map(|p| p.into_string()),
                Ok(digits.to_string()),
                "{raw}"
            );
        }
        for bad in [
            "12",
            "+12",
            "123456789012345678901",
            "++123",
            "12+3",
            "1 2  3",
            "+ 123",
            "123-",
            "-123",
            "(020) 7946",
            "12a45",
            "１２３", // full-width digits
            "٣٣٣",    // Arabic-Indic digits
        ] {
            assert_eq!(PhoneNumber::parse(bad), Err(FieldError::Phone), "{bad}");
        }
        assert_eq!(PhoneNumber::parse("  "), Err(FieldError::Required));
        assert_eq!(
            PhoneNumber::parse("12\u{0}3"),
            Err(FieldError::ControlCharacter)
        );
    }

    #[test]
    fn any_digit_string_in_range_round_trips_with_or_without_plus() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        for _ in 0..2_000 {
            let n = rng.gen_range(1..=25);
            let digits: String = (0..n)
                .map(|_| char::from(b'0' + rng.gen_range(0..10)))
                .collect();
            let plus = if rng.gen_bool(0.5) { "+" } else { "" };
            let parsed = PhoneNumber::parse(&format!("{plus}{digits}"));
            if (PHONE_MIN..=PHONE_MAX).contains(&n) {
                assert_eq!(parsed.map(|p| p.into_string()), Ok(digits));
            } else {
                assert_eq!(parsed, Err(FieldError::Phone));
            }
        }
    }

    #[test]
    fn like_patterns_match_literally() {
        assert_eq!(like_pattern("bob"), "%bob%");
        assert_eq!(like_pattern("100%_\\"), "%100\\%\\_\\\\%");
    }

    #[test]
    fn messages_in_both_languages() {
        assert_eq!(
            FieldError::TooLong { max: 100 }.to_string(),
            "At most 100 characters"
        );
        assert!(FieldError::Phone.message(Lang::Ru).contains("20"));
        assert!(!FieldError::Email.message(Lang::Ru).starts_with("field."));
    }
}
