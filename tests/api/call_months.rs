//! PostgreSQL keeps `calls` by month (migration 0029): a call of a month without its partition
//! is taken (default partition) and later moved to its own month; archiving old months takes
//! their calls out of the lists and the figures alike.

use crate::common::{browser, get_json, spawn_app, spawn_demo_app, Backend, TestApp};

/// The call list's count (from the hourly roll-up) and its calls, over every date.
async fn listed(app: &TestApp, client: &reqwest::Client) -> (i64, usize) {
    let page = get_json(
        client,
        &app.url("/stats/call_list?period_start=2015-01-01&period_end=2030-12-31&per_page=500&format=json"),
    )
    .await;
    (
        page["total_calls"].as_i64().unwrap(),
        page["calls"].as_array().unwrap().len(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(selfcare_test_postgres),
    ignore = "SELFCARE_TEST_POSTGRES is not set"
)]
async fn calls_live_in_their_month_and_old_months_are_archived_whole() {
    let app = spawn_demo_app(Backend::Postgres).await;
    let months = app.store.call_months().await.unwrap();
    assert!(
        months.iter().any(|m| m.table == "calls_default"),
        "{months:?}"
    );
    assert_eq!(
        months
            .iter()
            .find(|m| m.table == "calls_default")
            .unwrap()
            .calls,
        0,
        "the demo's calls are in their months"
    );
    let user = app
        .scalar("SELECT id FROM users WHERE username = 'demo'")
        .await;
    let client = browser(&app, "demo", "months test").await;
    let (before, _) = listed(&app, &client).await;
    assert_eq!(
        before,
        app.scalar(&format!(
            "SELECT COUNT(*) FROM calls WHERE user_id = {user}"
        ))
        .await
    );

    // A call from 2019: no partition for it, so the default one takes it at once.
    sqlx::query(
        "INSERT INTO calls (user_id, started_at, src, dst, direction, disposition, duration_s, billsec)
         VALUES ($1, 1560000000, '4420700000', '101', 'in', 'NO ANSWER', 20, 0)",
    )
    .bind(user)
    .execute(app.store.pool())
    .await
    .unwrap();
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM calls_default").await,
        1,
        "taken, in the default partition"
    );
    assert_eq!(listed(&app, &client).await.0, before + 1);
    let missed = app
        .scalar(&format!(
            "SELECT unprocessed FROM missed_counts WHERE user_id = {user}"
        ))
        .await;

    // The daily keeper (also run on start and after imports) gives it its month.
    assert!(app.store.keep_call_months().await.unwrap() >= 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM calls_default").await, 0);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM calls_2019_06").await, 1);
    assert_eq!(
        listed(&app, &client).await.0,
        before + 1,
        "moving between partitions changes no figure"
    );

    // Archiving everything before this month: the lists, the roll-up and the missed-call
    // counter lose exactly those calls.
    let this_month = chrono::Utc::now().format("%Y-%m").to_string();
    let (start,) = sqlx::query_as::<_, (i64,)>(
        "SELECT CAST(extract(epoch FROM date_trunc('month', now() AT TIME ZONE 'UTC')) AS BIGINT)",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    let kept = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM calls WHERE user_id = {user} AND started_at >= {start}"
        ))
        .await;
    let kept_missed = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM calls WHERE user_id = {user} AND started_at >= {start}
               AND direction = 'in' AND disposition <> 'ANSWERED' AND processed = 0"
        ))
        .await;
    assert!(kept < before, "the demo has calls of earlier months");
    let archived = app
        .store
        .archive_call_months(selfcare::billing::month::Month::parse(&this_month).unwrap())
        .await
        .unwrap();
    assert!(
        archived.contains(&"archived_calls_2019_06".to_string()),
        "{archived:?}"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM archived_calls_2019_06")
            .await,
        1,
        "the archive table keeps the calls"
    );
    let (total, rows) = listed(&app, &client).await;
    assert_eq!(
        total, kept,
        "the count (roll-up) agrees with the calls left"
    );
    assert_eq!(rows as i64, kept.min(500));
    assert_eq!(
        app.scalar(&format!(
            "SELECT unprocessed FROM missed_counts WHERE user_id = {user}"
        ))
        .await,
        kept_missed
    );
    assert!(missed > kept_missed);
    assert_eq!(
        app.scalar("SELECT CAST(COALESCE(SUM(calls), 0) AS BIGINT) FROM call_hours")
            .await,
        app.scalar("SELECT COUNT(*) FROM calls").await,
        "the roll-up holds exactly the calls left"
    );
    // Nothing before this month is left to archive.
    assert!(app
        .store
        .archive_call_months(selfcare::billing::month::Month::parse(&this_month).unwrap())
        .await
        .unwrap()
        .is_empty());
}

/// A portal's statements are planned once per connection (a plan for every month, pruned as
/// it starts) and never compiled; the commands' are planned per call, for the months their
/// values pick.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(selfcare_test_postgres),
    ignore = "SELFCARE_TEST_POSTGRES is not set"
)]
async fn a_portal_plans_its_statements_once_and_a_command_per_call() {
    let app = spawn_app(Backend::Postgres).await;
    let mode = |store: selfcare::store::Store| async move {
        let mode: (String, String) =
            sqlx::query_as("SELECT current_setting('plan_cache_mode'), current_setting('jit')")
                .fetch_one(store.pool())
                .await
                .unwrap();
        mode
    };
    let pages = selfcare::store::Store::connect_for_pages(&app.database_url, None)
        .await
        .unwrap();
    assert_eq!(
        mode(pages).await,
        ("force_generic_plan".into(), "off".into())
    );
    assert_eq!(mode(app.store.clone()).await.0, "auto");
}
