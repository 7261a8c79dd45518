//! The faxes page reads its period with the call pages' parser: the same messages for the same
//! mistakes, whole days in the subscriber's zone across DST changes, the last 30 days when no
//! period is given, and the seed's XML unchanged.

use chrono::Days;
use chrono_tz::Tz;

use crate::common::{spawn_demo_app, structure, text_of, Backend, TestApp};
use crate::on_both_databases;
use crate::pbx::{faxes_structure, texts, user_id};

async fn get(app: &TestApp, path: &str) -> (u16, String) {
    let r = app.get(path).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The faxes list for `query` (spaces allowed): the period shown and the faxes' times.
async fn listed(app: &TestApp, me: i64, query: &str) -> (String, String, Vec<String>) {
    let path = format!("/stats/faxes_list/{me}?{}", query.replace(' ', "%20"));
    let (status, xml) = get(app, &path).await;
    assert_eq!(status, 200, "{path}: {xml}");
    (
        text_of(&xml, "period_start"),
        text_of(&xml, "period_end"),
        texts(&xml, "receive_time"),
    )
}

/// The demo user, its faxes replaced by faxes at `times` (UTC epoch seconds) and its zone set
/// to `zone`; not logged in yet.
async fn user_with_faxes(backend: Backend, zone: &str, times: &[i64]) -> (TestApp, i64) {
    let app = spawn_demo_app(backend).await;
    let me = user_id(&app, "demo").await;
    let device = app
        .scalar(&format!(
            "SELECT MIN(id) FROM devices WHERE user_id = {me} AND device_type = 'FAX'"
        ))
        .await;
    let pool = app.store.pool();
    sqlx::query("DELETE FROM faxes WHERE user_id = $1")
        .bind(me)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("UPDATE users SET time_zone = $1 WHERE id = $2")
        .bind(zone)
        .bind(me)
        .execute(pool)
        .await
        .unwrap();
    for at in times {
        sqlx::query(
            "INSERT INTO faxes (user_id, device_id, received_at, sender, status, file_name, file_path)
             VALUES ($1, $2, $3, '442079460000', 'received', 'f.pdf', 'faxes/none.pdf')",
        )
        .bind(me)
        .bind(device)
        .bind(*at)
        .execute(pool)
        .await
        .unwrap();
    }
    (app, me)
}

fn utc(s: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .unwrap()
        .and_utc()
        .timestamp()
}

async fn bad_periods_are_refused_as_on_the_call_pages(backend: Backend) {
    let (app, me) = user_with_faxes(backend, "Europe/London", &[]).await;
    app.legacy_login("demo", "demo").await;
    let cases = [
        ("period_start=2024-02-30", "not a date", "2024-02-30"),
        ("period_end=yesterday", "not a date", "yesterday"),
        (
            "period_start=2024-05-01%2025:00:00",
            "not a date",
            "2024-05-01 25:00:00",
        ),
        // Formerly read by the faxes page: one-digit fields and years before 1970.
        ("period_start=2024-5-1", "not a date", "2024-5-1"),
        (
            "period_end=2024-05-01%208:30",
            "not a date",
            "2024-05-01 8:30",
        ),
        ("period_start=1969-12-31", "1970 to 9999", "1969-12-31"),
        // Control characters are not shown back (XML cannot carry them).
        ("period_end=%00%01%3C", "not a date", "<"),
        (
            "period_start=2024-05-02&period_end=2024-05-01",
            "ends before it starts",
            "",
        ),
        (
            "period_start=2024-05-01%2010:00:01&period_end=2024-05-01%2010:00:00",
            "ends before it starts",
            "",
        ),
    ];
    for (query, message, quoted) in cases {
        let (status, xml) = get(&app, &format!("/stats/faxes_list/{me}?{query}")).await;
        assert_eq!(status, 400, "{query}: {xml}");
        assert_eq!(structure(&xml), faxes_structure(0), "{query}");
        let error = text_of(&xml, "error_msg");
        assert!(error.contains(message), "{query}: {error}");
        if !quoted.is_empty() {
            assert!(
                error.ends_with(&format!(": \"{quoted}\"")),
                "{query}: {error}"
            );
        }
        // The call list says the same about the same fields.
        let (status, calls) = get(&app, &format!("/stats/call_list?{query}")).await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(text_of(&calls, "error_msg"), error, "{query}");
        // What was typed is shown back, without control characters.
        let (start, end) = (text_of(&xml, "period_start"), text_of(&xml, "period_end"));
        assert!(!format!("{start}{end}").chars().any(char::is_control));
        if query.starts_with("period_end=%00") {
            assert_eq!(end, "<");
        }
    }

    // A bad status typed with control characters is shown back as well-formed XML.
    let (status, xml) = get(&app, &format!("/stats/faxes_list/{me}?fax_status=%01lost")).await;
    assert_eq!(status, 400);
    assert!(text_of(&xml, "error_msg").contains("Unknown fax status"));
    assert_eq!(structure(&xml), faxes_structure(0));

    // One second is a period; JSON says the same as XML.
    let one = "period_start=2024-05-01%2010:00:00&period_end=2024-05-01%2010:00:00";
    let (status, xml) = get(&app, &format!("/stats/faxes_list/{me}?{one}")).await;
    assert_eq!(status, 200, "{xml}");
    assert_eq!(text_of(&xml, "period_start"), "2024-05-01 10:00:00");
    assert_eq!(text_of(&xml, "period_end"), "2024-05-01 10:00:00");
    let (status, json) = get(&app, &format!("/stats/faxes_list/{me}?{one}&format=json")).await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    // An instant with the zone's offset (demo lives in London: summer time in May).
    assert_eq!(v["period_start"], "2024-05-01T10:00:00+01:00");
    assert_eq!(v["period_end"], "2024-05-01T10:00:00+01:00");
    assert!(
        v.get("form").is_none(),
        "the form's fields are not data: {json}"
    );

    // In the subscriber's language, on the faxes and on the call pages alike.
    let (status, xml) = get(
        &app,
        &format!("/stats/faxes_list/{me}?lang=ru&period_start=yesterday"),
    )
    .await;
    assert_eq!(status, 400);
    let ru = text_of(&xml, "error_msg");
    assert_eq!(
        ru,
        "Начало периода — не дата (пишите ГГГГ-ММ-ДД или ГГГГ-ММ-ДД ЧЧ:ММ:СС, годы с 1970 по 9999): \"yesterday\""
    );
    for page in ["/stats/call_list", "/stats/missed_calls"] {
        let (status, xml) = get(&app, &format!("{page}?period_start=yesterday")).await;
        assert_eq!(status, 400, "{page}");
        assert_eq!(text_of(&xml, "error_msg"), ru, "{page}");
    }
}
on_both_databases!(bad_periods_are_refused_as_on_the_call_pages);

async fn days_are_the_subscribers_across_dst_changes(backend: Backend) {
    // London's clocks went forward at 01:00 UTC on 2024-03-31 (a day of 23 hours) and back at
    // 01:00 UTC on 2024-10-27 (25 hours).
    let times = [
        utc("2024-03-30 23:59:59"),
        utc("2024-03-31 00:00:00"),
        utc("2024-03-31 00:59:59"),
        utc("2024-03-31 01:00:00"),
        utc("2024-03-31 22:59:59"),
        utc("2024-03-31 23:00:00"),
        utc("2024-10-26 22:59:59"),
        utc("2024-10-26 23:00:00"),
        utc("2024-10-27 23:59:59"),
        utc("2024-10-28 00:00:00"),
    ];
    let (app, me) = user_with_faxes(backend, "Europe/London", &times).await;
    app.legacy_login("demo", "demo").await;
    let list = |query: &'static str| listed(&app, me, query);

    let (start, end, shown) = list("period_start=2024-03-31&period_end=2024-03-31").await;
    assert_eq!(
        (start.as_str(), end.as_str()),
        ("2024-03-31 00:00:00", "2024-03-31 23:59:59")
    );
    assert_eq!(
        shown,
        [
            "2024-03-31 23:59:59",
            "2024-03-31 02:00:00",
            "2024-03-31 00:59:59",
            "2024-03-31 00:00:00"
        ]
    );
    let (_, _, shown) = list("period_start=2024-10-27&period_end=2024-10-27").await;
    assert_eq!(shown, ["2024-10-27 23:59:59", "2024-10-27 00:00:00"]);

    // A time the clocks skipped reads as the instant they changed (02:00 BST), and is shown
    // as typed.
    let (start, _, shown) = list("period_start=2024-03-31 01:30&period_end=2024-03-31").await;
    assert_eq!(start, "2024-03-31 01:30:00");
    assert_eq!(shown, ["2024-03-31 23:59:59", "2024-03-31 02:00:00"]);
    let (_, end, shown) = list("period_start=2024-03-31&period_end=2024-03-31 01:59:59").await;
    assert_eq!(end, "2024-03-31 01:59:59");
    assert_eq!(
        shown,
        [
            "2024-03-31 02:00:00",
            "2024-03-31 00:59:59",
            "2024-03-31 00:00:00"
        ]
    );
    // Both ends in the gap: the one second of the change, not a reversed period.
    let (_, _, shown) = list("period_start=2024-03-31 01:40&period_end=2024-03-31 01:50").await;
    assert_eq!(shown, ["2024-03-31 02:00:00"]);

    // Havana skips midnight: 2024-03-10 starts at 01:00 local, and is shown from 00:00.
    sqlx::query("UPDATE users SET time_zone = 'America/Havana' WHERE id = $1")
        .bind(me)
        .execute(app.store.pool())
        .await
        .unwrap();
    let (start, end, _) = list("period_start=2024-03-10&period_end=2024-03-10").await;
    assert_eq!(
        (start.as_str(), end.as_str()),
        ("2024-03-10 00:00:00", "2024-03-10 23:59:59")
    );
}
on_both_databases!(days_are_the_subscribers_across_dst_changes);

async fn missing_fields_take_the_last_30_days(backend: Backend) {
    let (app, me) = user_with_faxes(backend, "Europe/London", &[]).await;
    app.legacy_login("demo", "demo").await;
    let london: Tz = "Europe/London".parse().unwrap();
    let today = chrono::Utc::now().with_timezone(&london).date_naive();
    let period = |query: String| {
        let app = &app;
        async move {
            let (start, end, _) = listed(app, me, &query).await;
            (start, end)
        }
    };
    let last_30 = (
        format!("{} 00:00:00", today - Days::new(29)),
        format!("{today} 23:59:59"),
    );
    assert_eq!(period("".into()).await, last_30);
    assert_eq!(period("period_start=&period_end=+".into()).await, last_30);
    // Only a start: until the end of today, or of the start's day when that is later.
    assert_eq!(
        period("period_start=2024-05-01".into()).await,
        ("2024-05-01 00:00:00".to_string(), last_30.1.clone())
    );
    let later = today + Days::new(10);
    assert_eq!(
        period(format!("period_start={later}")).await,
        (format!("{later} 00:00:00"), format!("{later} 23:59:59"))
    );
    // Only an end: the 30 days that end with it.
    assert_eq!(
        period("period_end=2024-05-31".into()).await,
        (
            "2024-05-02 00:00:00".to_string(),
            "2024-05-31 23:59:59".to_string()
        )
    );
    assert_eq!(
        period("period_end=2024-05-31 12:00".into()).await,
        (
            "2024-05-02 00:00:00".to_string(),
            "2024-05-31 12:00:00".to_string()
        )
    );
    // The seed's POST reads the same way.
    let r = app
        .post_form(
            &format!("/stats/faxes_list/{me}"),
            &[
                ("userid", &me.to_string()),
                ("search_on", "1"),
                ("period_end", "2024-05-31"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let xml = r.text().await.unwrap();
    assert_eq!(text_of(&xml, "period_start"), "2024-05-02 00:00:00");

    // The call list keeps its own default, the current month.
    let (status, xml) = get(&app, "/stats/call_list").await;
    assert_eq!(status, 200);
    let first = today.format("%Y-%m-01").to_string();
    assert_eq!(text_of(&xml, "period_start"), format!("{first} 00:00:00"));
}
on_both_databases!(missing_fields_take_the_last_30_days);

async fn the_faxes_form_shows_the_period_it_read(backend: Backend) {
    let (app, me) = user_with_faxes(backend, "Europe/London", &[]).await;
    app.submit_form(
        "/callc/login",
        &[("username", "demo"), ("password", "demo")],
    )
    .await;
    let html = |query: &'static str| {
        let app = &app;
        async move {
            let r = app.get(&format!("/stats/faxes_list/{me}?{query}")).await;
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    // Whole days in date fields.
    let (status, page) = html("period_start=2024-05-01&period_end=2024-05-31").await;
    assert_eq!(status, 200);
    assert!(
        page.contains(r#"type="date" name="period_start" value="2024-05-01""#),
        "{page}"
    );
    assert!(page.contains(r#"type="date" name="period_end" value="2024-05-31""#));
    // A time of day is kept (a date field would drop it), in text fields.
    let (_, page) = html("period_start=2024-05-01T08:30&period_end=2024-05-31").await;
    assert!(
        page.contains(r#"type="text" name="period_start" value="2024-05-01 08:30:00""#),
        "{page}"
    );
    assert!(page.contains(r#"type="text" name="period_end" value="2024-05-31""#));
    // A refused period is shown back as typed, with the message.
    let (status, page) = html("period_start=2024-5-1").await;
    assert_eq!(status, 400);
    assert!(page.contains("role=\"alert\""));
    assert!(
        page.contains(r#"type="text" name="period_start" value="2024-5-1""#),
        "{page}"
    );
}
on_both_databases!(the_faxes_form_shows_the_period_it_read);

/// Faxes come in keyset pages: `links.next` leads to the older faxes without overlap (also
/// among faxes of the same second), `prev` back; every fax of the period is reached once.
async fn faxes_come_a_page_at_a_time(backend: Backend) {
    let base = utc("2024-05-10 12:00:00");
    let mut times: Vec<i64> = (0..7).map(|i| base - i * 3600).collect();
    times.extend([base - 7200, base - 7200]);
    let (app, me) = user_with_faxes(backend, "Europe/London", &times).await;
    app.legacy_login("demo", "demo").await;
    let period = "period_start=2024-05-01&period_end=2024-05-31";
    let json = |path: String| {
        let app = &app;
        async move {
            let (status, body) = get(app, &path).await;
            assert_eq!(status, 200, "{path}: {body}");
            serde_json::from_str::<serde_json::Value>(&body).unwrap()
        }
    };
    let ids = |v: &serde_json::Value| -> Vec<i64> {
        v["faxes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["fax_id"].as_i64().unwrap())
            .collect()
    };
    let first = json(format!(
        "/stats/faxes_list/{me}?{period}&per_page=4&format=json"
    ))
    .await;
    assert_eq!(ids(&first).len(), 4);
    assert_eq!(first["per_page"], 4);
    assert!(first["links"]["prev"].is_null());
    let mut seen = ids(&first);
    let mut page = first.clone();
    while let Some(next) = page["links"]["next"].as_str() {
        assert!(
            next.contains("per_page=4") && next.contains("format=json"),
            "{next}"
        );
        page = json(next.to_string()).await;
        let these = ids(&page);
        assert!(these.iter().all(|id| !seen.contains(id)), "no fax twice");
        seen.extend(these);
    }
    assert_eq!(seen.len(), times.len(), "every fax once");
    let second = json(first["links"]["next"].as_str().unwrap().to_string()).await;
    let back = json(
        second["links"]["prev"]
            .as_str()
            .expect("a prev link")
            .to_string(),
    )
    .await;
    assert_eq!(ids(&back), ids(&first));
    // The navigation's address serves the same list to a program.
    let own = json(format!("/stats/faxes?{period}&per_page=4&format=json")).await;
    assert_eq!(ids(&own), ids(&first));
}
on_both_databases!(faxes_come_a_page_at_a_time);
