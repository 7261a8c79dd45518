//! Stripe's webhooks: checking that a notification comes from Stripe, then reading it.
//!
//! Stripe signs each delivery with the endpoint's secret: the `Stripe-Signature` header is
//! `t=TIMESTAMP,v1=HEX[,v1=HEX…][,v0=…]`, where each `v1` is HMAC-SHA256 over
//! `"{TIMESTAMP}.{raw body}"`. Several `v1` appear while a secret is being rolled; any may
//! match. `v0` (the test-mode scheme of old) is ignored. A timestamp further than the tolerance
//! from now is refused, so a captured delivery cannot be replayed later. The body must be the
//! bytes as received: parsing and re-serialising JSON changes them.
//!
//! A verified event is still applied once per event id by the caller: Stripe delivers at least
//! once, and the same event may arrive again.

use std::collections::BTreeMap;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::gateway::{ChargeStatus, GatewayError};
use super::stripe;

/// How far the signature's time may be from ours: Stripe's libraries use five minutes.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the Stripe-Signature header is malformed")]
    Malformed,
    #[error("no signature matches")]
    BadSignature,
    #[error("the signature's time is {0} s from ours")]
    OutsideTolerance(i64),
    #[error("the event cannot be read: {0}")]
    BadEvent(String),
}

/// A Stripe event: `evt_…`, its type (`payment_intent.succeeded`), when it happened (Unix
/// seconds) and the object it is about (`data.object`).
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookEvent {
    pub id: String,
    pub kind: String,
    pub created: i64,
    pub object: Value,
}

/// What a `payment_intent.*` event says about a charge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentIntentEvent {
    /// `pi_…`, the `charge_id` of the charge's outcome.
    pub charge_id: String,
    pub status: ChargeStatus,
    /// Our references sent with the charge (`payment_id`, …).
    pub metadata: BTreeMap<String, String>,
}

/// The signature header's parts.
#[derive(Debug, PartialEq, Eq)]
struct SignatureHeader {
    timestamp: i64,
    v1: Vec<Vec<u8>>,
}

