//! The balance ledger as an operator drives it: prepaid calls debit the balance when they are
//! imported (once, however often a file is imported), re-rating moves only the difference,
//! billing a postpaid month adds what is owed, an operator adjustment, and vouchers redeemed
//! by a subscriber. After each step the balance is the ledger's sum.

use crate::common::{balance_of, spawn_app, text_of, Backend};
use crate::import::{asterisk, ok, set_up_operator, write};
use crate::on_both_databases;

/// Two calls of alice (SIP/101) in March 2024: 60 s to London at 0.008/min = 0.008, 61 s to a
/// UK mobile (minimum 60 s, 60 s steps, 0.01 fee) = 0.11.
fn two_calls() -> String {
    asterisk(
        "",
        "101",
        "00442079460000",
        "SIP/101-01",
        "SIP/trunk-02",
        "2024-03-05 10:00:00",
        "2024-03-05 10:00:07",
        60,
        "ANSWERED",
        "w1.1",
    ) + &asterisk(
        "",
        "101",
        "+447700900123",
        "SIP/101-03",
        "SIP/trunk-04",
        "2024-03-05 11:00:00",
        "2024-03-05 11:00:07",
        61,
        "ANSWERED",
        "w1.2",
    )
}

on_both_databases!(prepaid_calls_debit_the_balance_once_and_rerating_moves_the_difference);
async fn prepaid_calls_debit_the_balance_once_and_rerating_moves_the_difference(b: Backend) {
    let app = spawn_app(b).await;
    let dir = set_up_operator(&app);
    let out = ok(
        &app,
        &[
            "balance",
            "adjust",
            "alice",
            "10",
            "--reason",
            "Welcome credit",
        ],
    );
    assert!(out.contains("balance now 10.00 USD"), "{out}");
    assert_eq!(balance_of(&app, "alice").await, 10_000_000);

    let file = write(&dir, "Master.csv", &two_calls());
    ok(
        &app,
        &[
            "import",
            "cdrs",
            "--format",
            "asterisk",
            "--quiet",
            file.to_str().unwrap(),
        ],
    );
    // 10 − 0.008 − 0.11
    assert_eq!(balance_of(&app, "alice").await, 9_882_000);
    // The same file again adds no call, so no charge.
    ok(
        &app,
        &[
            "import",
            "cdrs",
            "--format",
            "asterisk",
            "--quiet",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(balance_of(&app, "alice").await, 9_882_000);

    // London gets dearer (0.008 → 0.020/min): re-rating debits only the 0.012 difference.
    let deck = write(
        &dir,
        "deck2.csv",
        "prefix,destination,rate,connection fee,increment,minimum,effective date\n\
         4420,United Kingdom London,0.0200,,1,0,2024-01-01\n",
    );
    ok(
        &app,
        &[
            "import",
            "rates",
            "--tariff",
            "Retail",
            deck.to_str().unwrap(),
        ],
    );
    ok(&app, &["rate", "--quiet"]);
    assert_eq!(balance_of(&app, "alice").await, 9_870_000);
    ok(&app, &["rate", "--quiet"]);
    assert_eq!(balance_of(&app, "alice").await, 9_870_000);

    // A debit by the operator, with its reason in the subscriber's activity log.
    ok(
        &app,
        &[
            "balance", "adjust", "alice", "-0.87", "--reason", "Late fee",
        ],
    );
    assert_eq!(balance_of(&app, "alice").await, 9_000_000);
    let kinds: Vec<(String, i64)> = sqlx::query_as(
        "SELECT l.kind, l.amount_micros FROM ledger l JOIN users u ON u.id = l.user_id
         WHERE u.username = 'alice' ORDER BY l.id",
    )
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    let kinds: Vec<(&str, i64)> = kinds.iter().map(|(k, a)| (k.as_str(), *a)).collect();
    assert_eq!(
        kinds,
        [
            ("opening", 0),
            ("adjustment", 10_000_000),
            ("calls", -118_000),
            ("rerate", -12_000),
            ("adjustment", -870_000)
        ]
    );
    // Bad adjustments change nothing.
    for (amount, reason) in [("0", "x"), ("1.234", "x"), ("abc", "x"), ("5", "")] {
        let (ok, out) = crate::import::selfcare_run(
            &app,
            &["balance", "adjust", "alice", amount, "--reason", reason],
        );
        assert!(!ok, "{amount} {reason:?} was accepted: {out}");
    }
    assert_eq!(balance_of(&app, "alice").await, 9_000_000);
}

on_both_databases!(billing_a_postpaid_month_adds_what_is_owed);
async fn billing_a_postpaid_month_adds_what_is_owed(b: Backend) {
    let app = spawn_app(b).await;
    let dir = set_up_operator(&app);
    sqlx::query("UPDATE users SET account_type = 'postpaid' WHERE username = 'alice'")
        .execute(app.store.pool())
        .await
        .unwrap();
    let file = write(&dir, "Master.csv", &two_calls());
    ok(
        &app,
        &[
            "import",
            "cdrs",
            "--format",
            "asterisk",
            "--quiet",
            file.to_str().unwrap(),
        ],
    );
    // Postpaid calls do not move the balance; the invoice does.
    assert_eq!(balance_of(&app, "alice").await, 0);
    // 0.118 USD of calls: the invoice's total, and what is owed, is 0.12 USD.
    ok(&app, &["bill", "--period", "2024-03"]);
    assert_eq!(balance_of(&app, "alice").await, -120_000);
    ok(&app, &["bill", "--period", "2024-03"]);
    assert_eq!(balance_of(&app, "alice").await, -120_000);

    // The main page says what is owed and when, with a way to pay.
    let r = app
        .submit_form(
            "/callc/login",
            &[("username", "alice"), ("password", "alice pw")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let json = app.json("/callc/main").await;
    assert_eq!(
        json["owed"]["total"],
        serde_json::json!({"value": "0.12", "currency": "USD"}),
        "{json}"
    );
    assert_eq!(json["owed"]["invoices"], 1);
    assert!(json["owed"]["oldest_due_date"].as_str().unwrap().len() == 10);
    let (_, xml) = app.get_xml("/callc/main").await;
    assert_eq!(text_of(&xml, "balance"), "-0.12 USD");

    // Two more unpaid: an older one of 0.30 USD, due first, and one in euros (not owed in the
    // account's currency): two invoices, 0.42 USD, the older's due date.
    sqlx::query("INSERT INTO currencies (code, name, decimals) SELECT 'EUR', 'Euro', 2 WHERE NOT EXISTS (SELECT 1 FROM currencies WHERE code = 'EUR')")
        .execute(app.store.pool())
        .await
        .unwrap();
    let more = [
        ("OLD-1", "USD", 300_000, 86_400),
        ("EUR-1", "EUR", 999_000, 172_800),
    ];
    for (number, currency, price, earlier) in more {
        sqlx::query(
            "INSERT INTO invoices (user_id, number, period_start, period_end, issued_at, currency,
                                   price_micros, vat_percent_bp, price_vat_micros, due_at)
             SELECT user_id, $1, period_start - $4, period_end - $4, issued_at - $4, $2,
                    $3, 0, $3, 1000000000 + $4
               FROM invoices WHERE number NOT IN ('OLD-1', 'EUR-1')",
        )
        .bind(number)
        .bind(currency)
        .bind(price)
        .bind(earlier)
        .execute(app.store.pool())
        .await
        .unwrap();
    }
    let json = app.json("/callc/main").await;
    assert_eq!(
        json["owed"]["total"],
        serde_json::json!({"value": "0.42", "currency": "USD"}),
        "{json}"
    );
    assert_eq!(json["owed"]["invoices"], 2);
    assert_eq!(json["owed"]["oldest_due_date"], "2001-09-10", "{json}");
}

on_both_databases!(vouchers_are_redeemed_once_and_wrong_codes_are_throttled);
async fn vouchers_are_redeemed_once_and_wrong_codes_are_throttled(b: Backend) {
    let app = spawn_app(b).await;
    set_up_operator(&app);
    let out = ok(
        &app,
        &[
            "voucher",
            "create",
            "--count",
            "2",
            "--amount",
            "5",
            "--currency",
            "USD",
        ],
    );
    let codes: Vec<&str> = out.lines().filter(|l| l.len() == 19).collect();
    assert_eq!(codes.len(), 2, "{out}");
    // Only digests are stored.
    let stored: i64 = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM vouchers WHERE code_hash = '{}'",
            codes[0]
        ))
        .await;
    assert_eq!(stored, 0);

    let (status, _) = app.legacy_login("alice", "alice pw").await;
    assert_eq!(status, 200);
    let typed = codes[0].to_lowercase().replace('-', " ");
    let r = app
        .post_form("/payments/voucher", &[("code", typed.as_str())])
        .await;
    assert_eq!(r.status(), 200);
    let xml = r.text().await.unwrap();
    assert_eq!(text_of(&xml, "status"), "ok", "{xml}");
    assert_eq!(balance_of(&app, "alice").await, 5_000_000);
    // The same code again: refused, nothing credited.
    let r = app
        .post_form("/payments/voucher", &[("code", codes[0])])
        .await;
    assert_eq!(r.status(), 400);
    let xml = r.text().await.unwrap();
    assert!(text_of(&xml, "status_message").contains("used"), "{xml}");
    // Said in the reader's language.
    let r = app
        .post_form("/payments/voucher?lang=ru", &[("code", codes[0])])
        .await;
    assert_eq!(r.status(), 400);
    let xml = r.text().await.unwrap();
    assert_eq!(
        text_of(&xml, "status_message"),
        "Этот ваучер уже использован",
        "{xml}"
    );
    assert_eq!(balance_of(&app, "alice").await, 5_000_000);
    // It shows in the payments list as a completed voucher payment.
    let (_, xml) = app.get_xml("/payments/personal_payments").await;
    assert_eq!(text_of(&xml, "payment_type"), "Voucher");
    assert_eq!(text_of(&xml, "state"), "completed");

    // Wrong codes: the fifth failure within the window (the used code twice, three wrong ones)
    // locks even the right code out.
    for _ in 0..3 {
        let r = app
            .post_form("/payments/voucher", &[("code", "WRONG-CODE-0000-0000")])
            .await;
        assert_eq!(r.status(), 400);
    }
    let r = app
        .post_form("/payments/voucher", &[("code", codes[1])])
        .await;
    assert_eq!(r.status(), 429, "{}", r.text().await.unwrap());
    assert_eq!(balance_of(&app, "alice").await, 5_000_000);
}

on_both_databases!(a_low_balance_is_mailed_once_per_crossing);
async fn a_low_balance_is_mailed_once_per_crossing(b: Backend) {
    let app = spawn_app(b).await;
    set_up_operator(&app);
    sqlx::query("UPDATE users SET reg_email = 'alice@example.com' WHERE username = 'alice'")
        .execute(app.store.pool())
        .await
        .unwrap();
    let adjust = |amount: &'static str| {
        ok(
            &app,
            &[
                "balance",
                "adjust",
                "alice",
                amount,
                "--reason",
                "test",
                "--low-balance",
                "5",
            ],
        )
    };
    let mails =
        || app.scalar("SELECT COUNT(*) FROM mail_outbox WHERE recipient = 'alice@example.com'");
    adjust("10");
    adjust("-3"); // 7: still above
    assert_eq!(mails().await, 0);
    adjust("-3"); // 4: crossed
    assert_eq!(mails().await, 1);
    adjust("-1"); // 3: still below, no second mail
    assert_eq!(mails().await, 1);
    adjust("5"); // 8: back above
    adjust("-4"); // 4: crossed again
    assert_eq!(mails().await, 2);
    let (subject,): (String,) = sqlx::query_as("SELECT subject FROM mail_outbox LIMIT 1")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(subject, "Your balance is running low");
}

on_both_databases!(the_operator_sees_the_top_up_offer);
async fn the_operator_sees_the_top_up_offer(b: Backend) {
    let app = spawn_app(b).await;
    let out = ok(
        &app,
        &[
            "topup",
            "options",
            "--topup-options",
            "15,30",
            "--topup-min",
            "10",
        ],
    );
    assert!(out.contains("from 10.00 to 500.00"), "{out}");
    assert!(out.contains("offered: 15.00, 30.00"), "{out}");
    assert!(out.contains("Cards: not taken"), "{out}");
    // Settings that contradict each other are refused at start, naming the variable.
    let (ok_, out) =
        crate::import::selfcare_run(&app, &["topup", "options", "--topup-options", "600"]);
    assert!(!ok_ && out.contains("SELFCARE_TOPUP_OPTIONS"), "{out}");
    let (ok_, out) = crate::import::selfcare_run(
        &app,
        &[
            "topup",
            "options",
            "--stripe-secret-key",
            "sk_test_x",
            "--stripe-url",
            "http://example.com",
        ],
    );
    assert!(!ok_ && out.contains("SELFCARE_STRIPE_URL"), "{out}");
}
