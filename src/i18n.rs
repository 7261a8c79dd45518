//! English and Russian texts of the HTML pages. Each language is a `key = value` file in
//! `locales/`, compiled in; a test makes sure both files have the same keys.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Ru,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ru];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
        }
    }

    /// The locale key of the language's own name (`English`, `Русский`).
    pub fn name_key(self) -> &'static str {
        match self {
            Lang::En => "language.en",
            Lang::Ru => "language.ru",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "ru" => Some(Lang::Ru),
            _ => None,
        }
    }

    /// The first supported language of an `Accept-Language` header.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        header
            .split(',')
            .filter_map(|part| part.split(';').next())
            .find_map(|tag| Lang::parse(tag.trim().split('-').next().unwrap_or("")))
    }

    /// The translated text for `key`; a missing key shows itself, so it is noticed.
    pub fn t(self, key: &str) -> &str {
        self.lookup(key).unwrap_or(key)
    }

    /// The translated text for `key`, if there is one.
    pub fn lookup(self, key: &str) -> Option<&'static str> {
        let table = match self {
            Lang::En => &tables().0,
            Lang::Ru => &tables().1,
        };
        table.get(key).map(String::as_str)
    }
}

type Table = HashMap<String, String>;

fn tables() -> &'static (Table, Table) {
    static TABLES: OnceLock<(Table, Table)> = OnceLock::new();
    TABLES.get_or_init(|| {
        (
            parse(include_str!("../locales/en.txt")),
            parse(include_str!("../locales/ru.txt")),
        )
    })
}

fn parse(text: &str) -> Table {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_keys() {
        let (en, ru) = tables();
        let mut missing: Vec<_> = en.keys().filter(|k| !ru.contains_key(*k)).collect();
        missing.extend(ru.keys().filter(|k| !en.contains_key(*k)));
        assert!(missing.is_empty(), "keys in one language only: {missing:?}");
        assert!(en.len() > 20);
    }

    #[test]
    fn accept_language_picks_the_first_supported() {
        assert_eq!(
            Lang::from_accept_language("ru-RU,ru;q=0.9,en;q=0.8"),
            Some(Lang::Ru)
        );
        assert_eq!(Lang::from_accept_language("de-DE,en;q=0.5"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("de"), None);
        assert_eq!(Lang::Ru.t("nav.main"), "Главная");
    }
}
