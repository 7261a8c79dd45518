//! The session store (Redis) going away while the portal runs: pages answer 503 in their
//! format, nothing is written, and everything works again when Redis is back.
//!
//! The portal talks to the test Redis (SELFCARE_TEST_REDIS, shared with other tests, so never
//! stopped here) through `RedisLink`, a TCP relay this test cuts and restores.

use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::IntoConnectionInfo;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::common::{redis_server, spawn_demo_app_with_settings, Backend, TestApp};
use crate::on_both_databases_with_redis;

const MESSAGE: &str = "Your session cannot be checked right now: the portal&#39;s session service \
                       is not answering. Please try again in a minute.";

/// The test Redis, or `None` with a note; in CI (which starts Redis) its absence fails.
fn test_redis() -> Option<String> {
    let url = redis_server();
    if url.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI sets SELFCARE_TEST_REDIS for the session store tests"
        );
        println!("SELFCARE_TEST_REDIS is not set: the Redis outage test did not run");
    }
    url
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    Up,
    /// Redis stopped: connections refused, open ones closed.
    Refused,
    /// The network cut: connections accepted or kept, nothing ever answered.
    Silent,
}

/// A TCP relay between the portal and Redis, on a port of its own.
struct RedisLink {
    /// The Redis URL the portal is given: the test Redis's, through the relay.
    url: String,
    mode: Arc<watch::Sender<Link>>,
}

impl RedisLink {
    async fn start(redis_url: &str) -> RedisLink {
        let info = redis_url
            .into_connection_info()
            .expect("SELFCARE_TEST_REDIS");
        let upstream = info.addr.to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let credentials = match (&info.redis.username, &info.redis.password) {
            (user, Some(password)) => format!("{}:{password}@", user.as_deref().unwrap_or("")),
            _ => String::new(),
        };
        let url = format!("redis://{credentials}127.0.0.1:{port}/{}", info.redis.db);
        let mode = Arc::new(watch::channel(Link::Up).0);
        tokio::spawn(relay(listener, port, upstream, mode.clone()));
        RedisLink { url, mode }
    }

    fn set(&self, link: Link) {
        self.mode.send_replace(link);
    }
}

/// Accepts while the link is not refused; each connection is relayed by `pipe`.
async fn relay(listener: TcpListener, port: u16, upstream: String, mode: Arc<watch::Sender<Link>>) {
    let mut listener = Some(listener);
    let mut changes = mode.subscribe();
    loop {
        let link = *changes.borrow_and_update();
        if link == Link::Refused {
            listener = None;
        } else if listener.is_none() {
            listener = Some(rebind(port).await);
        }
        match &listener {
            None => {}
            Some(l) => {
                tokio::select! {
                    accepted = l.accept() => {
                        if let Ok((client, _)) = accepted {
                            tokio::spawn(pipe(client, upstream.clone(), mode.subscribe()));
                        }
                        continue;
                    }
                    _ = changes.changed() => continue,
                }
            }
        }
        if changes.changed().await.is_err() {
            return;
        }
    }
}

