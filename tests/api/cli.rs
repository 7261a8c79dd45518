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
