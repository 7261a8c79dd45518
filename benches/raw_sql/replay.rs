//! The database's own time for a page: its statements, as captured, run again by the database's
//! own command-line client (`sqlite3`, `psql`) with nothing of ours in between.
//!
//! One client process runs the statements `n` times in a row, its output thrown away; the same
//! client with nothing to run is timed too, and the difference divided by `n` is one request's
//! worth. The median of three such pairs is the figure. A client prints each result row to
//! /dev/null (psql unaligned, without headers): about what any program reading the rows does.
//!
//! As the portal's driver does, `psql` prepares each statement once (`PREPARE`, before the
//! timing starts) and runs it with the page's values (`EXECUTE`), so PostgreSQL plans it as it
//! plans the portal's (custom plans first, a generic one if it proves as cheap). The `sqlite3`
//! shell has no prepared statements: it compiles each statement each time, which the portal's
//! driver does once per connection, so on SQLite the database's figure is a little high and our
//! own time a little low.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::capture::Statement;

/// Milliseconds the client takes to run `statements` once (see the module's comment).
pub fn database_ms(url: &str, statements: &[Statement], n: usize) -> f64 {
    let mut runs: Vec<f64> = (0..3)
        .map(|_| {
            let idle = run(url, statements, 0);
            let busy = run(url, statements, n);
            (busy - idle).max(0.0) / n as f64
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[1]
}

/// Wall time in ms of one client process running `statements` `times` times.
fn run(url: &str, statements: &[Statement], times: usize) -> f64 {
    let mut script = String::new();
    let sqlite = sqlite_path(url);
    let mut command = if let Some(path) = sqlite {
        // The portal's connection settings (store::open_pool), then the statements.
        script.push_str(".output /dev/null\nPRAGMA synchronous = NORMAL;\nPRAGMA foreign_keys = ON;\nPRAGMA busy_timeout = 10000;\n");
        let mut c = Command::new("sqlite3");
        c.args(["-bail", "-batch", path]);
        c
    } else {
        let mut c = Command::new("psql");
        c.args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-o",
            "/dev/null",
            "-d",
            url,
        ]);
        c
    };
    let once: Vec<String> = if sqlite.is_some() {
        statements.iter().map(Statement::literal).collect()
    } else {
        prepare(statements, &mut script)
    };
    for _ in 0..times {
        for s in &once {
            script.push_str(s.trim_end().trim_end_matches(';'));
            script.push_str(";\n");
        }
    }
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the database's client (sqlite3 or psql) on the PATH");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let took = started.elapsed().as_secs_f64() * 1e3;
    assert!(
        out.status.success(),
        "the client failed on the page's statements: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        script.lines().take(40).collect::<Vec<_>>().join("\n")
    );
    if !out.stderr.is_empty() && times > 0 {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
    took
}

/// PostgreSQL: a `PREPARE` for each statement written into `script`; the statements to time
/// (`EXECUTE` with the page's values; text as it was sent).
fn prepare(statements: &[Statement], script: &mut String) -> Vec<String> {
    let mut names: Vec<&str> = Vec::new();
    statements
        .iter()
        .map(|s| match s {
            Statement::Text(sql) => sql.clone(),
            Statement::Bound {
                query,
                types,
                values,
            } => {
                let n = match names.iter().position(|q| q == query) {
                    Some(n) => n,
                    None => {
                        names.push(query);
                        let types = if types.iter().any(|t| t.is_empty()) || types.is_empty() {
                            String::new()
                        } else {
                            format!("({})", types.join(", "))
                        };
                        let n = names.len() - 1;
                        script.push_str(&format!("PREPARE page_{n}{types} AS {query};\n"));
                        n
                    }
                };
                if values.is_empty() {
                    format!("EXECUTE page_{n}")
                } else {
                    format!("EXECUTE page_{n}({})", values.join(", "))
                }
            }
        })
        .collect()
}

/// The file of a `sqlite:` URL; None for PostgreSQL.
fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    Some(rest.split('?').next().unwrap_or(rest))
}
