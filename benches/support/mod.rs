//! What the benchmarks share (each bench is a crate of its own and includes this module; not
//! every bench uses every part).
#![allow(dead_code)]

use std::time::Duration;

use selfcare::demo::{self, DemoOptions};
use selfcare::store::Store;
use selfcare::{Application, Settings};

/// A running portal with the small demo (2 subscribers, 5,000 calls) on `database_url`, or on
/// SQLite in a temporary folder (kept alive by the returned guard); its base URL.
pub async fn demo_portal(database_url: Option<&str>) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let url = database_url
        .map(str::to_string)
        .unwrap_or_else(|| selfcare::config::default_sqlite_url(&data_dir));
    let settings = Settings::new("127.0.0.1:0", Some(url.clone()), data_dir.clone()).unwrap();
    let app = Application::build(settings).await.expect("portal");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let store = Store::connect(&url).await.unwrap();
    let opts = DemoOptions {
        users: 2,
        calls: Some(5_000),
        seed: 1,
    };
    demo::fill(&store, &data_dir, &opts)
        .await
        .expect("demo data");
    (dir, base)
}

/// The `p`-th percentile (0.0–1.0) of durations sorted ascending; zero for none.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// The database's own command-line client for a database URL, fed a script on standard input:
/// `sqlite3` with the portal's connection settings first (`store::open_pool`), or `psql` with
/// rows unaligned and without headers; either stops at the first error. What the benches compare
/// our pages and answers with: the same statements, nothing of ours in between.
pub struct DatabaseClient {
    program: &'static str,
    args: Vec<String>,
    prelude: &'static str,
}

impl DatabaseClient {
    pub fn for_url(url: &str) -> DatabaseClient {
        match url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            Some(rest) => DatabaseClient {
                program: "sqlite3",
                args: vec![
                    "-bail".into(),
                    "-batch".into(),
                    rest.split('?').next().unwrap_or(rest).into(),
                ],
                prelude: "PRAGMA synchronous = NORMAL;\nPRAGMA foreign_keys = ON;\nPRAGMA busy_timeout = 10000;\n",
            },
            None => DatabaseClient {
                program: "psql",
                args: ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url]
                    .map(String::from)
                    .to_vec(),
                prelude: "",
            },
        }
    }

    pub fn is_sqlite(&self) -> bool {
        self.program == "sqlite3"
    }

    /// Wall time in ms of one client process running `script` (its output thrown away); the
    /// client's error and the script's start when it fails.
    pub fn run_ms(&self, script: &str) -> f64 {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let started = std::time::Instant::now();
        let mut child = Command::new(self.program)
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{} (the database's own client) on the PATH: {e}",
                    self.program
                )
            });
        let mut input = child.stdin.take().unwrap();
        input.write_all(self.prelude.as_bytes()).unwrap();
        input.write_all(script.as_bytes()).unwrap();
        drop(input);
        let out = child.wait_with_output().unwrap();
        let took = started.elapsed().as_secs_f64() * 1e3;
        assert!(
            out.status.success(),
            "{} failed: {}\n{}",
            self.program,
            String::from_utf8_lossy(&out.stderr),
            script.lines().take(40).collect::<Vec<_>>().join("\n")
        );
        if !out.stderr.is_empty() {
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        }
        took
    }
}
