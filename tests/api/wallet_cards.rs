//! Card payments through the portal, against localstripe: storing a card, topping up (success
//! and decline), paying an invoice, webhooks applied once, automatic top-up under concurrent
//! imports, refunds never past what was captured, a gateway that is down, and a database that
//! never holds a card number.

use crate::with_tools;
use std::time::Duration;

use hmac::{Hmac, Mac};
use selfcare::billing::import::{import_cdrs, ImportOptions};
use selfcare::config::Secret;
use selfcare::money::{Money, MICROS};
use selfcare::store::ledger::{EntryKind, Posting};
use selfcare::wallet::{StripeSettings, Wallet};

use crate::common::{balance_of, spawn_app_with_settings, text_of, Backend, TestApp};
use crate::import::{asterisk, ok, selfcare_run, set_up_operator, write};
use crate::on_both_databases;
use crate::stripe_gateway::{card_token, localstripe, TEST_SECRET_KEY};

const WEBHOOK_SECRET: &str = "whsec_selfcare_test";
const VISA: &str = "4242424242424242";
const DECLINED_WHEN_CHARGED: &str = "4000000000000341";

/// A portal whose card payments go to localstripe at `base`, with the operator's set-up of
/// `import::set_up_operator` (alice and bob, prepaid in USD) and alice's e-mail on record.
async fn wallet_app(b: Backend, base: &str) -> TestApp {
    let base = base.to_string();
    let app = spawn_app_with_settings(b, move |s| {
        s.wallet.stripe = Some(stripe_settings(&base));
    })
    .await;
    set_up_operator(&app);
    sqlx::query("UPDATE users SET reg_email = 'alice@example.com' WHERE username = 'alice'")
        .execute(app.store.pool())
        .await
        .unwrap();
    app
}

fn stripe_settings(base: &str) -> StripeSettings {
    StripeSettings {
        api_url: base.to_string(),
        secret_key: Secret::new(TEST_SECRET_KEY),
        webhook_secret: Some(Secret::new(WEBHOOK_SECRET)),
        publishable_key: Some("pk_test_selfcare".to_string()),
        js_url: format!("{base}/js.stripe.com/v3/"),
    }
}

/// The wallet as the command line builds it, on the test's database.
fn wallet_of(app: &TestApp, base: &str) -> Wallet {
    let settings = selfcare::wallet::WalletSettings {
        stripe: Some(stripe_settings(base)),
        ..Default::default()
    };
    Wallet::new(app.store.clone(), settings).unwrap()
}

async fn login(app: &TestApp, user: &str) {
    let (status, xml) = app.legacy_login(user, &format!("{user} pw")).await;
    assert_eq!(status, 200, "{xml}");
}

/// POSTs a form as a legacy client; (status, the `<action>`'s status and message).
async fn act(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, String, String) {
    let r = app.post_form(path, form).await;
    let status = r.status().as_u16();
    let xml = r.text().await.unwrap();
    assert!(status != 500, "{path}: 500\n{xml}");
    (
        status,
        text_of(&xml, "status"),
        text_of(&xml, "status_message"),
    )
}

async fn payments(app: &TestApp, user: &str) -> Vec<(String, String, i64, String)> {
    sqlx::query_as(
        "SELECT p.purpose, p.state, p.amount_micros, p.failure_reason FROM payments p
         JOIN users u ON u.id = p.user_id WHERE u.username = $1 ORDER BY p.id",
    )
    .bind(user)
    .fetch_all(app.store.pool())
    .await
    .unwrap()
}

