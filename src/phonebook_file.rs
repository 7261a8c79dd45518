//! A phonebook CSV file read for import, and what importing it would do (`Plan`).
//!
//! What is accepted, so that a file from a spreadsheet or the portal's own export reads:
//! UTF-8 (a byte-order mark is dropped), commas or semicolons between fields (Excel writes `;`
//! where the decimal mark is a comma: the one that reads more rows wins), a header row or none.
//! A header names the columns in any order (`name`, `number`, the export's `entry_name`,
//! `entry_number`, `entry_added`, or the page's own headings); without one, a row is
//! `name, number`. Blank rows (`;;` from a spreadsheet) are passed over, and a cell that the
//! export neutralised against formulas (`'=…`) reads as it was.
//!
//! Every row is checked as the add form checks it; what is wrong is named by its line in the
//! file. A number that is already in the phonebook, or already on an earlier line, is skipped
//! (and said so). Nothing here writes: the plan is shown, then carried out whole or not at all.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::i18n::Lang;
use crate::input::{self, FieldError, PhoneNumber};
use crate::web::upload::FILE_LIMIT;

/// The most entries one file may add.
pub const MAX_ROWS: usize = 5_000;
/// The longest name, as for the add form.
pub const NAME_MAX: usize = 100;

/// A row that will be added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub line: u64,
    pub name: String,
    pub number: PhoneNumber,
}

/// A row that cannot be imported as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The name or the number is refused.
    Field {
        line: u64,
        field: Field,
        error: FieldError,
    },
    /// Too few or too many columns.
    Columns {
        line: u64,
        found: usize,
        expected: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Name,
    Number,
}

/// A good row that is left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skip {
    /// The number is in the phonebook already, under `name`.
    Existing {
        line: u64,
        number: String,
        name: String,
    },
    /// The number is on an earlier line of the file.
    Repeated {
        line: u64,
        number: String,
        first_line: u64,
    },
}

/// A file that cannot be read at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileError {
    TooLarge,
    /// Not UTF-8 from this line on.
    NotUtf8 {
        line: u64,
    },
    /// UTF-16 (Excel's "Unicode text").
    Utf16,
    TooManyRows,
    Empty,
}

/// What importing a file would do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub add: Vec<Entry>,
    pub skipped: Vec<Skip>,
    pub problems: Vec<Problem>,
    /// The rows read (not the header, not blank rows).
    pub rows: usize,
    pub header: bool,
    /// `,` or `;`.
    pub delimiter: char,
}

impl Plan {
    /// Reads `bytes` (the file as uploaded) against the phonebook's `existing` entries
    /// (number → name).
    pub fn read(bytes: &[u8], existing: &HashMap<String, String>) -> Result<Plan, FileError> {
        let text = text_of(bytes)?;
        let comma = read_with(text, b',');
        let semicolon = read_with(text, b';');
        let mut plan = match (comma, semicolon) {
            (Ok(c), Ok(s)) => {
                if s.score() > c.score() {
                    s
                } else {
                    c
                }
            }
            // Read one way the file cannot be read; read the other way it has no good row:
            // the first says more.
            (Ok(p), Err(e)) | (Err(e), Ok(p)) if p.score() == 0 => return Err(e),
            (Ok(p), Err(_)) | (Err(_), Ok(p)) => p,
            (Err(e), Err(_)) => return Err(e),
        };
        plan.skip_existing(existing);
        Ok(plan)
    }

    /// Whether the file can be imported: no row is wrong.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// How well the file reads with this plan's delimiter: its good rows, and its header.
    fn score(&self) -> usize {
        self.add.len() + self.skipped.len() + usize::from(self.header)
    }

