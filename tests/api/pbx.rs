//! Faxes and callbacks: the seed's pages, filters checked against SQL, fax files for their owner
//! only, and the callback's manager-interface exchange against a fake Asterisk in the test.

use std::collections::HashMap;

use chrono::TimeZone;
use selfcare::config::AmiSettings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::common::{
    spawn_demo_app, spawn_demo_app_with_settings, structure, text_of, Backend, TestApp,
};
use crate::on_both_databases;

/// The seed's faxes page down to `<faxes>`, then one `FAX` block per fax, then nothing.
const FAXES_HEAD: &str = "\
page
  pagename
  language
  error_msg
  userid
  show_device
  username
  aval_languages
    language
    language
  faxes
    period
      period_start
      period_end
";
/// The seed's `<fax>` and the extra `<fax_id>` (the key of the fax's file).
const FAX: &str = concat!(
    "    fax\n",
    "      device\n",
    "      filename\n",
    "      receive_time\n",
    "      sender\n",
    "      status\n",
    "      fax_id\n",
);
const ACTION: &str = "action\n  name\n  status\n  status_message\n";

/// The faxes, then the page links (a trailing element beyond the seed).
pub(crate) fn faxes_structure(count: usize) -> String {
    format!(
        "{FAXES_HEAD}{}  paging\n    next\n    prev\n",
        FAX.repeat(count)
    )
}

/// Every text of the elements called `name`, in document order.
pub(crate) fn texts(xml: &str, name: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).expect("XML");
    doc.descendants()
        .filter(|n| n.has_tag_name(name))
        .map(|n| n.text().unwrap_or("").to_string())
        .collect()
}

pub(crate) async fn user_id(app: &TestApp, name: &str) -> i64 {
    app.scalar(&format!("SELECT id FROM users WHERE username = '{name}'"))
        .await
}

async fn device_of(app: &TestApp, user: i64, kind: &str) -> i64 {
    app.scalar(&format!(
        "SELECT MIN(id) FROM devices WHERE user_id = {user} AND device_type = '{kind}'"
    ))
    .await
}

/// The user's desk phone, with the numbers the callback tests ring first added as its caller
/// IDs (as the subscriber would on the CLIs page): a callback rings only the user's own numbers.
async fn callback_phone(app: &TestApp, user: i64) -> i64 {
    let phone = device_of(app, user, "SIP").await;
    for cli in ["447700900123", "4477009001"] {
        sqlx::query(
            "INSERT INTO clis (device_id, cli, description, added_at) VALUES ($1, $2, 'Mobile', 0)",
        )
        .bind(phone)
        .bind(cli)
        .execute(app.store.pool())
        .await
        .unwrap();
    }
    phone
}

