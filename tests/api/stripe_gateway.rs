//! The Stripe client against localstripe, a stand-in for Stripe's API (no database needed).
//!
//! `localstripe()` is the harness for any test that needs a Stripe: it names the base URL of
//! one localstripe per test binary, started on a free loopback port by
//! `tests/support/localstripe_serve.py`, or the one in `SELFCARE_TEST_STRIPE`.

use crate::with_tools;
use std::time::{Duration, Instant};

use selfcare::config::Secret;
use selfcare::wallet::gateway::{
    ChargeRequest, ChargeStatus, Gateway, GatewayError, NewCustomer, RefundRequest,
};
use selfcare::wallet::stripe::StripeClient;
use selfcare::wallet::webhook;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::OnceCell;

/// Any key starting with `sk_` is accepted by localstripe.
pub const TEST_SECRET_KEY: &str = "sk_test_selfcare";

static LOCALSTRIPE: OnceCell<Option<String>> = OnceCell::const_new();

/// The localstripe the tests use: `SELFCARE_TEST_STRIPE` (a base URL) when set, else one
/// started on a free 127.0.0.1 port once per test binary; it exits with the test binary.
///
/// None when Python's `localstripe` is not installed (the test then returns early); in CI
/// (`CI` set) a missing localstripe fails the test instead.
///
/// ```ignore
/// let Some(base) = localstripe().await else { return };
/// ```
pub async fn localstripe() -> Option<String> {
    LOCALSTRIPE.get_or_init(start_localstripe).await.clone()
}

async fn start_localstripe() -> Option<String> {
    if let Some(base) = std::env::var("SELFCARE_TEST_STRIPE")
        .ok()
        .filter(|s| !s.trim().is_empty())
    {
        let base = base.trim().trim_end_matches('/').to_string();
        if !wait_until_answering(&base, 20).await {
            panic!("SELFCARE_TEST_STRIPE is set to {base} but nothing answers there");
        }
        return Some(base);
    }
    let installed = std::process::Command::new("python3")
        .args(["-c", "import localstripe, aiohttp"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        crate::common::missing("localstripe for the card tests (pip install localstripe)");
    }

    let port = crate::common::free_port();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/support/localstripe_serve.py"
    );
    let log_path = std::env::temp_dir().join(format!("selfcare-localstripe-{port}.log"));
    let log = std::fs::File::create(&log_path).expect("localstripe log file");
    let mut child = std::process::Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        // The launcher exits when this pipe closes, that is when the test binary ends.
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start python3 tests/support/localstripe_serve.py");
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("localstripe exited ({status}) before answering:\n{log}");
        }
        if wait_until_answering(&base, 1).await {
            // Keep the pipe open for the rest of the test binary.
            std::mem::forget(child.stdin.take());
            let _ = std::fs::remove_file(&log_path);
            return Some(base);
        }
    }
    let _ = child.kill();
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    panic!("localstripe did not answer on {base} within 10 s:\n{log}");
}

