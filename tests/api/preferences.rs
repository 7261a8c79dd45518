//! Language and time zone kept in the profile: saved by the personal details form or the
//! header's language switch, used by every later login in any browser; bad values are refused
//! with a message and change nothing.

use crate::common::{browser, spawn_demo_app, Backend, TestApp};
use crate::on_both_databases;

fn location(r: &reqwest::Response) -> &str {
    assert_eq!(r.status().as_u16(), 303);
    r.headers()["location"].to_str().unwrap()
}

async fn stored(app: &TestApp) -> (String, String) {
    sqlx::query_as("SELECT language, time_zone FROM users WHERE username = 'demo'")
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

/// A new browser (its own cookies) logged in as demo: the page's `<html lang>`.
async fn fresh_login_language(app: &TestApp) -> String {
    let client = browser(app, "demo", "AnotherBrowser/1.0").await;
    let html = client
        .get(app.url("/callc/main"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = html.find("<html lang=\"").unwrap() + 12;
    html[at..at + 2].to_string()
}

async fn language_and_time_zone_stay_with_the_subscriber(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.submit_form(
        "/callc/login",
        &[("username", "demo"), ("password", "demo")],
    )
    .await;
    assert_eq!(stored(&app).await.0, "en");

    // The personal details form: both at once; the page shows what is kept.
    let r = app
        .submit_form(
            "/users/preferences",
            &[("language", "ru"), ("time_zone", "Asia/Tokyo")],
        )
        .await;
    assert_eq!(location(&r), "/users/personal_details?done=preferences");
    let html = app
        .get("/users/personal_details?done=preferences")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Язык и часовой пояс сохранены"), "{html}");
    // Chosen in the list of zones, filed under its area and shown without it.
    assert!(html.contains(r#"<option value="Asia/Tokyo" selected>Tokyo</option>"#));
    assert!(html.contains(r#"<optgroup label="Asia">"#));
    assert_eq!(stored(&app).await, ("ru".into(), "Asia/Tokyo".into()));
    // Times are shown in the zone kept: Tokyo's offset.
    let json: serde_json::Value = app
        .get("/users/activity?format=json")
        .await
        .json()
        .await
        .unwrap();
    let date = json["events"][0]["date"].as_str().unwrap();
    assert!(date.ends_with("+09:00"), "{date}");
    // Another browser logging in later starts in Russian.
    assert_eq!(fresh_login_language(&app).await, "ru");

    // The header's switch: the language alone, back to the page it was on.
    let r = app
        .submit_form(
            "/users/preferences",
            &[("language", "en"), ("back", "/stats/call_list")],
        )
        .await;
    assert_eq!(location(&r), "/stats/call_list");
    assert_eq!(stored(&app).await, ("en".into(), "Asia/Tokyo".into()));
    assert_eq!(fresh_login_language(&app).await, "en");
    // `back` never leads off the portal.
    let r = app
        .submit_form(
            "/users/preferences",
            &[("language", "en"), ("back", "//evil.example/")],
        )
        .await;
    assert_eq!(location(&r), "/users/personal_details?done=preferences");

    // Refused, with the reason, and nothing changed.
    for (field, value, says) in [
        (
            "time_zone",
            "Mars/Olympus",
            "Unknown time zone Mars/Olympus",
        ),
        ("language", "xx", "Unknown language xx"),
    ] {
        let r = app
            .client
            .post(app.url("/users/preferences?format=json"))
            .form(&[(field, value), ("csrf_token", &app.csrf_token().await)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_input");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(says),
            "{body}"
        );
        assert_eq!(stored(&app).await, ("en".into(), "Asia/Tokyo".into()));
    }
    // Without a session: nothing to keep it on.
    let r = reqwest::Client::new()
        .post(app.url("/users/preferences?format=json"))
        .form(&[("language", "ru")])
        .send()
        .await
        .unwrap();
    assert!(matches!(r.status().as_u16(), 401 | 403), "{}", r.status());
    // Each change is in the activity log.
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'preferences_changed'")
            .await,
        2
    );
}
on_both_databases!(language_and_time_zone_stay_with_the_subscriber);
