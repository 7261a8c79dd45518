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

    /// The translated text for `key` with each `{name}` of `holes` filled, in one pass over the
    /// text: a value that holds `{other}` itself (a phonebook name, a file's line) is shown as it
    /// is, never filled again as a chain of `replace` would. A `{name}` not in `holes` is kept.
    pub fn fill(self, key: &str, holes: &[(&str, &dyn std::fmt::Display)]) -> String {
        fill_holes(self.t(key), holes)
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

/// A message for a person made where the reader's language is not known (the wallet's rules):
/// a key of `locales/` and the values of its `{holes}`, said in a language when shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Said {
    key: &'static str,
    values: Vec<(&'static str, Filling)>,
}

/// What fills a hole: text as it is, or another message said in the same language.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Filling {
    Text(String),
    Said(Said),
}

impl Said {
    pub fn new(key: &'static str) -> Said {
        Said {
            key,
            values: Vec::new(),
        }
    }

    /// The value of the hole `{hole}`.
    pub fn with(mut self, hole: &'static str, value: impl ToString) -> Said {
        self.values.push((hole, Filling::Text(value.to_string())));
        self
    }

    /// The hole `{hole}` filled with another message.
    pub fn with_said(mut self, hole: &'static str, said: Said) -> Said {
        self.values.push((hole, Filling::Said(said)));
        self
    }

    /// The message in `lang`, its holes filled as [`Lang::fill`] fills them.
    pub fn in_lang(&self, lang: Lang) -> String {
        let values: Vec<(&str, String)> = self
            .values
            .iter()
            .map(|(hole, value)| match value {
                Filling::Text(t) => (*hole, t.clone()),
                Filling::Said(s) => (*hole, s.in_lang(lang)),
            })
            .collect();
        let holes: Vec<(&str, &dyn std::fmt::Display)> = values
            .iter()
            .map(|(hole, value)| (*hole, value as &dyn std::fmt::Display))
            .collect();
        lang.fill(self.key, &holes)
    }
}

impl std::fmt::Display for Said {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.in_lang(Lang::En))
    }
}

