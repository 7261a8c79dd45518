use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::{
    spawn_demo_app, spawn_demo_app_with_settings, structure, text_of, Backend, TestApp,
};
use crate::on_both_databases;

const NEW: &str = "plum orbit seventy two";

/// A legacy login from a client of its own (its session does not touch the test's client):
/// whether it logged in (a failure is a failed action with HTTP 200, as MOR answers).
async fn fresh_login(app: &TestApp, user: &str, password: &str) -> bool {
    let client = reqwest::Client::new();
    let r = client
        .get(app.url("/api/login"))
        .query(&[("u", user), ("p", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    crate::common::text_of(&r.text().await.unwrap(), "status") == "ok"
}

async fn login_form(app: &TestApp, user: &str, password: &str) -> u16 {
    app.submit_form(
        "/callc/login",
        &[("username", user), ("password", password)],
    )
    .await
    .status()
    .as_u16()
}

async fn changing_the_password_needs_the_current_one_and_ends_other_sessions(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    // Another device of the same user, logged in through the legacy API.
    let other = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = other
        .get(app.url("/api/login?u=demo&p=demo"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        other
            .get(app.url("/callc/main"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );

    assert_eq!(login_form(&app, "demo", "demo").await, 303);
    let cases: &[(&str, &str, &str, &str)] = &[
        ("wrong", NEW, NEW, "The current password is not right."),
        (
            "demo",
            NEW,
            "something else entirely",
            "The two new passwords are not the same.",
        ),
        ("demo", "short", "short", "The new password is too short"),
        (
            "demo",
            "my demo password",
            "my demo password",
            "must not contain your user name",
        ),
        ("demo", "passwordpassword", "passwordpassword", "too common"),
    ];
    for (current, new, confirm, message) in cases {
        let r = app
            .submit_form(
                "/users/change_password",
                &[
                    ("current_password", current),
                    ("new_password", new),
                    ("confirm_password", confirm),
                ],
            )
            .await;
        assert_eq!(r.status().as_u16(), 400, "{message}");
        assert!(r.text().await.unwrap().contains(message), "{message}");
    }
    // Nothing changed so far: the other session lives.
    assert_eq!(
        other
            .get(app.url("/callc/main"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );

    let r = app
        .submit_form(
            "/users/change_password",
            &[
                ("current_password", "demo"),
                ("new_password", NEW),
                ("confirm_password", NEW),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let page = app
        .get("/users/change_password?done=1")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Your password has been changed"));
    // This session goes on; the other one is dead.
    assert_eq!(app.get("/callc/main").await.status().as_u16(), 200);
    let r = other.get(app.url("/callc/main")).send().await.unwrap();
    assert_eq!(
        r.status().as_u16(),
        303,
        "the other device must log in again"
    );
    assert!(!fresh_login(&app, "demo", "demo").await);
    assert!(fresh_login(&app, "demo", NEW).await);

    // The activity log shows it, in XML too.
    let (_, xml) = app.get_xml("/users/activity").await;
    assert!(structure(&xml).starts_with("page\n  pagename\n  language\n  userid\n  events\n    event\n      date\n      action\n      detail\n      address\n"), "{xml}");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let actions: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("action"))
        .filter_map(|n| n.text())
        .collect();
    for expected in ["login", "login_failed", "password_changed"] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
}
on_both_databases!(changing_the_password_needs_the_current_one_and_ends_other_sessions);

async fn legacy_clients_change_the_password_with_xml_answers(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.legacy_login("demo2", "demo2").await;
    let r = app
        .post_form(
            "/users/change_password",
            &[("current_password", "demo2"), ("new_password", "x")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 400);
    let xml = r.text().await.unwrap();
    assert_eq!(text_of(&xml, "name"), "change_password");
    assert_eq!(text_of(&xml, "status"), "failed");
    let r = app
        .post_form(
            "/users/change_password",
            &[("current_password", "demo2"), ("new_password", NEW)],
        )
        .await;
    assert_eq!(text_of(&r.text().await.unwrap(), "status"), "ok");
}
on_both_databases!(legacy_clients_change_the_password_with_xml_answers);

/// Waits (bounded) until `dir` holds a file, and returns the newest one.
fn wait_for_file(dir: &Path) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.is_file())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(f) = files.into_iter().max() {
            return f;
        }
        assert!(
            Instant::now() < deadline,
            "no mail arrived in {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The reset link of a mail as written on the wire (quoted-printable soft breaks undone).
fn reset_link(raw: &str) -> String {
    let text = raw
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let start = text.find("http://").expect("a link in the mail");
    text[start..].split_whitespace().next().unwrap().to_string()
}

async fn follow_the_reset_link(app: &TestApp, link: &str) {
    let path = &link[link.find("/users/").unwrap()..];
    let form = app.get(path).await.text().await.unwrap();
    assert!(form.contains("new_password"), "{form}");
    let r = app
        .submit_form(path, &[("new_password", NEW), ("confirm_password", NEW)])
        .await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Your password has been set"));
    assert!(fresh_login(app, "demo", NEW).await);
    assert!(!fresh_login(app, "demo", "demo").await);
    // The link works once.
    let again = app.get(path).await.text().await.unwrap();
    assert!(again.contains("not valid any more"));
    let r = app
        .submit_form(
            path,
            &[
                ("new_password", "another good password"),
                ("confirm_password", "another good password"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 400);
}

async fn password_reset_by_mail_works_once_and_reveals_nothing(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let ask = |who: &'static str| {
        let app = &app;
        async move {
            let r = app
                .submit_form("/users/password_reset", &[("who", who)])
                .await;
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (s1, unknown) = ask("nobody-here").await;
    let (s2, known) = ask("demo@example.com").await;
    assert_eq!((s1, s2), (200, 200));
    // The same page whether or not the account exists (only the CSRF token differs).
    let strip = |s: &str| {
        s.lines()
            .filter(|l| !l.contains("csrf_token"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&unknown), strip(&known));

    let mail = wait_for_file(&app.data_dir.join("mail"));
    let raw = std::fs::read_to_string(&mail).unwrap();
    assert!(raw.contains("To: demo@example.com"), "{raw}");
    let digest_count = app
        .scalar("SELECT COUNT(*) FROM password_reset_tokens")
        .await;
    assert_eq!(digest_count, 1);
    let link = reset_link(&raw);
    let token = link.rsplit('/').next().unwrap();
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM password_reset_tokens WHERE token_hash = '{token}'"
        ))
        .await,
        0,
        "only a digest is stored"
    );
    follow_the_reset_link(&app, &link).await;

    // An expired link does not work.
    ask("demo").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    // The second link is made after the answer: wait for it, and for its mail to go.
    while app
        .scalar("SELECT COUNT(*) FROM password_reset_tokens")
        .await
        < 2
        || app
            .scalar("SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL")
            .await
            > 0
    {
        assert!(Instant::now() < deadline, "mail not sent");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sqlx::query("UPDATE password_reset_tokens SET expires_at = 0")
        .execute(app.store.pool())
        .await
        .unwrap();
    let newest = std::fs::read_dir(app.data_dir.join("mail"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| !std::fs::read_to_string(p).unwrap().contains(&link))
        .collect::<Vec<_>>();
    let link2 = reset_link(&std::fs::read_to_string(&newest[0]).unwrap());
    let path = &link2[link2.find("/users/").unwrap()..];
    assert!(app
        .get(path)
        .await
        .text()
        .await
        .unwrap()
        .contains("not valid any more"));
}
on_both_databases!(password_reset_by_mail_works_once_and_reveals_nothing);

/// An SMTP server for the test: Python's aiosmtpd writing each message into a Maildir.
struct SmtpServer {
    child: std::process::Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_smtp() -> Option<SmtpServer> {
    let available = std::process::Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        crate::common::missing("Python's aiosmtpd for the SMTP test (pip install aiosmtpd)");
    }
    let port = crate::common::free_port();
    let maildir = tempfile::tempdir().unwrap();
    let child = std::process::Command::new("python3")
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Mailbox",
        ])
        .arg(maildir.path().join("box"))
        .spawn()
        .expect("start aiosmtpd");
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "aiosmtpd did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(SmtpServer {
        child,
        port,
        maildir,
    })
}

async fn password_reset_mail_goes_through_a_real_smtp_server(backend: Backend) {
    let Some(smtp) = start_smtp() else { return };
    let port = smtp.port;
    let app = spawn_demo_app_with_settings(backend, |s| {
        s.mail.transport = selfcare::mail::Transport::Smtp {
            host: "127.0.0.1".into(),
            port,
            tls: selfcare::mail::TlsMode::None,
            credentials: None,
        };
        s.mail.from = "portal@example.com".into();
    })
    .await;
    let r = app
        .submit_form("/users/password_reset", &[("who", "demo")])
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let mail = wait_for_file(&smtp.maildir.path().join("box").join("new"));
    let raw = std::fs::read_to_string(mail).unwrap();
    assert!(
        raw.contains("From: portal@example.com") && raw.contains("Reset your password"),
        "{raw}"
    );
    follow_the_reset_link(&app, &reset_link(&raw)).await;
}
on_both_databases!(password_reset_mail_goes_through_a_real_smtp_server, needs aiosmtpd);

async fn mail_that_cannot_be_sent_is_kept_and_retried(backend: Backend) {
    // An SMTP port with nothing listening.
    let port = crate::common::free_port();
    let app = spawn_demo_app_with_settings(backend, |s| {
        s.mail.transport = selfcare::mail::Transport::Smtp {
            host: "127.0.0.1".into(),
            port,
            tls: selfcare::mail::TlsMode::None,
            credentials: None,
        };
    })
    .await;
    app.submit_form("/users/password_reset", &[("who", "demo")])
        .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        // The link is made and queued after the answer (the same time for every request).
        let row: Option<(i64, String, Option<i64>)> =
            sqlx::query_as("SELECT attempts, last_error, sent_at FROM mail_outbox")
                .fetch_optional(app.store.pool())
                .await
                .unwrap();
        let (attempts, error, sent) = row.unwrap_or((0, String::new(), None));
        if attempts >= 1 && !error.is_empty() {
            assert_eq!(sent, None, "kept for the next attempt");
            break;
        }
        assert!(Instant::now() < deadline, "no attempt made");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
on_both_databases!(mail_that_cannot_be_sent_is_kept_and_retried);

async fn downloads_are_in_the_activity_log(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    assert_eq!(login_form(&app, "demo", "demo").await, 303);
    let r = app.get("/payments/personal_payments?format=csv").await;
    assert_eq!(r.status().as_u16(), 200);
    let _ = r.bytes().await.unwrap();
    let n = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'export' AND detail = '/payments/personal_payments'")
        .await;
    assert_eq!(n, 1);
}
on_both_databases!(downloads_are_in_the_activity_log);

async fn reset_links_are_one_at_a_time_and_throttled(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let tokens = || app.scalar("SELECT COUNT(*) FROM password_reset_tokens");
    let live = || app.scalar("SELECT COUNT(*) FROM password_reset_tokens WHERE used_at IS NULL");
    let ask = |who: &'static str| {
        let app = &app;
        async move {
            app.submit_form("/users/password_reset", &[("who", who)])
                .await
                .status()
                .as_u16()
        }
    };
    // Each new link voids the one before: one live link per account.
    for n in 1..=3 {
        assert_eq!(ask("demo").await, 200);
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokens().await < n {
            assert!(Instant::now() < deadline, "link {n} never made");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(live().await, 1);
    }
    // A fourth within the hour: the same answer, but no new link or mail for the account.
    assert_eq!(ask("demo").await, 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(tokens().await, 3);
    // One address asking again and again (any names): refused after ten in an hour.
    for _ in 0..6 {
        assert_eq!(ask("nobody").await, 200);
    }
    assert_eq!(ask("nobody").await, 429);
    assert_eq!(ask("demo").await, 429);
}
on_both_databases!(reset_links_are_one_at_a_time_and_throttled);
