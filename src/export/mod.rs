//! Exports: a page's view model as a CSV file or a PDF document (DESIGN §2). An export is never a
//! second query: the page's handler builds its view model as for HTML, and the view model
//! describes itself as an `Export` (`Page::export`): columns whose kind is stated, not guessed
//! (a text cell that starts with `=` is neutralised, a negative number is not), the rows, and
//! for PDF a title with the filter and the period, the parties of an invoice, facts and totals.
//!
//! Lists too long to hold in memory (call records) are streamed instead (`csv::stream`): the
//! handler hands over the store's row stream and the same row mapping its view model uses.

pub mod csv;
pub mod pdf;

use crate::i18n::Lang;
use crate::store::users::Account;

/// What a column holds; it decides how a cell is written (and neutralised) in CSV and aligned
/// in PDF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Free text: a cell that a spreadsheet would take for a formula is neutralised.
    Text,
    /// A plain decimal number (`-12.50`, `3`): written as it is, right-aligned in PDF.
    Number,
    /// `YYYY-MM-DD HH:MM:SS` (or a day `YYYY-MM-DD`, or empty).
    DateTime,
    /// A telephone number as call records keep it (digits): the PDF writes it as people read
    /// it (`+442079460000`), the CSV keeps the digits.
    Phone,
}

#[derive(Clone, Debug)]
pub struct Column {
    /// The view model's field the column shows, as JSON and XML name it.
    pub key: &'static str,
    /// The heading of the CSV and PDF, in the reader's language.
    pub label: String,
    pub kind: Kind,
    /// For a column of our own words (a call's result, yes or no): how to say a cell in the
    /// reader's language.
    pub words: Option<Words>,
}

/// How the cells of a column of words are said: the cells hold a code or the seed's spelling
/// (`incoming`, `Answered`, `Yes`), as XML and JSON do; `table` pairs each with its locale key.
#[derive(Clone, Copy, Debug)]
pub struct Words {
    pub lang: Lang,
    pub table: WordTable,
}

/// Codes (or the seed's spellings) and their locale keys.
pub type WordTable = &'static [(&'static str, &'static str)];

/// The locale key of `code` in `table`.
pub fn key_in(table: WordTable, code: &str) -> Option<&'static str> {
    table.iter().find(|(c, _)| *c == code).map(|(_, key)| *key)
}

/// Yes/no cells as the seed spells them.
pub const YES_NO: WordTable = &[("Yes", "export.yes"), ("No", "export.no")];

impl Column {
    pub fn text(key: &'static str, label: impl Into<String>) -> Column {
        Column::new(key, label, Kind::Text)
    }

    pub fn number(key: &'static str, label: impl Into<String>) -> Column {
        Column::new(key, label, Kind::Number)
    }

    pub fn date_time(key: &'static str, label: impl Into<String>) -> Column {
        Column::new(key, label, Kind::DateTime)
    }

    pub fn phone(key: &'static str, label: impl Into<String>) -> Column {
        Column::new(key, label, Kind::Phone)
    }

    /// A column of our own words, said in `lang` (a cell `table` does not know stays as it is).
    pub fn words(
        key: &'static str,
        label: impl Into<String>,
        lang: Lang,
        table: WordTable,
    ) -> Column {
        Column {
            words: Some(Words { lang, table }),
            ..Column::new(key, label, Kind::Text)
        }
    }

    fn new(key: &'static str, label: impl Into<String>, kind: Kind) -> Column {
        Column {
            key,
            label: label.into(),
            kind,
            words: None,
        }
    }

    /// A cell as the reader sees it: a word of ours in the reader's language, the rest as it is.
    pub fn show<'a>(&self, cell: &'a str) -> &'a str {
        match self
            .words
            .and_then(|w| key_in(w.table, cell).map(|k| w.lang.t(k)))
        {
            Some(word) => word,
            None => cell,
        }
    }
}

/// One row type of a list page, exported the same way whether the rows come from a view model
/// or stream from the database.
pub trait ExportRow {
    fn columns(lang: Lang) -> Vec<Column>;
    /// The cells, aligned with `columns`.
    fn cells(&self) -> Vec<String>;
    /// The cells, taking the row (a streamed export has no use for it after).
    fn into_cells(self) -> Vec<String>
    where
        Self: Sized,
    {
        self.cells()
    }
}

/// Whose data an export holds: the login name goes into the file name, the full name into the
/// title.
#[derive(Clone, Debug, Default)]
pub struct Owner {
    pub username: String,
    pub name: String,
}

impl Owner {
    pub fn of(account: &Account) -> Owner {
        Owner {
            username: account.username.clone(),
            name: account.display_name(),
        }
    }

    /// `Мария Иванова (demo2)`, or the login name alone.
    pub fn label(&self) -> String {
        if self.name == self.username || self.name.is_empty() {
            self.username.clone()
        } else {
            format!("{} ({})", self.name, self.username)
        }
    }
}

/// A block of lines under a heading: the seller and the buyer of an invoice.
#[derive(Clone, Debug, Default)]
pub struct Party {
    pub heading: String,
    pub lines: Vec<String>,
}

