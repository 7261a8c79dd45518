//! The command line as an operator uses it: the real binary, a real SQLite file.

use std::io::Write;
use std::process::{Command, Stdio};

fn selfcare(data_dir: &std::path::Path, args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_selfcare"))
        .args(args)
        .env("SELFCARE_DATA_DIR", data_dir)
        .env_remove("SELFCARE_DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run selfcare");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn operator_creates_a_user_and_changes_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let (ok, out) = selfcare(data, &["migrate"], "");
    assert!(ok, "{out}");
    let (ok, out) = selfcare(data, &["user", "add", "alice"], "s3cret pw\n");
    assert!(!ok, "no currency yet: {out}");
    assert!(out.contains("no currency"), "{out}");

    let (ok, out) = selfcare(data, &["demo", "--calls", "100"], "");
    assert!(ok, "{out}");
    assert!(
        out.contains("demo / demo") && out.contains("demo2 / demo2"),
        "{out}"
    );
    let (ok, out) = selfcare(data, &["demo", "--calls", "100"], "");
    assert!(!ok && out.contains("already has users"), "{out}");

    let (ok, out) = selfcare(data, &["user", "add", "alice"], "s3cret pw\n");
    assert!(ok, "{out}");
    let (ok, out) = selfcare(data, &["user", "add", "alice"], "other\n");
    assert!(!ok && out.contains("already exists"), "{out}");
    let (ok, out) = selfcare(data, &["user", "passwd", "alice"], "new pass\n");
    assert!(ok, "{out}");
    let (ok, out) = selfcare(data, &["user", "passwd", "bob"], "x\n");
    assert!(!ok && out.contains("no user"), "{out}");

    let store = selfcare::store::Store::connect(&selfcare::config::default_sqlite_url(data))
        .await
        .unwrap();
    let creds = store.credentials("alice").await.unwrap().unwrap();
    assert!(selfcare::password::verify(
        "new pass",
        Some(&creds.password_hash)
    ));
    assert!(!selfcare::password::verify(
        "s3cret pw",
        Some(&creds.password_hash)
    ));
}

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["migrate", "--help"],
        &["demo", "--help"],
        &["user", "add", "--help"],
        &["user", "passwd", "--help"],
    ] {
        let (ok, out) = selfcare(dir.path(), args, "");
        assert!(ok && out.contains("Usage"), "{args:?}: {out}");
    }
}

/// A pool size out of range stops `serve` at once, saying which setting and what it takes.
#[test]
fn serve_refuses_a_pool_size_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["0", "1001"] {
        let (ok, out) = selfcare(
            dir.path(),
            &[
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--database-connections",
                bad,
            ],
            "",
        );
        assert!(!ok, "{bad}: {out}");
        assert!(
            out.contains("SELFCARE_DATABASE_CONNECTIONS / --database-connections: 1 to 1000"),
            "{bad}: {out}"
        );
    }
    let (ok, out) = selfcare(dir.path(), &["serve", "--database-connections", "many"], "");
    assert!(!ok && out.contains("--database-connections"), "{out}");
}

/// Started from another folder, the portal still serves its stylesheet: static files are built
/// into the binary, not read from `./static`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_started_from_another_folder_serves_its_stylesheet() {
    let dir = tempfile::tempdir().unwrap();
    let port = crate::common::free_port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_selfcare"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("SELFCARE_DATA_DIR", dir.path().join("data"))
        .env_remove("SELFCARE_DATABASE_URL")
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/static/css/selfcare.css");
    let mut answer = None;
    for _ in 0..100 {
        if let Ok(r) = reqwest::get(&url).await {
            answer = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    let r = answer.expect("the portal answers");
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains(".card"));
}
