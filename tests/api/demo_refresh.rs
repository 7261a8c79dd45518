//! `serve --demo` on a database it filled before: demo data of an earlier day is made again for
//! today (its "today" and "this month" had gone stale), today's is kept, and a database with
//! real users is never touched.

use selfcare::demo::{self, DemoOptions, Found};
use selfcare::store::Store;

use crate::common::{spawn_app, Backend, TestApp};
use crate::on_both_databases;

const OPTS: DemoOptions = DemoOptions {
    users: 2,
    calls: Some(500),
    seed: 3,
};

async fn newest_call(store: &Store) -> i64 {
    let (at,): (i64,) = sqlx::query_as("SELECT MAX(started_at) FROM calls")
        .fetch_one(store.pool())
        .await
        .unwrap();
    at
}

async fn stale_demo_data_is_made_again_for_today(backend: Backend) {
    let app: TestApp = spawn_app(backend).await;
    let store = &app.store;
    let now = selfcare::time::now();
    assert_eq!(demo::found(store, now).await.unwrap(), Found::Empty);
    assert!(demo::fill_or_refresh(store, &app.data_dir, &OPTS)
        .await
        .unwrap()
        .is_some());
    assert_eq!(demo::found(store, now).await.unwrap(), Found::Today);

    // Today's demo data, with what the visitor did in it, stays.
    sqlx::query("UPDATE users SET first_name = 'Visitor' WHERE username = 'demo'")
        .execute(store.pool())
        .await
        .unwrap();
    assert!(demo::fill_or_refresh(store, &app.data_dir, &OPTS)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE first_name = 'Visitor'")
            .await,
        1
    );

    // Three days later (as the marker says), the demo is stale: made again, ending today.
    sqlx::query("UPDATE settings SET value = $1 WHERE name = 'demo_filled_at'")
        .bind((now - 3 * 86_400).to_string())
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE calls SET started_at = started_at - 3 * 86400")
        .execute(store.pool())
        .await
        .unwrap();
    let stale = newest_call(store).await;
    assert!(matches!(
        demo::found(store, now).await.unwrap(),
        Found::Stale(_)
    ));
    demo::fill_or_refresh(store, &app.data_dir, &OPTS)
        .await
        .unwrap()
        .expect("filled again");
    assert_eq!(demo::found(store, now).await.unwrap(), Found::Today);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 2);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE first_name = 'Visitor'")
            .await,
        0
    );
    assert!(newest_call(store).await > stale + 2 * 86_400);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM calls").await, 500);
    // The roll-up and the counters were made again with the calls.
    assert_eq!(
        app.scalar("SELECT CAST(SUM(calls) AS BIGINT) FROM call_hours")
            .await,
        500
    );
    // The portal still serves it: the demo login works.
    let r = app
        .client
        .get(app.url("/api/login"))
        .query(&[("u", "demo"), ("p", "demo")])
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("<status>ok</status>"));

    // Real users are never touched.
    sqlx::query("DELETE FROM settings WHERE name = 'demo_filled_at'")
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(demo::found(store, now).await.unwrap(), Found::NotDemo);
    assert!(demo::fill_or_refresh(store, &app.data_dir, &OPTS)
        .await
        .unwrap()
        .is_none());
    assert_eq!(app.scalar("SELECT COUNT(*) FROM calls").await, 500);
}
on_both_databases!(stale_demo_data_is_made_again_for_today);
