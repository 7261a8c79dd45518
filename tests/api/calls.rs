//! The call pages: call list, new calls, missed calls, detailed statistics (and the callback
//! page's list of requests, paged as they are). Figures are checked against counts computed here
//! in SQL, from local-day boundaries computed here with chrono-tz.

use std::collections::HashSet;

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use crate::common::{spawn_demo_app, structure, text_of, Backend, TestApp};
use crate::on_both_databases;

/// The seed's call list with one call, element by element.
const CALL_LIST: &str = "\
page
  pagename
  language
  error_msg
  userid
  show_device
  status
  direction
  total_calls
  username
  currency
  aval_languages
    language
    language
  calls_stat
    period
      period_start
      period_end
    calls
      call
        date
        called_from
        called_to
        destination
        duration
        hangup_cause
        price
  paging
    next
    prev
";

/// The trailing page links of the XML call lists.
const PAGING: &str = "  paging\n    next\n    prev\n";

const NEW_CALLS_HEAD: &str = "\
page
  pagename
  language
  error_msg
  userid
  calls_stat
    total_calls
    calls
";

const NEW_CALL: &str = concat!(
    "      call\n",
    "        date\n",
    "        called_from\n",
    "        called_to\n",
    "        duration\n",
    "        hangup_cause\n",
);

const MISSED: &str = "\
page
  pagename
  language
  error_msg
  userid
  missed_total
  username
  aval_languages
    language
    language
  calls_stat
    period
      period_start
      period_end
    calls
      call
        call_id
        date
        called_from
        called_to
        duration
        hangup_cause
        processed
  paging
    next
    prev
";

/// The seed's statistics page with two days.
const USER_STATS: &str = "\
page
  pagename
  language
  userid
  start_date
  end_date
  details
    main_details
      todays_normative
      months_normative
      new_calls
    calls
      incoming
        answered
        no_answer
        busy
        failed
      outgoing
        answered
        no_answer
        busy
        failed
    detailed_by_date
      call_by_date
        date
        calls_count
        duration
        avg_time
        calls_normative
      call_by_date
        date
        calls_count
        duration
        avg_time
        calls_normative
";

const LONDON: Tz = chrono_tz::Europe::London;

/// The demo user's id; demo lives in Europe/London.
async fn demo_id(app: &TestApp) -> i64 {
    app.scalar("SELECT id FROM users WHERE username = 'demo'")
        .await
}

fn today_in(tz: Tz) -> NaiveDate {
    Utc::now().with_timezone(&tz).date_naive()
}

/// The UTC instant of a local midnight, computed independently of the portal's code.
fn midnight(day: NaiveDate, tz: Tz) -> i64 {
    tz.from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap())
        .earliest()
        .unwrap()
        .timestamp()
}

/// The page as JSON (`format=json` added unless the address has it: a page link keeps it).
async fn json(app: &TestApp, path: &str) -> (u16, Value) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let url = if path.contains("format=json") {
        path.to_string()
    } else {
        format!("{path}{sep}format=json")
    };
    let r = app.get(&url).await;
    let status = r.status().as_u16();
    let body = r.text().await.unwrap();
    let v = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (status, v)
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.scalar(sql).await
}

#[allow(clippy::too_many_arguments)]
async fn insert_call(
    app: &TestApp,
    user: i64,
    started_at: i64,
    direction: &str,
    disposition: &str,
    billsec: i64,
    seen: i64,
    destination_id: Option<i64>,
) -> i64 {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO calls (user_id, started_at, src, dst, destination_id, direction, disposition,
                            duration_s, billsec, price_micros, seen)
         VALUES ($1, $2, '442079460000', '12125550100', $3, $4, $5, $6, $6, $7, $8) RETURNING id",
    )
    .bind(user)
    .bind(started_at)
    .bind(destination_id)
    .bind(direction)
    .bind(disposition)
    .bind(billsec)
    .bind(billsec * 1000)
    .bind(seen)
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    id
}

fn calls_of(v: &Value) -> &Vec<Value> {
    v["calls"].as_array().expect("calls")
}

/// A JSON instant (RFC 3339) as UTC seconds.
fn instant(v: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(v.as_str().expect("an instant"))
        .unwrap_or_else(|e| panic!("{v}: {e}"))
        .timestamp()
}

/// The ids of a JSON call page.
fn ids_of(v: &Value) -> Vec<i64> {
    calls_of(v)
        .iter()
        .map(|c| c["call_id"].as_i64().unwrap())
        .collect()
}

/// The `<paging>` links of an XML page: (next, prev), empty at an end.
fn xml_links(xml: &str) -> (String, String) {
    let doc = roxmltree::Document::parse(xml).expect("XML");
    let paging = doc
        .root_element()
        .last_element_child()
        .filter(|n| n.has_tag_name("paging"))
        .expect("<paging> ends the page");
    let link = |name: &str| {
        paging
            .children()
            .find(|n| n.has_tag_name(name))
            .and_then(|n| n.text())
            .unwrap_or("")
            .to_string()
    };
    (link("next"), link("prev"))
}

/// The `<call_id>`s or `<date>`s of an XML call page.
fn xml_texts(xml: &str, name: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).expect("XML");
    doc.descendants()
        .filter(|n| n.has_tag_name("call"))
        .filter_map(|call| call.children().find(|c| c.has_tag_name(name)))
        .map(|n| n.text().unwrap_or("").to_string())
        .collect()
}