/// Whether a Stripe API answers at `base`, tried `tries` times 100 ms apart.
async fn wait_until_answering(base: &str, tries: u32) -> bool {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    for _ in 0..tries {
        let answer = http
            .get(format!("{base}/v1/customers"))
            .bearer_auth(TEST_SECRET_KEY)
            .send()
            .await;
        if answer.is_ok_and(|r| r.status().is_success()) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

pub fn stripe_client(base: &str) -> StripeClient {
    StripeClient::new(
        base.to_string(),
        Secret::new(TEST_SECRET_KEY),
        Duration::from_secs(10),
    )
    .expect("client")
}

/// A card as Stripe.js would have tokenised it in the subscriber's browser: a PaymentMethod
/// attached to nobody.
pub async fn card_token(base: &str, number: &str) -> String {
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/v1/payment_methods"))
        .bearer_auth(TEST_SECRET_KEY)
        .form(&[
            ("type", "card"),
            ("card[number]", number),
            ("card[exp_month]", "12"),
            ("card[exp_year]", "2030"),
            ("card[cvc]", "123"),
        ])
        .send()
        .await
        .expect("create a payment method")
        .error_for_status()
        .expect("payment method created")
        .json()
        .await
        .unwrap();
    answer["id"]
        .as_str()
        .expect("payment method id")
        .to_string()
}

pub async fn customer(stripe: &StripeClient, user_id: i64) -> String {
    stripe
        .create_customer(&NewCustomer {
            user_id,
            email: format!("user{user_id}@example.com"),
            name: format!("User {user_id}"),
        })
        .await
        .expect("customer created")
}

/// A customer with the card `number` attached; answers (customer, token).
async fn customer_with_card(stripe: &StripeClient, base: &str, number: &str) -> (String, String) {
    let customer = customer(stripe, 1).await;
    let token = card_token(base, number).await;
    let card = stripe
        .attach_method(&customer, &token)
        .await
        .expect("attach");
    (customer, card.token)
}

fn charge_of(customer: &str, token: &str, amount_minor: i64) -> ChargeRequest {
    ChargeRequest {
        customer: customer.to_string(),
        method_token: token.to_string(),
        amount_minor,
        currency: "EUR".into(),
        idempotency_key: format!("test-{:016x}", rand::random::<u64>()),
        description: "Balance top-up".into(),
        metadata: vec![("payment_id".into(), "7".into())],
    }
}

const VISA: &str = "4242424242424242";
const DECLINED_WHEN_CHARGED: &str = "4000000000000341";
const DECLINED_WHEN_ATTACHED: &str = "4000000000000002";

with_tools!(a_customer_is_created_with_our_user_id, needs localstripe);
async fn a_customer_is_created_with_our_user_id() {
    let Some(base) = localstripe().await else {
        return;
    };
    let stripe = stripe_client(&base);

    let id = customer(&stripe, 42).await;

    assert!(id.starts_with("cus_"), "{id}");
    let stored: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/v1/customers/{id}"))
        .bearer_auth(TEST_SECRET_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stored["metadata"]["user_id"], "42");
    assert_eq!(stored["email"], "user42@example.com");
}

with_tools!(an_attached_card_is_kept_as_brand_last_four_and_expiry, needs localstripe);
async fn an_attached_card_is_kept_as_brand_last_four_and_expiry() {
    let Some(base) = localstripe().await else {
        return;
    };
    let stripe = stripe_client(&base);
    let customer = customer(&stripe, 1).await;
    let token = card_token(&base, VISA).await;

    let card = stripe.attach_method(&customer, &token).await.unwrap();

    assert_eq!(card.token, token);
    assert_eq!(card.brand, "visa");
    assert_eq!(card.last4, "4242");
    assert_eq!((card.exp_month, card.exp_year), (12, 2030));
    // Attaching it again to the same customer is harmless.
    assert_eq!(stripe.attach_method(&customer, &token).await.unwrap(), card);
}

with_tools!(a_good_card_is_charged, needs localstripe);
async fn a_good_card_is_charged() {
    let Some(base) = localstripe().await else {
        return;
    };
    let stripe = stripe_client(&base);
    let (customer, token) = customer_with_card(&stripe, &base, VISA).await;

    let outcome = stripe
        .charge(&charge_of(&customer, &token, 1250))
        .await
        .unwrap();

    assert_eq!(outcome.status, ChargeStatus::Succeeded);
    assert!(
        outcome.charge_id.starts_with("pi_"),
        "{}",
        outcome.charge_id
    );
    let again = stripe.retrieve_charge(&outcome.charge_id).await.unwrap();
    assert_eq!(again, outcome);
    let pi: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/v1/payment_intents/{}", outcome.charge_id))
        .bearer_auth(TEST_SECRET_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pi["amount"], 1250);
    assert_eq!(pi["currency"], "eur");
    assert_eq!(pi["metadata"]["payment_id"], "7");
    assert_eq!(pi["metadata"]["description"], "Balance top-up");
}

with_tools!(a_card_refused_at_charge_time_is_a_decline_in_plain_words, needs localstripe);
async fn a_card_refused_at_charge_time_is_a_decline_in_plain_words() {
    let Some(base) = localstripe().await else {
        return;
    };
    let stripe = stripe_client(&base);
    let (customer, token) = customer_with_card(&stripe, &base, DECLINED_WHEN_CHARGED).await;

    let outcome = stripe
        .charge(&charge_of(&customer, &token, 500))
        .await
        .unwrap();

    let declined = ChargeStatus::Declined {
        code: "card_declined".into(),
        reason: "Your card was declined.".into(),
    };
    assert_eq!(outcome.status, declined);
    // localstripe names only the charge; its PaymentIntent is looked up.
    assert!(
        outcome.charge_id.starts_with("pi_"),
        "{}",
        outcome.charge_id
    );
    let again = stripe.retrieve_charge(&outcome.charge_id).await.unwrap();
    assert_eq!(again.status, declined);
}

with_tools!(a_card_refused_when_attached_is_declined, needs localstripe);
async fn a_card_refused_when_attached_is_declined() {
    let Some(base) = localstripe().await else {
        return;
    };
    let stripe = stripe_client(&base);
    let customer = customer(&stripe, 1).await;
    let token = card_token(&base, DECLINED_WHEN_ATTACHED).await;

    let error = stripe.attach_method(&customer, &token).await.unwrap_err();

    assert_eq!(
        error,
        GatewayError::Declined {
            code: "card_declined".into(),
            reason: "Your card was declined.".into()
        }
    );
    assert_eq!(error.to_string(), "Your card was declined.");
}

with_tools!(an_unknown_or_crafted_token_is_invalid, needs localstripe);
async fn an_unknown_or_crafted_token_is_invalid() {
    let Some(base) = localstripe().await else {
        return;
    };
    let stripe = stripe_client(&base);
    let customer = customer(&stripe, 1).await;

    for token in ["pm_doesnotexist", "../customers", "pm_1/attach", ""] {
        let error = stripe.attach_method(&customer, token).await.unwrap_err();
        assert_eq!(
            error,
            GatewayError::Invalid("unknown card token".into()),
            "{token:?}"
        );
    }
    assert!(matches!(
        stripe.detach_method("pm_doesnotexist").await,
        Err(GatewayError::Invalid(_))
    ));
    assert!(matches!(
        stripe.retrieve_charge("pi_doesnotexist").await,
        Err(GatewayError::Invalid(_))
    ));
}

with_tools!(a_card_of_another_customer_is_refused_until_detached, needs localstripe);
async fn a_card_of_another_customer_is_refused_until_detached() {
    let Some(base) = localstripe().await else {
        return;
    };
    let stripe = stripe_client(&base);
    let (_ann, token) = customer_with_card(&stripe, &base, VISA).await;
    let bob = customer(&stripe, 2).await;

    let error = stripe.attach_method(&bob, &token).await.unwrap_err();

    assert!(matches!(error, GatewayError::Invalid(_)), "{error:?}");
    stripe.detach_method(&token).await.unwrap();
    let card = stripe.attach_method(&bob, &token).await.unwrap();
    assert_eq!(card.last4, "4242");
}

with_tools!(a_charge_is_refunded_in_part_then_the_rest, needs localstripe);
async fn a_charge_is_refunded_in_part_then_the_rest() {
    let Some(base) = localstripe().await else {
        return;
    };
    let stripe = stripe_client(&base);
    let (customer, token) = customer_with_card(&stripe, &base, VISA).await;
    let charge = stripe
        .charge(&charge_of(&customer, &token, 1000))
        .await
        .unwrap();
    let refund = |amount_minor| RefundRequest {
        charge_id: charge.charge_id.clone(),
        amount_minor,
        idempotency_key: format!("refund-{:016x}", rand::random::<u64>()),
    };

    let part = stripe.refund(&refund(Some(300))).await.unwrap();
    let rest = stripe.refund(&refund(Some(700))).await.unwrap();

    assert_eq!(
        (part.amount_minor, part.status.as_str()),
        (300, "succeeded")
    );
    assert_eq!(
        (rest.amount_minor, rest.status.as_str()),
        (700, "succeeded")
    );
    assert!(part.refund_id.starts_with("re_") && part.refund_id != rest.refund_id);

    // A refund without an amount is the whole charge (localstripe does not subtract earlier
    // refunds, so this is shown on a charge of its own).
    let other = stripe
        .charge(&charge_of(&customer, &token, 450))
        .await
        .unwrap();
    let full = stripe
        .refund(&RefundRequest {
            charge_id: other.charge_id,
            amount_minor: None,
            idempotency_key: "refund-full".into(),
        })
        .await
        .unwrap();
    assert_eq!(full.amount_minor, 450);
}

with_tools!(a_declined_charge_cannot_be_refunded, needs localstripe);
async fn a_declined_charge_cannot_be_refunded() {
    let Some(base) = localstripe().await else {
        return;
    };
    let stripe = stripe_client(&base);
    let (customer, token) = customer_with_card(&stripe, &base, DECLINED_WHEN_CHARGED).await;
    let charge = stripe
        .charge(&charge_of(&customer, &token, 500))
        .await
        .unwrap();

    let error = stripe
        .refund(&RefundRequest {
            charge_id: charge.charge_id,
            amount_minor: None,
            idempotency_key: "refund-declined".into(),
        })
        .await
        .unwrap_err();

    assert!(matches!(error, GatewayError::Invalid(_)), "{error:?}");
}

#[tokio::test]
async fn a_gateway_that_is_down_is_unavailable_at_once() {
    let port = crate::common::free_port();
    let stripe = stripe_client(&format!("http://127.0.0.1:{port}"));
    let started = Instant::now();

    let error = customer_error(&stripe).await;

    assert!(matches!(error, GatewayError::Unavailable(_)), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(!error.to_string().contains("127.0.0.1"), "{error}");
}

#[tokio::test]
async fn a_gateway_that_answers_503_or_429_is_unavailable() {
    for status in ["503 Service Unavailable", "429 Too Many Requests"] {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let body = r#"{"error":{"message":"try later"}}"#;
        let answer = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            read_request(&mut socket).await;
            socket.write_all(answer.as_bytes()).await.unwrap();
        });
        let stripe = stripe_client(&format!("http://{address}"));

        let error = customer_error(&stripe).await;

        assert!(
            matches!(error, GatewayError::Unavailable(_)),
            "{status}: {error:?}"
        );
    }
}

#[tokio::test]
async fn a_gateway_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (_socket, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let stripe = StripeClient::new(
        format!("http://{address}"),
        Secret::new(TEST_SECRET_KEY),
        Duration::from_millis(300),
    )
    .unwrap();
    let started = Instant::now();

    let error = customer_error(&stripe).await;

    assert!(matches!(error, GatewayError::Unavailable(_)), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

async fn customer_error(stripe: &StripeClient) -> GatewayError {
    stripe
        .create_customer(&NewCustomer {
            user_id: 1,
            email: "a@example.com".into(),
            name: "A".into(),
        })
        .await
        .unwrap_err()
}

with_tools!(a_successful_charge_is_announced_by_a_signed_webhook, needs localstripe);
async fn a_successful_charge_is_announced_by_a_signed_webhook() {
    let Some(base) = localstripe().await else {
        return;
    };
    let stripe = stripe_client(&base);
    let secret = format!("whsec_{:016x}", rand::random::<u64>());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/stripe/webhook", listener.local_addr().unwrap());
    let hook_id = format!("test{:016x}", rand::random::<u64>());
    reqwest::Client::new()
        .post(format!("{base}/_config/webhooks/{hook_id}"))
        .form(&[
            ("url", hook.as_str()),
            ("secret", secret.as_str()),
            ("events[]", "payment_intent.succeeded"),
        ])
        .send()
        .await
        .unwrap()
        .error_for_status()
        .expect("webhook registered");
    let (customer, token) = customer_with_card(&stripe, &base, VISA).await;

    let charge = stripe
        .charge(&charge_of(&customer, &token, 990))
        .await
        .unwrap();

    // Other tests' charges are announced here too: wait for ours.
    let deadline = Instant::now() + Duration::from_secs(15);
    let (signature, body, event, pi) = loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let (mut socket, _) = tokio::time::timeout(remaining, listener.accept())
            .await
            .expect("localstripe sends the webhook within 15 s")
            .unwrap();
        let (signature, body) = read_request(&mut socket).await;
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let signature = signature.expect("a Stripe-Signature header");
        let now = chrono::Utc::now().timestamp();
        let event =
            webhook::verify_event(&signature, &body, &secret, now).expect("a valid signature");
        let pi = event
            .payment_intent()
            .expect("a payment intent event")
            .unwrap();
        if pi.charge_id == charge.charge_id {
            break (signature, body, event, pi);
        }
    };

    assert_eq!(event.kind, "payment_intent.succeeded");
    assert!(event.id.starts_with("evt_"), "{}", event.id);
    assert_eq!(pi.status, ChargeStatus::Succeeded);
    assert_eq!(pi.metadata.get("payment_id").map(String::as_str), Some("7"));
    // The same delivery checked with another endpoint's secret is refused.
    let now = chrono::Utc::now().timestamp();
    assert_eq!(
        webhook::verify_event(&signature, &body, "whsec_other", now),
        Err(webhook::WebhookError::BadSignature)
    );
}

/// Reads one HTTP/1.1 request; answers its Stripe-Signature header and its body.
async fn read_request(socket: &mut tokio::net::TcpStream) -> (Option<String>, Vec<u8>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = socket.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the connection closed inside the request head");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let header = |name: &str| {
        head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_string())
        })
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = socket.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the connection closed inside the request body");
        buf.extend_from_slice(&chunk[..n]);
    }
    (
        header("stripe-signature"),
        buf[head_end..head_end + length].to_vec(),
    )
}
