//! Every XML page parses whatever is in the data: characters XML 1.0 forbids (U+FFFF, C0
//! controls), as a PBX or an outside caller may put them in a call record, are replaced on the
//! way out; forms refuse them on the way in.

use crate::common::{spawn_demo_app, structure, text_of, Backend, TestApp};
use crate::on_both_databases;

const BAD: &str = "A\u{FFFF}B\u{1}C\u{FFFE}D\u{1B}";

async fn exec(app: &TestApp, sql: &str) {
    sqlx::query(sql).execute(app.store.pool()).await.expect(sql);
}

on_both_databases!(xml_pages_parse_whatever_the_data_holds);
async fn xml_pages_parse_whatever_the_data_holds(b: Backend) {
    let app = spawn_demo_app(b).await;
    let demo = app
        .scalar("SELECT id FROM users WHERE username = 'demo'")
        .await;
    // As data arrives from outside: straight into the tables.
    exec(
        &app,
        &format!("UPDATE users SET first_name = '{BAD}', reg_city = '{BAD}' WHERE id = {demo}"),
    )
    .await;
    exec(
        &app,
        &format!("UPDATE phonebook_entries SET name = '{BAD}' WHERE user_id = {demo}"),
    )
    .await;
    exec(&app, &format!(
        "UPDATE clis SET description = '{BAD}' WHERE device_id IN (SELECT id FROM devices WHERE user_id = {demo})"
    )).await;
    exec(
        &app,
        &format!("UPDATE calls SET src = '{BAD}', dst = '{BAD}' WHERE user_id = {demo}"),
    )
    .await;
    let (status, _) = app.legacy_login("demo", "demo").await;
    assert_eq!(status, 200);
    for page in [
        "/callc/main".to_string(),
        "/users/personal_details".to_string(),
        format!("/phonebooks/list/{demo}"),
        format!("/phonebooks/list/{demo}?q=%EF%BF%BF"),
        "/devices/user_device_clis".to_string(),
        "/stats/call_list".to_string(),
        "/stats/new_calls_list".to_string(),
        "/stats/missed_calls".to_string(),
        "/stats/call_list?period_start=%EF%BF%BF".to_string(),
        "/payments/topup".to_string(),
        "/users/activity".to_string(),
    ] {
        let (status, xml) = app.get_xml(&page).await;
        assert!(status != 500, "{page}: 500");
        structure(&xml); // panics, naming the page's text, when it is not well-formed
        assert!(!xml.contains('\u{FFFF}'), "{page}");
    }
    let (_, xml) = app.get_xml("/callc/main").await;
    assert_eq!(
        text_of(&xml, "username").split(' ').next().unwrap(),
        "A\u{FFFD}B\u{FFFD}C\u{FFFD}D\u{FFFD}"
    );

    // Forms refuse such text, with a message, and change nothing.
    let r = app
        .post_form(
            &format!("/phonebooks/add_new/{demo}"),
            &[("number", "+44 20 7946 0999"), ("name", "Ann\u{FFFF}")],
        )
        .await;
    assert_eq!(r.status(), 400);
    let xml = r.text().await.unwrap();
    assert!(
        text_of(&xml, "status_message").contains("cannot be shown"),
        "{xml}"
    );
    let n = app
        .scalar(&format!("SELECT COUNT(*) FROM phonebook_entries WHERE user_id = {demo} AND number LIKE '%79460999%'"))
        .await;
    assert_eq!(n, 0);
}