fn parse_header(header: &str) -> Result<SignatureHeader, WebhookError> {
    let mut timestamp = None;
    let mut v1 = Vec::new();
    let mut has_v1 = false;
    for part in header.split(',') {
        let (key, value) = part.trim().split_once('=').ok_or(WebhookError::Malformed)?;
        match key {
            "t" => {
                let t = value.parse().map_err(|_| WebhookError::Malformed)?;
                if timestamp.replace(t).is_some() {
                    return Err(WebhookError::Malformed);
                }
            }
            "v1" => {
                has_v1 = true;
                // A v1 that is not hex matches nothing; another v1 may still match.
                v1.extend(hex(value));
            }
            _ => {}
        }
    }
    match timestamp {
        Some(timestamp) if has_v1 => Ok(SignatureHeader { timestamp, v1 }),
        _ => Err(WebhookError::Malformed),
    }
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Checks a delivery's `Stripe-Signature` against the endpoint's secret, `now` in Unix seconds.
pub fn verify_signature(
    header: &str,
    body: &[u8],
    secret: &str,
    now: i64,
    tolerance: Duration,
) -> Result<(), WebhookError> {
    let header = parse_header(header)?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(header.timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    // Each candidate is compared in constant time; which one matched is no secret.
    if !header
        .v1
        .iter()
        .any(|signature| mac.clone().verify_slice(signature).is_ok())
    {
        return Err(WebhookError::BadSignature);
    }
    let skew = now.saturating_sub(header.timestamp);
    let tolerance = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    if skew.saturating_abs() > tolerance {
        return Err(WebhookError::OutsideTolerance(skew));
    }
    Ok(())
}

/// Reads an event's JSON (after its signature was checked).
pub fn parse_event(body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let json: Value =
        serde_json::from_slice(body).map_err(|e| WebhookError::BadEvent(e.to_string()))?;
    let text = |key: &str| {
        json.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .ok_or_else(|| WebhookError::BadEvent(format!("no {key}")))
    };
    let created = json
        .get("created")
        .and_then(Value::as_i64)
        .ok_or_else(|| WebhookError::BadEvent("no created".into()))?;
    let object = json
        .get("data")
        .and_then(|d| d.get("object"))
        .filter(|o| o.is_object())
        .cloned()
        .ok_or_else(|| WebhookError::BadEvent("no data.object".into()))?;
    Ok(WebhookEvent {
        id: text("id")?,
        kind: text("type")?,
        created,
        object,
    })
}

/// Verifies then reads a delivery: what a webhook endpoint does first.
pub fn verify_event(
    header: &str,
    body: &[u8],
    secret: &str,
    now: i64,
) -> Result<WebhookEvent, WebhookError> {
    verify_signature(header, body, secret, now, DEFAULT_TOLERANCE)?;
    parse_event(body)
}

impl WebhookEvent {
    /// The charge a `payment_intent.*` event is about; None for other events.
    pub fn payment_intent(&self) -> Option<Result<PaymentIntentEvent, WebhookError>> {
        if !self.kind.starts_with("payment_intent.") {
            return None;
        }
        let read = || {
            let outcome = stripe::parse_payment_intent(&self.object).map_err(|e| match e {
                GatewayError::Unavailable(detail) | GatewayError::Invalid(detail) => {
                    WebhookError::BadEvent(detail)
                }
                GatewayError::Declined { reason, .. } => WebhookError::BadEvent(reason),
            })?;
            Ok(PaymentIntentEvent {
                charge_id: outcome.charge_id,
                status: outcome.status,
                metadata: stripe::parse_metadata(&self.object),
            })
        };
        Some(read())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const NOW: i64 = 1_700_000_000;
    const BODY: &[u8] = br#"{
  "created": 1700000000,
  "data": {"object": {"id": "pi_1", "object": "payment_intent", "status": "succeeded",
                      "metadata": {"payment_id": "7"}}},
  "id": "evt_1",
  "object": "event",
  "type": "payment_intent.succeeded"
}"#;

    fn sign(secret: &str, t: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn verify(header: &str, body: &[u8]) -> Result<(), WebhookError> {
        verify_signature(header, body, SECRET, NOW, DEFAULT_TOLERANCE)
    }

    #[test]
    fn a_good_signature_is_accepted() {
        let header = format!("t={NOW},v1={}", sign(SECRET, NOW, BODY));
        assert_eq!(verify(&header, BODY), Ok(()));
    }

    #[test]
    fn a_signature_made_with_another_secret_is_refused() {
        let header = format!("t={NOW},v1={}", sign("whsec_other", NOW, BODY));
        assert_eq!(verify(&header, BODY), Err(WebhookError::BadSignature));
    }

    #[test]
    fn a_tampered_body_is_refused() {
        let header = format!("t={NOW},v1={}", sign(SECRET, NOW, BODY));
        let tampered = String::from_utf8_lossy(BODY).replace("succeeded", "succeeded ");
        assert_eq!(
            verify(&header, tampered.as_bytes()),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn a_timestamp_changed_after_signing_is_refused() {
        let header = format!("t={},v1={}", NOW + 1, sign(SECRET, NOW, BODY));
        assert_eq!(verify(&header, BODY), Err(WebhookError::BadSignature));
    }

    #[test]
    fn an_old_delivery_is_refused_as_a_replay() {
        let t = NOW - 301;
        let header = format!("t={t},v1={}", sign(SECRET, t, BODY));
        assert_eq!(
            verify(&header, BODY),
            Err(WebhookError::OutsideTolerance(301))
        );
        let t = NOW - 300;
        let header = format!("t={t},v1={}", sign(SECRET, t, BODY));
        assert_eq!(verify(&header, BODY), Ok(()));
    }

    #[test]
    fn a_delivery_from_the_future_is_refused() {
        let t = NOW + 301;
        let header = format!("t={t},v1={}", sign(SECRET, t, BODY));
        assert_eq!(
            verify(&header, BODY),
            Err(WebhookError::OutsideTolerance(-301))
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        let good = sign(SECRET, NOW, BODY);
        for header in [
            String::new(),
            "garbage".into(),
            format!("v1={good}"),
            format!("t=,v1={good}"),
            format!("t=soon,v1={good}"),
            format!("t={NOW}"),
            format!("t={NOW},v0={good}"),
            format!("t={NOW},t={NOW},v1={good}"),
            format!("t={NOW};v1={good}"),
        ] {
            assert_eq!(
                verify(&header, BODY),
                Err(WebhookError::Malformed),
                "{header:?}"
            );
        }
    }

    #[test]
    fn any_of_several_v1_signatures_may_match() {
        let header = format!(
            "t={NOW}, v1={}, v1=nothex, v1={}, v0={}",
            sign("whsec_old", NOW, BODY),
            sign(SECRET, NOW, BODY),
            sign("whsec_v0", NOW, BODY),
        );
        assert_eq!(verify(&header, BODY), Ok(()));
        let none = format!("t={NOW},v1={},v1=zz", sign("whsec_old", NOW, BODY));
        assert_eq!(verify(&none, BODY), Err(WebhookError::BadSignature));
    }

    #[test]
    fn a_payment_intent_event_reads_as_a_charge_outcome() {
        let header = format!("t={NOW},v1={}", sign(SECRET, NOW, BODY));
        let event = verify_event(&header, BODY, SECRET, NOW).unwrap();
        assert_eq!(event.id, "evt_1");
        assert_eq!(event.kind, "payment_intent.succeeded");
        assert_eq!(event.created, NOW);
        let pi = event.payment_intent().unwrap().unwrap();
        assert_eq!(
            pi,
            PaymentIntentEvent {
                charge_id: "pi_1".into(),
                status: ChargeStatus::Succeeded,
                metadata: BTreeMap::from([("payment_id".into(), "7".into())]),
            }
        );
    }

    #[test]
    fn other_events_are_not_payment_intents() {
        let event = WebhookEvent {
            id: "evt_2".into(),
            kind: "customer.created".into(),
            created: NOW,
            object: serde_json::json!({"id": "cus_1"}),
        };
        assert!(event.payment_intent().is_none());
    }

    #[test]
    fn an_event_without_its_parts_cannot_be_read() {
        for body in [&b"not json"[..], br#"{"id": "evt_1"}"#, br#"[]"#] {
            assert!(matches!(parse_event(body), Err(WebhookError::BadEvent(_))));
        }
    }
}