on_both_databases!(a_stored_card_tops_up_and_a_declined_one_changes_nothing, needs localstripe);
async fn a_stored_card_tops_up_and_a_declined_one_changes_nothing(b: Backend) {
    let Some(base) = localstripe().await else {
        return;
    };
    let app = wallet_app(b, &base).await;
    login(&app, "alice").await;
    let (_, xml) = app.get_xml("/payments/topup").await;
    assert_eq!(text_of(&xml, "card_payments"), "yes");
    assert_eq!(text_of(&xml, "min"), "5.00");

    // No card yet: nothing to charge.
    let (status, s, msg) = act(&app, "/payments/topup", &[("amount", "20")]).await;
    assert_eq!((status, s.as_str()), (400, "failed"), "{msg}");
    assert!(msg.contains("card"), "{msg}");

    // Not a token: a card number typed where the token goes is refused, and never stored.
    let (status, _, _) = act(&app, "/payments/methods", &[("token", VISA)]).await;
    assert_eq!(status, 400);
    // A token the gateway does not know.
    let (status, _, msg) = act(&app, "/payments/methods", &[("token", "pm_doesnotexist")]).await;
    assert_eq!(status, 400, "{msg}");
    let token = card_token(&base, VISA).await;
    let (status, s, msg) = act(&app, "/payments/methods", &[("token", &token)]).await;
    assert_eq!((status, s.as_str()), (200, "ok"), "{msg}");
    assert!(msg.contains("4242"), "{msg}");
    let (_, xml) = app.get_xml("/payments/methods").await;
    assert_eq!(text_of(&xml, "last4"), "4242");
    assert_eq!(text_of(&xml, "expires"), "12/2030");

    // Bad amounts: a message each, nothing charged or recorded.
    for amount in ["0", "-5", "4.99", "500.01", "10.001", "abc", ""] {
        let (status, s, msg) = act(&app, "/payments/topup", &[("amount", amount)]).await;
        assert_eq!((status, s.as_str()), (400, "failed"), "{amount:?}: {msg}");
    }
    assert!(payments(&app, "alice").await.is_empty());

    let (status, s, msg) = act(&app, "/payments/topup", &[("amount", "20")]).await;
    assert_eq!((status, s.as_str()), (200, "ok"), "{msg}");
    assert_eq!(balance_of(&app, "alice").await, 20 * MICROS);
    let (_, xml) = app.get_xml("/payments/personal_payments").await;
    assert_eq!(text_of(&xml, "state"), "completed");
    assert_eq!(text_of(&xml, "amount"), "20.00");
    let (_, xml) = app.get_xml("/callc/main").await;
    assert_eq!(text_of(&xml, "balance"), "20.00 USD");

    // A card that the bank declines when charged: the attempt is recorded as declined with
    // the reason in plain words, and the balance does not move.
    let declining = card_token(&base, DECLINED_WHEN_CHARGED).await;
    let (status, _, msg) = act(&app, "/payments/methods", &[("token", &declining)]).await;
    assert_eq!(status, 200, "{msg}");
    let (status, s, msg) = act(&app, "/payments/topup", &[("amount", "10")]).await;
    assert_eq!((status, s.as_str()), (402, "failed"), "{msg}");
    assert!(msg.contains("declined"), "{msg}");
    assert_eq!(balance_of(&app, "alice").await, 20 * MICROS);
    let list = payments(&app, "alice").await;
    assert_eq!(list.len(), 2);
    assert_eq!(list[1].1, "declined");
    assert!(list[1].3.contains("declined"), "{:?}", list[1]);

    // The card is removed; then there is none to show.
    let (status, _, _) = act(&app, "/payments/methods/remove", &[]).await;
    assert_eq!(status, 200);
    let (_, xml) = app.get_xml("/payments/methods").await;
    assert_eq!(text_of(&xml, "card").trim(), "");
    let (status, _, _) = act(&app, "/payments/methods/remove", &[]).await;
    assert_eq!(status, 404);

    // Bob cannot take a card of alice's customer.
    let alice_card = card_token(&base, VISA).await;
    act(&app, "/payments/methods", &[("token", &alice_card)]).await;
    let bob = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    bob.get(app.url("/api/login?u=bob&p=bob%20pw"))
        .send()
        .await
        .unwrap();
    let r = bob
        .post(app.url("/payments/methods"))
        .form(&[("token", alice_card.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "{}", r.text().await.unwrap());

    assert_no_card_numbers(&app, b).await;

    // Card after card refused (testing stolen cards): after five refusals in an hour (the
    // unknown token above was one), a pause.
    for _ in 0..4 {
        let refused = card_token(&base, "4000000000000002").await;
        let (status, _, msg) = act(&app, "/payments/methods", &[("token", &refused)]).await;
        assert_eq!(status, 402, "{msg}");
    }
    let good = card_token(&base, VISA).await;
    let (status, _, msg) = act(&app, "/payments/methods", &[("token", &good)]).await;
    assert_eq!(status, 429, "{msg}");
}

/// Nothing anywhere in the database looks like a card number of the tests.
async fn assert_no_card_numbers(app: &TestApp, b: Backend) {
    let dump = match b {
        Backend::Sqlite => {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(app.store.pool())
                .await
                .unwrap();
            let path = app.data_dir.join("selfcare.db");
            let mut bytes = std::fs::read(&path).unwrap();
            for ext in ["-wal", "-shm"] {
                let mut p = path.clone().into_os_string();
                p.push(ext);
                bytes.extend(std::fs::read(p).unwrap_or_default());
            }
            bytes
        }
        Backend::Postgres => {
            let out = std::process::Command::new("pg_dump")
                .arg("--data-only")
                .arg(&app.database_url)
                .output()
                .expect("pg_dump");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        }
    };
    assert!(dump.len() > 1000, "an empty dump proves nothing");
    for number in [VISA, DECLINED_WHEN_CHARGED] {
        assert!(
            !dump.windows(number.len()).any(|w| w == number.as_bytes()),
            "the database holds the card number {number}"
        );
    }
}

/// Alice postpaid with one March 2024 invoice of 0.12 USD (see `wallet_ledger`).
async fn invoiced(app: &TestApp) -> i64 {
    sqlx::query("UPDATE users SET account_type = 'postpaid' WHERE username = 'alice'")
        .execute(app.store.pool())
        .await
        .unwrap();
    let dir = app.data_dir.parent().unwrap();
    let calls = asterisk(
        "",
        "101",
        "+447700900123",
        "SIP/101-03",
        "SIP/trunk-04",
        "2024-03-05 11:00:00",
        "2024-03-05 11:00:07",
        61,
        "ANSWERED",
        "inv.1",
    );
    let file = write(dir, "Master.csv", &calls);
    ok(
        app,
        &[
            "import",
            "cdrs",
            "--format",
            "asterisk",
            "--quiet",
            file.to_str().unwrap(),
        ],
    );
    ok(app, &["bill", "--period", "2024-03"]);
    app.scalar("SELECT id FROM invoices").await
}

on_both_databases!(an_unpaid_invoice_is_paid_once, needs localstripe);
async fn an_unpaid_invoice_is_paid_once(b: Backend) {
    let Some(base) = localstripe().await else {
        return;
    };
    let app = wallet_app(b, &base).await;
    let invoice = invoiced(&app).await;
    assert_eq!(balance_of(&app, "alice").await, -110_000);
    login(&app, "alice").await;
    let pay = format!("/accounting/user_invoices/{invoice}/pay");
    let (status, _, msg) = act(&app, &pay, &[]).await;
    assert_eq!(status, 400, "no card yet: {msg}");
    let token = card_token(&base, VISA).await;
    act(&app, "/payments/methods", &[("token", &token)]).await;

    let (status, s, msg) = act(&app, &pay, &[]).await;
    assert_eq!((status, s.as_str()), (200, "ok"), "{msg}");
    assert_eq!(balance_of(&app, "alice").await, 0);
    let (_, xml) = app
        .get_xml(&format!("/accounting/user_invoices/{invoice}"))
        .await;
    assert_eq!(text_of(&xml, "paid"), "Yes");
    let json: serde_json::Value = app
        .client
        .get(app.url(&format!("/accounting/user_invoices/{invoice}?format=json")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["payments"][0]["status"], "completed", "{json}");
    assert_eq!(json["invoice"]["paid"], true, "{json}");
    assert_eq!(json["can_pay"], false);

    // Paid: a second payment is refused and charges nothing.
    let (status, _, msg) = act(&app, &pay, &[]).await;
    assert_eq!(status, 409, "{msg}");
    assert_eq!(payments(&app, "alice").await.len(), 1);
    // Another subscriber's invoice is not found.
    let bob = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    bob.get(app.url("/api/login?u=bob&p=bob%20pw"))
        .send()
        .await
        .unwrap();
    let r = bob.post(app.url(&pay)).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

/// A `payment_intent.succeeded` event as Stripe signs it.
fn signed_event(event_id: &str, pi: &str, attempt: &str, at: i64) -> (String, String) {
    let body = serde_json::json!({
        "id": event_id,
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": at,
        "data": {"object": {
            "id": pi, "object": "payment_intent", "status": "succeeded",
            "amount": 1500, "currency": "usd",
            "metadata": {"attempt": attempt, "payment_id": "1"}
        }}
    })
    .to_string();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
    mac.update(format!("{at}.{body}").as_bytes());
    let sig: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (body, format!("t={at},v1={sig}"))
}

async fn post_webhook(app: &TestApp, body: &str, signature: &str) -> u16 {
    reqwest::Client::new()
        .post(app.url("/payments/webhook/stripe"))
        .header("Stripe-Signature", signature)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

on_both_databases!(a_webhook_credits_a_pending_top_up_once, needs localstripe);
async fn a_webhook_credits_a_pending_top_up_once(b: Backend) {
    let Some(base) = localstripe().await else {
        return;
    };
    let app = wallet_app(b, &base).await;
    let alice = app.store.user_id_by_name("alice").await.unwrap().unwrap();
    // A top-up the gateway has not confirmed yet (its answer was "processing").
    let mut c = app.store.pool().acquire().await.unwrap();
    let payment = selfcare::store::wallet::insert_attempt(
        &mut c,
        &selfcare::store::wallet::NewAttempt {
            user_id: alice,
            purpose: "topup",
            payment_type: "Card",
            amount_micros: 15 * MICROS,
            currency: "USD",
            invoice_id: None,
            gateway: "stripe",
            attempt_key: "topup:k1",
        },
    )
    .await
    .unwrap();
    drop(c);
    assert_eq!(balance_of(&app, "alice").await, 0, "never credited before");

    let now = chrono::Utc::now().timestamp();
    let (body, signature) = signed_event("evt_1", "pi_1", "topup:k1", now);
    // Tampered, unsigned, signed with another secret, or too old: refused, nothing credited.
    let tampered = body.replace("1500", "9500");
    assert_eq!(post_webhook(&app, &tampered, &signature).await, 400);
    assert_eq!(post_webhook(&app, &body, "").await, 400);
    assert_eq!(
        post_webhook(&app, &body, &signature.replace("v1=", "v1=00")).await,
        400
    );
    let (old_body, old_sig) = signed_event("evt_old", "pi_1", "topup:k1", now - 3600);
    assert_eq!(post_webhook(&app, &old_body, &old_sig).await, 400);
    assert_eq!(balance_of(&app, "alice").await, 0);

    assert_eq!(post_webhook(&app, &body, &signature).await, 200);
    assert_eq!(balance_of(&app, "alice").await, 15 * MICROS);
    // Delivered again (a retry), or a second event about the same payment: credited once.
    assert_eq!(post_webhook(&app, &body, &signature).await, 200);
    let (body2, sig2) = signed_event("evt_2", "pi_1", "topup:k1", now);
    assert_eq!(post_webhook(&app, &body2, &sig2).await, 200);
    assert_eq!(balance_of(&app, "alice").await, 15 * MICROS);
    let state: String = sqlx::query_as::<_, (String,)>("SELECT state FROM payments WHERE id = $1")
        .bind(payment)
        .fetch_one(app.store.pool())
        .await
        .unwrap()
        .0;
    assert_eq!(state, "completed");

    // And localstripe's own deliveries are accepted: register the portal as its webhook and
    // top up; its signed `payment_intent.succeeded` arrives a second later.
    let hook = format!("hook{:016x}", rand::random::<u64>());
    reqwest::Client::new()
        .post(format!("{base}/_config/webhooks/{hook}"))
        .form(&[
            ("url", app.url("/payments/webhook/stripe").as_str()),
            ("secret", WEBHOOK_SECRET),
            ("events[]", "payment_intent.succeeded"),
        ])
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    login(&app, "alice").await;
    let token = card_token(&base, VISA).await;
    act(&app, "/payments/methods", &[("token", &token)]).await;
    let (status, _, msg) = act(&app, "/payments/topup", &[("amount", "10")]).await;
    assert_eq!(status, 200, "{msg}");
    let pi: String = sqlx::query_as::<_, (String,)>(
        "SELECT gateway_ref FROM payments WHERE purpose = 'topup' AND gateway_ref <> 'pi_1'",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap()
    .0;
    let mut delivered = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let n = app
            .scalar(
                "SELECT COUNT(*) FROM webhook_events
                 WHERE kind = 'payment_intent.succeeded' AND event_id NOT IN ('evt_1', 'evt_2')",
            )
            .await;
        if n >= 1 {
            delivered = true;
            break;
        }
    }
    assert!(delivered, "localstripe's webhook for {pi} never arrived");
    assert_eq!(balance_of(&app, "alice").await, 25 * MICROS);
}

/// Calls of alice that cost 0.11 USD each (61 s to a UK mobile), `n` of them, unique ids
/// starting with `tag`.
fn mobile_calls(tag: &str, n: usize) -> String {
    (0..n)
        .map(|i| {
            asterisk(
                "",
                "101",
                "+447700900123",
                "SIP/101-03",
                "SIP/trunk-04",
                &format!("2024-03-06 10:{i:02}:00"),
                &format!("2024-03-06 10:{i:02}:07"),
                61,
                "ANSWERED",
                &format!("{tag}.{i}"),
            )
        })
        .collect()
}

on_both_databases!(automatic_top_up_fires_once_under_two_concurrent_imports, needs localstripe);
async fn automatic_top_up_fires_once_under_two_concurrent_imports(b: Backend) {
    let Some(base) = localstripe().await else {
        return;
    };
    let app = wallet_app(b, &base).await;
    ok(
        &app,
        &["balance", "adjust", "alice", "10", "--reason", "start"],
    );
    login(&app, "alice").await;
    // Switching it on needs a card.
    let settings = [
        ("enabled", "on"),
        ("threshold", "9.80"),
        ("amount", "10"),
        ("monthly_cap", "15"),
    ];
    let (status, _, _) = act(&app, "/payments/auto_topup", &settings).await;
    assert_eq!(status, 400);
    let token = card_token(&base, VISA).await;
    act(&app, "/payments/methods", &[("token", &token)]).await;
    // A cap below the refill, or a refill below the minimum top-up: refused.
    for bad in [
        [
            ("enabled", "on"),
            ("threshold", "9.80"),
            ("amount", "10"),
            ("monthly_cap", "5"),
        ],
        [
            ("enabled", "on"),
            ("threshold", "9.80"),
            ("amount", "1"),
            ("monthly_cap", "15"),
        ],
        [
            ("enabled", "on"),
            ("threshold", "x"),
            ("amount", "10"),
            ("monthly_cap", "15"),
        ],
    ] {
        let (status, _, msg) = act(&app, "/payments/auto_topup", &bad).await;
        assert_eq!(status, 400, "{bad:?}: {msg}");
    }
    let (status, _, msg) = act(&app, "/payments/auto_topup", &settings).await;
    assert_eq!(status, 200, "{msg}");

    // Two imports at once, each taking the balance across 9.80 on its own (2 × 0.11).
    let dir = app.data_dir.parent().unwrap();
    let a = write(dir, "a.csv", &mobile_calls("a", 2));
    let c = write(dir, "b.csv", &mobile_calls("b", 2));
    let wallet = wallet_of(&app, &base);
    let import = |file: std::path::PathBuf| {
        let store = app.store.clone();
        let rules = wallet.rules().clone();
        async move {
            import_cdrs(
                &store,
                ImportOptions {
                    format: selfcare::billing::cdr::Format::Asterisk,
                    files: vec![file],
                    skip_bad: false,
                    reject_file: None,
                    time_zone: chrono_tz::UTC,
                    dialing: Default::default(),
                    progress: false,
                    rules,
                },
            )
            .await
            .unwrap()
        }
    };
    let (one, two) = tokio::join!(import(a), import(c));
    assert_eq!(one.imported + two.imported, 4);
    assert_eq!(balance_of(&app, "alice").await, 10 * MICROS - 440_000);
    let auto: Vec<_> = payments(&app, "alice")
        .await
        .into_iter()
        .filter(|p| p.0 == "auto_topup")
        .collect();
    assert_eq!(auto.len(), 1, "{auto:?}");
    assert_eq!(auto[0].1, "pending");

    // The portal's reconciler (here called directly) charges it.
    wallet.reconcile(0).await.unwrap();
    assert_eq!(balance_of(&app, "alice").await, 20 * MICROS - 440_000);
    assert_eq!(payments(&app, "alice").await.last().unwrap().1, "completed");

    // Below the threshold again: the month's cap (15) leaves no room for another 10.
    debit(&app, &wallet, "alice", 10 * MICROS, "cap").await;
    wallet.reconcile(0).await.unwrap();
    let auto = payments(&app, "alice").await;
    assert_eq!(auto.iter().filter(|p| p.0 == "auto_topup").count(), 1);
    let capped = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'auto_topup_capped'")
        .await;
    assert_eq!(capped, 1);
}

on_both_databases!(a_declined_automatic_top_up_switches_itself_off_and_says_so, needs localstripe);
async fn a_declined_automatic_top_up_switches_itself_off_and_says_so(b: Backend) {
    let Some(base) = localstripe().await else {
        return;
    };
    let app = wallet_app(b, &base).await;
    ok(
        &app,
        &["balance", "adjust", "alice", "20", "--reason", "start"],
    );
    login(&app, "alice").await;
    let token = card_token(&base, DECLINED_WHEN_CHARGED).await;
    act(&app, "/payments/methods", &[("token", &token)]).await;
    let settings = [
        ("enabled", "on"),
        ("threshold", "15"),
        ("amount", "10"),
        ("monthly_cap", "50"),
    ];
    assert_eq!(act(&app, "/payments/auto_topup", &settings).await.0, 200);
    let wallet = wallet_of(&app, &base);
    debit(&app, &wallet, "alice", 6 * MICROS, "d1").await;
    wallet.reconcile(0).await.unwrap();
    let list = payments(&app, "alice").await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].1, "declined");
    let (_, xml) = app.get_xml("/payments/auto_topup").await;
    assert_eq!(text_of(&xml, "enabled"), "no");
    let mails = app
        .scalar(
            "SELECT COUNT(*) FROM mail_outbox WHERE recipient = 'alice@example.com'
               AND subject = 'Automatic top-up switched off'",
        )
        .await;
    assert_eq!(mails, 1);
    // Off: the next crossing sets off nothing.
    debit(&app, &wallet, "alice", 5 * MICROS, "d2").await;
    wallet.reconcile(0).await.unwrap();
    assert_eq!(payments(&app, "alice").await.len(), 1);
}

async fn debit(app: &TestApp, wallet: &Wallet, user: &str, micros: i64, key: &str) {
    let id = app.store.user_id_by_name(user).await.unwrap().unwrap();
    let mut tx = app.store.pool().begin().await.unwrap();
    selfcare::wallet::ledger::post(
        &mut tx,
        wallet.rules(),
        &Posting {
            user_id: id,
            key: format!("adjustment:test:{key}"),
            kind: EntryKind::Adjustment,
            amount: Money(-micros),
            reference: String::new(),
            note: "test".into(),
        },
    )
    .await
    .unwrap()
    .unwrap();
    tx.commit().await.unwrap();
}

on_both_databases!(a_refund_never_passes_what_was_captured, needs localstripe);
async fn a_refund_never_passes_what_was_captured(b: Backend) {
    let Some(base) = localstripe().await else {
        return;
    };
    let app = wallet_app(b, &base).await;
    login(&app, "alice").await;
    let token = card_token(&base, VISA).await;
    act(&app, "/payments/methods", &[("token", &token)]).await;
    assert_eq!(
        act(&app, "/payments/topup", &[("amount", "20")]).await.0,
        200
    );
    let id = app.scalar("SELECT id FROM payments").await.to_string();
    let stripe = [
        "--stripe-url",
        &base,
        "--stripe-secret-key",
        TEST_SECRET_KEY,
    ];
    let refund = |amount: Option<&str>| {
        let mut args = vec!["payment", "refund", id.as_str()];
        if let Some(a) = amount {
            args.extend(["--amount", a]);
        }
        args.extend(stripe);
        selfcare_run(&app, &args)
    };
    let (ok1, out) = refund(Some("25"));
    assert!(!ok1, "{out}");
    assert!(out.contains("At most 20.00 USD"), "{out}");
    let (ok2, out) = refund(Some("5"));
    assert!(ok2, "{out}");
    assert_eq!(balance_of(&app, "alice").await, 15 * MICROS);
    let (ok3, out) = refund(Some("15.01"));
    assert!(!ok3, "{out}");
    let (ok4, out) = refund(None);
    assert!(ok4, "{out}");
    assert!(out.contains("Refunded 15.00 USD"), "{out}");
    assert_eq!(balance_of(&app, "alice").await, 0);
    let (ok5, out) = refund(None);
    assert!(!ok5, "{out}");
    let (_, xml) = app.get_xml("/payments/personal_payments").await;
    assert_eq!(text_of(&xml, "refunded"), "20.00");
    // Without a gateway, nothing can be refunded.
    let (ok6, out) = selfcare_run(&app, &["payment", "refund", id.as_str()]);
    assert!(!ok6 && out.contains("not offered"), "{out}");
}

on_both_databases!(a_gateway_that_is_down_charges_nothing_and_says_so, needs localstripe);
async fn a_gateway_that_is_down_charges_nothing_and_says_so(b: Backend) {
    let Some(base) = localstripe().await else {
        return;
    };
    let app = wallet_app(b, &base).await;
    login(&app, "alice").await;
    let token = card_token(&base, VISA).await;
    act(&app, "/payments/methods", &[("token", &token)]).await;
    // The same database, a portal whose gateway address answers nothing.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let second = crate::common::spawn_second_process(&app, |s| {
        s.wallet.stripe = Some(stripe_settings(&down));
    })
    .await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    client
        .get(format!("{second}/api/login?u=alice&p=alice%20pw"))
        .send()
        .await
        .unwrap();
    let r = client
        .post(format!("{second}/payments/topup"))
        .form(&[("amount", "20")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    let xml = r.text().await.unwrap();
    assert!(
        text_of(&xml, "status_message").contains("nothing was charged"),
        "{xml}"
    );
    assert_eq!(balance_of(&app, "alice").await, 0);
    // The attempt is kept, pending, for the reconciler; once the gateway is back it goes
    // through, once.
    let list = payments(&app, "alice").await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].1, "pending");
    wallet_of(&app, &base).reconcile(0).await.unwrap();
    assert_eq!(balance_of(&app, "alice").await, 20 * MICROS);
    wallet_of(&app, &base).reconcile(0).await.unwrap();
    assert_eq!(balance_of(&app, "alice").await, 20 * MICROS);
}

/// The card form a subscriber fills in: localstripe's stand-in for Stripe.js's card field.
async fn fill_card(browser: &crate::browser::Browser, number: &str) {
    let inputs = loop {
        let found = browser.all("#card-element input").await;
        if found.len() == 5 {
            break found;
        }
        browser.find("#card-element input").await;
    };
    for input in inputs {
        let value = match browser.attribute(&input, "placeholder").await.as_str() {
            "number" => number,
            "exp_month" => "12",
            "exp_year" => "30",
            "cvc" => "123",
            _ => "10115",
        };
        browser.clear(&input).await;
        browser.type_into(&input, value).await;
    }
    let submit = browser.find("#card-form button[type=submit]").await;
    browser.click(&submit).await;
}

with_tools!(a_subscriber_stores_a_card_in_the_browser_and_tops_up, needs localstripe chromium);
async fn a_subscriber_stores_a_card_in_the_browser_and_tops_up() {
    let Some(base) = localstripe().await else {
        return;
    };
    let app = wallet_app(Backend::Sqlite, &base).await;
    let Some(browser) = crate::browser::Browser::start(1366, 900).await else {
        return;
    };
    browser.log_in(&app.address, "alice", "alice pw").await;
    browser.go(&app.url("/payments/methods")).await;

    // A card the bank refuses to save: the gateway's answer is shown, nothing is stored.
    fill_card(&browser, "4000000000000002").await;
    let mut said = String::new();
    for _ in 0..50 {
        said = browser.text(&browser.find("#card-errors").await).await;
        if !said.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(said.contains("declined"), "{said:?}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payment_methods").await, 0);

    fill_card(&browser, VISA).await;
    browser.wait_for_url("done=card_added").await;
    let (last4,): (String,) = sqlx::query_as("SELECT last4 FROM payment_methods")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(last4, "4242");

    // The offered amounts are buttons: $10.00, as CLDR writes dollars in English.
    let first = browser.find("#topup form.inline button").await;
    assert_eq!(browser.text(&first).await, "$10.00");
    browser.click(&first).await;
    browser.wait_for_url("done=payment_completed").await;
    let notice = browser.text(&browser.find(".notice").await).await;
    assert!(notice.contains("Payment completed"), "{notice}");
    assert_eq!(balance_of(&app, "alice").await, 10 * MICROS);
    browser.quit().await;

    // Only this page may load the gateway's script; the others run none.
    let r = app
        .submit_form(
            "/callc/login",
            &[("username", "alice"), ("password", "alice pw")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let csp = |r: &reqwest::Response| {
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string()
    };
    let r = app.get_as("/payments/methods", "text/html").await;
    assert!(
        csp(&r).contains(&format!("script-src 'self' {base}")),
        "{}",
        csp(&r)
    );
    let r = app.get_as("/payments/personal_payments", "text/html").await;
    assert!(csp(&r).contains("script-src 'none'"), "{}", csp(&r));
}
