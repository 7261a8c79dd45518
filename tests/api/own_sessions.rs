//! One's own sessions: the page lists every live login (browser or legacy client, address,
//! browser, how it logged in), ends one of them or all others, and an ended session's cookie
//! is refused on its next request.

use crate::with_tools;
use serde_json::Value;

use crate::common::{browser, csrf, spawn_demo_app, Backend, TestApp};
use crate::on_both_databases;

/// A browser of its own (cookie jar, no redirects followed), logged in as `user`.
async fn sessions(app: &TestApp, client: &reqwest::Client) -> Vec<Value> {
    let r = client
        .get(app.url("/users/sessions?format=json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let page: Value = r.json().await.unwrap();
    page["sessions"].as_array().unwrap().clone()
}

async fn main_page_status(app: &TestApp, client: &reqwest::Client) -> u16 {
    client
        .get(app.url("/callc/main"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn post(app: &TestApp, client: &reqwest::Client, path: &str) -> reqwest::Response {
    let token = csrf(app, client, "/users/sessions").await;
    client
        .post(app.url(path))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap()
}

async fn a_subscriber_sees_and_ends_his_sessions(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let laptop = browser(&app, "demo", "Laptop/1.0").await;
    let phone = browser(&app, "demo", "Phone/2.0").await;
    let legacy = reqwest::Client::builder()
        .cookie_store(true)
        .user_agent("LegacyClient/3")
        .build()
        .unwrap();
    let r = legacy
        .get(app.url("/api/login?u=demo&p=demo"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let other = browser(&app, "demo2", "Other/1.0").await;

    let listed = sessions(&app, &laptop).await;
    assert_eq!(
        listed.len(),
        3,
        "demo's three sessions, not demo2's: {listed:#?}"
    );
    let by_agent = |agent: &str| {
        listed
            .iter()
            .find(|s| s["user_agent"] == agent)
            .unwrap_or_else(|| panic!("{agent} listed"))
            .clone()
    };
    let (mine, on_phone, api) = (
        by_agent("Laptop/1.0"),
        by_agent("Phone/2.0"),
        by_agent("LegacyClient/3"),
    );
    assert_eq!(mine["current"], true);
    assert_eq!(on_phone["current"], false);
    assert_eq!(mine["kind"], "web");
    assert_eq!(api["kind"], "api");
    assert_eq!(mine["method"], "password");
    assert_eq!(mine["address"], "127.0.0.1");
    assert!(
        chrono::DateTime::parse_from_rfc3339(mine["started"].as_str().unwrap()).is_ok(),
        "{mine}"
    );

    // The XML page lists the same sessions.
    let xml = laptop
        .get(app.url("/users/sessions?format=xml"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("session"))
            .count(),
        3
    );

    // Someone else's session is not found, and stays alive.
    let theirs = sessions(&app, &other).await[0]["session_id"]
        .as_i64()
        .unwrap();
    let r = post(&app, &laptop, &format!("/users/sessions/{theirs}/end")).await;
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(main_page_status(&app, &other).await, 200);
    let r = post(&app, &laptop, "/users/sessions/not-a-number/end").await;
    assert_eq!(r.status().as_u16(), 404);

    // Ending the phone's session: its cookie is refused next, the laptop goes on.
    assert_eq!(main_page_status(&app, &phone).await, 200);
    let id = on_phone["session_id"].as_i64().unwrap();
    let r = post(&app, &laptop, &format!("/users/sessions/{id}/end")).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        "/users/sessions?done=ended"
    );
    assert_eq!(main_page_status(&app, &phone).await, 303, "sent to log in");
    assert_eq!(main_page_status(&app, &laptop).await, 200);
    let page = laptop
        .get(app.url("/users/sessions?done=ended"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("The session has been ended."));
    // Ending it again: it is gone.
    let r = post(&app, &laptop, &format!("/users/sessions/{id}/end")).await;
    assert_eq!(r.status().as_u16(), 404);

    // "End all others" ends the legacy client's session and keeps this one.
    let r = legacy
        .get(app.url("/callc/main?format=xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = post(&app, &laptop, "/users/sessions/end_others").await;
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        "/users/sessions?done=ended_others&n=1"
    );
    let r = legacy
        .get(app.url("/callc/main?format=xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "the legacy session is over");
    let left = sessions(&app, &laptop).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["current"], true);
    assert_eq!(main_page_status(&app, &other).await, 200, "demo2 untouched");

    // Ending this very session logs out here.
    let id = left[0]["session_id"].as_i64().unwrap();
    let r = post(&app, &laptop, &format!("/users/sessions/{id}/end")).await;
    assert_eq!(r.headers()["location"].to_str().unwrap(), "/callc/login");
    assert_eq!(main_page_status(&app, &laptop).await, 303);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'session_ended'")
            .await,
        2
    );
}
on_both_databases!(a_subscriber_sees_and_ends_his_sessions);

with_tools!(the_identity_pages_in_the_browser, needs chromium);
/// The sessions page, the account tree and the two-factor page in a browser, on a desktop and a
/// phone: nothing to scroll sideways, the QR code drawn, and ending the other session from the
/// page.
async fn the_identity_pages_in_the_browser() {
    let app = spawn_demo_app(Backend::Sqlite).await;
    for (width, height, name) in [(1366, 900, "desktop"), (390, 844, "phone")] {
        let other = browser(
            &app,
            "demo",
            "Mozilla/5.0 (X11; Linux x86_64) OtherBrowser/1.0",
        )
        .await;
        let Some(b) = crate::browser::Browser::start(width, height).await else {
            return;
        };
        b.log_in(&app.address, "demo", "demo").await;
        b.go(&format!("{}/accounts/tree", app.address)).await;
        assert!(b.fits_sideways().await, "account tree on {name}");
        let heading = b.text(&b.find("section.card h2").await).await;
        assert!(heading.starts_with("Main account"), "{heading}");
        b.screenshot(&format!("account-tree-{name}")).await;

        b.go(&format!("{}/users/two_factor", app.address)).await;
        // The key is made when asked for (once: the next sizes show it at once).
        let ask = b.all("form[action='/users/two_factor/enrol'] button").await;
        if let Some(button) = ask.first() {
            b.click(button).await;
        }
        b.find("svg").await;
        assert!(b.fits_sideways().await, "two-factor page on {name}");
        assert_eq!(b.all("svg").await.len(), 1, "the QR code");
        b.screenshot(&format!("two-factor-{name}")).await;

        b.go(&format!("{}/users/sessions", app.address)).await;
        assert!(b.fits_sideways().await, "sessions on {name}");
        assert_eq!(b.all("li.session").await.len(), 2);
        let this = b.text(&b.find("li.session.current .tag").await).await;
        assert_eq!(this, "this session");
        b.screenshot(&format!("sessions-{name}")).await;
        b.click(
            &b.find("form[action='/users/sessions/end_others'] button")
                .await,
        )
        .await;
        b.wait_for_url("done=ended_others").await;
        let notice = b.text(&b.find(".notice").await).await;
        assert_eq!(notice, "Other sessions ended: 1.");
        assert_eq!(b.all("li.session").await.len(), 1);
        assert_eq!(main_page_status(&app, &other).await, 303);
        // "Log out here" ends this one too.
        b.click(&b.find("li.session.current form button").await)
            .await;
        b.wait_for_url("/callc/login").await;
        b.quit().await;
    }
}
