//! The dial plan's local numbers and the calls without a price, on both databases: feature
//! codes, short extensions and special extensions are free and never a country; a pattern added
//! later and `selfcare rate` settle calls that had no price.

use crate::common::Backend;
use crate::import::{asterisk, ok, selfcare_run, set_up_operator, user_id, write};
use crate::on_both_databases;

on_both_databases!(local_numbers_are_free_and_a_new_pattern_settles_unmatched_calls);
async fn local_numbers_are_free_and_a_new_pattern_settles_unmatched_calls(backend: Backend) {
    let app = crate::common::spawn_app(backend).await;
    let dir = set_up_operator(&app);
    let alice = user_id(&app, "alice").await;
    // alice dials a feature code, the echo test, "1" (not the USA), an emergency number, the
    // s extension, and a five-digit site code nobody has told the portal about.
    let mut cdrs = String::new();
    for (i, dst) in ["*97", "echo", "1", "112", "s", "81234"].iter().enumerate() {
        cdrs += &asterisk(
            "",
            "101",
            dst,
            &format!("SIP/101-0000000{i}"),
            "",
            &format!("2024-03-05 10:0{i}:00"),
            &format!("2024-03-05 10:0{i}:02"),
            20,
            "ANSWERED",
            &format!("local.{i}"),
        );
    }
    let file = write(&dir, "Master.csv", &cdrs);
    let out = ok(
        &app,
        &[
            "import",
            "cdrs",
            "--format",
            "asterisk",
            "--time-zone",
            "UTC",
            file.to_str().unwrap(),
        ],
    );
    assert!(
        out.contains("(rated 5, unmatched number 1, no rate 0)"),
        "{out}"
    );
    let priced: Vec<(String, Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT dst, price_micros, destination_id FROM calls WHERE user_id = $1 AND price_micros IS NOT NULL ORDER BY dst",
    )
    .bind(alice)
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    assert_eq!(priced.len(), 5);
    assert!(
        priced.iter().all(|(_, p, d)| *p == Some(0) && d.is_none()),
        "{priced:?}"
    );

    // The operator sees the one left, adds the site's pattern, and re-rating settles it.
    let out = ok(&app, &["calls", "unmatched", "--user", "alice"]);
    assert!(
        out.contains("\t81234\t20\tno destination matches\tno"),
        "{out}"
    );
    let (done, out) = selfcare_run(&app, &["dialplan", "add", "_[8"]);
    assert!(!done && out.contains("without its ]"), "{out}");
    let out = ok(&app, &["dialplan", "add", "_8XXXX", "--note", "site codes"]);
    assert!(out.contains("_8XXXX added"), "{out}");
    assert!(ok(&app, &["dialplan", "list"]).contains("_8XXXX\tsite codes"));
    let out = ok(&app, &["rate"]);
    assert!(out.contains("1 changed"), "{out}");
    assert!(ok(&app, &["calls", "unmatched"]).contains("Every call has a price."));
    // Removing a pattern that is not there says so.
    let (done, out) = selfcare_run(&app, &["dialplan", "remove", "_9XXXX"]);
    assert!(!done && out.contains("no local pattern"), "{out}");
    let (done, out) = selfcare_run(&app, &["calls", "unmatched", "--user", "nobody"]);
    assert!(!done && out.contains("no user \"nobody\""), "{out}");
}