async fn call_list_xml_is_the_seed(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.legacy_login("demo", "demo").await;
    let user = demo_id(&app).await;
    let start = today_in(LONDON) - Duration::days(100);
    let path = format!("/stats/call_list?period_start={start}&per_page=1");
    let xml = app.get(&path).await.text().await.unwrap();
    assert_eq!(structure(&xml), CALL_LIST);
    assert_eq!(text_of(&xml, "pagename"), "Calls");
    assert_eq!(text_of(&xml, "userid"), user.to_string());
    assert_eq!(text_of(&xml, "error_msg"), "");
    assert_eq!(text_of(&xml, "show_device"), "all");
    assert_eq!(text_of(&xml, "status"), "all");
    assert_eq!(text_of(&xml, "direction"), "all");
    assert_eq!(text_of(&xml, "currency"), "USD");
    assert_eq!(text_of(&xml, "username"), "John Smith");
    assert_eq!(text_of(&xml, "period_start"), format!("{start} 00:00:00"));
    let from = midnight(start, LONDON);
    let all = count(
        &app,
        &format!("SELECT COUNT(*) FROM calls WHERE user_id = {user} AND started_at >= {from}"),
    )
    .await;
    assert!(all > 100);
    assert_eq!(text_of(&xml, "total_calls"), all.to_string());
    // The newest call, as the seed shows it.
    let (t, billsec, price): (i64, i64, Option<i64>) = sqlx::query_as(
        "SELECT started_at, billsec, price_micros FROM calls WHERE user_id = $1 ORDER BY started_at DESC, id DESC LIMIT 1",
    )
    .bind(user)
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    let local = Utc.timestamp_opt(t, 0).unwrap().with_timezone(&LONDON);
    assert_eq!(
        text_of(&xml, "date"),
        local.format("%Y-%m-%d %H:%M:%S").to_string()
    );
    assert_eq!(
        text_of(&xml, "duration"),
        format!(
            "{:02}:{:02}:{:02}",
            billsec / 3600,
            billsec / 60 % 60,
            billsec % 60
        )
    );
    let price = price.unwrap();
    // Call prices have three decimals for USD, rounded half away from zero.
    assert_eq!(
        text_of(&xml, "price"),
        format!(
            "{}.{:03}",
            price / 1_000_000,
            (price % 1_000_000 + 500) / 1000
        )
    );
    assert!(["Answered", "No Answer", "Busy", "Failed"]
        .contains(&text_of(&xml, "hangup_cause").as_str()));

    // POST with the seed's seven fields answers the same page.
    let r = app
        .post_form(
            "/stats/call_list",
            &[
                ("userid", &user.to_string()),
                ("search_on", "1"),
                ("period_start", &start.to_string()),
                ("period_end", ""),
                ("direction", "all"),
                ("calltype", "all"),
                ("device", "all"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let posted = r.text().await.unwrap();
    assert_eq!(text_of(&posted, "total_calls"), all.to_string());
    // The posted filter is kept by the links (a GET of the same period).
    let (next, _) = xml_links(&posted);
    assert!(
        next.starts_with("/stats/call_list?") && next.contains(&format!("period_start={start}")),
        "{next}"
    );

    // An XML client goes on with the trailing <paging>: page two follows page one, its `prev`
    // leads back, the first page has no `prev`.
    let path = format!("/stats/call_list?period_start={start}&per_page=3");
    let first = app.get(&path).await.text().await.unwrap();
    let (next, prev) = xml_links(&first);
    assert_eq!(prev, "");
    assert!(
        next.contains("per_page=3") && next.contains("before="),
        "{next}"
    );
    let second = app.get(&next).await.text().await.unwrap();
    assert_eq!(text_of(&second, "total_calls"), all.to_string());
    let (d1, d2) = (xml_texts(&first, "date"), xml_texts(&second, "date"));
    assert_eq!((d1.len(), d2.len()), (3, 3));
    assert!(d2[0] <= d1[2], "page two is older: {d1:?} {d2:?}");
    let (_, back) = xml_links(&second);
    let again = app.get(&back).await.text().await.unwrap();
    assert_eq!(xml_texts(&again, "date"), d1);
}
on_both_databases!(call_list_xml_is_the_seed);

async fn filters_match_counts_computed_in_sql(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.legacy_login("demo", "demo").await;
    let user = demo_id(&app).await;
    let device = app
        .scalar(&format!(
            "SELECT MIN(device_id) FROM calls WHERE user_id = {user}"
        ))
        .await;
    let first = today_in(LONDON) - Duration::days(60);
    let last = today_in(LONDON) - Duration::days(20);
    let (from, until) = (
        midnight(first, LONDON),
        midnight(last + Duration::days(1), LONDON),
    );
    let base = format!("user_id = {user} AND started_at >= {from} AND started_at < {until}");
    let cases: Vec<(String, String)> = vec![
        (String::new(), String::new()),
        ("&direction=incoming".into(), "AND direction = 'in'".into()),
        ("&calltype=outgoing".into(), "AND direction = 'out'".into()),
        (
            "&call_type=outgoing&direction=all".into(),
            "AND direction = 'out'".into(),
        ),
        (
            "&status=answered".into(),
            "AND disposition = 'ANSWERED'".into(),
        ),
        (
            "&status=unanswered&direction=in".into(),
            "AND direction = 'in' AND disposition IN ('NO ANSWER', 'BUSY', 'FAILED')".into(),
        ),
        (
            "&status=busy&direction=outgoing".into(),
            "AND direction = 'out' AND disposition = 'BUSY'".into(),
        ),
        (
            "&status=no_answer".into(),
            "AND disposition = 'NO ANSWER'".into(),
        ),
        ("&status=failed".into(), "AND disposition = 'FAILED'".into()),
        (
            format!("&device={device}"),
            format!("AND device_id = {device}"),
        ),
        (
            format!("&device={device}&direction=out&status=answered"),
            format!("AND device_id = {device} AND direction = 'out' AND disposition = 'ANSWERED'"),
        ),
    ];
    for (query, sql) in cases {
        let where_ = format!("{base} {sql}");
        let n = count(&app, &format!("SELECT COUNT(*) FROM calls WHERE {where_}")).await;
        let secs = count(
            &app,
            &format!("SELECT CAST(COALESCE(SUM(billsec), 0) AS BIGINT) FROM calls WHERE {where_}"),
        )
        .await;
        let price = count(
            &app,
            &format!(
                "SELECT CAST(COALESCE(SUM(price_micros), 0) AS BIGINT) FROM calls WHERE {where_}"
            ),
        )
        .await;
        let path = format!("/stats/call_list?period_start={first}&period_end={last}{query}");
        let (status, v) = json(&app, &path).await;
        assert_eq!(status, 200, "{path}: {v}");
        assert_eq!(v["total_calls"], n, "{path}");
        assert_eq!(v["total_seconds"], secs, "{path}");
        assert_eq!(
            v["total_price"]["value"],
            format!(
                "{}.{:02}",
                price / 1_000_000,
                (price % 1_000_000 + 5_000) / 10_000
            ),
            "{path}"
        );
        assert_eq!(v["total_price"]["currency"], "USD");
        let shown = calls_of(&v);
        assert_eq!(shown.len() as i64, n.min(50), "{path}");
        // Newest first, inside the period.
        let times: Vec<i64> = shown.iter().map(|c| instant(&c["date"])).collect();
        let mut sorted = times.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(times, sorted, "{path}");
        assert!(times.iter().all(|t| (from..until).contains(t)), "{path}");
        // Prices are money with their currency, or null when not rated.
        assert!(shown.iter().all(|c| c["price"].is_null()
            || (c["price"]["currency"] == "USD" && c["price"]["value"].is_string())));
        // The XML says the same.
        let xml = app
            .get(&path.replace("format=json", ""))
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(text_of(&xml, "total_calls"), n.to_string(), "{path}");
    }
    // A period typed to the second.
    let t0 = from + 7 * 86_400 + 3_600;
    let t1 = t0 + 3 * 86_400;
    let fmt = |t: i64| {
        Utc.timestamp_opt(t, 0)
            .unwrap()
            .with_timezone(&LONDON)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let n = count(&app, &format!("SELECT COUNT(*) FROM calls WHERE user_id = {user} AND started_at >= {t0} AND started_at <= {t1}")).await;
    let q =
        serde_urlencoded::to_string([("period_start", fmt(t0)), ("period_end", fmt(t1))]).unwrap();
    let (_, v) = json(&app, &format!("/stats/call_list?{q}")).await;
    assert_eq!(v["total_calls"], n);
    assert_eq!(instant(&v["period_start"]), t0);
    assert_eq!(instant(&v["period_end"]), t1);
    let xml = app
        .get(&format!("/stats/call_list?{q}"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(text_of(&xml, "period_start"), fmt(t0));
    assert_eq!(text_of(&xml, "period_end"), fmt(t1));
}
on_both_databases!(filters_match_counts_computed_in_sql);

async fn keyset_pages_return_every_call_once_while_calls_arrive(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.legacy_login("demo", "demo").await;
    let user = demo_id(&app).await;
    let first = today_in(LONDON) - Duration::days(30);
    let last = today_in(LONDON) - Duration::days(10);
    let (from, until) = (
        midnight(first, LONDON),
        midnight(last + Duration::days(1), LONDON),
    );
    // Ten calls at the same second: more than a page, so a page boundary falls among them.
    let tie = from + 5 * 86_400;
    for _ in 0..10 {
        insert_call(&app, user, tie, "out", "ANSWERED", 30, 1, None).await;
    }
    let ids = |sql: String| {
        let pool = app.store.pool().clone();
        async move {
            let rows: Vec<(i64,)> = sqlx::query_as(&sql).fetch_all(&pool).await.unwrap();
            rows.into_iter().map(|r| r.0).collect::<HashSet<i64>>()
        }
    };
    let before: HashSet<i64> = ids(format!(
        "SELECT id FROM calls WHERE user_id = {user} AND started_at >= {from} AND started_at < {until}"
    ))
    .await;
    assert!(before.len() > 50, "{}", before.len());

    let mut path = Some(format!(
        "/stats/call_list?period_start={first}&period_end={last}&per_page=7"
    ));
    let mut seen: Vec<i64> = Vec::new();
    let mut last_path = String::new();
    let mut pages = 0;
    while let Some(p) = path {
        let (status, v) = json(&app, &p).await;
        assert_eq!(status, 200, "{p}");
        let page: Vec<i64> = calls_of(&v)
            .iter()
            .map(|c| c["call_id"].as_i64().unwrap())
            .collect();
        assert!(page.len() <= 7);
        seen.extend(&page);
        pages += 1;
        // New calls arrive between fetches: the newest, one among the pages already read, one
        // further down the history, one at the tie's second.
        let oldest_shown = page.last().copied().unwrap_or(0);
        let (t_oldest,): (i64,) = sqlx::query_as("SELECT started_at FROM calls WHERE id = $1")
            .bind(oldest_shown)
            .fetch_one(app.store.pool())
            .await
            .unwrap();
        insert_call(&app, user, until - 1, "in", "ANSWERED", 5, 0, None).await;
        insert_call(&app, user, t_oldest + 1, "out", "BUSY", 0, 0, None).await;
        insert_call(
            &app,
            user,
            from + (t_oldest - from) / 2,
            "in",
            "FAILED",
            0,
            0,
            None,
        )
        .await;
        insert_call(&app, user, tie, "out", "ANSWERED", 1, 0, None).await;
        last_path = p;
        path = v["links"]["next"].as_str().map(str::to_string);
    }
    assert!(pages > 5);
    let unique: HashSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no call twice");
    let missing: Vec<_> = before.difference(&unique).collect();
    assert!(
        missing.is_empty(),
        "every call of the period: missing {missing:?}"
    );
    let after: HashSet<i64> = ids(format!(
        "SELECT id FROM calls WHERE user_id = {user} AND started_at >= {from} AND started_at < {until}"
    ))
    .await;
    assert!(unique.is_subset(&after), "only calls of the period");

    // And back again through the newer links: still no call twice. The calls that arrived
    // after the last page was read may have pushed older ones onto a page beyond it, so the walk
    // back starts from the very oldest page.
    let mut path = last_path;
    loop {
        let (_, v) = json(&app, &path).await;
        match v["links"]["next"].as_str() {
            Some(older) => path = older.to_string(),
            None => break,
        }
    }
    let mut path = Some(path);
    let mut back: Vec<i64> = Vec::new();
    while let Some(p) = path {
        let (_, v) = json(&app, &p).await;
        back.extend(calls_of(&v).iter().map(|c| c["call_id"].as_i64().unwrap()));
        path = v["links"]["prev"].as_str().map(str::to_string);
    }
    let back_unique: HashSet<i64> = back.iter().copied().collect();
    assert_eq!(back_unique.len(), back.len());
    let lost: Vec<_> = before.difference(&back_unique).collect();
    assert!(lost.is_empty(), "lost going back: {lost:?}");
}
on_both_databases!(keyset_pages_return_every_call_once_while_calls_arrive);

async fn new_calls_are_shown_once(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.legacy_login("demo", "demo").await;
    let user = demo_id(&app).await;
    let now = Utc::now().timestamp();
    for i in 0..60 {
        insert_call(&app, user, now - 600 - i, "in", "NO ANSWER", 0, 0, None).await;
    }
    let unseen_sql = format!("SELECT COUNT(*) FROM calls WHERE user_id = {user} AND seen = 0");
    let unseen = count(&app, &unseen_sql).await;
    assert!(unseen >= 60);

    // A program reading the new calls (XML) or the call list (JSON) changes nothing.
    let xml = app.get("/stats/new_calls_list").await.text().await.unwrap();
    let s = structure(&xml);
    assert!(s.starts_with(NEW_CALLS_HEAD), "{s}");
    assert_eq!(
        s,
        format!("{NEW_CALLS_HEAD}{}{PAGING}", NEW_CALL.repeat(50))
    );
    assert_eq!(text_of(&xml, "total_calls"), unseen.to_string());
    let (_, v) = json(&app, "/stats/call_list?per_page=5").await;
    assert!(calls_of(&v).iter().any(|c| c["new"] == true));
    // Unseen calls come a page at a time: `next` leads on without overlap, `prev` back; the
    // XML's <paging> leads on too.
    let (_, first) = json(&app, "/stats/new_calls_list?per_page=20").await;
    assert_eq!(ids_of(&first).len(), 20);
    assert!(first["links"]["prev"].is_null());
    assert_eq!(first["per_page"], 20);
    let next = first["links"]["next"].as_str().expect("a next link");
    assert!(
        next.contains("per_page=20") && next.contains("format=json"),
        "{next}"
    );
    let (_, second) = json(&app, next).await;
    assert_eq!(ids_of(&second).len(), 20);
    assert!(ids_of(&second)
        .iter()
        .all(|id| !ids_of(&first).contains(id)));
    assert!(instant(&second["calls"][0]["date"]) <= instant(&first["calls"][19]["date"]));
    let (_, back) = json(&app, second["links"]["prev"].as_str().expect("a prev link")).await;
    assert_eq!(ids_of(&back), ids_of(&first));
    let (next, prev) = xml_links(&xml);
    assert_eq!(prev, "");
    let older = app.get(&next).await.text().await.unwrap();
    assert_eq!(text_of(&older, "total_calls"), unseen.to_string());
    assert!(!xml_texts(&older, "date").is_empty());
    assert_eq!(
        count(&app, &unseen_sql).await,
        unseen,
        "reading marks nothing"
    );

    // It marks what it has read, explicitly: its own calls only, each checked.
    let (_, v) = json(&app, "/stats/new_calls_list").await;
    let ids: Vec<String> = calls_of(&v)
        .iter()
        .take(10)
        .map(|c| c["call_id"].to_string())
        .collect();
    let r = app
        .post_form(
            "/stats/new_calls_list/mark_seen",
            &[("ids", &ids.join(","))],
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("10 calls marked as seen"));
    assert_eq!(count(&app, &unseen_sql).await, unseen - 10);
    let demo2_call = count(
        &app,
        "SELECT MIN(c.id) FROM calls c JOIN users u ON u.id = c.user_id WHERE u.username = 'demo2'",
    )
    .await;
    for bad in [demo2_call.to_string(), "12,x".to_string(), "-3".to_string()] {
        let r = app
            .post_form("/stats/new_calls_list/mark_seen", &[("ids", &bad)])
            .await;
        assert!(
            matches!(r.status().as_u16(), 400 | 404),
            "{bad}: {}",
            r.status()
        );
        assert!(r.text().await.unwrap().contains("<status>failed</status>"));
    }
    assert_eq!(
        count(&app, &unseen_sql).await,
        unseen - 10,
        "nothing changed"
    );

    // In a browser, the page marks the calls it shows.
    let browser = spawn_demo_app(backend).await;
    browser
        .submit_form(
            "/callc/login",
            &[("username", "demo"), ("password", "demo")],
        )
        .await;
    let user = demo_id(&browser).await;
    for i in 0..60 {
        insert_call(&browser, user, now - 600 - i, "in", "NO ANSWER", 0, 0, None).await;
    }
    let unseen_sql = format!("SELECT COUNT(*) FROM calls WHERE user_id = {user} AND seen = 0");
    let unseen = browser.scalar(&unseen_sql).await;
    let html = browser
        .get("/stats/new_calls_list")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("<table class=\"calls log\">"));
    assert_eq!(
        browser.scalar(&unseen_sql).await,
        unseen - 50,
        "the 50 shown"
    );
    assert!(html.contains("Mark all as seen"), "more are waiting");

    // The call list shows (and so marks seen) the calls of its page only.
    let other = insert_call(&browser, user, now - 60, "out", "ANSWERED", 10, 0, None).await;
    let old = insert_call(
        &browser,
        user,
        now - 80 * 86_400,
        "out",
        "ANSWERED",
        10,
        0,
        None,
    )
    .await;
    let html = browser
        .get("/stats/call_list?per_page=5")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("<table"));
    let seen_of = |id: i64| format!("SELECT seen FROM calls WHERE id = {id}");
    assert_eq!(browser.scalar(&seen_of(other)).await, 1);
    assert_eq!(
        browser.scalar(&seen_of(old)).await,
        0,
        "a call not on the page stays new"
    );

    // "Mark all as seen" empties the page, which says so.
    let r = browser
        .submit_form("/stats/new_calls_list/mark_seen", &[])
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        to.starts_with("/stats/new_calls_list?done=marked&n="),
        "{to}"
    );
    assert_eq!(browser.scalar(&unseen_sql).await, 0);
    let html = browser.get(&to).await.text().await.unwrap();
    assert!(html.contains("Calls marked as seen:"), "{html}");
    let xml = browser
        .get("/stats/new_calls_list?format=xml")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(structure(&xml), format!("{NEW_CALLS_HEAD}{PAGING}"));
    assert_eq!(xml_links(&xml), (String::new(), String::new()));
    assert_eq!(text_of(&xml, "total_calls"), "0");
    let html = browser
        .get("/stats/new_calls_list?lang=ru")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Новых звонков нет"), "{html}");
}
on_both_databases!(new_calls_are_shown_once);

async fn missed_calls_list_and_processing(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.legacy_login("demo", "demo").await;
    let user = demo_id(&app).await;
    let first = today_in(LONDON) - Duration::days(80);
    let from = midnight(first, LONDON);
    let missed_where = format!(
        "user_id = {user} AND started_at >= {from} AND direction = 'in' AND disposition <> 'ANSWERED'"
    );
    let total = count(
        &app,
        &format!("SELECT COUNT(*) FROM calls WHERE {missed_where}"),
    )
    .await;
    assert!(total > 10);
    let xml = app
        .get(&format!(
            "/stats/missed_calls?period_start={first}&period_end={}",
            today_in(LONDON)
        ))
        .await
        .text()
        .await
        .unwrap();
    let rows = total.min(50) as usize;
    let one_call = MISSED
        .strip_suffix(PAGING)
        .unwrap()
        .split_once("      call\n")
        .unwrap();
    let expected = format!(
        "{}{}{PAGING}",
        one_call.0,
        format!("      call\n{}", one_call.1).repeat(rows)
    );
    assert_eq!(structure(&xml), expected);
    assert_eq!(text_of(&xml, "pagename"), "Missed calls");
    assert_eq!(text_of(&xml, "missed_total"), total.to_string());

    // Mark the newest unprocessed missed call (XML client: the page comes back).
    let (call,): (i64,) = sqlx::query_as(&format!(
        "SELECT id FROM calls WHERE {missed_where} AND processed = 0 ORDER BY started_at DESC LIMIT 1"
    ))
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    let r = app
        .post_form(
            "/stats/missed_calls",
            &[
                ("processed", &call.to_string()),
                ("period_start", &first.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let xml = r.text().await.unwrap();
    assert_eq!(text_of(&xml, "missed_total"), total.to_string());
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let marked = doc
        .descendants()
        .filter(|n| n.has_tag_name("call"))
        .find(|n| {
            n.children()
                .any(|c| c.has_tag_name("call_id") && c.text() == Some(&call.to_string()))
        })
        .expect("the marked call is listed");
    let processed = marked
        .children()
        .find(|c| c.has_tag_name("processed"))
        .unwrap();
    assert_eq!(processed.text(), Some("1"));
    assert_eq!(
        count(
            &app,
            &format!("SELECT processed FROM calls WHERE id = {call}")
        )
        .await,
        1
    );
    assert_eq!(
        count(&app, &format!("SELECT COUNT(*) FROM audit_log WHERE user_id = {user} AND action = 'call_processed'")).await,
        1
    );

    // Another user's call: 404, and it stays as it was.
    let theirs = app
        .scalar("SELECT MIN(c.id) FROM calls c JOIN users u ON u.id = c.user_id
                 WHERE u.username = 'demo2' AND c.direction = 'in' AND c.disposition <> 'ANSWERED' AND c.processed = 0")
        .await;
    let r = app
        .post_form("/stats/missed_calls", &[("processed", &theirs.to_string())])
        .await;
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(text_of(&r.text().await.unwrap(), "status"), "failed");
    assert_eq!(
        count(
            &app,
            &format!("SELECT processed FROM calls WHERE id = {theirs}")
        )
        .await,
        0
    );
    for junk in ["abc", "99999999"] {
        let r = app
            .post_form("/stats/missed_calls", &[("processed", junk)])
            .await;
        assert_eq!(r.status().as_u16(), 404, "{junk}");
    }
    // An answered call of one's own is not a missed call.
    let answered = app
        .scalar(&format!(
            "SELECT MIN(id) FROM calls WHERE user_id = {user} AND disposition = 'ANSWERED'"
        ))
        .await;
    let r = app
        .post_form(
            "/stats/missed_calls",
            &[("processed", &answered.to_string())],
        )
        .await;
    assert_eq!(r.status().as_u16(), 400);
    assert!(text_of(&r.text().await.unwrap(), "error_msg").contains("not a missed call"));
    assert_eq!(
        count(
            &app,
            &format!("SELECT processed FROM calls WHERE id = {answered}")
        )
        .await,
        0
    );

    // A browser: the form needs its CSRF token, then redirects back to the same view.
    let browser = spawn_demo_app(backend).await;
    browser
        .submit_form(
            "/callc/login",
            &[("username", "demo"), ("password", "demo")],
        )
        .await;
    let buser = demo_id(&browser).await;
    let target = browser
        .scalar(&format!(
            "SELECT MAX(id) FROM calls WHERE user_id = {buser} AND direction = 'in' AND disposition <> 'ANSWERED' AND processed = 0"
        ))
        .await;
    let forged = browser
        .post_form("/stats/missed_calls", &[("processed", &target.to_string())])
        .await;
    assert_eq!(forged.status().as_u16(), 403);
    assert_eq!(
        browser
            .scalar(&format!("SELECT processed FROM calls WHERE id = {target}"))
            .await,
        0
    );
    let html = browser
        .get("/stats/missed_calls")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("name=\"processed\""), "a mark form");
    // How long the newest missed call rang, as people read it (`0:25`, not `00:00:25`).
    let rang = browser
        .scalar(&format!(
            "SELECT duration_s FROM calls WHERE user_id = {buser} AND direction = 'in'
              AND disposition <> 'ANSWERED' ORDER BY started_at DESC, id DESC LIMIT 1"
        ))
        .await;
    let shown = format!("{}:{:02}", rang / 60, rang % 60);
    assert!(rang < 3600, "a missed call rings for less than an hour");
    assert!(
        html.contains(&format!("class=\"num\">{shown}</td>")),
        "the ring time {shown}"
    );
    let r = browser
        .submit_form(
            &format!("/stats/missed_calls?period_start={first}"),
            &[("processed", &target.to_string())],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        location,
        format!("/stats/missed_calls?period_start={first}&marked={target}")
    );
    assert_eq!(
        browser
            .scalar(&format!("SELECT processed FROM calls WHERE id = {target}"))
            .await,
        1
    );
    let html = browser.get(&location).await.text().await.unwrap();
    assert!(html.contains("The call is marked as processed"));
}
on_both_databases!(missed_calls_list_and_processing);

async fn statistics_match_the_database(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.legacy_login("demo", "demo").await;
    let user = demo_id(&app).await;
    sqlx::query("UPDATE users SET daily_call_target = 4 WHERE id = $1")
        .bind(user)
        .execute(app.store.pool())
        .await
        .unwrap();
    // Two days with known calls, well in the past.
    let d1 = today_in(LONDON) - Duration::days(200);
    let d2 = d1 + Duration::days(1);
    let at = |d: NaiveDate, h: i64| midnight(d, LONDON) + h * 3600;
    insert_call(&app, user, at(d1, 9), "in", "ANSWERED", 90, 1, None).await;
    insert_call(&app, user, at(d1, 23), "out", "NO ANSWER", 0, 1, None).await;
    insert_call(&app, user, at(d2, 0), "out", "ANSWERED", 60, 1, None).await;
    insert_call(&app, user, at(d2, 1), "out", "ANSWERED", 120, 1, None).await;
    insert_call(&app, user, at(d2, 2), "in", "BUSY", 0, 1, None).await;
    insert_call(&app, user, at(d2, 3), "out", "FAILED", 0, 1, None).await;

    let xml = app
        .get(&format!(
            "/stats/user_stats?period_start={d1}&period_end={d2}"
        ))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(structure(&xml), USER_STATS);
    assert_eq!(text_of(&xml, "pagename"), "Detailed statistics");
    assert_eq!(text_of(&xml, "start_date"), d1.to_string());
    assert_eq!(text_of(&xml, "end_date"), d2.to_string());
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let figures = |parent: &str| -> Vec<String> {
        let p = doc.descendants().find(|n| n.has_tag_name(parent)).unwrap();
        p.children()
            .filter(|c| c.is_element())
            .map(|c| c.text().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(figures("incoming"), ["1", "0", "1", "0"]);
    assert_eq!(figures("outgoing"), ["2", "1", "0", "1"]);
    let days: Vec<Vec<String>> = doc
        .descendants()
        .filter(|n| n.has_tag_name("call_by_date"))
        .map(|n| {
            n.children()
                .filter(|c| c.is_element())
                .map(|c| c.text().unwrap_or("").to_string())
                .collect()
        })
        .collect();
    // Newest first: date, calls, talk minutes, minutes per answered call, % of the target of 4.
    assert_eq!(
        days[0],
        [
            d2.to_string(),
            "4".into(),
            "3.0".into(),
            "1.5".into(),
            "100".into()
        ]
    );
    assert_eq!(
        days[1],
        [
            d1.to_string(),
            "2".into(),
            "1.5".into(),
            "1.5".into(),
            "50".into()
        ]
    );
    let unseen = count(
        &app,
        &format!("SELECT COUNT(*) FROM calls WHERE user_id = {user} AND seen = 0"),
    )
    .await;
    assert_eq!(text_of(&xml, "new_calls"), unseen.to_string());

    // Today's and this month's normative against counts made here, before and after the page
    // (a day may turn between the two).
    let today_counts = || async {
        let today = today_in(LONDON);
        let month = today.with_day0(0).unwrap();
        let tomorrow = midnight(today + Duration::days(1), LONDON);
        let t = count(&app, &format!("SELECT COUNT(*) FROM calls WHERE user_id = {user} AND started_at >= {} AND started_at < {tomorrow}", midnight(today, LONDON))).await;
        let m = count(&app, &format!("SELECT COUNT(*) FROM calls WHERE user_id = {user} AND started_at >= {} AND started_at < {tomorrow}", midnight(month, LONDON))).await;
        let days = today.day0() as i64 + 1;
        ((t * 200 + 4) / 8, (m * 200 + 4 * days) / (8 * days))
    };
    let before = today_counts().await;
    let (_, v) = json(&app, "/stats/user_stats").await;
    let after = today_counts().await;
    let got = (
        v["todays_normative"].as_i64().unwrap(),
        v["months_normative"].as_i64().unwrap(),
    );
    assert!(
        got == before || got == after,
        "{got:?} {before:?} {after:?}"
    );
    // The default period is the last 30 days, and its days add up to its calls.
    let month_calls: i64 = v["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["calls_count"].as_i64().unwrap())
        .sum();
    assert_eq!(month_calls, v["total_calls"].as_i64().unwrap());

    // The seed's POST routes.
    for route in ["/stats/user_stats", "/billing/stats/user_stats"] {
        let r = app
            .post_form(
                route,
                &[
                    ("period_start", &d1.to_string()),
                    ("period_end", &d2.to_string()),
                ],
            )
            .await;
        assert_eq!(r.status().as_u16(), 200, "{route}");
        assert_eq!(structure(&r.text().await.unwrap()), USER_STATS, "{route}");
    }

    // In a browser: the charts are SVG that parses as XML, styled by classes only.
    let browser = spawn_demo_app(backend).await;
    browser
        .submit_form(
            "/callc/login",
            &[("username", "demo"), ("password", "demo")],
        )
        .await;
    let html = browser
        .get(&format!(
            "/stats/user_stats?period_start={}&period_end={}",
            today_in(LONDON) - Duration::days(89),
            today_in(LONDON)
        ))
        .await
        .text()
        .await
        .unwrap();
    let mut svgs = 0;
    let mut rest = html.as_str();
    while let Some(start) = rest.find("<svg") {
        let end = rest[start..].find("</svg>").expect("closed svg") + start + "</svg>".len();
        let svg = &rest[start..end];
        let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{e}: {svg}"));
        assert_eq!(
            doc.root_element().tag_name().namespace(),
            Some("http://www.w3.org/2000/svg")
        );
        assert!(
            doc.descendants().any(|n| n.has_tag_name("rect")),
            "bars are drawn"
        );
        svgs += 1;
        rest = &rest[end..];
    }
    assert_eq!(svgs, 4, "calls per day, talk time, incoming, outgoing");
    assert!(!html.contains("style="), "no inline styles under the CSP");
    assert!(!html.contains("<script"));
    let ru = browser
        .get("/stats/user_stats?lang=ru")
        .await
        .text()
        .await
        .unwrap();
    assert!(ru.contains("Подробная статистика") && ru.contains("Звонков в день"));
}
on_both_databases!(statistics_match_the_database);

/// The per-day figures put every call on its local day, in zones ahead of and behind UTC, with
/// and without DST, on whole, half and quarter hours, across DST changes: against the calls
/// counted here, one by one.
async fn statistics_days_are_the_subscriber_s_days_in_every_zone(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.legacy_login("demo", "demo").await;
    let user = demo_id(&app).await;
    // Besides the demo's 90 days: a call every 25 minutes over the days around both of
    // Europe's and America's DST changes of this year.
    let year = today_in(LONDON).year();
    for (month, day) in [(3, 8), (3, 28), (10, 24), (10, 31)] {
        let start = NaiveDate::from_ymd_opt(year, month, day).unwrap();
        let start = midnight(start, chrono_tz::UTC) - 6 * 3600;
        let mut t = start;
        let mut i = 0;
        while t < start + 3 * 86_400 && t < Utc::now().timestamp() - 3600 {
            let disposition = ["ANSWERED", "NO ANSWER", "BUSY"][i % 3];
            let billsec = if i % 3 == 0 { 30 + i as i64 } else { 0 };
            insert_call(&app, user, t, "out", disposition, billsec, 1, None).await;
            t += 25 * 60;
            i += 1;
        }
    }
    let calls: Vec<(i64, String, i64)> =
        sqlx::query_as("SELECT started_at, disposition, billsec FROM calls WHERE user_id = $1")
            .bind(user)
            .fetch_all(app.store.pool())
            .await
            .unwrap();

    for zone in [
        "UTC",
        "Europe/London",
        "Europe/Moscow",
        "America/New_York",
        "America/St_Johns",
        "Asia/Kolkata",
        "Asia/Kathmandu",
        "Pacific/Chatham",
        "Pacific/Kiritimati",
        "Pacific/Pago_Pago",
    ] {
        sqlx::query("UPDATE users SET time_zone = $1 WHERE id = $2")
            .bind(zone)
            .bind(user)
            .execute(app.store.pool())
            .await
            .unwrap();
        let tz: Tz = zone.parse().unwrap();
        let last = today_in(tz);
        let first = last - Duration::days(399);
        let (from, until) = (midnight(first, tz), midnight(last + Duration::days(1), tz));
        let mut expected = std::collections::BTreeMap::new();
        for (t, disposition, billsec) in &calls {
            if (from..until).contains(t) {
                let day = Utc
                    .timestamp_opt(*t, 0)
                    .unwrap()
                    .with_timezone(&tz)
                    .date_naive();
                let e = expected.entry(day.to_string()).or_insert((0, 0, 0));
                e.0 += 1;
                e.1 += i64::from(disposition == "ANSWERED");
                e.2 += billsec;
            }
        }
        let (status, v) = json(
            &app,
            &format!("/stats/user_stats?period_start={first}&period_end={last}"),
        )
        .await;
        assert_eq!(status, 200, "{zone}: {v}");
        let got: std::collections::BTreeMap<String, (i64, i64, i64)> = v["days"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["calls_count"].as_i64().unwrap() != 0)
            .map(|d| {
                (
                    d["date"].as_str().unwrap().to_string(),
                    (
                        d["calls_count"].as_i64().unwrap(),
                        d["answered"].as_i64().unwrap(),
                        d["seconds"].as_i64().unwrap(),
                    ),
                )
            })
            .collect();
        assert!(expected.len() > 90, "{zone}: {} days", expected.len());
        assert_eq!(got, expected, "{zone}");
    }
}
on_both_databases!(statistics_days_are_the_subscriber_s_days_in_every_zone);

async fn bad_dates_are_answered_in_the_pages_format(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.legacy_login("demo", "demo").await;
    let bad = [
        ("period_start=2024-02-30", "not a date"),
        ("period_start=yesterday", "not a date"),
        ("period_start=%00%01%3C", "not a date"),
        ("period_end=2024-13-01", "not a date"),
        (
            "period_start=2024-06-02&period_end=2024-06-01",
            "ends before it starts",
        ),
        (
            "period_start=2024-06-01%2010:00:01&period_end=2024-06-01%2010:00:00",
            "ends before it starts",
        ),
    ];
    for (query, message) in bad {
        for page in ["/stats/call_list", "/stats/missed_calls"] {
            let r = app.get(&format!("{page}?{query}")).await;
            assert_eq!(r.status().as_u16(), 400, "{page}?{query}");
            let xml = r.text().await.unwrap();
            assert!(
                text_of(&xml, "error_msg").contains(message),
                "{page}?{query}: {xml}"
            );
            assert!(structure(&xml).starts_with("page\n  pagename\n  language\n  error_msg\n"));
            // JSON answers the one error shape.
            let (status, v) = json(&app, &format!("{page}?{query}")).await;
            assert_eq!(status, 400);
            assert_eq!(v["error"]["code"], "invalid_input", "{v}");
            assert!(v["error"]["message"].as_str().unwrap().contains(message));
        }
        let r = app.get(&format!("/stats/user_stats?{query}")).await;
        assert_eq!(r.status().as_u16(), 400);
        let xml = r.text().await.unwrap();
        assert_eq!(text_of(&xml, "status"), "failed");
        assert_eq!(text_of(&xml, "name"), "user_stats");
        assert!(text_of(&xml, "status_message").contains(message));
    }
    // Other fields of the call list.
    for (query, message) in [
        ("direction=sideways", "Unknown direction"),
        ("direction=in&calltype=outgoing", "different calls"),
        ("status=ringing", "Unknown call status"),
        ("device=phone", "Unknown device"),
        ("before=yesterday", "Unknown page position"),
        ("per_page=100000", "per_page"),
    ] {
        let r = app.get(&format!("/stats/call_list?{query}")).await;
        assert_eq!(r.status().as_u16(), 400, "{query}");
        assert!(
            text_of(&r.text().await.unwrap(), "error_msg").contains(message),
            "{query}"
        );
    }
    // In the reader's language.
    for (query, message) in [
        ("direction=sideways", "Неизвестное направление \"sideways\""),
        ("status=ringing", "Неизвестный результат звонка"),
        ("device=phone", "Неизвестное устройство"),
    ] {
        let r = app.get(&format!("/stats/call_list?{query}&lang=ru")).await;
        assert_eq!(r.status().as_u16(), 400, "{query}");
        let said = text_of(&r.text().await.unwrap(), "error_msg");
        assert!(said.contains(message), "{query}: {said}");
    }

    // A browser sees the form again with its values and the message.
    let browser = spawn_demo_app(backend).await;
    browser
        .submit_form(
            "/callc/login",
            &[("username", "demo"), ("password", "demo")],
        )
        .await;
    for page in [
        "/stats/call_list",
        "/stats/missed_calls",
        "/stats/user_stats",
    ] {
        let r = browser
            .get(&format!(
                "{page}?period_start=2024-06-02&period_end=2024-06-01"
            ))
            .await;
        assert_eq!(r.status().as_u16(), 400, "{page}");
        let html = r.text().await.unwrap();
        assert!(html.contains("class=\"alert\""), "{page}");
        assert!(html.contains("The period ends before it starts"), "{page}");
        assert!(
            html.contains("value=\"2024-06-02\""),
            "{page}: the typed value stays"
        );
    }
    let r = browser
        .get("/stats/call_list?period_start=%3Cscript%3E")
        .await;
    let html = r.text().await.unwrap();
    assert!(!html.contains("<script>") && html.contains("&#60;script&#62;"));
}
on_both_databases!(bad_dates_are_answered_in_the_pages_format);

async fn other_users_ids_are_not_found(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.legacy_login("demo", "demo").await;
    let user = demo_id(&app).await;
    let other = app
        .scalar("SELECT id FROM users WHERE username = 'demo2'")
        .await;
    let their_device = app
        .scalar(&format!(
            "SELECT MIN(id) FROM devices WHERE user_id = {other}"
        ))
        .await;
    let my_device = app
        .scalar(&format!(
            "SELECT MIN(id) FROM devices WHERE user_id = {user}"
        ))
        .await;
    for path in [
        format!("/stats/call_list?device={their_device}"),
        "/stats/call_list?device=99999999".to_string(),
        format!("/stats/call_list?userid={other}"),
        format!("/stats/missed_calls?userid={other}"),
        format!("/stats/user_stats?userid={other}"),
    ] {
        let r = app.get(&path).await;
        assert_eq!(r.status().as_u16(), 404, "{path}");
        assert_eq!(
            text_of(&r.text().await.unwrap(), "status"),
            "failed",
            "{path}"
        );
    }
    let r = app
        .post_form("/stats/call_list", &[("device", &their_device.to_string())])
        .await;
    assert_eq!(r.status().as_u16(), 404);
    let r = app
        .get(&format!(
            "/stats/call_list?device={my_device}&userid={user}"
        ))
        .await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        text_of(&r.text().await.unwrap(), "show_device"),
        my_device.to_string()
    );
    // Pages need a session.
    let anonymous = reqwest::Client::new();
    for path in [
        "/stats/call_list",
        "/stats/new_calls_list",
        "/stats/missed_calls",
        "/stats/user_stats",
    ] {
        let r = anonymous
            .get(app.url(path))
            .header("Accept", "application/xml")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401, "{path}");
    }
}
on_both_databases!(other_users_ids_are_not_found);

async fn html_pages_work_and_escape(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let user = demo_id(&app).await;
    let group = app.scalar("SELECT MIN(id) FROM destination_groups").await;
    let nasty = "O'Brien <&> \"Sales\"";
    let (dest,): (i64,) = sqlx::query_as(
        "INSERT INTO destinations (group_id, prefix, details, dir_code) VALUES ($1, '999777', $2, 'FIX') RETURNING id",
    )
    .bind(group)
    .bind(nasty)
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    insert_call(
        &app,
        user,
        Utc::now().timestamp() - 30,
        "out",
        "ANSWERED",
        42,
        1,
        Some(dest),
    )
    .await;

    app.submit_form(
        "/callc/login",
        &[("username", "demo"), ("password", "demo")],
    )
    .await;
    for path in [
        "/stats/call_list",
        "/stats/new_calls_list",
        "/stats/missed_calls",
        "/stats/user_stats",
    ] {
        for lang in ["en", "ru"] {
            let r = app.get(&format!("{path}?lang={lang}")).await;
            assert_eq!(r.status().as_u16(), 200, "{path}");
            let html = r.text().await.unwrap();
            assert!(
                html.contains("aria-current=\"page\""),
                "{path}: its nav link is current"
            );
            assert!(!html.contains("style="), "{path}");
        }
    }
    let html = app
        .get("/stats/call_list?lang=en")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("O&#39;Brien &#60;&#38;&#62; &#34;Sales&#34;"),
        "{html}"
    );
    assert!(
        html.contains(">0:42</td>"),
        "talk time as a call log writes it"
    );
    let (_, xml) = app.get_xml("/stats/call_list").await;
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert!(doc
        .descendants()
        .any(|n| n.has_tag_name("destination") && n.text() == Some(nasty)));

    // Empty states: a period with no calls.
    let html = app
        .get("/stats/call_list?period_start=2001-01-01&period_end=2001-01-31")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("No calls match this filter."));
    let html = app
        .get("/stats/missed_calls?period_start=2001-01-01&period_end=2001-01-31&lang=ru")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("пропущенных звонков нет"));
    let html = app
        .get("/stats/user_stats?period_start=2001-01-01&period_end=2001-01-31&lang=en")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("No calls in this period."));
    let (_, xml) = app
        .get_xml("/stats/call_list?period_start=2001-01-01&period_end=2001-01-31")
        .await;
    assert_eq!(text_of(&xml, "total_calls"), "0");
    assert!(!structure(&xml).contains("call\n"));
}
on_both_databases!(html_pages_work_and_escape);

async fn the_roll_ups_follow_every_change(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    type Row = (i64, i64, i64, String, String, i64, i64, i64, i64);
    let rows = |sql: String| {
        let pool = app.store.pool().clone();
        async move {
            sqlx::query_as::<_, Row>(&sql)
                .fetch_all(&pool)
                .await
                .unwrap()
        }
    };
    // Per hour and per UTC day: the roll-up's rows, and the same figures counted in calls.
    let levels = [("call_hours", "hour", 3600), ("call_days", "day", 86_400)];
    let rolled = |table: &str, key: &str| {
        format!(
            "SELECT user_id, {key}, device_id, direction, disposition, calls, billsec, price_micros, unpriced
             FROM {table} WHERE calls <> 0 ORDER BY 1, 2, 3, 4, 5"
        )
    };
    let computed = |seconds: i64| {
        format!(
            "SELECT user_id, started_at / {seconds}, COALESCE(device_id, 0), direction, disposition, COUNT(*),
                    CAST(SUM(billsec) AS BIGINT), CAST(COALESCE(SUM(price_micros), 0) AS BIGINT),
                    COUNT(*) - COUNT(price_micros)
             FROM calls GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5"
        )
    };
    // Per quarter hour, only what the per-day chart counts.
    let quarters = || {
        let pool = app.store.pool().clone();
        async move {
            let read = |sql: &'static str| {
                sqlx::query_as::<_, (i64, i64, i64, i64, i64)>(sql).fetch_all(&pool)
            };
            let rolled = read(
                "SELECT user_id, quarter, calls, answered, billsec FROM call_quarters
                  WHERE calls <> 0 ORDER BY 1, 2",
            )
            .await
            .unwrap();
            let computed = read(
                "SELECT user_id, started_at / 900, COUNT(*),
                        SUM(CASE WHEN disposition = 'ANSWERED' THEN 1 ELSE 0 END),
                        CAST(SUM(billsec) AS BIGINT)
                   FROM calls GROUP BY 1, 2 ORDER BY 1, 2",
            )
            .await
            .unwrap();
            (rolled, computed)
        }
    };
    let (by_quarter, counted) = quarters().await;
    assert!(by_quarter.len() > 100);
    assert_eq!(
        by_quarter, counted,
        "call_quarters after the demo's bulk inserts"
    );
    for (table, key, seconds) in levels {
        let first = rows(rolled(table, key)).await;
        assert!(first.len() > 100, "{table}");
        assert_eq!(
            first,
            rows(computed(seconds)).await,
            "{table} after the demo's bulk inserts"
        );
    }
    for sql in [
        "UPDATE calls SET price_micros = NULL WHERE id % 7 = 0",
        "UPDATE calls SET started_at = started_at + 7200, disposition = 'BUSY', billsec = 0 WHERE id % 11 = 0",
        "UPDATE calls SET started_at = started_at - 86400 WHERE id % 19 = 0",
        "UPDATE calls SET started_at = started_at + 900 WHERE id % 23 = 0",
        "UPDATE calls SET device_id = NULL WHERE id % 17 = 0",
        "UPDATE calls SET seen = 1, processed = 1 WHERE id % 5 = 0",
        "DELETE FROM calls WHERE id % 13 = 0",
    ] {
        sqlx::query(sql).execute(app.store.pool()).await.unwrap();
        for (table, key, seconds) in levels {
            assert_eq!(
                rows(rolled(table, key)).await,
                rows(computed(seconds)).await,
                "{table} after {sql}"
            );
        }
        let (by_quarter, counted) = quarters().await;
        assert_eq!(by_quarter, counted, "call_quarters after {sql}");
    }
}
on_both_databases!(the_roll_ups_follow_every_change);

/// The callback page lists the subscriber's requests as the call pages list calls: keyset pages
/// (also through requests of the same second), `links.next` older, `prev` back.
async fn callback_requests_come_a_page_at_a_time(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.legacy_login("demo", "demo").await;
    let user = demo_id(&app).await;
    let device = count(
        &app,
        &format!("SELECT MIN(id) FROM devices WHERE user_id = {user} AND device_type <> 'FAX'"),
    )
    .await;
    let now = Utc::now().timestamp() - 86_400;
    for at in [
        now,
        now - 60,
        now - 60,
        now - 60,
        now - 120,
        now - 180,
        now - 240,
    ] {
        sqlx::query(
            "INSERT INTO callback_requests (user_id, device_id, src, dst, status, created_at, updated_at)
             VALUES ($1, $2, '101', '442079460000', 'failed', $3, $3)",
        )
        .bind(user)
        .bind(device)
        .bind(at)
        .execute(app.store.pool())
        .await
        .unwrap();
    }
    let ids = |v: &Value| -> Vec<i64> {
        v["callbacks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["callback_id"].as_i64().unwrap())
            .collect()
    };
    let (status, first) = json(&app, "/functions/callback?per_page=3").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(ids(&first).len(), 3);
    assert!(first["links"]["prev"].is_null());
    assert_eq!(instant(&first["callbacks"][0]["created_at"]), now);
    let mut seen = ids(&first);
    let mut page = first.clone();
    while let Some(next) = page["links"]["next"].as_str() {
        page = json(&app, next).await.1;
        assert!(
            ids(&page).iter().all(|id| !seen.contains(id)),
            "no request twice"
        );
        seen.extend(ids(&page));
    }
    assert_eq!(seen.len(), 7, "every request once");
    let (_, second) = json(&app, first["links"]["next"].as_str().unwrap()).await;
    let (_, back) = json(&app, second["links"]["prev"].as_str().expect("a prev link")).await;
    assert_eq!(ids(&back), ids(&first));
    let (status, bad) = json(&app, "/functions/callback?after=soon").await;
    assert_eq!(
        (status, &bad["error"]["code"]),
        (400, &Value::from("invalid_input"))
    );
}
on_both_databases!(callback_requests_come_a_page_at_a_time);

/// A period inside one hour is summed from `calls` alone (no roll-up branch in the totals'
/// statement); its totals are the calls counted directly.
async fn totals_of_a_period_inside_one_hour(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.legacy_login("demo", "demo").await;
    let user = demo_id(&app).await;
    let last = app
        .scalar(&format!(
            "SELECT MAX(started_at) FROM calls WHERE user_id = {user}"
        ))
        .await;
    // The half hour holding the newest call (London's offset is whole hours).
    let from = last - last % 1800;
    let until = from + 1800;
    let shown = |t: i64| {
        Utc.timestamp_opt(t, 0)
            .unwrap()
            .with_timezone(&LONDON)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let (status, xml) = app
        .get_xml(&format!(
            "/stats/call_list?period_start={}&period_end={}",
            shown(from),
            shown(until - 1)
        ))
        .await;
    assert_eq!(status, 200, "{xml}");
    let counted = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM calls WHERE user_id = {user}
              AND started_at >= {from} AND started_at < {until}"
        ))
        .await;
    assert!(counted >= 1, "the newest call is in its half hour");
    assert_eq!(text_of(&xml, "total_calls"), counted.to_string());
}
on_both_databases!(totals_of_a_period_inside_one_hour);

/// The call list's device filter offers the user's devices, in the order they were added, and
/// no one else's: with a page of calls, with an empty period and on a refused filter.
async fn the_device_filter_lists_the_user_s_own_devices(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.legacy_login("demo", "demo").await;
    let user = app
        .scalar("SELECT id FROM users WHERE username = 'demo'")
        .await;
    let count = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM devices WHERE user_id = {user}"
        ))
        .await;
    assert!(count >= 2, "the demo user has several devices");
    let mut ids = Vec::new();
    for k in 0..count {
        ids.push(
            app.scalar(&format!(
                "SELECT id FROM devices WHERE user_id = {user} ORDER BY id LIMIT 1 OFFSET {k}"
            ))
            .await,
        )
    }
    // The device list's values, past its "all".
    let offered = |html: &str| -> Vec<i64> {
        let list = html
            .split("<select name=\"device\">")
            .nth(1)
            .and_then(|s| s.split("</select>").next())
            .unwrap_or_else(|| panic!("no device list: {html}"));
        list.split("<option value=\"")
            .skip(2)
            .map(|o| o.split('"').next().unwrap().parse().unwrap())
            .collect()
    };
    for (query, status) in [
        ("", 200),
        ("&period_start=2001-01-01&period_end=2001-01-31", 200),
        ("&period_start=2024-02-30", 400),
    ] {
        let r = app
            .get(&format!("/stats/call_list?format=html{query}"))
            .await;
        assert_eq!(r.status().as_u16(), status, "{query}");
        assert_eq!(offered(&r.text().await.unwrap()), ids, "{query}");
    }
    let (_, empty) = json(
        &app,
        "/stats/call_list?period_start=2001-01-01&period_end=2001-01-31",
    )
    .await;
    assert_eq!(empty["total_calls"], 0);
    assert_eq!(empty["calls"].as_array().unwrap().len(), 0);
}

on_both_databases!(the_device_filter_lists_the_user_s_own_devices);