/// A page's data as a CSV file and a PDF document.
#[derive(Clone, Debug)]
pub struct Export {
    /// The file name without its extension: what, whose, which period.
    pub file: FileName,
    pub lang: Lang,
    /// PDF only: the document's title (`Rates`, `Invoice INV-2025-000004`).
    pub title: String,
    /// PDF only: lines under the title: whose, the filter, the period.
    pub subtitle: Vec<String>,
    /// PDF only: blocks side by side under the title (seller, buyer).
    pub parties: Vec<Party>,
    /// PDF only: label and value pairs above the table (invoice number, issue date…).
    pub facts: Vec<(String, String)>,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<String>>,
    /// PDF only: label and value pairs after the table.
    pub totals: Vec<(String, String)>,
    /// PDF only: the last of `totals` is the grand total (an invoice's), set in bold.
    pub grand_total: bool,
    /// PDF only: said where the table would be when it has no rows.
    pub empty: String,
}

impl Export {
    /// An export of a list: `rows` by their row type.
    pub fn list<R: ExportRow>(file: FileName, lang: Lang, title: String, rows: &[R]) -> Export {
        Export {
            file,
            lang,
            title,
            subtitle: Vec::new(),
            parties: Vec::new(),
            facts: Vec::new(),
            columns: R::columns(lang),
            rows: rows.iter().map(ExportRow::cells).collect(),
            totals: Vec::new(),
            grand_total: false,
            empty: lang.t("export.empty").to_string(),
        }
    }
}

impl Export {
    /// The table as its reader reads it (the PDF): our own words in the reader's language
    /// (`Отвечен`, `Да`; the CSV encoder does the same row by row), numbers and times as the
    /// language writes them (`1 234,50`, `5 дек. 2026 г., 14:30`; CSV keeps them plain for
    /// machines).
    pub fn for_reader(&self) -> Export {
        let mut e = self.clone();
        for row in &mut e.rows {
            for (cell, column) in row.iter_mut().zip(&self.columns) {
                match column.kind {
                    Kind::Number => *cell = crate::locale::number(self.lang, cell),
                    Kind::DateTime => *cell = crate::locale::local_text(self.lang, cell),
                    Kind::Phone => *cell = crate::numbers::shown(cell),
                    Kind::Text => {
                        let word = column.show(cell);
                        if word != cell {
                            *cell = word.to_string();
                        }
                    }
                }
            }
        }
        e
    }
}

/// A download's file name: `what-user-period`, reduced to characters every system accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileName(String);

impl FileName {
    /// `rates`, `demo`, `2025-01-01_2025-01-31` → `rates-demo-2025-01-01_2025-01-31`.
    pub fn new(what: &str, user: &str, period: &str) -> FileName {
        let parts = [what, user, period]
            .iter()
            .map(|p| safe(p))
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>();
        let name = parts.join("-");
        FileName(if name.is_empty() {
            "export".to_string()
        } else {
            name
        })
    }

    pub fn with_extension(&self, ext: &str) -> String {
        format!("{}.{ext}", self.0)
    }
}

/// ASCII letters, digits, `.`, `_`, `-`; anything else becomes `_` (runs collapsed).
fn safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.trim().chars() {
        if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches(|c| c == '_' || c == '.').to_string()
}

/// `Content-Disposition: attachment` with the file name (ASCII by construction).
pub fn attachment(file: &FileName, ext: &str) -> (actix_web::http::header::HeaderName, String) {
    (
        actix_web::http::header::CONTENT_DISPOSITION,
        format!("attachment; filename=\"{}\"", file.with_extension(ext)),
    )
}

/// The period of a list by its dates (`YYYY-MM-DD…`, any order): `first_last`, one day alone,
/// or empty for no dates.
pub fn period_of<'a>(dates: impl IntoIterator<Item = &'a str>) -> String {
    let days: Vec<&str> = dates
        .into_iter()
        .filter_map(|d| d.get(..10))
        .filter(|d| !d.is_empty())
        .collect();
    let (Some(min), Some(max)) = (days.iter().min(), days.iter().max()) else {
        return String::new();
    };
    if min == max {
        min.to_string()
    } else {
        format!("{min}_{max}")
    }
}

/// A period of `period_of` as its reader reads it (a PDF's subtitle): `Dec 1, 2026 – Dec 31,
/// 2026`, `1 дек. 2026 г. – 31 дек. 2026 г.`.
pub fn period_for_reader(lang: Lang, period: &str) -> String {
    period
        .split('_')
        .map(|d| crate::locale::local_text(lang, d))
        .collect::<Vec<_>>()
        .join(" – ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_only_safe_characters() {
        assert_eq!(
            FileName::new("rates", "demo", "2025-01-31").with_extension("csv"),
            "rates-demo-2025-01-31.csv"
        );
        assert_eq!(
            FileName::new("payments", "a b/../\"c\";", "").with_extension("pdf"),
            "payments-a_b_.._c.pdf"
        );
        assert_eq!(
            FileName::new("invoice", "Мария", "INV 1").with_extension("pdf"),
            "invoice-INV_1.pdf"
        );
        assert_eq!(
            FileName::new("", "", "").with_extension("csv"),
            "export.csv"
        );
    }

    #[test]
    fn a_period_spans_the_first_and_last_day() {
        assert_eq!(
            period_of(["2025-03-01 10:00:00", "2025-01-05 00:00:00", ""]),
            "2025-01-05_2025-03-01"
        );
        assert_eq!(period_of(["2025-03-01 10:00:00"]), "2025-03-01");
        assert_eq!(period_of(Vec::<&str>::new()), "");
    }
}
