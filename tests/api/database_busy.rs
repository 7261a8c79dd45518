//! A database that is busy for longer than the portal waits (another process holds SQLite's
//! write lock): the write is answered 503 with `Retry-After`, in the page's format, and nothing
//! changes; once the lock is gone the same request works.

use sqlx::Connection;

use crate::common::{spawn_demo_app, text_of, Backend};
use crate::export::{login, user_id};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_while_another_process_holds_the_sqlite_lock_is_503_then_works() {
    let app = spawn_demo_app(Backend::Sqlite).await;
    let demo = user_id(&app, "demo").await;
    let entries = || app.scalar("SELECT COUNT(*) FROM phonebook_entries");
    let before = entries().await;
    login(&app, "demo").await;

    // Another process takes the write lock and keeps it past the portal's busy timeout (10 s).
    let mut other = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .expect("a second connection");
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut other)
        .await
        .expect("write lock");
    let add = format!("/phonebooks/add_new/{demo}");
    let fields = [("number", "+44 20 7946 0555"), ("name", "Locked Out")];
    let r = app.submit_form(&add, &fields).await;
    assert_eq!(r.status().as_u16(), 503);
    assert_eq!(r.headers()["retry-after"], "30");
    let html = r.text().await.unwrap();
    assert!(html.contains("temporarily unavailable"), "{html}");

    // Asked for XML, it is the seed's failed action.
    let r = app.submit_form(&format!("{add}?format=xml"), &fields).await;
    assert_eq!(r.status().as_u16(), 503);
    let xml = r.text().await.unwrap();
    assert_eq!(text_of(&xml, "status"), "failed", "{xml}");

    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    other.close().await.unwrap();
    assert_eq!(entries().await, before, "nothing was written");
    let r = app.submit_form(&add, &fields).await;
    assert_eq!(r.status().as_u16(), 303, "added, back to the list");
    assert_eq!(entries().await, before + 1);
}
