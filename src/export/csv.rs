//! CSV exports, made for a spreadsheet: RFC 4180 (comma, `"` quoting, CRLF line ends), UTF-8, a
//! header row and our own words (a call's result, yes or no) in the reader's language, numbers
//! with `.` decimals and no thousands separators and dates `YYYY-MM-DD HH:MM:SS`, so that a
//! spreadsheet sorts and sums them. Programs read the same data as JSON or XML, whose field
//! names and codes do not change with the language.
//!
//! Formula injection (OWASP "CSV injection"): a text cell that starts with `=`, `+`, `-`, `@`,
//! a tab or a carriage return gets a `'` in front, so no spreadsheet runs it. Number columns are
//! written as they are, negative numbers included, but only when the cell really is a plain
//! number: anything else in a number column is treated as text.
//!
//! Big lists stream (`stream`): rows go out as the database yields them, in chunks, through a
//! small bounded channel, so the first bytes leave at once, memory stays flat whatever the row
//! count, and a client that goes away stops the query.

use std::borrow::Cow;

use actix_web::web::Bytes;
use actix_web::HttpResponse;
use futures_util::StreamExt;

use super::{attachment, Column, Export, FileName, Kind};
use crate::store::row_query::RowQuery;
use crate::store::Store;

pub const CONTENT_TYPE: &str = "text/csv; charset=utf-8; header=present";

/// A chunk is sent once it holds this many bytes.
const CHUNK: usize = 64 * 1024;
/// Chunks waiting to be sent: with `CHUNK`, what a slow client can hold in memory.
const CHANNEL: usize = 4;

/// The characters that make a spreadsheet read a cell as a formula.
fn is_formula_start(c: char) -> bool {
    matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r')
}

/// `-12.50`, `0`, `3.0184`: an optional minus, digits, optionally `.` and digits.
fn is_plain_number(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// `2025-01-31 23:59:00`, `2025-01-31`: digits and separators only.
fn is_plain_date(s: &str) -> bool {
    let b = s.as_bytes();
    let shape = |pattern: &[u8]| {
        b.len() == pattern.len()
            && b.iter().zip(pattern).all(|(c, p)| match p {
                b'9' => c.is_ascii_digit(),
                other => c == other,
            })
    };
    shape(b"9999-99-99 99:99:99") || shape(b"9999-99-99")
}

/// The cell as it is written: numbers and dates as they are, text neutralised.
pub fn cell(kind: Kind, value: &str) -> Cow<'_, str> {
    let plain = match kind {
        Kind::Number => is_plain_number(value),
        Kind::DateTime => is_plain_date(value),
        Kind::Text | Kind::Phone => false,
    };
    if !plain && value.starts_with(is_formula_start) {
        Cow::Owned(format!("'{value}"))
    } else {
        Cow::Borrowed(value)
    }
}

/// Writes rows into a buffer, to be taken in chunks.
pub struct Encoder {
    columns: Vec<Column>,
    writer: ::csv::Writer<Vec<u8>>,
}

fn writer() -> ::csv::Writer<Vec<u8>> {
    ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(CHUNK + 4096))
}

impl Encoder {
    /// A new file: the header row is written at once.
    pub fn new(columns: &[Column]) -> Encoder {
        let mut writer = writer();
        // Writing into a Vec cannot fail; the header has as many fields as there are columns.
        let _ = writer.write_record(columns.iter().map(|c| c.label.as_str()));
        Encoder {
            columns: columns.to_vec(),
            writer,
        }
    }

    /// One row; missing cells are written empty, extra ones dropped.
    pub fn row<S: AsRef<str>>(&mut self, cells: &[S]) {
        for (i, column) in self.columns.iter().enumerate() {
            let value = column.show(cells.get(i).map(AsRef::as_ref).unwrap_or(""));
            let _ = self.writer.write_field(cell(column.kind, value).as_ref());
        }
        // Ends the record.
        let _ = self.writer.write_record(None::<&[u8]>);
    }

    /// The bytes written so far.
    pub fn buffered(&self) -> usize {
        self.writer.get_ref().len()
    }

    /// Takes what is written so far, leaving the encoder empty.
    pub fn take(&mut self) -> Bytes {
        let full = std::mem::replace(&mut self.writer, writer());
        // Flushing into a Vec cannot fail.
        Bytes::from(full.into_inner().unwrap_or_default())
    }
}

/// A whole table as CSV text.
pub fn render(columns: &[Column], rows: &[Vec<String>]) -> Bytes {
    let mut enc = Encoder::new(columns);
    for row in rows {
        enc.row(row);
    }
    enc.take()
}

/// A page's export answered as a CSV download.
pub fn respond(export: &Export) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .insert_header(attachment(&export.file, "csv"))
        .body(render(&export.columns, &export.rows))
}

