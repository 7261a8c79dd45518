//! The database's own time for a page: its statements, as captured, run again by the database's
//! own command-line client (`sqlite3`, `psql`) with nothing of ours in between.
//!
//! One client process runs the statements `n` times in a row, its output thrown away; the same
//! client with nothing to run is timed too, and the difference divided by `n` is one request's
//! worth. The median of three such pairs is the figure. A client prints each result row to
//! /dev/null (psql unaligned, without headers): about what any program reading the rows does.
//!
//! As the portal's driver does, `psql` prepares each statement once (`PREPARE`, before the
//! timing starts) and runs it with the page's values (`EXECUTE`), in a session planning as the
//! portal's connections do (`plan_cache_mode = force_generic_plan`: planned once; `jit = off`).
//! The `sqlite3` shell has no prepared statements: it compiles each statement each time, which
//! the portal's driver does once per connection, so on SQLite the database's figure is a little
//! high and our own time a little low.

use crate::capture::Statement;
use crate::support::DatabaseClient;

/// Milliseconds the client takes to run `statements` once (see the module's comment).
pub fn database_ms(url: &str, statements: &[Statement], n: usize) -> f64 {
    let client = DatabaseClient::for_url(url);
    let mut runs: Vec<f64> = (0..3)
        .map(|_| {
            let idle = client.run_ms(&script(&client, statements, 0));
            let busy = client.run_ms(&script(&client, statements, n));
            (busy - idle).max(0.0) / n as f64
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[1]
}

/// A script running `statements` `times` times (psql's PREPAREs first).
fn script(client: &DatabaseClient, statements: &[Statement], times: usize) -> String {
    let mut script = String::new();
    if !client.is_sqlite() {
        script.push_str("SET plan_cache_mode = force_generic_plan;\nSET jit = off;\n");
    }
    let once: Vec<String> = if client.is_sqlite() {
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
    script
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
