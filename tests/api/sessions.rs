//! Sessions across portal processes: in Redis when configured, in signed cookies otherwise.

use crate::common::{redis_server, spawn_demo_app_with_settings, spawn_second_process, Backend};
use crate::{on_both_databases, on_both_databases_with_redis};

/// The Redis keys whose session state names `sid`.
fn redis_keys_holding(url: &str, sid: &str) -> Vec<String> {
    let client = redis::Client::open(url).expect("redis url");
    let mut con = client
        .get_connection()
        .unwrap_or_else(|e| panic!("SELFCARE_TEST_REDIS is set but Redis cannot be reached: {e}"));
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
    keys.into_iter()
        .filter(|k| {
            let value: Option<String> = redis::cmd("GET").arg(k).query(&mut con).unwrap_or(None);
            value.is_some_and(|v| v.contains(sid))
        })
        .collect()
}

async fn live_sid(app: &crate::common::TestApp) -> String {
    let (sid,): (String,) = sqlx::query_as(
        "SELECT id FROM user_sessions WHERE ended_at IS NULL ORDER BY created_at DESC LIMIT 1",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    sid
}

async fn sessions_in_redis_are_shared_by_processes_and_die_on_logout(backend: Backend) {
    let Some(url) = redis_server() else { return };
    let redis_url = url.clone();
    let app = spawn_demo_app_with_settings(backend, |s| s.redis_url = Some(redis_url)).await;
    let redis_url = url.clone();
    let second = spawn_second_process(&app, |s| s.redis_url = Some(redis_url)).await;

    let r = app
        .submit_form(
            "/callc/login",
            &[("username", "demo"), ("password", "demo")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let cookie = r
        .cookies()
        .find(|c| c.name() == "selfcare_session")
        .unwrap()
        .value()
        .to_string();
    let sid = live_sid(&app).await;
    assert_eq!(
        redis_keys_holding(&url, &sid).len(),
        1,
        "the session state is in Redis"
    );
    assert!(
        !cookie.contains(&sid),
        "the cookie holds a key, not the state"
    );

    // The same browser, now served by the second process.
    let other = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie_header = format!("selfcare_session={cookie}");
    let via_second = other
        .get(format!("{second}/callc/main"))
        .header("cookie", &cookie_header)
        .send()
        .await
        .unwrap();
    assert_eq!(
        via_second.status().as_u16(),
        200,
        "the second process knows the session"
    );

    // Logout on the first process: gone from Redis, dead on the second.
    app.submit_form("/callc/logout", &[]).await;
    assert!(
        redis_keys_holding(&url, &sid).is_empty(),
        "logout deletes the session from Redis"
    );
    let after = other
        .get(format!("{second}/callc/main"))
        .header("cookie", &cookie_header)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status().as_u16(), 303);
}
on_both_databases_with_redis!(sessions_in_redis_are_shared_by_processes_and_die_on_logout);

async fn cookie_sessions_are_shared_by_processes_and_die_on_logout(backend: Backend) {
    let app = spawn_demo_app_with_settings(backend, |_| {}).await;
    let second = spawn_second_process(&app, |_| {}).await;
    let r = app
        .submit_form(
            "/callc/login",
            &[("username", "demo"), ("password", "demo")],
        )
        .await;
    let cookie = r
        .cookies()
        .find(|c| c.name() == "selfcare_session")
        .unwrap()
        .value()
        .to_string();
    let other = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = || {
        other
            .get(format!("{second}/callc/main"))
            .header("cookie", format!("selfcare_session={cookie}"))
            .send()
    };
    assert_eq!(get().await.unwrap().status().as_u16(), 200);
    app.submit_form("/callc/logout", &[]).await;
    assert_eq!(
        get().await.unwrap().status().as_u16(),
        303,
        "ended for every process"
    );
}
on_both_databases!(cookie_sessions_are_shared_by_processes_and_die_on_logout);

on_both_databases!(sessions_end_when_idle_and_after_their_lifetime);
async fn sessions_end_when_idle_and_after_their_lifetime(backend: Backend) {
    let app = crate::common::spawn_demo_app(backend).await;
    let now = chrono::Utc::now().timestamp();
    let main_page = || async { app.get("/callc/main?format=json").await.status().as_u16() };
    let age = |column: &'static str, seconds: i64| {
        let sql = format!(
            "UPDATE user_sessions SET {column} = {} WHERE ended_at IS NULL",
            now - seconds
        );
        let pool = app.store.pool().clone();
        async move { sqlx::query(&sql).execute(&pool).await.unwrap() }
    };

    // Unused for 31 minutes (the default idle time is 30): ended, and ended for good.
    app.legacy_login("demo", "demo").await;
    assert_eq!(main_page().await, 200);
    age("last_seen_at", 31 * 60).await;
    assert_eq!(main_page().await, 401);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM user_sessions WHERE ended_at IS NULL")
            .await,
        0
    );

    // In use all along, but logged in 13 hours ago (the default lifetime is 12): ended.
    app.legacy_login("demo", "demo").await;
    age("created_at", 13 * 3600).await;
    assert_eq!(main_page().await, 401);

    // A session in use is marked seen (at most once a minute), so it lives on.
    app.legacy_login("demo", "demo").await;
    age("last_seen_at", 20 * 60).await;
    assert_eq!(main_page().await, 200);
    let mut seen = 0;
    for _ in 0..50 {
        seen = app
            .scalar("SELECT last_seen_at FROM user_sessions WHERE ended_at IS NULL")
            .await;
        if seen >= now {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(seen >= now, "the session was not marked seen");
    age("last_seen_at", 29 * 60).await;
    assert_eq!(main_page().await, 200);
}
