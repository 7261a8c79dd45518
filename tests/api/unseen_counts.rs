//! The New calls page's count comes from the counter `unseen_counts` (migration 0030), kept by
//! triggers on `calls`: after every kind of change it equals counting the unseen calls.

use chrono::Utc;
use serde_json::Value;

use crate::common::{spawn_demo_app, Backend, TestApp};
use crate::on_both_databases;

/// Every user's counter (no row is 0) equals the count of their unseen calls, and the demo's
/// New calls page says the same.
async fn agrees(app: &TestApp, demo: i64, step: &str) {
    let wrong = app
        .scalar(
            "SELECT COUNT(*) FROM users u
              WHERE COALESCE((SELECT unseen FROM unseen_counts c WHERE c.user_id = u.id), 0)
                 <> (SELECT COUNT(*) FROM calls c WHERE c.user_id = u.id AND c.seen = 0)",
        )
        .await;
    assert_eq!(wrong, 0, "{step}: users whose counter is off");
    assert_eq!(
        app.scalar("SELECT CAST(COALESCE(SUM(unseen), 0) AS BIGINT) FROM unseen_counts")
            .await,
        app.scalar("SELECT COUNT(*) FROM calls WHERE seen = 0")
            .await,
        "{step}: the counters hold exactly the unseen calls"
    );
    let unseen = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM calls WHERE user_id = {demo} AND seen = 0"
        ))
        .await;
    let page: Value = app
        .get("/stats/new_calls_list?format=json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total_calls"], unseen, "{step}: the page's count");
}

async fn the_new_calls_count_follows_every_change(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.legacy_login("demo", "demo").await;
    let demo = app
        .scalar("SELECT id FROM users WHERE username = 'demo'")
        .await;
    let demo2 = app
        .scalar("SELECT id FROM users WHERE username = 'demo2'")
        .await;
    agrees(&app, demo, "after the demo").await;

    // One statement, several users, seen and unseen, this month and a long-gone one.
    let now = Utc::now().timestamp();
    let old = now - 400 * 86_400;
    let mut rows = Vec::new();
    for i in 0..30 {
        let (user, at) = if i % 3 == 0 {
            (demo2, old - i)
        } else {
            (demo, now - 600 - i)
        };
        let (at, seen) = if i % 5 == 0 { (old - i, 1) } else { (at, 0) };
        rows.push(format!(
            "({user}, {at}, '442079460000', '12125550100', 'in', 'NO ANSWER', 5, 0, {seen})"
        ));
    }
    sqlx::query(&format!(
        "INSERT INTO calls (user_id, started_at, src, dst, direction, disposition, duration_s,
                            billsec, seen) VALUES {}",
        rows.join(", ")
    ))
    .execute(app.store.pool())
    .await
    .unwrap();
    agrees(&app, demo, "after a multi-row insert").await;

    // Marking calls processed leaves the count; moving a call to another user moves it.
    sqlx::query("UPDATE calls SET processed = 1 WHERE user_id = $1 AND seen = 0")
        .bind(demo2)
        .execute(app.store.pool())
        .await
        .unwrap();
    agrees(&app, demo, "after marking calls processed").await;
    sqlx::query(
        "UPDATE calls SET user_id = $1
          WHERE id IN (SELECT id FROM calls WHERE user_id = $2 AND seen = 0 ORDER BY id LIMIT 2)",
    )
    .bind(demo2)
    .bind(demo)
    .execute(app.store.pool())
    .await
    .unwrap();
    agrees(&app, demo, "after moving calls to another user").await;

    // Through the page: some ids, then every call.
    let page: Value = app
        .get("/stats/new_calls_list?format=json")
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<String> = page["calls"]
        .as_array()
        .unwrap()
        .iter()
        .take(7)
        .map(|c| c["call_id"].to_string())
        .collect();
    assert_eq!(ids.len(), 7);
    let r = app
        .post_form(
            "/stats/new_calls_list/mark_seen",
            &[("ids", &ids.join(","))],
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    agrees(&app, demo, "after marking some seen").await;
    let r = app
        .post_form("/stats/new_calls_list/mark_seen", &[("ids", "")])
        .await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        app.scalar(&format!(
            "SELECT unseen FROM unseen_counts WHERE user_id = {demo}"
        ))
        .await,
        0
    );
    agrees(&app, demo, "after marking all seen").await;

    // Deleting calls, seen and unseen.
    sqlx::query("UPDATE calls SET seen = 0 WHERE user_id = $1 AND started_at >= $2")
        .bind(demo)
        .bind(now - 3600)
        .execute(app.store.pool())
        .await
        .unwrap();
    agrees(&app, demo, "after marking calls new again").await;
    sqlx::query("DELETE FROM calls WHERE started_at < $1 OR id % 4 = 0")
        .bind(old + 86_400)
        .execute(app.store.pool())
        .await
        .unwrap();
    agrees(&app, demo, "after deleting calls").await;

    // Archiving old months takes their unseen calls out of the counter too.
    if backend == Backend::Postgres {
        sqlx::query(&format!(
            "INSERT INTO calls (user_id, started_at, src, dst, direction, disposition, duration_s,
                                billsec, seen)
             VALUES ({demo}, {old}, '4420700000', '101', 'in', 'NO ANSWER', 5, 0, 0),
                    ({demo2}, {old}, '4420700000', '101', 'out', 'ANSWERED', 5, 5, 0)"
        ))
        .execute(app.store.pool())
        .await
        .unwrap();
        let before = app
            .scalar("SELECT CAST(SUM(unseen) AS BIGINT) FROM unseen_counts")
            .await;
        let archived = app
            .store
            .archive_call_months(selfcare::billing::month::Month::of(
                now - 100 * 86_400,
                chrono_tz::UTC,
            ))
            .await
            .unwrap();
        assert!(!archived.is_empty());
        assert!(
            app.scalar("SELECT CAST(SUM(unseen) AS BIGINT) FROM unseen_counts")
                .await
                < before
        );
        agrees(&app, demo, "after archiving old months").await;
    }
}
on_both_databases!(the_new_calls_count_follows_every_change);