    fn skip_existing(&mut self, existing: &HashMap<String, String>) {
        let (keep, known): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut self.add)
            .into_iter()
            .partition(|e| !existing.contains_key(e.number.as_str()));
        self.add = keep;
        self.skipped
            .extend(known.into_iter().map(|e| Skip::Existing {
                line: e.line,
                name: existing[e.number.as_str()].clone(),
                number: e.number.into_string(),
            }));
        self.skipped.sort_by_key(Skip::line);
    }

    /// A fingerprint of the rows to add, so a confirmation can tell that it adds what was
    /// shown (the phonebook may have changed since).
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        for e in &self.add {
            h.update(e.number.as_str());
            h.update([0x1f]);
            h.update(&e.name);
            h.update([0x1e]);
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl Problem {
    pub fn line(&self) -> u64 {
        match self {
            Problem::Field { line, .. } | Problem::Columns { line, .. } => *line,
        }
    }

    /// "line 7: number: …"
    pub fn message(&self, lang: Lang) -> String {
        let text = match self {
            Problem::Field { field, error, .. } => {
                let field = match field {
                    Field::Name => lang.t("phonebook.import.field.name"),
                    Field::Number => lang.t("phonebook.import.field.number"),
                };
                format!("{field}: {}", error.message(lang))
            }
            Problem::Columns {
                found, expected, ..
            } => lang.fill(
                "phonebook.import.columns",
                &[("expected", &expected), ("found", &found)],
            ),
        };
        on_line(lang, self.line(), &text)
    }
}

impl Skip {
    pub fn line(&self) -> u64 {
        match self {
            Skip::Existing { line, .. } | Skip::Repeated { line, .. } => *line,
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        let text = match self {
            Skip::Existing { number, name, .. } => lang.fill(
                "phonebook.import.existing",
                &[("number", &number), ("name", &name)],
            ),
            Skip::Repeated {
                number, first_line, ..
            } => lang.fill(
                "phonebook.import.repeated",
                &[("number", &number), ("first", &first_line)],
            ),
        };
        on_line(lang, self.line(), &text)
    }
}

fn on_line(lang: Lang, line: u64, text: &str) -> String {
    lang.fill("phonebook.import.line", &[("line", &line), ("text", &text)])
}

impl FileError {
    pub fn message(self, lang: Lang) -> String {
        match self {
            FileError::TooLarge => lang.fill(
                "upload.too_large",
                &[("mib", &(FILE_LIMIT / (1024 * 1024)))],
            ),
            FileError::NotUtf8 { line } => {
                lang.fill("phonebook.import.not_utf8", &[("line", &line)])
            }
            FileError::Utf16 => lang.t("phonebook.import.utf16").to_string(),
            FileError::TooManyRows => lang.fill("phonebook.import.too_many", &[("max", &MAX_ROWS)]),
            FileError::Empty => lang.t("phonebook.import.empty").to_string(),
        }
    }
}

/// The file's text: within the size limit (a CR LF line end counts as one byte, since a browser
/// sends a form's text back with CR LF wherever the file had LF), UTF-8, without a BOM.
pub fn text_of(bytes: &[u8]) -> Result<&str, FileError> {
    let crlf = bytes.windows(2).filter(|w| w == b"\r\n").count();
    if bytes.len() - crlf > FILE_LIMIT {
        return Err(FileError::TooLarge);
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(FileError::Utf16);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| FileError::NotUtf8 {
        line: 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64,
    })
}

/// Where the name and the number are, and how many columns a row may have.
#[derive(Clone, Copy, Debug)]
struct Layout {
    name: usize,
    number: usize,
    width: usize,
}

const WITHOUT_HEADER: Layout = Layout {
    name: 0,
    number: 1,
    width: 2,
};

/// The layout a header row names, if the row is a header: it has a name and a number column,
/// and every other cell is a known heading.
fn header_layout(cells: &[&str]) -> Option<Layout> {
    let mut name = None;
    let mut number = None;
    for (i, cell) in cells.iter().enumerate() {
        let cell = cell.trim().trim_start_matches('\u{feff}').to_lowercase();
        let is = |keys: &[&str], label: &str| {
            keys.contains(&cell.as_str())
                || Lang::ALL.iter().any(|l| l.t(label).to_lowercase() == cell)
        };
        if is(&["name", "entry_name"], "phonebook.name") {
            name = name.or(Some(i));
        } else if is(&["number", "entry_number"], "phonebook.number") {
            number = number.or(Some(i));
        } else if !is(&["added", "entry_added"], "phonebook.added") {
            return None;
        }
    }
    Some(Layout {
        name: name?,
        number: number?,
        width: cells.len(),
    })
}

/// A cell as it was before an export neutralised it (`'=1+1` → `=1+1`, see `export::csv`),
/// so that an exported phonebook comes back unchanged. Spreadsheets hide the same `'`.
fn restored(cell: &str) -> &str {
    let t = cell.trim_start();
    match t.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest,
        _ => cell,
    }
}

/// The line a record starts on. The reader's own line count is taken before the line end of
/// the previous record is consumed when that is CR LF, or blank lines follow; this counts the
/// line ends (LF, CR LF, or CR alone) before the record's first character.
struct Lines<'a> {
    text: &'a [u8],
    at: usize,
    line: u64,
}