/// Streams a CSV download of rows read from the database, for lists too long to hold.
///
/// `query` is the store's query for the list (the same one the page reads, see
/// `store::row_query`); `cells` turns a row into its cells, aligned with `columns` (the page's
/// own row mapping, so the CSV holds what the page shows).
///
/// A producer task takes a connection of its own, runs the query, and writes chunks of about
/// 64 KiB into a channel of four; the response body reads the channel. When the client stops
/// reading, the channel fills and the query waits; when it disconnects, the body is dropped, the
/// producer's next send fails, and the connection is closed rather than returned to the pool,
/// which ends the query on the server too. A database error after the first bytes can only cut
/// the download short (the status line is gone): it is logged, and the client sees an
/// incomplete file.
pub fn stream<T, M>(
    file: FileName,
    columns: Vec<Column>,
    store: &Store,
    query: RowQuery<T>,
    mut cells: M,
) -> HttpResponse
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin + 'static,
    M: FnMut(T) -> Vec<String> + 'static,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(CHANNEL);
    let pool = store.reader().clone();
    let mut enc = Encoder::new(&columns);
    actix_web::rt::spawn(async move {
        // The header goes out before the query runs: the download starts at once.
        if tx.send(Ok(enc.take())).await.is_err() {
            return;
        }
        let mut conn = match pool.acquire().await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "CSV export: no database connection");
                let _ = tx.send(Err(std::io::Error::other("database"))).await;
                return;
            }
        };
        let mut finished = false;
        {
            let mut rows = query.fetch(&mut conn);
            loop {
                match rows.next().await {
                    Some(Ok(row)) => {
                        enc.row(&cells(row));
                        if enc.buffered() >= CHUNK && tx.send(Ok(enc.take())).await.is_err() {
                            break; // the client went away
                        }
                    }
                    Some(Err(e)) => {
                        tracing::error!(error = %e, "CSV export: query failed");
                        let _ = tx.send(Err(std::io::Error::other("database"))).await;
                        break;
                    }
                    None => {
                        finished = true;
                        break;
                    }
                }
            }
        }
        if finished {
            let _ = tx.send(Ok(enc.take())).await;
        } else {
            // A half-read result must not go back to the pool: closing the connection is
            // what stops the query on the server.
            conn.close_on_drop();
        }
    });
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .insert_header(attachment(&file, "csv"))
        .streaming(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_in_text_are_neutralised() {
        for bad in [
            "=HYPERLINK(\"http://x\")",
            "+1",
            "-2",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert_eq!(cell(Kind::Text, bad), format!("'{bad}"), "{bad:?}");
        }
        assert_eq!(cell(Kind::Text, "Alice = Bob"), "Alice = Bob");
        assert_eq!(cell(Kind::Text, ""), "");
    }

    #[test]
    fn numbers_stay_numbers_only_when_they_are_numbers() {
        assert_eq!(cell(Kind::Number, "-12.50"), "-12.50");
        assert_eq!(cell(Kind::Number, "0"), "0");
        assert_eq!(cell(Kind::Number, "-0.0184"), "-0.0184");
        // Not a plain number: treated as text.
        assert_eq!(cell(Kind::Number, "-1+2"), "'-1+2");
        assert_eq!(cell(Kind::Number, "=1"), "'=1");
        assert_eq!(cell(Kind::Number, "-"), "'-");
        assert_eq!(cell(Kind::Number, "-1."), "'-1.");
        assert_eq!(
            cell(Kind::DateTime, "2025-01-31 23:59:00"),
            "2025-01-31 23:59:00"
        );
        assert_eq!(cell(Kind::DateTime, "-2025-01-31"), "'-2025-01-31");
    }

    #[test]
    fn tables_are_rfc_4180() {
        let columns = vec![
            Column::text("name", "Name"),
            Column::number("amount", "Amount"),
        ];
        let rows = vec![
            vec!["Иванова, \"Мария\"".to_string(), "-5.00".to_string()],
            vec!["line\nbreak".to_string(), "1234567.89".to_string()],
            vec!["@home".to_string()],
        ];
        let text = String::from_utf8(render(&columns, &rows).to_vec()).unwrap();
        assert_eq!(
            text,
            "Name,Amount\r\n\"Иванова, \"\"Мария\"\"\",-5.00\r\n\"line\nbreak\",1234567.89\r\n'@home,\r\n"
        );
    }

    #[test]
    fn words_are_said_in_the_readers_language() {
        let columns = vec![Column::words(
            "paid",
            "Оплачен",
            crate::i18n::Lang::Ru,
            crate::export::YES_NO,
        )];
        let rows = vec![vec!["Yes".to_string()], vec!["=maybe".to_string()]];
        let text = String::from_utf8(render(&columns, &rows).to_vec()).unwrap();
        assert_eq!(text, "Оплачен\r\nДа\r\n'=maybe\r\n");
    }
}
