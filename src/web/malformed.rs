//! A request whose form, query or JSON cannot be read into the handler's type: what serde said,
//! sorted into the few cases a person can be told about in their language (`error.malformed.*`).
//! Anything else keeps serde's own words after the translated first half.

use crate::i18n::{Lang, Said};

/// Which part of the request could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Form,
    Query,
    Json,
    /// A file sent as `multipart/form-data` or as the body.
    Upload,
}

/// What was wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    MissingField(String),
    UnknownField(String),
    DuplicateField(String),
    /// A value outside a fixed list (`direction=sideways`).
    UnknownValue(String),
    NotANumber,
    /// Text that is not UTF-8 once percent-decoded: in the named field's value, or (None) in a
    /// field's name.
    NotUtf8(Option<String>),
    /// A form body larger than the portal takes.
    TooLarge {
        kb: usize,
    },
    /// A form body of another content type.
    NotUrlencoded,
    /// An upload neither `multipart/form-data` nor a file's own type.
    NotMultipart,
    /// A file larger than the portal takes.
    FileTooLarge {
        mib: usize,
    },
    /// A form with more fields than any form of the portal has.
    TooManyFields,
    /// The body stopped before its end.
    BrokeOff,
    /// The body could not be read at all (why is in the debug log).
    Unreadable,
    /// serde's words, as they are.
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub part: Part,
    pub problem: Problem,
}

impl Malformed {
    /// From serde's message (`missing field `amount``).
    pub fn from_serde(part: Part, message: &str) -> Malformed {
        Malformed {
            part,
            problem: Problem::of(message),
        }
    }

    /// A body that could not be read.
    pub fn unreadable(part: Part) -> Malformed {
        Malformed {
            part,
            problem: Problem::Unreadable,
        }
    }

    /// The message in `lang`: `The form could not be read: the field amount is missing.`
    pub fn message(&self, lang: Lang) -> String {
        self.said().in_lang(lang)
    }

    /// The message, to be said in a language: which part could not be read, then why.
    fn said(&self) -> Said {
        let part = Said::new(match self.part {
            Part::Form => "error.malformed.form",
            Part::Query => "error.malformed.query",
            Part::Json => "error.malformed.json",
            Part::Upload => "error.malformed.upload",
        });
        let why = match &self.problem {
            Problem::MissingField(f) => Said::new("error.malformed.missing_field").with("field", f),
            Problem::UnknownField(f) => Said::new("error.malformed.unknown_field").with("field", f),
            Problem::DuplicateField(f) => {
                Said::new("error.malformed.duplicate_field").with("field", f)
            }
            Problem::UnknownValue(v) => Said::new("error.malformed.unknown_value").with("value", v),
            Problem::NotANumber => Said::new("error.malformed.not_a_number"),
            Problem::NotUtf8(Some(f)) => Said::new("error.malformed.not_utf8").with("field", f),
            Problem::NotUtf8(None) => Said::new("error.malformed.not_utf8_name"),
            Problem::NotUrlencoded => Said::new("error.malformed.not_urlencoded"),
            Problem::NotMultipart => Said::new("error.malformed.not_multipart"),
            Problem::TooManyFields => Said::new("error.malformed.too_many_fields"),
            Problem::BrokeOff => Said::new("error.malformed.broke_off"),
            Problem::TooLarge { kb } => Said::new("error.malformed.too_large").with("kb", kb),
            // Said as the importer says it when it notices first (phonebook_file.rs).
            Problem::FileTooLarge { mib } => {
                return Said::new("upload.too_large").with("mib", mib);
            }
            Problem::Unreadable => {
                return Said::new("error.malformed.part_only").with_said("part", part)
            }
            Problem::Other(words) => {
                return Said::new("error.malformed.other")
                    .with_said("part", part)
                    .with("words", words)
            }
        };
        Said::new("error.malformed.sentence")
            .with_said("part", part)
            .with_said("problem", why)
    }
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

impl Problem {
    fn of(message: &str) -> Problem {
        // serde_json adds where it stopped; the field or value says enough.
        let message = message.split(" at line ").next().unwrap_or(message);
        let quoted = || {
            message
                .split('`')
                .nth(1)
                .map(str::to_string)
                .unwrap_or_default()
        };
        if message.starts_with("missing field `") {
            Problem::MissingField(quoted())
        } else if message.starts_with("unknown field `") {
            Problem::UnknownField(quoted())
        } else if message.starts_with("duplicate field `") {
            Problem::DuplicateField(quoted())
        } else if message.starts_with("unknown variant `") {
            Problem::UnknownValue(quoted())
        } else if [
            "invalid digit found in string",
            "cannot parse integer from empty string",
            "number too large to fit in target type",
            "number too small to fit in target type",
            "invalid float literal",
        ]
        .contains(&message)
        {
            Problem::NotANumber
        } else {
            Problem::Other(message.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_are_sorted_and_said_in_both_languages() {
        let m = Malformed::from_serde(Part::Form, "missing field `amount`");
        assert_eq!(m.problem, Problem::MissingField("amount".into()));
        assert_eq!(
            m.message(Lang::En),
            "The form could not be read: the field amount is missing."
        );
        assert_eq!(
            m.message(Lang::Ru),
            "Не удалось прочитать форму: нет поля amount."
        );
        let m = Malformed::from_serde(Part::Query, "invalid digit found in string");
        assert_eq!(m.problem, Problem::NotANumber);
        assert!(m.message(Lang::Ru).contains("ожидалось число"));
        let m = Malformed::from_serde(
            Part::Json,
            "unknown variant `up`, expected `in` or `out` at line 1 column 20",
        );
        assert_eq!(m.problem, Problem::UnknownValue("up".into()));
        assert_eq!(
            Malformed::from_serde(Part::Json, "expected value at line 1 column 1").problem,
            Problem::Other("expected value".into())
        );
        assert_eq!(
            Malformed::unreadable(Part::Form).message(Lang::En),
            "The form could not be read."
        );
    }
}
