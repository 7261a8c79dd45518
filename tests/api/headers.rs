//! What every answer says about itself: no caching of personal pages, HSTS and a `__Host-`
//! cookie over HTTPS, and a request body that must arrive in time.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{
    spawn_app_with_settings, spawn_demo_app, spawn_demo_app_with_settings, Backend,
};
use crate::on_both_databases;

on_both_databases!(personal_pages_are_never_cached_and_https_is_remembered);
async fn personal_pages_are_never_cached_and_https_is_remembered(b: Backend) {
    let app = spawn_demo_app(b).await;
    app.legacy_login("demo", "demo").await;
    for page in ["/callc/main", "/payments/personal_payments", "/callc/login"] {
        let r = app.get(page).await;
        assert_eq!(r.headers()["cache-control"], "no-store", "{page}");
        assert!(
            r.headers().get("strict-transport-security").is_none(),
            "{page}"
        );
    }
    let r = app.get("/static/css/selfcare.css").await;
    assert!(r
        .headers()
        .get("cache-control")
        .is_none_or(|v| v != "no-store"));
    // Static files are built in: typed, with an ETag a browser can ask with.
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let again = app
        .client
        .get(app.url("/static/css/selfcare.css"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 304);
    for bad in [
        "/static/../Cargo.toml",
        "/static/%2e%2e/Cargo.toml",
        "/static/nope.css",
    ] {
        assert_eq!(app.get(bad).await.status().as_u16(), 404, "{bad}");
    }

    // Served over HTTPS (`--cookie-secure`): HSTS, and a cookie only this host can set.
    let secure = spawn_demo_app_with_settings(b, |s| s.cookie_secure = true).await;
    let r = secure.get("/callc/login").await;
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("__Host-selfcare_session="), "{cookie}");
    assert!(
        cookie.contains("Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_arrives_is_given_up_on() {
    let app = spawn_app_with_settings(Backend::Sqlite, |s| {
        s.body_timeout = Duration::from_secs(1);
    })
    .await;
    let address = app.address.trim_start_matches("http://").to_string();
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /callc/login HTTP/1.1\r\nHost: {address}\r\nAccept: application/json\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nusername=de"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut chunk))
            .await
            .expect("an answer within 10 s")
            .unwrap();
        assert!(n > 0, "closed without an answer");
        answer.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&answer);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "held for {:?}",
        started.elapsed()
    );
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
}