async fn faxes_xml(app: &TestApp, path: &str) -> (u16, String) {
    let r = app.get(path).await;
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

const ALL_TIME: &str = "period_start=2000-01-01&period_end=2100-01-01";

async fn faxes_list_is_the_seed_page_with_every_fax_newest_first(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.legacy_login("demo", "demo").await;
    let me = user_id(&app, "demo").await;

    let (status, xml) = faxes_xml(&app, &format!("/stats/faxes_list/{me}?{ALL_TIME}")).await;
    assert_eq!(status, 200, "{xml}");
    let expected: Vec<(i64, String, String, String)> = sqlx::query_as(
        "SELECT f.id, f.file_name, f.sender, d.device_type || '/' || d.username
         FROM faxes f JOIN devices d ON d.id = f.device_id
         WHERE f.user_id = $1 ORDER BY f.received_at DESC, f.id DESC",
    )
    .bind(me)
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    assert_eq!(expected.len(), 5, "the demo writes five faxes per user");
    assert_eq!(structure(&xml), faxes_structure(expected.len()));
    assert_eq!(text_of(&xml, "pagename"), "Faxes");
    assert_eq!(text_of(&xml, "userid"), me.to_string());
    assert_eq!(text_of(&xml, "show_device"), "all");
    assert_eq!(text_of(&xml, "username"), "John Smith");
    assert_eq!(text_of(&xml, "period_start"), "2000-01-01 00:00:00");
    assert_eq!(text_of(&xml, "period_end"), "2100-01-01 23:59:59");
    let ids: Vec<String> = expected.iter().map(|f| f.0.to_string()).collect();
    assert_eq!(texts(&xml, "fax_id"), ids);
    let names: Vec<String> = expected.iter().map(|f| f.1.clone()).collect();
    assert_eq!(texts(&xml, "filename"), names);
    let senders: Vec<String> = expected.iter().map(|f| f.2.clone()).collect();
    assert_eq!(texts(&xml, "sender"), senders);
    let devices: Vec<String> = expected.iter().map(|f| f.3.clone()).collect();
    assert_eq!(texts(&xml, "device"), devices);
    assert!(devices.iter().all(|d| d.starts_with("FAX/")));
    for s in texts(&xml, "status") {
        assert!(["Received", "Sent", "Failed"].contains(&s.as_str()), "{s}");
    }
    // Times are the subscriber's (Europe/London), as the seed writes them.
    let first_at = app
        .scalar(&format!(
            "SELECT received_at FROM faxes WHERE id = {}",
            ids[0]
        ))
        .await;
    let london: chrono_tz::Tz = "Europe/London".parse().unwrap();
    let shown = chrono::Utc
        .timestamp_opt(first_at, 0)
        .unwrap()
        .with_timezone(&london)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    assert_eq!(texts(&xml, "receive_time")[0], shown);

    // The seed's POST gives the same page.
    let r = app
        .post_form(
            &format!("/stats/faxes_list/{me}"),
            &[
                ("userid", &me.to_string()),
                ("search_on", "1"),
                ("period_start", "2000-01-01"),
                ("period_end", "2100-01-01"),
                ("fax_status", "all"),
                ("device_id", "all"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.unwrap(), xml);
}
on_both_databases!(faxes_list_is_the_seed_page_with_every_fax_newest_first);

async fn fax_filters_match_counts_in_sql(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.legacy_login("demo", "demo").await;
    let me = user_id(&app, "demo").await;
    let fax_device = device_of(&app, me, "FAX").await;
    let phone = device_of(&app, me, "SIP").await;

    for status in ["all", "received", "sent", "failed"] {
        for device in ["all".to_string(), fax_device.to_string(), phone.to_string()] {
            let (code, xml) = faxes_xml(
                &app,
                &format!(
                    "/stats/faxes_list/{me}?{ALL_TIME}&fax_status={status}&device_id={device}"
                ),
            )
            .await;
            assert_eq!(code, 200, "{xml}");
            let mut sql = format!("SELECT COUNT(*) FROM faxes WHERE user_id = {me}");
            if status != "all" {
                sql += &format!(" AND status = '{status}'");
            }
            if device != "all" {
                sql += &format!(" AND device_id = {device}");
            }
            let expected = app.scalar(&sql).await;
            assert_eq!(
                texts(&xml, "fax").len() as i64,
                expected,
                "status {status}, device {device}"
            );
            assert_eq!(text_of(&xml, "show_device"), device);
        }
    }
    assert!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM faxes WHERE user_id = {me} AND status = 'received'"
        ))
        .await
            > 0
    );

    // A period between the second and the fourth fax, to the second, in the user's zone.
    let times: Vec<(i64,)> =
        sqlx::query_as("SELECT received_at FROM faxes WHERE user_id = $1 ORDER BY received_at")
            .bind(me)
            .fetch_all(app.store.pool())
            .await
            .unwrap();
    let london: chrono_tz::Tz = "Europe/London".parse().unwrap();
    let local = |at: i64| {
        chrono::Utc
            .timestamp_opt(at, 0)
            .unwrap()
            .with_timezone(&london)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let (from, to) = (times[1].0, times[3].0);
    let path = format!(
        "/stats/faxes_list/{me}?period_start={}&period_end={}",
        local(from).replace(' ', "%20"),
        local(to).replace(' ', "%20")
    );
    let (_, xml) = faxes_xml(&app, &path).await;
    let expected = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM faxes WHERE user_id = {me} AND received_at BETWEEN {from} AND {to}"
        ))
        .await;
    assert_eq!(texts(&xml, "fax").len() as i64, expected);
    assert_eq!(text_of(&xml, "period_start"), local(from));
    assert_eq!(text_of(&xml, "period_end"), local(to));

    // Without a period: the last 30 days, today included, from local midnight.
    let today = chrono::Utc::now().with_timezone(&london).date_naive();
    let first_day = today - chrono::Days::new(29);
    let (_, xml) = faxes_xml(&app, &format!("/stats/faxes_list/{me}")).await;
    assert_eq!(
        text_of(&xml, "period_start"),
        format!("{first_day} 00:00:00")
    );
    assert_eq!(text_of(&xml, "period_end"), format!("{today} 23:59:59"));
    let start = london
        .from_local_datetime(&first_day.and_hms_opt(0, 0, 0).unwrap())
        .earliest()
        .unwrap()
        .timestamp();
    let expected = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM faxes WHERE user_id = {me} AND received_at >= {start}"
        ))
        .await;
    assert_eq!(texts(&xml, "fax").len() as i64, expected);
}
on_both_databases!(fax_filters_match_counts_in_sql);

