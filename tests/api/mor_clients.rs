//! Clients written against Kolmisoft MOR itself: its `/billing/` installation prefix, and
//! `HEAD` wherever `GET` works.

use crate::common::{spawn_demo_app, Backend};
use crate::on_both_databases;

async fn the_billing_prefix_and_head_requests_work(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    // A program logs in under MOR's prefix (a form POST, no browser, no CSRF token) and reads
    // pages under it.
    let r = app
        .post_form("/billing/api/login", &[("u", "demo"), ("p", "demo")])
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let xml = r.text().await.unwrap();
    assert!(xml.contains("<status>ok</status>"), "{xml}");
    let r = app.get("/billing/callc/main?format=xml").await;
    assert_eq!(r.status().as_u16(), 200);
    let xml = r.text().await.unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "page");
    // Not a prefix: `/billingx/…` is not MOR's folder.
    assert_eq!(app.get("/billingx/callc/main").await.status().as_u16(), 404);

    // HEAD answers as GET would, without the body.
    let get = app.get("/callc/main?format=xml").await;
    let length = get.headers()["content-length"].clone();
    let content_type = get.headers()["content-type"].clone();
    let body = get.bytes().await.unwrap();
    let head = app
        .client
        .head(app.url("/callc/main?format=xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status().as_u16(), 200);
    assert_eq!(head.headers()["content-length"], length);
    assert_eq!(head.headers()["content-type"], content_type);
    assert_eq!(length.to_str().unwrap(), body.len().to_string());
    assert!(head.bytes().await.unwrap().is_empty());
    let head = app
        .client
        .head(app.url("/billing/callc/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status().as_u16(), 200);
    // A route without GET has no HEAD either.
    let head = app
        .client
        .head(app.url("/callc/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status().as_u16(), 405);
}
on_both_databases!(the_billing_prefix_and_head_requests_work);

async fn lists_keep_their_query_and_page_size(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.legacy_login("demo", "demo").await;
    // The phonebook's short address keeps the format and the search on its way.
    let r = app.get("/phonebooks/list?format=json&q=Office").await;
    assert_eq!(r.status().as_u16(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.ends_with("?format=json&q=Office"), "{to}");
    let r = app.get(&to).await;
    assert_eq!(r.status().as_u16(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(v.is_object());

    // Missed calls take `per_page` like the call list, and page with it.
    let period = "period_start=2000-01-01&period_end=2100-01-01";
    let page = |q: String| {
        let app = &app;
        async move {
            let r = app
                .get(&format!("/stats/missed_calls?{q}&format=json"))
                .await;
            assert_eq!(r.status().as_u16(), 200, "{q}");
            r.json::<serde_json::Value>().await.unwrap()
        }
    };
    let v = page(format!("{period}&per_page=3")).await;
    assert_eq!(v["calls"].as_array().unwrap().len(), 3);
    let older = v["older_url"].as_str().expect("an older page").to_string();
    assert!(older.contains("per_page=3"), "{older}");
    let next = page(older.split_once('?').unwrap().1.to_string()).await;
    assert_eq!(next["calls"].as_array().unwrap().len(), 3);
    assert_ne!(next["calls"][0], v["calls"][0]);
    let r = app
        .get(&format!(
            "/stats/missed_calls?{period}&per_page=0&format=json"
        ))
        .await;
    assert_eq!(r.status().as_u16(), 400);
}
on_both_databases!(lists_keep_their_query_and_page_size);
