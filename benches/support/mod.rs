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