async fn fax_text_is_escaped_in_xml_and_html(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let me = user_id(&app, "demo").await;
    let fax_device = device_of(&app, me, "FAX").await;
    let evil = r#"<&"> x"#;
    sqlx::query(
        "INSERT INTO faxes (user_id, device_id, received_at, sender, status, file_name, file_path)
         VALUES ($1, $2, $3, $4, 'received', $5, 'faxes/none.pdf')",
    )
    .bind(me)
    .bind(fax_device)
    .bind(chrono::Utc::now().timestamp() - 60)
    .bind(evil)
    .bind(format!("{evil}.pdf"))
    .execute(app.store.pool())
    .await
    .unwrap();

    app.submit_form(
        "/callc/login",
        &[("username", "demo"), ("password", "demo")],
    )
    .await;
    let html = app
        .get(&format!("/stats/faxes_list/{me}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("&#60;&#38;&#34;&#62; x"), "{html}");
    assert!(!html.contains(evil));

    let (_, xml) = app.get_xml(&format!("/stats/faxes_list/{me}")).await;
    assert_eq!(texts(&xml, "sender")[0], evil);
    assert_eq!(texts(&xml, "filename")[0], format!("{evil}.pdf"));
}
on_both_databases!(fax_text_is_escaped_in_xml_and_html);

async fn fax_files_are_served_to_their_owner_only(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.submit_form(
        "/callc/login",
        &[("username", "demo"), ("password", "demo")],
    )
    .await;
    let me = user_id(&app, "demo").await;
    let other = user_id(&app, "demo2").await;
    let (mine, name, path): (i64, String, String) = sqlx::query_as(
        "SELECT id, file_name, file_path FROM faxes WHERE user_id = $1 ORDER BY id LIMIT 1",
    )
    .bind(me)
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    let theirs = app
        .scalar(&format!(
            "SELECT MIN(id) FROM faxes WHERE user_id = {other}"
        ))
        .await;

    let r = app.get(&format!("/stats/fax_file/{mine}")).await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(disposition, format!("inline; filename=\"{name}\""));
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF"));
    assert_eq!(
        bytes.as_ref(),
        std::fs::read(app.data_dir.join(&path)).unwrap()
    );

    let r = app.get(&format!("/stats/fax_file/{mine}?download=1")).await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()["content-disposition"],
        format!("attachment; filename=\"{name}\"").as_str()
    );
    assert!(r.bytes().await.unwrap().starts_with(b"%PDF"));

    // Another user's fax, a fax that does not exist, and no number at all: not found.
    for id in [theirs.to_string(), "999999".into(), "abc".into()] {
        let r = app.get(&format!("/stats/fax_file/{id}")).await;
        assert_eq!(r.status().as_u16(), 404, "{id}");
        let body = r.text().await.unwrap();
        assert!(!body.starts_with("%PDF"), "{id}");
    }
    // Another user's list.
    assert_eq!(
        app.get(&format!("/stats/faxes_list/{other}"))
            .await
            .status()
            .as_u16(),
        404
    );
    let (status, xml) = app.get_xml(&format!("/stats/faxes_list/{other}")).await;
    assert_eq!(status, 404);
    assert_eq!(structure(&xml), ACTION);
    assert_eq!(text_of(&xml, "name"), "faxes_list");
    // Filtering by another user's device.
    let their_device = device_of(&app, other, "FAX").await;
    let r = app
        .get(&format!("/stats/faxes_list/{me}?device_id={their_device}"))
        .await;
    assert_eq!(r.status().as_u16(), 404);

    // The navigation's link leads to the user's own list.
    let r = app.get("/stats/faxes").await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        r.headers()["location"],
        format!("/stats/faxes_list/{me}").as_str()
    );

    // Without a session there is no file.
    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = anonymous
        .get(app.url(&format!("/stats/fax_file/{mine}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
}
on_both_databases!(fax_files_are_served_to_their_owner_only);

async fn fax_files_outside_the_data_directory_or_missing_are_not_found(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.legacy_login("demo", "demo").await;
    let me = user_id(&app, "demo").await;
    let ids: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, file_path FROM faxes WHERE user_id = $1 ORDER BY id")
            .bind(me)
            .fetch_all(app.store.pool())
            .await
            .unwrap();
    let outside = app.data_dir.parent().unwrap().join("outside.pdf");
    std::fs::write(&outside, b"%PDF-1.4 not yours").unwrap();
    let escapes = [
        "../outside.pdf".to_string(),
        "faxes/../../outside.pdf".to_string(),
        outside.display().to_string(),
    ];
    for (i, bad) in escapes.iter().enumerate() {
        sqlx::query("UPDATE faxes SET file_path = $1 WHERE id = $2")
            .bind(bad)
            .bind(ids[i].0)
            .execute(app.store.pool())
            .await
            .unwrap();
        let r = app.get(&format!("/stats/fax_file/{}", ids[i].0)).await;
        assert_eq!(r.status().as_u16(), 404, "{bad}");
        let body = r.text().await.unwrap();
        assert!(!body.contains("not yours"), "{bad}");
    }

    // A file that has gone: a clear message, in the page's format.
    let (id, path) = &ids[3];
    std::fs::remove_file(app.data_dir.join(path)).unwrap();
    let r = app.get(&format!("/stats/fax_file/{id}")).await;
    assert_eq!(r.status().as_u16(), 404);
    let xml = r.text().await.unwrap();
    assert_eq!(structure(&xml), ACTION);
    assert_eq!(text_of(&xml, "name"), "fax_file");
    assert!(
        text_of(&xml, "status_message").contains("missing on the server"),
        "{xml}"
    );
    // The list still works and still names the fax.
    let (status, xml) = faxes_xml(&app, &format!("/stats/faxes_list/{me}?{ALL_TIME}")).await;
    assert_eq!(status, 200);
    assert!(texts(&xml, "fax_id").contains(&id.to_string()));
}
on_both_databases!(fax_files_outside_the_data_directory_or_missing_are_not_found);

async fn bad_fax_filters_are_answered_with_the_seed_error_msg(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.legacy_login("demo", "demo").await;
    let me = user_id(&app, "demo").await;
    let cases = [
        ("period_start=2024-13-01", "not a date"),
        ("period_end=yesterday", "not a date"),
        ("period_start=2024-05-01%2025:00:00", "not a date"),
        (
            "period_start=2024-05-02&period_end=2024-05-01",
            "ends before it starts",
        ),
        ("fax_status=lost", "Unknown fax status"),
        ("device_id=FAX%2F102", "Unknown device"),
    ];
    for (query, message) in cases {
        let (status, xml) = faxes_xml(&app, &format!("/stats/faxes_list/{me}?{query}")).await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(structure(&xml), faxes_structure(0), "{query}");
        assert!(
            text_of(&xml, "error_msg").contains(message),
            "{query}: {xml}"
        );
    }

    // A browser gets the form back with the message, in its language.
    let app = spawn_demo_app(backend).await;
    app.submit_form(
        "/callc/login",
        &[("username", "demo2"), ("password", "demo2")],
    )
    .await;
    let other = user_id(&app, "demo2").await;
    let r = app
        .get(&format!(
            "/stats/faxes_list/{other}?period_start=2024-05-02&period_end=2024-05-01"
        ))
        .await;
    assert_eq!(r.status().as_u16(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("role=\"alert\""), "{html}");
    assert!(html.contains("Период заканчивается раньше, чем начинается"));
}
on_both_databases!(bad_fax_filters_are_answered_with_the_seed_error_msg);

async fn callback_input_is_validated_and_nothing_is_recorded(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.legacy_login("demo", "demo").await;
    let me = user_id(&app, "demo").await;
    let phone = callback_phone(&app, me).await.to_string();
    let fax = device_of(&app, me, "FAX").await.to_string();
    let theirs = device_of(&app, user_id(&app, "demo2").await, "SIP")
        .await
        .to_string();

    let refused = [
        ("12", "4420794600", phone.as_str(), "Your number"),
        ("4477009001", "", phone.as_str(), "Destination number"),
        (
            "4477009001",
            "123456789012345678901",
            phone.as_str(),
            "Destination number",
        ),
        (
            "+44 7700 900123",
            "*97",
            phone.as_str(),
            "Destination number",
        ),
        (
            "4477009001\r\nAction: Command",
            "4420794600",
            phone.as_str(),
            "Your number",
        ),
        (
            "4477009001",
            "100@other",
            phone.as_str(),
            "Destination number",
        ),
        ("4477009001", "4420794600", "", "phone devices"),
        ("4477009001", "4420794600", "SIP/101", "phone devices"),
        ("4477009001", "4420794600", fax.as_str(), "phone devices"),
        ("4477009001", "447-7009-001", phone.as_str(), "the same"),
        (
            "4420794601",
            "4477009001",
            phone.as_str(),
            "must be one of your phones",
        ),
    ];
    for (src, dst, acc, message) in refused {
        let r = app
            .client
            .post(app.url("/functions/activate_callback"))
            .query(&[("src", src), ("dst", dst), ("acc", acc)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{src} {dst} {acc}");
        let xml = r.text().await.unwrap();
        assert_eq!(structure(&xml), ACTION);
        assert_eq!(text_of(&xml, "name"), "callback");
        assert_eq!(text_of(&xml, "status"), "failed");
        assert!(
            text_of(&xml, "status_message").contains(message),
            "{src} {dst} {acc}: {xml}"
        );
    }
    // Another user's device is not found, like any id that is not the user's.
    let r = app
        .client
        .post(app.url("/functions/activate_callback"))
        .query(&[
            ("src", "4477009001"),
            ("dst", "4420794600"),
            ("acc", &theirs),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM callback_requests").await,
        0
    );

    // A browser gets the form back with the messages and what was typed, escaped.
    let app = spawn_demo_app(backend).await;
    app.submit_form(
        "/callc/login",
        &[("username", "demo"), ("password", "demo")],
    )
    .await;
    let r = app
        .submit_form(
            "/functions/activate_callback",
            &[("src", "<&\">"), ("dst", "4420794600"), ("acc", &phone)],
        )
        .await;
    assert_eq!(r.status().as_u16(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("value=\"&#60;&#38;&#34;&#62;\""), "{html}");
    assert!(html.contains("3 to 20 digits"));
    assert!(html.contains("value=\"4420794600\""));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM callback_requests").await,
        0
    );
}
on_both_databases!(callback_input_is_validated_and_nothing_is_recorded);

async fn callback_without_a_pbx_is_recorded_as_queued(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.legacy_login("demo", "demo").await;
    let me = user_id(&app, "demo").await;
    let phone = callback_phone(&app, me).await;

    let r = app
        .client
        .post(app.url("/functions/activate_callback"))
        .query(&[
            ("src", "+44 7700 900123"),
            ("dst", "4420794600"),
            ("acc", &phone.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let xml = r.text().await.unwrap();
    assert_eq!(structure(&xml), ACTION);
    assert_eq!(text_of(&xml, "status"), "ok");
    assert_eq!(
        text_of(&xml, "status_message"),
        "Request saved: callbacks are not switched on yet"
    );
    let (src, dst, device, status): (String, String, i64, String) = sqlx::query_as(
        "SELECT src, dst, device_id, status FROM callback_requests WHERE user_id = $1",
    )
    .bind(me)
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    assert_eq!(
        (src.as_str(), dst.as_str(), device, status.as_str()),
        ("+447700900123", "4420794600", phone, "queued")
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE user_id = {me} AND action = 'callback_requested'"
        ))
        .await,
        1
    );

    let (status, page) = app.get_xml("/functions/callback").await;
    assert_eq!(status, 200);
    assert_eq!(text_of(&page, "pbx_configured"), "0");
    assert_eq!(texts(&page, "callback").len(), 1);
    assert_eq!(text_of(&page, "status"), "queued");
    assert_eq!(text_of(&page, "src"), "+447700900123");

    // The page's own form: a redirect back to the page, which says there is no PBX.
    let web = spawn_demo_app(backend).await;
    web.submit_form(
        "/callc/login",
        &[("username", "demo"), ("password", "demo")],
    )
    .await;
    let phone = callback_phone(&web, user_id(&web, "demo").await).await;
    let html = web.get("/functions/callback").await.text().await.unwrap();
    assert!(html.contains("Your operator has not switched callbacks on yet"));
    assert!(
        html.contains("<option value=\"4477009001\">"),
        "the form offers the user's own numbers"
    );
    assert!(html.contains("No callback requests yet"));
    let r = web
        .submit_form(
            "/functions/activate_callback",
            &[
                ("src", "4477009001"),
                ("dst", "4420794600"),
                ("acc", &phone.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/functions/callback?requested=1");
    let html = web
        .get("/functions/callback?requested=1")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Callback requested"));
    assert!(html.contains("4477009001"));
    assert!(html.contains("Queued"));

    // Nobody else sees the request.
    let other = spawn_demo_app(backend).await;
    other.legacy_login("demo2", "demo2").await;
    let (_, page) = other.get_xml("/functions/callback").await;
    assert_eq!(texts(&page, "callback").len(), 0);
}
on_both_databases!(callback_without_a_pbx_is_recorded_as_queued);

// ---------------------------------------------------------------------------------------------
// A fake Asterisk manager: it checks nothing itself, it records each action's raw bytes and
// answers as Asterisk 18 does, so the test can assert on exactly what went over the wire.

#[derive(Clone, Copy, Debug)]
enum Script {
    /// Login accepted, originate queued, `OriginateResponse` Success.
    Answer,
    /// Login accepted, originate queued, `OriginateResponse` Failure with reason 5.
    Busy,
    /// Login accepted, originate refused with `Response: Error`.
    RefuseOriginate,
    /// Login refused.
    RefuseLogin,
}

const SECRET: &str = "s3cret: with colon";

/// Serves one connection per script, in order, then stops listening. Each conversation's
/// actions (raw bytes as text) are sent on the channel when the portal has ended it.
async fn fake_asterisk(scripts: Vec<Script>) -> (u16, mpsc::UnboundedReceiver<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        for script in scripts {
            let (stream, _) = listener.accept().await.unwrap();
            let actions = converse(stream, script).await;
            if tx.send(actions).is_err() {
                return;
            }
        }
    });
    (port, rx)
}

async fn converse(mut s: TcpStream, script: Script) -> Vec<String> {
    let mut buf = Vec::new();
    let mut actions = Vec::new();
    s.write_all(b"Asterisk Call Manager/5.0.1\r\n")
        .await
        .unwrap();
    while let Some(action) = read_action(&mut s, &mut buf).await {
        actions.push(action.clone());
        let f = fields(&action);
        let id = f.get("ActionID").cloned().unwrap_or_default();
        let reply = match (f.get("Action").map(String::as_str), script) {
            (Some("Login"), Script::RefuseLogin) => {
                format!("Response: Error\r\nActionID: {id}\r\nMessage: Authentication failed\r\n\r\n")
            }
            (Some("Login"), _) => format!(
                "Response: Success\r\nActionID: {id}\r\nMessage: Authentication accepted\r\n\r\n\
                 Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 12\r\nLastReload: 12\r\nStatus: Fully Booted\r\n\r\n"
            ),
            (Some("Originate"), Script::RefuseOriginate) => {
                format!("Response: Error\r\nActionID: {id}\r\nMessage: Extension does not exist.\r\n\r\n")
            }
            (Some("Originate"), script) => {
                let (response, reason) = match script {
                    Script::Busy => ("Failure", 5),
                    _ => ("Success", 4),
                };
                let channel = f.get("Channel").cloned().unwrap_or_default();
                format!(
                    "Response: Success\r\nActionID: {id}\r\nMessage: Originate successfully queued\r\n\r\n\
                     Event: Newchannel\r\nPrivilege: call,all\r\nChannel: {channel}-00000001;1\r\nUniqueid: 1700000000.1\r\n\r\n\
                     Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: other-{id}\r\nResponse: Failure\r\nReason: 0\r\n\r\n\
                     Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: {id}\r\nResponse: {response}\r\n\
                     Channel: {channel}-00000001;1\r\nContext: from-internal\r\nExten: {}\r\nReason: {reason}\r\n\
                     Uniqueid: 1700000000.1\r\nCallerIDNum: <unknown>\r\nCallerIDName: <unknown>\r\n\r\n",
                    f.get("Exten").cloned().unwrap_or_default()
                )
            }
            (Some("Logoff"), _) => {
                let bye =
                    format!("Response: Goodbye\r\nActionID: {id}\r\nMessage: Thanks for all the fish.\r\n\r\n");
                s.write_all(bye.as_bytes()).await.unwrap();
                break;
            }
            _ => format!("Response: Error\r\nActionID: {id}\r\nMessage: Invalid/unknown command\r\n\r\n"),
        };
        if s.write_all(reply.as_bytes()).await.is_err() {
            break;
        }
    }
    actions
}

/// The next action (up to and including its empty line), or None when the portal has closed.
async fn read_action(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<String> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let action: Vec<u8> = buf.drain(..end + 4).collect();
            return Some(String::from_utf8(action).expect("UTF-8 on the wire"));
        }
        let mut chunk = [0_u8; 1024];
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn fields(action: &str) -> HashMap<String, String> {
    action
        .split("\r\n")
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Lines end in CRLF, no bare line feed anywhere, the action is closed by an empty line.
fn assert_framed(action: &str) {
    assert!(action.ends_with("\r\n\r\n"), "{action:?}");
    assert!(
        !action.replace("\r\n", "").contains(['\n', '\r']),
        "{action:?}"
    );
}

async fn spawn_with_pbx(backend: Backend, port: u16) -> TestApp {
    spawn_demo_app_with_settings(backend, |s| {
        s.ami = AmiSettings::new(
            Some("127.0.0.1".into()),
            port,
            Some("portal".into()),
            Some(SECRET.into()),
            "from-internal".into(),
        )
        .unwrap();
    })
    .await
}

async fn request_callback(app: &TestApp, src: &str, dst: &str, acc: i64) -> String {
    let r = app
        .client
        .post(app.url("/functions/activate_callback"))
        .query(&[("src", src), ("dst", dst), ("acc", &acc.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.text().await.unwrap()
}

async fn callbacks_are_limited_per_subscriber_also_when_sent_at_once(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.legacy_login("demo", "demo").await;
    let me = user_id(&app, "demo").await;
    let phone = callback_phone(&app, me).await.to_string();
    // Ten at once: five a ten minutes pass, the rest are told when to try again.
    let requests = (0..10).map(|i| {
        let client = app.client.clone();
        let url = app.url("/functions/activate_callback");
        let phone = phone.clone();
        async move {
            let dst = format!("44207946{i:04}");
            let r = client
                .post(url)
                .query(&[("src", "4477009001"), ("dst", &dst), ("acc", &phone)])
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let retry_after = r.headers().get("retry-after").is_some();
            (status, retry_after, r.text().await.unwrap())
        }
    });
    let answers = futures_util::future::join_all(requests).await;
    let ok = answers.iter().filter(|(s, _, _)| *s == 200).count();
    assert_eq!(ok, 5, "{answers:?}");
    for (status, retry_after, xml) in answers.iter().filter(|(s, _, _)| *s != 200) {
        assert_eq!(*status, 429);
        assert!(retry_after);
        assert_eq!(structure(xml), ACTION);
        assert_eq!(text_of(xml, "name"), "callback");
        assert_eq!(text_of(xml, "status"), "failed");
        assert!(text_of(xml, "status_message").contains("Too many callback requests"));
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM callback_requests").await,
        5
    );
    // Ten minutes later there is room again, up to 50 a day.
    sqlx::query("UPDATE callback_requests SET created_at = created_at - 601")
        .execute(app.store.pool())
        .await
        .unwrap();
    request_callback(&app, "4477009001", "4420794600", phone.parse().unwrap()).await;
}
on_both_databases!(callbacks_are_limited_per_subscriber_also_when_sent_at_once);

async fn newest_callback(app: &TestApp) -> (String, String) {
    sqlx::query_as("SELECT status, reason FROM callback_requests ORDER BY id DESC LIMIT 1")
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

async fn callback_is_originated_through_the_manager_interface(backend: Backend) {
    let (port, mut pbx) =
        fake_asterisk(vec![Script::Answer, Script::Busy, Script::RefuseOriginate]).await;
    let app = spawn_with_pbx(backend, port).await;
    app.legacy_login("demo", "demo").await;
    let me = user_id(&app, "demo").await;
    let phone = callback_phone(&app, me).await;
    let (username, caller_id): (String, String) =
        sqlx::query_as("SELECT username, caller_id FROM devices WHERE id = $1")
            .bind(phone)
            .fetch_one(app.store.pool())
            .await
            .unwrap();

    // Answered.
    let xml = request_callback(&app, "+44 7700 900123", "442079460000", phone).await;
    assert_eq!(text_of(&xml, "status"), "ok");
    assert_eq!(text_of(&xml, "status_message"), "Callback activated");
    let wire = pbx.recv().await.expect("a conversation");
    assert_eq!(wire.len(), 3, "{wire:?}");
    wire.iter().for_each(|a| assert_framed(a));
    assert!(wire[0].starts_with("Action: Login\r\n"), "{}", wire[0]);
    let login = fields(&wire[0]);
    assert_eq!(login["Username"], "portal");
    assert_eq!(login["Secret"], SECRET);
    assert!(login.contains_key("ActionID"));
    assert!(wire[1].starts_with("Action: Originate\r\n"), "{}", wire[1]);
    let originate = fields(&wire[1]);
    assert_eq!(originate["Channel"], "Local/+447700900123@from-internal");
    assert_eq!(originate["Context"], "from-internal");
    assert_eq!(originate["Exten"], "442079460000");
    assert_eq!(originate["Priority"], "1");
    assert_eq!(originate["Async"], "true");
    assert_eq!(originate["CallerID"], caller_id);
    assert_eq!(originate["Account"], username);
    assert_ne!(originate["ActionID"], login["ActionID"]);
    assert!(wire[2].starts_with("Action: Logoff\r\n"), "{}", wire[2]);
    // The status is written before the portal logs off.
    assert_eq!(
        newest_callback(&app).await,
        ("answered".to_string(), String::new())
    );

    // The destination is busy.
    request_callback(&app, "4477009001", "4420794600", phone).await;
    let wire = pbx.recv().await.expect("a conversation");
    assert_eq!(fields(&wire[1])["Exten"], "4420794600");
    assert_eq!(
        newest_callback(&app).await,
        ("failed".to_string(), "busy".to_string())
    );

    // The PBX refuses the originate: its message is the reason.
    request_callback(&app, "4477009001", "999", phone).await;
    let wire = pbx.recv().await.expect("a conversation");
    assert!(wire.last().unwrap().starts_with("Action: Logoff\r\n"));
    assert_eq!(
        newest_callback(&app).await,
        (
            "failed".to_string(),
            "Extension does not exist.".to_string()
        )
    );

    let (_, page) = app.get_xml("/functions/callback").await;
    assert_eq!(text_of(&page, "pbx_configured"), "1");
    assert_eq!(
        texts(&page, "status"),
        ["failed", "failed", "answered"],
        "newest first"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE user_id = {me} AND action LIKE 'callback%'"
        ))
        .await,
        6,
        "each request and each outcome"
    );
}
on_both_databases!(callback_is_originated_through_the_manager_interface);

async fn callback_with_a_refused_login_fails_and_the_portal_keeps_working(backend: Backend) {
    let (port, mut pbx) = fake_asterisk(vec![Script::RefuseLogin]).await;
    let app = spawn_with_pbx(backend, port).await;
    app.legacy_login("demo", "demo").await;
    let phone = callback_phone(&app, user_id(&app, "demo").await).await;

    let xml = request_callback(&app, "4477009001", "4420794600", phone).await;
    assert_eq!(text_of(&xml, "status"), "ok");
    let wire = pbx.recv().await.expect("a conversation");
    assert_eq!(wire.len(), 1, "nothing after a refused login: {wire:?}");
    assert_eq!(fields(&wire[0])["Secret"], SECRET);
    assert_eq!(
        newest_callback(&app).await,
        ("failed".to_string(), "authentication failed".to_string())
    );
    let (status, page) = app.get_xml("/functions/callback").await;
    assert_eq!(status, 200);
    assert_eq!(text_of(&page, "reason"), "authentication failed");
    let (status, _) = app.get_xml("/callc/main").await;
    assert_eq!(status, 200);
}
on_both_databases!(callback_with_a_refused_login_fails_and_the_portal_keeps_working);

async fn callback_to_a_pbx_that_is_down_fails_as_unreachable(backend: Backend) {
    // A port nobody listens on any more.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    let app = spawn_with_pbx(backend, port).await;
    app.legacy_login("demo", "demo").await;
    let phone = callback_phone(&app, user_id(&app, "demo").await).await;

    let xml = request_callback(&app, "4477009001", "4420794600", phone).await;
    assert_eq!(text_of(&xml, "status"), "ok");
    // The attempt runs after the answer; nothing in the portal signals its end, so the
    // stored status is read until it leaves `queued` (a refused connection takes
    // milliseconds; the bound only keeps a broken build from hanging).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let outcome = loop {
        let row = newest_callback(&app).await;
        if row.0 != "queued" || std::time::Instant::now() > deadline {
            break row;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(
        outcome,
        ("failed".to_string(), "PBX unreachable".to_string())
    );
    let html = app.get("/functions/callback?format=html").await;
    assert_eq!(html.status().as_u16(), 200);
}
on_both_databases!(callback_to_a_pbx_that_is_down_fails_as_unreachable);