impl<'a> Lines<'a> {
    fn new(text: &'a [u8]) -> Self {
        Lines {
            text,
            at: 0,
            line: 1,
        }
    }

    /// The line of the record whose reading started at `byte` (records come in order).
    fn of(&mut self, byte: u64) -> u64 {
        let mut start = (byte as usize).clamp(self.at, self.text.len());
        while start < self.text.len() && matches!(self.text[start], b'\r' | b'\n') {
            start += 1;
        }
        for i in self.at..start {
            let b = self.text[i];
            let lone_cr = b == b'\r' && self.text.get(i + 1) != Some(&b'\n');
            if b == b'\n' || lone_cr {
                self.line += 1;
            }
        }
        self.at = start;
        self.line
    }
}

/// Reads the rows with one delimiter. Row numbers are the file's lines.
fn read_with(text: &str, delimiter: u8) -> Result<Plan, FileError> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut plan = Plan {
        delimiter: char::from(delimiter),
        ..Plan::default()
    };
    let mut layout: Option<Layout> = None;
    let mut first_line_of: HashMap<String, u64> = HashMap::new();
    let mut lines = Lines::new(text.as_bytes());
    for record in reader.records() {
        // The text is UTF-8 and the reader flexible: a record cannot fail. If it ever did, the
        // rest of the file would not be read, so say it as a row problem rather than lose it.
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = lines.of(e.position().map_or(0, |p| p.byte()));
                plan.problems.push(Problem::Columns {
                    line,
                    found: 0,
                    expected: layout.map_or(2, |l| l.width),
                });
                break;
            }
        };
        let line = lines.of(record.position().map_or(0, |p| p.byte()));
        // Spreadsheets pad rows with empty cells: those at the end do not count.
        let mut cells: Vec<&str> = record.iter().collect();
        while cells.last().is_some_and(|c| c.trim().is_empty()) {
            cells.pop();
        }
        // A row of nothing but separators (`;;` read with commas) is blank too.
        if cells.iter().all(|c| {
            c.chars()
                .all(|ch| ch.is_whitespace() || ch == ',' || ch == ';')
        }) {
            continue;
        }
        let layout = match layout {
            Some(l) => l,
            None => {
                let found = header_layout(&cells);
                plan.header = found.is_some();
                let l = found.unwrap_or(WITHOUT_HEADER);
                layout = Some(l);
                if found.is_some() {
                    continue;
                }
                l
            }
        };
        plan.rows += 1;
        if plan.rows > MAX_ROWS {
            return Err(FileError::TooManyRows);
        }
        if cells.len() > layout.width || cells.len() <= layout.name.max(layout.number) {
            plan.problems.push(Problem::Columns {
                line,
                found: cells.len(),
                expected: layout.width,
            });
            continue;
        }
        let name = input::required_text(restored(cells[layout.name]), NAME_MAX);
        let number = PhoneNumber::parse(restored(cells[layout.number]));
        if let Err(error) = name {
            plan.problems.push(Problem::Field {
                line,
                field: Field::Name,
                error,
            });
        }
        if let Err(error) = number {
            plan.problems.push(Problem::Field {
                line,
                field: Field::Number,
                error,
            });
        }
        let (Ok(name), Ok(number)) = (name, number) else {
            continue;
        };
        match first_line_of.get(number.as_str()) {
            Some(&first_line) => plan.skipped.push(Skip::Repeated {
                line,
                number: number.into_string(),
                first_line,
            }),
            None => {
                first_line_of.insert(number.as_str().to_string(), line);
                plan.add.push(Entry { line, name, number });
            }
        }
    }
    if plan.rows == 0 {
        return Err(FileError::Empty);
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Plan {
        Plan::read(text.as_bytes(), &HashMap::new()).unwrap()
    }

    fn added(plan: &Plan) -> Vec<(u64, &str, &str)> {
        plan.add
            .iter()
            .map(|e| (e.line, e.name.as_str(), e.number.as_str()))
            .collect()
    }

    #[test]
    fn rows_without_a_header_are_name_then_number() {
        let plan = read("Мария Иванова,+7 495 123-45-67\nBob,4420790000\n");
        assert!(!plan.header);
        assert_eq!(plan.delimiter, ',');
        assert_eq!(
            added(&plan),
            vec![
                (1, "Мария Иванова", "74951234567"),
                (2, "Bob", "4420790000")
            ]
        );
        assert!(plan.is_clean());
    }

    #[test]
    fn a_header_names_the_columns_in_any_order() {
        for text in [
            "number,name\n4420790000,Bob\n",
            "NUMBER ; Name\n4420790000;Bob\n",
            "\u{feff}entry_name,entry_number,entry_added\r\nBob,4420790000,2025-01-01 10:00:00\r\n",
            "Номер;Имя\n4420790000;Bob\n",
        ] {
            let plan = read(text);
            assert!(plan.header, "{text:?}");
            assert_eq!(added(&plan), vec![(2, "Bob", "4420790000")], "{text:?}");
        }
    }

    #[test]
    fn a_bom_is_dropped_and_semicolons_win_when_they_read_more() {
        let plan = Plan::read(
            b"\xEF\xBB\xBFSmith, John;+44 20 7946 0000\r\nAnn;123\r\n",
            &HashMap::new(),
        )
        .unwrap();
        assert_eq!(plan.delimiter, ';');
        assert_eq!(
            added(&plan),
            vec![(1, "Smith, John", "442079460000"), (2, "Ann", "123")]
        );
        // Quoted cells keep their delimiters.
        let plan = read("\"Smith; John\",123\n");
        assert_eq!(added(&plan), vec![(1, "Smith; John", "123")]);
    }

    #[test]
    fn bad_rows_are_named_by_their_line() {
        let text = "name,number\nAnn,123\n\n,,\nBob,12a\n,555\nCarl\nDan,777,x,y\nEve,\"12\n3\"\n\r\n\nFay,1 2\r\r\nGus,x\rHal,y\n";
        let plan = read(text);
        let messages: Vec<String> = plan.problems.iter().map(|p| p.message(Lang::En)).collect();
        assert_eq!(
            messages,
            vec![
                format!("line 5: number: {}", FieldError::Phone),
                format!("line 6: name: {}", FieldError::Required),
                "line 7: expected 2 columns with the name and the number, found 1".to_string(),
                "line 8: expected 2 columns with the name and the number, found 4".to_string(),
                format!("line 9: number: {}", FieldError::ControlCharacter),
                format!("line 13: number: {}", FieldError::Phone),
                format!("line 15: number: {}", FieldError::Phone),
                format!("line 16: number: {}", FieldError::Phone),
            ]
        );
        assert_eq!(added(&plan), vec![(2, "Ann", "123")]);
        assert_eq!(plan.rows, 9, "blank rows are not rows");
        assert!(!plan.is_clean());
        let long = format!("{},123\n", "x".repeat(NAME_MAX + 1));
        assert_eq!(
            read(&long).problems,
            vec![Problem::Field {
                line: 1,
                field: Field::Name,
                error: FieldError::TooLong { max: NAME_MAX }
            }]
        );
    }

    #[test]
    fn a_name_xml_cannot_hold_is_refused_by_its_line() {
        let plan = read("Ann,123\nBob\u{FFFF},456\nCy\u{1},789\n");
        assert_eq!(added(&plan), vec![(1, "Ann", "123")]);
        assert_eq!(
            plan.problems.iter().map(Problem::line).collect::<Vec<_>>(),
            [2, 3]
        );
        assert!(plan
            .problems
            .iter()
            .all(|p| p.message(Lang::En).contains(": name: ")));
    }

    #[test]
    fn cells_an_export_neutralised_come_back_as_they_were() {
        let text = "entry_name,entry_number\n\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",'+44 20 7946 0000\n'Tis me,123\n";
        let plan = read(text);
        assert_eq!(
            added(&plan),
            vec![
                (2, "=HYPERLINK(\"http://x\",\"y\")", "442079460000"),
                (3, "'Tis me", "123")
            ]
        );
    }

    #[test]
    fn repeated_and_existing_numbers_are_skipped_and_said() {
        let existing = HashMap::from([("123".to_string(), "Mum".to_string())]);
        let plan = Plan::read(
            "Ann,+1 23\nBob,456\nBobby,456-\nBob,4 5 6\nCarl,789\n".as_bytes(),
            &existing,
        )
        .unwrap();
        assert_eq!(added(&plan), vec![(2, "Bob", "456"), (5, "Carl", "789")]);
        let skipped: Vec<String> = plan.skipped.iter().map(|s| s.message(Lang::En)).collect();
        assert_eq!(
            skipped,
            vec![
                "line 1: 123 is already in your phonebook as “Mum”: skipped",
                "line 4: 456 is already on line 2: skipped",
            ]
        );
        assert_eq!(plan.problems.len(), 1, "line 3's trailing hyphen");
        assert_eq!(plan.problems[0].line(), 3);
    }

    #[test]
    fn files_that_cannot_be_read() {
        let none = HashMap::new();
        assert_eq!(
            Plan::read(b"Ann,123\nB\xFFb,456\n", &none),
            Err(FileError::NotUtf8 { line: 2 })
        );
        assert_eq!(Plan::read(b"\xFF\xFEA\x00", &none), Err(FileError::Utf16));
        assert_eq!(Plan::read(b"", &none), Err(FileError::Empty));
        assert_eq!(Plan::read(b"\n,,\n\n , \n", &none), Err(FileError::Empty));
        assert_eq!(Plan::read(b"name,number\n", &none), Err(FileError::Empty));
        assert_eq!(
            Plan::read(b"name,number\r\n;;\r\n", &none),
            Err(FileError::Empty)
        );
        let big = vec![b'a'; FILE_LIMIT + 1];
        assert_eq!(Plan::read(&big, &none), Err(FileError::TooLarge));
        let rows: String = (0..=MAX_ROWS)
            .map(|i| format!("n{i},{}\n", 1000 + i))
            .collect();
        assert_eq!(
            Plan::read(rows.as_bytes(), &none),
            Err(FileError::TooManyRows)
        );
        let rows: String = (0..MAX_ROWS)
            .map(|i| format!("n{i},{}\n", 1000 + i))
            .collect();
        assert_eq!(read(&rows).add.len(), MAX_ROWS);
    }

    #[test]
    fn line_ends_sent_back_as_crlf_count_once() {
        // A file of exactly the limit with LF line ends, as a browser sends it back.
        let line = "Ann,123\n";
        let mut text = line.repeat(FILE_LIMIT / line.len());
        text.push_str(&"x".repeat(FILE_LIMIT - text.len()));
        assert_eq!(text_of(text.as_bytes()).map(str::len), Ok(FILE_LIMIT));
        let crlf = text.replace('\n', "\r\n");
        assert!(text_of(crlf.as_bytes()).is_ok());
        assert_eq!(
            text_of(format!("{text}x").as_bytes()),
            Err(FileError::TooLarge)
        );
    }

    #[test]
    fn the_digest_follows_the_rows_to_add() {
        let a = read("Ann,123\nBob,456\n");
        let b = read("Ann,123\r\nBob,456\r\n");
        let c = read("Ann,123\nBob,457\n");
        assert_eq!(a.digest(), b.digest());
        assert_ne!(a.digest(), c.digest());
        assert_eq!(a.digest().len(), 64);
    }
}