async fn rebind(port: u16) -> TcpListener {
    for _ in 0..50 {
        if let Ok(l) = TcpListener::bind(("127.0.0.1", port)).await {
            return l;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the Redis relay cannot listen on port {port} again");
}

/// Relays one connection while the link is up; on a cut, closes it (refused) or keeps it
/// open and answers nothing (silent).
async fn pipe(mut client: TcpStream, upstream: String, mut changes: watch::Receiver<Link>) {
    if *changes.borrow_and_update() == Link::Up {
        let Ok(mut server) = TcpStream::connect(&upstream).await else {
            return;
        };
        tokio::select! {
            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => return,
            _ = changes.changed() => {}
        }
    }
    if *changes.borrow_and_update() == Link::Silent {
        let mut sink = [0_u8; 4096];
        loop {
            tokio::select! {
                read = client.read(&mut sink) => if matches!(read, Ok(0) | Err(_)) { return },
                _ = changes.changed() => return,
            }
        }
    }
}

/// What a browser asks for.
const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// A client of its own (its own cookies), not following redirects.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn live_sessions(app: &TestApp) -> i64 {
    app.scalar("SELECT COUNT(*) FROM user_sessions WHERE ended_at IS NULL")
        .await
}

async fn logins_recorded(app: &TestApp) -> i64 {
    app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'login'")
        .await
}

/// Waits (5 s at most) for `url` to answer 200 again once the link is up: the relay listens
/// again and the portal's Redis connection reconnects in the background, so the first request
/// after the outage may still get the 503 that says to retry.
async fn back_again(client: &reqwest::Client, url: &str) {
    for _ in 0..50 {
        match client.get(url).send().await {
            Ok(r) if r.status().as_u16() == 200 => return,
            Ok(r) => assert_eq!(r.status().as_u16(), 503, "{url} while reconnecting"),
            Err(e) => panic!("{url}: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} did not answer 200 within 5 s of Redis coming back");
}

/// A 503 with `Retry-After`; returns the body.
async fn unavailable(r: reqwest::Response, content_type: &str) -> String {
    let what = r.url().to_string();
    assert_eq!(r.status().as_u16(), 503, "{what}");
    assert_eq!(r.headers()["retry-after"], "30", "{what}");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with(content_type),
        "{what}: {:?}",
        r.headers()["content-type"]
    );
    assert_eq!(r.headers()["x-frame-options"], "DENY", "{what}");
    r.text().await.unwrap()
}

/// The seed's failed `<action>` with the outage message.
fn assert_failed_action(xml: &str, name: &str) {
    assert_eq!(
        crate::common::structure(xml),
        "action\n  name\n  status\n  status_message\n"
    );
    assert_eq!(crate::common::text_of(xml, "name"), name);
    assert_eq!(crate::common::text_of(xml, "status"), "failed");
    assert_eq!(
        crate::common::text_of(xml, "status_message"),
        MESSAGE.replace("&#39;", "'")
    );
}

async fn pages_answer_503_while_redis_is_down_and_work_again_after(backend: Backend) {
    let Some(redis_url) = test_redis() else {
        return;
    };
    let link = RedisLink::start(&redis_url).await;
    let url = link.url.clone();
    let app = spawn_demo_app_with_settings(backend, |s| s.redis_url = Some(url)).await;

    // Before the outage: a browser and the legacy XML client are logged in; another browser
    // has opened the login page.
    let browser = &app.client;
    let r = app
        .submit_form(
            "/callc/login",
            &[("username", "demo"), ("password", "demo")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let token = app.csrf_token().await;
    let legacy = client();
    let login = legacy
        .get(app.url("/api/login?u=demo&p=demo"))
        .send()
        .await
        .unwrap();
    assert!(login.text().await.unwrap().contains("<status>ok</status>"));
    let late = client();
    let login_page = late.get(app.url("/callc/login")).send().await.unwrap();
    let html = login_page.text().await.unwrap();
    let marker = "name=\"csrf_token\" value=\"";
    let at = html.find(marker).unwrap() + marker.len();
    let late_token = html[at..at + 64].to_string();
    let sessions = live_sessions(&app).await;
    let logins = logins_recorded(&app).await;

    link.set(Link::Refused);

    // The browser: the error page in the site's layout, with the message.
    let html = unavailable(
        browser
            .get(app.url("/callc/main"))
            .header("Accept", BROWSER)
            .send()
            .await
            .unwrap(),
        "text/html",
    )
    .await;
    assert!(html.contains("<header class=\"top\">"), "{html}");
    assert!(html.contains(MESSAGE), "{html}");
    assert!(
        !html.contains("/callc/logout"),
        "no menu of a session that cannot be read"
    );
    // Its stylesheet still loads: static files need no session.
    let css = browser
        .get(app.url("/static/css/selfcare.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status().as_u16(), 200);
    // Russian for a browser that asks for it.
    let ru = browser
        .get(app.url("/stats/call_list"))
        .header("Accept", BROWSER)
        .header("Accept-Language", "ru")
        .send()
        .await
        .unwrap();
    assert!(unavailable(ru, "text/html")
        .await
        .contains("служба сессий портала не отвечает"));

    // The legacy client, with its own plain requests (its session, which says "XML", cannot
    // be read; a request that does not ask for HTML gets XML): named after the page's action.
    let xml = unavailable(
        legacy.get(app.url("/callc/main")).send().await.unwrap(),
        "application/xml",
    )
    .await;
    assert_failed_action(&xml, "main");
    let xml = unavailable(
        legacy
            .get(app.url("/users/personal_details"))
            .header("Accept", "application/xml")
            .send()
            .await
            .unwrap(),
        "application/xml",
    )
    .await;
    assert_failed_action(&xml, "personal_details");
    // JSON when asked for.
    let json: serde_json::Value = serde_json::from_str(
        &unavailable(
            legacy
                .get(app.url("/callc/main?format=json"))
                .send()
                .await
                .unwrap(),
            "application/json",
        )
        .await,
    )
    .unwrap();
    assert_eq!(json["error"]["code"], "unavailable", "{json}");
    assert_eq!(json["error"]["message"], MESSAGE.replace("&#39;", "'"));

    // Nothing is written: a logout does not end the session, a login does not start one.
    let logout = browser
        .post(app.url("/callc/logout"))
        .header("Accept", BROWSER)
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    unavailable(logout, "text/html").await;
    let form_login = late
        .post(app.url("/callc/login"))
        .header("Accept", BROWSER)
        .form(&[
            ("username", "demo"),
            ("password", "demo"),
            ("csrf_token", late_token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    unavailable(form_login, "text/html").await;
    let fresh = client();
    let xml = unavailable(
        fresh
            .get(app.url("/api/login?u=demo&p=demo"))
            .send()
            .await
            .unwrap(),
        "application/xml",
    )
    .await;
    assert_failed_action(&xml, "login");
    // The login page: its form needs a CSRF token, which lives in the session.
    let page = unavailable(
        fresh
            .get(app.url("/callc/login"))
            .header("Accept", BROWSER)
            .send()
            .await
            .unwrap(),
        "text/html",
    )
    .await;
    assert!(page.contains(MESSAGE));
    assert_eq!(
        live_sessions(&app).await,
        sessions,
        "no session started or ended"
    );
    assert_eq!(logins_recorded(&app).await, logins, "no login recorded");

    link.set(Link::Up);
    back_again(browser, &app.url("/callc/main")).await;

    // Redis kept the sessions: everyone carries on without logging in again.
    let main = browser.get(app.url("/callc/main")).send().await.unwrap();
    assert_eq!(main.status().as_u16(), 200);
    assert!(main.text().await.unwrap().contains("/callc/logout"));
    let (status, xml) = {
        let r = legacy.get(app.url("/callc/main")).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    };
    assert_eq!(status, 200, "{xml}");
    assert!(
        xml.contains("<pagename>"),
        "the legacy client's XML page: {xml}"
    );
    let login = fresh
        .get(app.url("/api/login?u=demo&p=demo"))
        .send()
        .await
        .unwrap();
    assert!(login.text().await.unwrap().contains("<status>ok</status>"));
    let form_login = late
        .post(app.url("/callc/login"))
        .form(&[
            ("username", "demo"),
            ("password", "demo"),
            ("csrf_token", late_token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(form_login.status().as_u16(), 303);
    assert_eq!(live_sessions(&app).await, sessions + 2);
}
on_both_databases_with_redis!(pages_answer_503_while_redis_is_down_and_work_again_after);

/// A network cut: Redis accepts nothing and answers nothing. The answer still comes within
/// seconds (the store's timeout), not after minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(selfcare_test_redis), ignore = "SELFCARE_TEST_REDIS is not set")]
async fn a_silent_redis_is_answered_503_within_seconds() {
    let Some(redis_url) = test_redis() else {
        return;
    };
    let link = RedisLink::start(&redis_url).await;
    let url = link.url.clone();
    let app = spawn_demo_app_with_settings(Backend::Sqlite, |s| s.redis_url = Some(url)).await;
    let r = app
        .submit_form(
            "/callc/login",
            &[("username", "demo"), ("password", "demo")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);

    link.set(Link::Silent);
    for path in ["/callc/main", "/stats/call_list"] {
        let started = Instant::now();
        let r = app
            .client
            .get(app.url(path))
            .header("Accept", BROWSER)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{path}: {:?}",
            started.elapsed()
        );
        unavailable(r, "text/html").await;
    }

    link.set(Link::Up);
    back_again(&app.client, &app.url("/callc/main")).await;
}

/// At start, an unreachable Redis stops `serve` at once with the address it tried; no Redis
/// is needed for this one.
#[tokio::test]
async fn startup_with_redis_unreachable_fails_at_once() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut settings = selfcare::Settings::new(
        "127.0.0.1:0",
        Some(selfcare::config::default_sqlite_url(&data)),
        data.clone(),
    )
    .unwrap();
    settings.redis_url = Some(format!("redis://127.0.0.1:{port}"));
    let started = Instant::now();
    let err = match selfcare::Application::build(settings).await {
        Ok(_) => panic!("started without its session store"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        err.starts_with(&format!(
            "SELFCARE_REDIS_URL: cannot connect to Redis at 127.0.0.1:{port}"
        )),
        "{err}"
    );
    let mut settings = selfcare::Settings::new(
        "127.0.0.1:0",
        Some(selfcare::config::default_sqlite_url(&data)),
        data,
    )
    .unwrap();
    settings.redis_url = Some("http://127.0.0.1".into());
    let err = match selfcare::Application::build(settings).await {
        Ok(_) => panic!("started with a URL that is not Redis's"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        err.starts_with("SELFCARE_REDIS_URL: not a Redis URL"),
        "{err}"
    );
}