/// `text` with each `{name}` of `holes` replaced by its value, in one left-to-right pass; a
/// `{name}` not in `holes` stays as written.
fn fill_holes(text: &str, holes: &[(&str, &dyn std::fmt::Display)]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let hole = after.find('}').and_then(|close| {
            let name = &after[..close];
            let value = holes.iter().find(|(hole, _)| *hole == name)?.1;
            Some((close, value))
        });
        match hole {
            Some((close, value)) => {
                let _ = write!(out, "{value}");
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
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
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn both_languages_have_the_same_keys() {
        let (en, ru) = tables();
        let mut missing: Vec<_> = en.keys().filter(|k| !ru.contains_key(*k)).collect();
        missing.extend(ru.keys().filter(|k| !en.contains_key(*k)));
        assert!(missing.is_empty(), "keys in one language only: {missing:?}");
        assert!(en.len() > 20);
    }

    /// Every file of code and templates, with its text.
    fn sources() -> Vec<(std::path::PathBuf, String)> {
        fn walk(dir: &std::path::Path, out: &mut Vec<(std::path::PathBuf, String)>) {
            for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if let Ok(text) = std::fs::read_to_string(&path) {
                    out.push((path, text));
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut out = Vec::new();
        walk(&root.join("src"), &mut out);
        walk(&root.join("templates"), &mut out);
        out
    }

    /// The quoted strings of a text that could be keys or key patterns (no spaces). Quotes nest
    /// in templates (`title="{{ c.t("a.b") }}"`), so every piece between two quotes is looked at;
    /// a piece between two strings is code, which has spaces or brackets.
    fn quoted(text: &str) -> impl Iterator<Item = &str> {
        text.split('"').filter(|s| {
            s.contains('.')
                && !s.ends_with('.')
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._{}+".contains(c))
        })
    }

    /// `sessions.kind.{kind}` as (`sessions.kind.`, `""`) pieces around its holes; None for a
    /// format string with no word of its own (`{}.{ext}`).
    fn pattern(s: &str) -> Option<Vec<&str>> {
        let pieces: Vec<&str> = s.split(['{', '}']).step_by(2).collect();
        (s.contains('{')
            && pieces
                .iter()
                .any(|p| p.chars().filter(char::is_ascii_alphabetic).count() > 2))
        .then_some(pieces)
    }

    /// Whether `key` fills the pattern's holes, each with one or more characters but no `.`.
    fn fills(key: &str, pieces: &[&str]) -> bool {
        let Some(mut rest) = key.strip_prefix(pieces[0]) else {
            return false;
        };
        for (i, piece) in pieces.iter().enumerate().skip(1) {
            let at = if i == pieces.len() - 1 {
                rest.strip_suffix(piece).map(str::len)
            } else {
                rest.find(piece)
            };
            let Some(at) = at.filter(|&at| at > 0 && !rest[..at].contains('.')) else {
                return false;
            };
            rest = &rest[at + piece.len()..];
        }
        pieces.len() > 1 && rest.is_empty()
    }

    /// Each key the code and templates use is in the locale files, and each key of the files is
    /// used (literally, or through a pattern such as `format!("sessions.kind.{kind}")`). A quoted
    /// string counts as a key when it starts with a namespace of the files (`calls.`).
    #[test]
    fn every_key_used_exists_and_every_key_is_used() {
        const NOT_KEYS: [&str; 1] = ["export.csv"]; // a file name
        let (en, _) = tables();
        let spaces: HashSet<&str> = en.keys().filter_map(|k| k.split('.').next()).collect();
        let (mut used, mut patterns, mut missing) = (HashSet::new(), Vec::new(), Vec::new());
        let sources = sources();
        for (path, text) in &sources {
            for s in quoted(text) {
                if let Some(p) = pattern(s) {
                    patterns.push(p);
                } else if en.contains_key(s) {
                    used.insert(s.to_string());
                } else if spaces.contains(s.split('.').next().unwrap_or(""))
                    && !NOT_KEYS.contains(&s)
                {
                    missing.push(format!("{s} ({})", path.display()));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "keys used but in no locale file: {missing:?}"
        );
        let mut unused: Vec<&String> = en
            .keys()
            .filter(|k| !used.contains(*k) && !patterns.iter().any(|p| fills(k, p)))
            .collect();
        unused.sort();
        assert!(unused.is_empty(), "keys no code uses: {unused:?}");
    }

    /// `text` with each span from `open` to `close` (both included) made a space.
    fn without(text: &str, open: &str, close: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find(open) {
            out.push_str(&rest[..at]);
            out.push(' ');
            rest = rest[at..]
                .find(close)
                .map_or("", |end| &rest[at + end + close.len()..]);
        }
        out.push_str(rest);
        out
    }

    /// What an HTML template shows of its own: the text between tags and the values of the
    /// attributes people read, with template code, `<pre>` examples and `<code>` left out.
    fn own_words(template: &str) -> Vec<String> {
        let mut t = template.to_string();
        for (open, close) in [
            ("{{", "}}"),
            ("{%", "%}"),
            ("{#", "#}"),
            ("<pre", "</pre>"),
            ("<code", "</code>"),
            ("<script", "</script>"),
            ("<style", "</style>"),
        ] {
            t = without(&t, open, close);
        }
        let mut shown = Vec::new();
        for attribute in ["title=\"", "placeholder=\"", "aria-label=\"", "alt=\""] {
            for value in t.split(attribute).skip(1) {
                shown.push(value.split('"').next().unwrap_or("").to_string());
            }
        }
        shown.push(without(&t, "<", ">"));
        shown
            .iter()
            .flat_map(|s| s.split_whitespace())
            // The shapes of codes one types (a card token, a voucher), the same in any language.
            .filter(|w| !["pm_…", "ABCD-EFGH-JKMN-PQRS"].contains(w))
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
            .filter(|w| w.chars().filter(char::is_ascii_alphabetic).count() > 1)
            .filter(|w| !w.starts_with('&') && !w.contains('/'))
            .filter(|w| !["PDF", "CSV", "XML", "JSON"].contains(w))
            .map(str::to_string)
            .collect()
    }

    /// Every word an HTML page shows comes from the locale files: no template has words of its
    /// own (a format's name such as PDF aside).
    #[test]
    fn templates_show_no_words_of_their_own() {
        let found: Vec<String> = sources()
            .iter()
            .filter(|(path, _)| path.extension().is_some_and(|e| e == "html"))
            .flat_map(|(path, text)| {
                own_words(text)
                    .into_iter()
                    .map(move |w| format!("{w} ({})", path.display()))
            })
            .collect();
        assert!(
            found.is_empty(),
            "words not from the locale files: {found:?}"
        );
        assert_eq!(
            own_words(r#"<p title="Hi there">{{ c.t("a.b") }} Total: <pre>curl x</pre> PDF</p>"#),
            ["Hi", "there", "Total"]
        );
    }

    #[test]
    fn key_patterns_match_what_they_should() {
        let p = pattern("zz.method.{method}").unwrap();
        assert!(fills("zz.method.password+totp", &p));
        assert!(!fills("zz.method.a.b", &p));
        assert!(!fills("zz.kind.web", &p));
        let p = pattern("{prefix}.done.{code}").unwrap();
        assert!(fills("zz.done.payment_completed", &p));
        assert!(!fills("zz.pending", &p));
        assert!(pattern("{}.{ext}").is_none());
        let template = r#"<p title="{{ c.t("zz.date") }}">{{ c.t("zz.b") }} "a b.c"</p>"#;
        assert!(quoted(template).eq(["zz.date", "zz.b"]));
    }

    #[test]
    fn fill_fills_the_holes() {
        assert_eq!(
            Lang::En.fill("phonebook.count", &[("n", &3), ("total", &"12")]),
            "3 of 12 entries"
        );
        assert_eq!(
            Lang::Ru.fill("export.page_of", &[("total", &12), ("n", &3)]),
            "стр. 3 из 12"
        );
    }

    /// A value is put in as it is: a `{hole}` in it is not filled (one pass, not a chain).
    #[test]
    fn fill_keeps_a_hole_in_a_value() {
        assert_eq!(
            Lang::En.fill(
                "phonebook.import.line",
                &[("line", &"{text}"), ("text", &"{line} {line}")]
            ),
            "line {text}: {line} {line}"
        );
        let said = Said::new("phonebook.import.existing")
            .with("number", "{name}")
            .with("name", "Bob {number}");
        assert_eq!(
            said.in_lang(Lang::En),
            "{name} is already in your phonebook as “Bob {number}”: skipped"
        );
    }

    #[test]
    fn fill_keeps_an_unknown_hole_and_a_missing_key() {
        assert_eq!(
            Lang::En.fill("export.page_of", &[("n", &3), ("pages", &9)]),
            "page 3 of {total}"
        );
        assert_eq!(Lang::En.fill("zz.missing", &[("n", &1)]), "zz.missing");
        let none: &[(&str, &dyn std::fmt::Display)] = &[];
        assert_eq!(fill_holes("{a} {{a}} {a", &[("a", &1)]), "1 {1} {a");
        assert_eq!(fill_holes("{} {a}", none), "{} {a}");
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
