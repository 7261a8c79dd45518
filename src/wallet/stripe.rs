//! The [`Gateway`] that speaks Stripe's HTTP API: customers, PaymentMethods, PaymentIntents and
//! refunds.
//!
//! The encoding is kept apart from the network, as `pbx/ami.rs` does for the manager protocol:
//! the `*_form` functions build the form-encoded bodies (Stripe's bracket notation,
//! `metadata[payment_id]=7`) and the `parse_*` functions read Stripe's JSON, all pure and tested
//! below; [`StripeClient`] only sends them. The same code runs against `localstripe` in the
//! integration tests.
//!
//! Choices worth knowing:
//! - A charge is a PaymentIntent created with `confirm=true&off_session=true`, limited to cards
//!   (`payment_method_types[0]=card`), so Stripe neither waits for a return URL nor offers a
//!   redirecting method. The description travels as `metadata[description]`: real Stripe takes a
//!   `description` field, localstripe refuses it, and metadata reaches the dashboard either way.
//! - A decline answers HTTP 402; it is an outcome, not an error. Real Stripe names the
//!   PaymentIntent in the error body; localstripe names only the charge, whose PaymentIntent is
//!   then looked up (best effort) so the attempt can be reconciled later.
//! - Ids coming from a browser (card tokens) are checked to be plain Stripe ids before they
//!   go into a URL path.
//! - 429, 409 (a concurrent request with the same idempotency key), 5xx, timeouts and network
//!   errors are `Unavailable`: the same request may be sent again with the same key.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use super::gateway::{
    BoxFuture, CardSetup, ChargeOutcome, ChargeRequest, ChargeStatus, Gateway, GatewayError,
    NewCustomer, RefundOutcome, RefundRequest, StoredCard,
};
use crate::config::Secret;

/// Stripe's API, for production.
pub const API_BASE: &str = "https://api.stripe.com";

/// The API version the parsing below is written for (sent as `Stripe-Version`), so a change of
/// the account's default version does not change the answers.
pub const API_VERSION: &str = "2024-06-20";

/// The words for a generic decline, also used when the gateway gives no message.
pub const GENERIC_DECLINE: &str = "Your card was declined.";

/// A form body: Stripe's bracket notation flattened into pairs.
pub type Form = Vec<(String, String)>;

/// A client of Stripe's HTTP API (or anything that speaks it, such as localstripe).
#[derive(Clone, Debug)]
pub struct StripeClient {
    http: reqwest::Client,
    base_url: String,
    secret_key: Secret,
}

impl StripeClient {
    /// `base_url` without a trailing `/v1` ([`API_BASE`] in production); `timeout` bounds each
    /// request from connection to the end of the answer.
    pub fn new(
        base_url: String,
        secret_key: Secret,
        timeout: Duration,
    ) -> anyhow::Result<StripeClient> {
        let base_url = base_url.trim().trim_end_matches('/').to_string();
        anyhow::ensure!(
            base_url.starts_with("https://") || base_url.starts_with("http://"),
            "the Stripe API address must start with https:// (got {base_url:?})"
        );
        let key = secret_key.expose();
        anyhow::ensure!(
            !key.is_empty() && key.chars().all(|c| c.is_ascii_graphic()),
            "the Stripe secret key must be one word of printable characters (sk_live_… or sk_test_…)"
        );
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("selfcare/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(StripeClient {
            http,
            base_url,
            secret_key,
        })
    }

    /// One API call. `Ok(Ok(json))` for a 2xx answer, `Ok(Err(error))` for an answer Stripe
    /// refused (4xx but 409 and 429), `Err` when there was no usable answer.
    async fn call(
        &self,
        method: Method,
        path: &str,
        form: &[(String, String)],
        idempotency_key: Option<&str>,
    ) -> Result<Result<Value, ApiError>, GatewayError> {
        let url = format!("{}{path}", self.base_url);
        let mut request = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(self.secret_key.expose())
            .header("Stripe-Version", API_VERSION);
        if method != Method::GET {
            request = request.form(form);
        }
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.map_err(unavailable)?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(unavailable)?;
        tracing::debug!(%method, path, status, "stripe");
        if (200..300).contains(&status) {
            return serde_json::from_str(&body).map(Ok).map_err(|e| {
                GatewayError::Unavailable(format!("Stripe answered {status} with no JSON: {e}"))
            });
        }
        let error = parse_error(status, &body);
        if status == 409 || status == 429 || status >= 500 {
            return Err(GatewayError::Unavailable(format!(
                "Stripe answered {status}: {}",
                error.message().unwrap_or("no message")
            )));
        }
        Ok(Err(error))
    }

    /// A call whose refusals are all errors.
    async fn call_ok(
        &self,
        method: Method,
        path: &str,
        form: &[(String, String)],
        idempotency_key: Option<&str>,
    ) -> Result<Value, GatewayError> {
        self.call(method, path, form, idempotency_key)
            .await?
            .map_err(ApiError::into_gateway_error)
    }

    /// `POST /v1/setup_intents` for an off-session card of the customer.
    async fn setup_card(&self, customer: &str) -> Result<CardSetup, GatewayError> {
        let customer =
            checked_id(customer).ok_or_else(|| GatewayError::Invalid("unknown customer".into()))?;
        let json = self
            .call_ok(
                Method::POST,
                "/v1/setup_intents",
                &setup_intent_form(customer),
                None,
            )
            .await?;
        parse_setup_intent(&json)
    }

    async fn create_customer(&self, customer: &NewCustomer) -> Result<String, GatewayError> {
        let json = self
            .call_ok(
                Method::POST,
                "/v1/customers",
                &customer_form(customer),
                None,
            )
            .await?;
        string_field(&json, "id")
            .ok_or_else(|| unexpected("a customer without an id"))
            .map(str::to_string)
    }

    async fn attach_method(&self, customer: &str, token: &str) -> Result<StoredCard, GatewayError> {
        let unknown = || GatewayError::Invalid("unknown card token".into());
        let token = checked_id(token).ok_or_else(unknown)?;
        let customer =
            checked_id(customer).ok_or_else(|| GatewayError::Invalid("unknown customer".into()))?;
        let path = format!("/v1/payment_methods/{token}");
        let method = match self.call(Method::GET, &path, &[], None).await? {
            Ok(json) => json,
            Err(e) if e.status == 404 => return Err(unknown()),
            Err(e) => return Err(e.into_gateway_error()),
        };
        match string_field(&method, "customer") {
            Some(owner) if owner == customer => return parse_payment_method(&method),
            Some(_) => {
                return Err(GatewayError::Invalid(
                    "this card is registered to another account".into(),
                ))
            }
            None => {}
        }
        let attached = self
            .call(
                Method::POST,
                &format!("{path}/attach"),
                &attach_form(customer),
                None,
            )
            .await?;
        match attached {
            Ok(json) => parse_payment_method(&json),
            Err(e) if e.status == 404 => Err(unknown()),
            Err(e) => Err(e.into_gateway_error()),
        }
    }

    async fn detach_method(&self, token: &str) -> Result<(), GatewayError> {
        let unknown = || GatewayError::Invalid("unknown card token".into());
        let token = checked_id(token).ok_or_else(unknown)?;
        let path = format!("/v1/payment_methods/{token}/detach");
        match self.call(Method::POST, &path, &[], None).await? {
            Ok(_) => Ok(()),
            Err(e) if e.status == 404 => Err(unknown()),
            Err(e) => Err(e.into_gateway_error()),
        }
    }

    async fn charge(&self, request: &ChargeRequest) -> Result<ChargeOutcome, GatewayError> {
        let form = payment_intent_form(request)?;
        let answer = self
            .call(
                Method::POST,
                "/v1/payment_intents",
                &form,
                Some(&request.idempotency_key),
            )
            .await?;
        let error = match answer {
            Ok(json) => return parse_payment_intent(&json),
            Err(e) if e.status == 402 => e,
            Err(e) => return Err(e.into_gateway_error()),
        };
        let charge_id = match (&error.payment_intent, &error.charge) {
            (Some(pi), _) => pi.clone(),
            (None, Some(charge)) => self.payment_intent_of_charge(charge).await,
            (None, None) => String::new(),
        };
        let (code, reason) = error.decline();
        Ok(ChargeOutcome {
            charge_id,
            status: ChargeStatus::Declined { code, reason },
        })
    }

    /// The PaymentIntent a charge (`ch_…`) belongs to, or an empty string when it cannot be
    /// told: the decline stands either way.
    async fn payment_intent_of_charge(&self, charge: &str) -> String {
        let Some(charge) = checked_id(charge) else {
            return String::new();
        };
        let path = format!("/v1/charges/{charge}");
        match self.call(Method::GET, &path, &[], None).await {
            Ok(Ok(json)) => string_field(&json, "payment_intent")
                .unwrap_or_default()
                .to_string(),
            _ => String::new(),
        }
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RefundOutcome, GatewayError> {
        if checked_id(&request.charge_id).is_none() {
            return Err(GatewayError::Invalid("unknown payment".into()));
        }
        let json = self
            .call_ok(
                Method::POST,
                "/v1/refunds",
                &refund_form(request)?,
                Some(&request.idempotency_key),
            )
            .await?;
        parse_refund(&json)
    }

    async fn retrieve_charge(&self, charge_id: &str) -> Result<ChargeOutcome, GatewayError> {
        let unknown = || GatewayError::Invalid("unknown payment".into());
        let id = checked_id(charge_id).ok_or_else(unknown)?;
        let path = format!("/v1/payment_intents/{id}");
        match self.call(Method::GET, &path, &[], None).await? {
            Ok(json) => parse_payment_intent(&json),
            Err(e) if e.status == 404 => Err(unknown()),
            Err(e) => Err(e.into_gateway_error()),
        }
    }
}

impl Gateway for StripeClient {
    fn name(&self) -> &'static str {
        "stripe"
    }

    fn create_customer<'a>(
        &'a self,
        customer: &'a NewCustomer,
    ) -> BoxFuture<'a, Result<String, GatewayError>> {
        Box::pin(StripeClient::create_customer(self, customer))
    }

    fn attach_method<'a>(
        &'a self,
        customer: &'a str,
        token: &'a str,
    ) -> BoxFuture<'a, Result<StoredCard, GatewayError>> {
        Box::pin(StripeClient::attach_method(self, customer, token))
    }

    fn detach_method<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<(), GatewayError>> {
        Box::pin(StripeClient::detach_method(self, token))
    }

    fn charge<'a>(
        &'a self,
        request: &'a ChargeRequest,
    ) -> BoxFuture<'a, Result<ChargeOutcome, GatewayError>> {
        Box::pin(StripeClient::charge(self, request))
    }

    fn refund<'a>(
        &'a self,
        request: &'a RefundRequest,
    ) -> BoxFuture<'a, Result<RefundOutcome, GatewayError>> {
        Box::pin(StripeClient::refund(self, request))
    }

    fn retrieve_charge<'a>(
        &'a self,
        charge_id: &'a str,
    ) -> BoxFuture<'a, Result<ChargeOutcome, GatewayError>> {
        Box::pin(StripeClient::retrieve_charge(self, charge_id))
    }

    fn setup_card<'a>(
        &'a self,
        customer: &'a str,
    ) -> BoxFuture<'a, Result<CardSetup, GatewayError>> {
        Box::pin(StripeClient::setup_card(self, customer))
    }
}

fn unavailable(e: reqwest::Error) -> GatewayError {
    // reqwest's message names the URL and the cause; the key travels in a header, not in it.
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    GatewayError::Unavailable(format!("Stripe {what}: {e}"))
}

fn unexpected(what: &str) -> GatewayError {
    GatewayError::Unavailable(format!("unexpected answer from Stripe: {what}"))
}

/// A Stripe id as it may stand in a URL path: letters, digits and underscores, as Stripe's ids
/// are (`pm_1Nx…`, `cus_…`). Anything else (a `/`, `..`, `?`) is no id of ours.
pub fn checked_id(id: &str) -> Option<&str> {
    let ok = !id.is_empty()
        && id.len() <= 255
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    ok.then_some(id)
}

fn pair(key: impl Into<String>, value: impl Into<String>) -> (String, String) {
    (key.into(), value.into())
}

/// Stripe's metadata: at most 50 keys of 40 characters without brackets, values of 500.
fn metadata_pairs<'a>(
    metadata: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Form, GatewayError> {
    let mut out = Form::new();
    for (key, value) in metadata {
        if key.is_empty() || key.chars().count() > 40 || key.contains(['[', ']']) {
            return Err(GatewayError::Invalid(format!("metadata key {key:?}")));
        }
        let value: String = value.chars().take(500).collect();
        out.push(pair(format!("metadata[{key}]"), value));
    }
    if out.len() > 50 {
        return Err(GatewayError::Invalid("more than 50 metadata keys".into()));
    }
    Ok(out)
}

/// `POST /v1/setup_intents`: a card saved for charges without the subscriber present.
pub fn setup_intent_form(customer: &str) -> Form {
    vec![
        pair("customer", customer),
        pair("usage", "off_session"),
        pair("payment_method_types[0]", "card"),
    ]
}

/// A SetupIntent's id and client secret.
pub fn parse_setup_intent(json: &serde_json::Value) -> Result<CardSetup, GatewayError> {
    match (
        string_field(json, "id"),
        string_field(json, "client_secret"),
    ) {
        (Some(id), Some(secret)) if id.starts_with("seti_") => Ok(CardSetup {
            id: id.to_string(),
            client_secret: secret.to_string(),
        }),
        _ => Err(unexpected("a SetupIntent without an id or client secret")),
    }
}

/// `POST /v1/customers`.
/// An e-mail or name we do not have is left out (Stripe refuses an empty e-mail).
pub fn customer_form(customer: &NewCustomer) -> Form {
    let mut form = Form::new();
    for (key, value) in [("email", &customer.email), ("name", &customer.name)] {
        if !value.trim().is_empty() {
            form.push(pair(key, value.trim()));
        }
    }
    form.push(pair("metadata[user_id]", customer.user_id.to_string()));
    form
}

/// `POST /v1/payment_methods/{id}/attach`.
pub fn attach_form(customer: &str) -> Form {
    vec![pair("customer", customer)]
}

/// `POST /v1/payment_intents`: an off-session card charge, confirmed at once. The description
/// goes into metadata (see the module documentation).
pub fn payment_intent_form(request: &ChargeRequest) -> Result<Form, GatewayError> {
    if request.amount_minor <= 0 {
        return Err(GatewayError::Invalid(
            "the amount must be more than zero".into(),
        ));
    }
    let currency = request.currency.trim().to_ascii_lowercase();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_lowercase()) {
        return Err(GatewayError::Invalid(format!(
            "currency {:?}",
            request.currency
        )));
    }
    let mut form = vec![
        pair("amount", request.amount_minor.to_string()),
        pair("currency", currency),
        pair("customer", &request.customer),
        pair("payment_method", &request.method_token),
        pair("payment_method_types[0]", "card"),
        pair("confirm", "true"),
        pair("off_session", "true"),
    ];
    let described = !request.description.is_empty()
        && !request.metadata.iter().any(|(k, _)| k == "description");
    let description = described.then_some(("description", request.description.as_str()));
    let metadata = request
        .metadata
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(description);
    form.extend(metadata_pairs(metadata)?);
    Ok(form)
}

/// `POST /v1/refunds`: what is left of the PaymentIntent, or `amount` of it.
pub fn refund_form(request: &RefundRequest) -> Result<Form, GatewayError> {
    let mut form = vec![pair("payment_intent", &request.charge_id)];
    if let Some(amount) = request.amount_minor {
        if amount <= 0 {
            return Err(GatewayError::Invalid(
                "the refund must be more than zero".into(),
            ));
        }
        form.push(pair("amount", amount.to_string()));
    }
    Ok(form)
}

fn string_field<'a>(json: &'a Value, key: &str) -> Option<&'a str> {
    json.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// A PaymentIntent (from `POST`/`GET /v1/payment_intents` or a webhook) as a charge outcome.
pub fn parse_payment_intent(json: &Value) -> Result<ChargeOutcome, GatewayError> {
    let charge_id = string_field(json, "id")
        .ok_or_else(|| unexpected("a PaymentIntent without an id"))?
        .to_string();
    let status = string_field(json, "status")
        .ok_or_else(|| unexpected("a PaymentIntent without a status"))?;
    let declined = |code: &str, reason: &str| ChargeStatus::Declined {
        code: code.to_string(),
        reason: reason.to_string(),
    };
    let status = match status {
        "succeeded" => ChargeStatus::Succeeded,
        "processing" | "requires_capture" => ChargeStatus::Pending,
        "requires_payment_method" => match json.get("last_payment_error") {
            Some(error) if error.is_object() => {
                let (code, reason) = ErrorBody::read(error).decline();
                ChargeStatus::Declined { code, reason }
            }
            _ => declined("card_declined", GENERIC_DECLINE),
        },
        "requires_action" => declined(
            "authentication_required",
            reason_for("authentication_required").unwrap_or(GENERIC_DECLINE),
        ),
        "requires_confirmation" => {
            declined("requires_confirmation", "The payment was not completed.")
        }
        "canceled" => declined("canceled", "The payment was cancelled."),
        // A state this code does not know yet: neither credit nor fail; reconcile later.
        _ => ChargeStatus::Pending,
    };
    Ok(ChargeOutcome { charge_id, status })
}

/// A PaymentMethod as the card we keep.
pub fn parse_payment_method(json: &Value) -> Result<StoredCard, GatewayError> {
    let token =
        string_field(json, "id").ok_or_else(|| unexpected("a PaymentMethod without an id"))?;
    let Some(card) = json.get("card").filter(|c| c.is_object()) else {
        return Err(GatewayError::Invalid(
            "this payment method is not a card".into(),
        ));
    };
    let number = |key: &str| card.get(key).and_then(Value::as_i64);
    let (Some(last4), Some(exp_month), Some(exp_year)) = (
        string_field(card, "last4"),
        number("exp_month").and_then(|m| u32::try_from(m).ok()),
        number("exp_year").and_then(|y| i32::try_from(y).ok()),
    ) else {
        return Err(unexpected("a card without its last digits or expiry"));
    };
    Ok(StoredCard {
        token: token.to_string(),
        brand: string_field(card, "brand").unwrap_or("unknown").to_string(),
        last4: last4.to_string(),
        exp_month,
        exp_year,
    })
}

/// A Refund.
pub fn parse_refund(json: &Value) -> Result<RefundOutcome, GatewayError> {
    let (Some(refund_id), Some(amount_minor)) = (
        string_field(json, "id"),
        json.get("amount").and_then(Value::as_i64),
    ) else {
        return Err(unexpected("a refund without an id or amount"));
    };
    Ok(RefundOutcome {
        refund_id: refund_id.to_string(),
        amount_minor,
        status: string_field(json, "status")
            .unwrap_or("pending")
            .to_string(),
    })
}

/// The metadata of a Stripe object, values that are not strings left out.
pub fn parse_metadata(json: &Value) -> BTreeMap<String, String> {
    json.get("metadata")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The fields of Stripe's `{"error": {...}}` (or of a PaymentIntent's `last_payment_error`) we
/// read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ErrorBody {
    code: Option<String>,
    decline_code: Option<String>,
    message: Option<String>,
}

impl ErrorBody {
    fn read(error: &Value) -> ErrorBody {
        let field = |k: &str| string_field(error, k).map(str::to_string);
        ErrorBody {
            code: field("code"),
            decline_code: field("decline_code"),
            message: field("message"),
        }
    }

    /// The code to keep and the words for the subscriber.
    fn decline(&self) -> (String, String) {
        let code = self
            .decline_code
            .as_deref()
            .or(self.code.as_deref())
            .unwrap_or("card_declined");
        let reason = [self.decline_code.as_deref(), self.code.as_deref()]
            .into_iter()
            .flatten()
            .find_map(reason_for)
            .map(str::to_string)
            .or_else(|| self.message.clone())
            .unwrap_or_else(|| GENERIC_DECLINE.to_string());
        (code.to_string(), reason)
    }
}

/// A refusal from Stripe: its HTTP status and error body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    body: ErrorBody,
    /// The PaymentIntent a decline concerns (real Stripe).
    pub payment_intent: Option<String>,
    /// The charge a decline concerns (real Stripe and localstripe).
    pub charge: Option<String>,
}

impl ApiError {
    /// Stripe's message, e.g. `No such customer: 'cus_…'`.
    pub fn message(&self) -> Option<&str> {
        self.body.message.as_deref()
    }

    /// The decline's code and reason, for a 402.
    pub fn decline(&self) -> (String, String) {
        self.body.decline()
    }

    /// The refusal as an error: a 402 is a decline, 401/403 our own configuration, the rest a
    /// request Stripe would not take, with Stripe's message.
    pub fn into_gateway_error(self) -> GatewayError {
        match self.status {
            402 => {
                let (code, reason) = self.decline();
                GatewayError::Declined { code, reason }
            }
            401 | 403 => {
                GatewayError::Invalid("the portal's payment settings are not accepted".into())
            }
            status => GatewayError::Invalid(
                self.body
                    .message
                    .unwrap_or_else(|| format!("Stripe answered {status}")),
            ),
        }
    }
}

/// Reads an error answer; a body that is not Stripe's JSON still gives the status.
pub fn parse_error(status: u16, body: &str) -> ApiError {
    let json: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let error = json.get("error").cloned().unwrap_or(Value::Null);
    let body = ErrorBody::read(&error);
    let payment_intent = match error.get("payment_intent") {
        Some(Value::String(id)) => Some(id.clone()),
        Some(pi) => string_field(pi, "id").map(str::to_string),
        None => None,
    };
    ApiError {
        status,
        body,
        payment_intent: payment_intent.filter(|id| !id.is_empty()),
        charge: string_field(&error, "charge").map(str::to_string),
    }
}

/// Plain words for Stripe's decline and card error codes. Codes that hint at fraud (lost,
/// stolen, fraudulent) get the generic words, as Stripe advises.
fn reason_for(code: &str) -> Option<&'static str> {
    Some(match code {
        "insufficient_funds" => "Your card has insufficient funds.",
        "expired_card" => "Your card has expired.",
        "incorrect_cvc" | "invalid_cvc" => "Your card's security code is incorrect.",
        "incorrect_number" | "invalid_number" => "Your card number is incorrect.",
        "invalid_expiry_month" | "invalid_expiry_year" => "Your card's expiry date is incorrect.",
        "processing_error" => {
            "An error occurred while processing your card. Please try again in a moment."
        }
        "card_velocity_exceeded" | "withdrawal_count_limit_exceeded" => {
            "Your card has reached its spending limit."
        }
        "authentication_required" | "payment_intent_authentication_failure" => {
            "Your bank asks to confirm this payment, which cannot be done for an automatic \
             payment. Please use another card."
        }
        "currency_not_supported" => "Your card does not support this currency.",
        "card_not_supported" => "Your card does not support this type of purchase.",
        "card_declined"
        | "generic_decline"
        | "do_not_honor"
        | "lost_card"
        | "stolen_card"
        | "fraudulent"
        | "pickup_card"
        | "restricted_card"
        | "security_violation"
        | "merchant_blacklist"
        | "not_permitted"
        | "transaction_not_allowed"
        | "call_issuer"
        | "no_action_taken"
        | "revocation_of_authorization"
        | "stop_payment_order" => GENERIC_DECLINE,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn charge_request() -> ChargeRequest {
        ChargeRequest {
            customer: "cus_A".into(),
            method_token: "pm_B".into(),
            amount_minor: 1250,
            currency: "EUR".into(),
            idempotency_key: "payment-7".into(),
            description: "Top-up".into(),
            metadata: vec![("payment_id".into(), "7".into())],
        }
    }

    fn pairs(form: &Form) -> Vec<(&str, &str)> {
        form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    #[test]
    fn a_payment_intent_is_confirmed_off_session_with_metadata_in_brackets() {
        let form = payment_intent_form(&charge_request()).unwrap();
        assert_eq!(
            pairs(&form),
            [
                ("amount", "1250"),
                ("currency", "eur"),
                ("customer", "cus_A"),
                ("payment_method", "pm_B"),
                ("payment_method_types[0]", "card"),
                ("confirm", "true"),
                ("off_session", "true"),
                ("metadata[payment_id]", "7"),
                ("metadata[description]", "Top-up"),
            ]
        );
        assert_eq!(
            serde_urlencoded::to_string(&form).unwrap(),
            "amount=1250&currency=eur&customer=cus_A&payment_method=pm_B&\
             payment_method_types%5B0%5D=card&confirm=true&off_session=true&\
             metadata%5Bpayment_id%5D=7&metadata%5Bdescription%5D=Top-up"
        );
    }

    #[test]
    fn a_charge_of_nothing_or_in_a_strange_currency_is_refused_before_sending() {
        for (amount, currency) in [
            (0, "eur"),
            (-5, "eur"),
            (100, "euro"),
            (100, "€€€"),
            (100, ""),
        ] {
            let request = ChargeRequest {
                amount_minor: amount,
                currency: currency.into(),
                ..charge_request()
            };
            assert!(
                matches!(payment_intent_form(&request), Err(GatewayError::Invalid(_))),
                "{amount} {currency}"
            );
        }
    }

    #[test]
    fn metadata_keys_with_brackets_are_refused() {
        let request = ChargeRequest {
            metadata: vec![("a]b".into(), "1".into())],
            ..charge_request()
        };
        assert!(payment_intent_form(&request).is_err());
    }

    #[test]
    fn a_customer_carries_our_user_id() {
        let form = customer_form(&NewCustomer {
            user_id: 42,
            email: "ann@example.com".into(),
            name: "Ann".into(),
        });
        assert_eq!(
            pairs(&form),
            [
                ("email", "ann@example.com"),
                ("name", "Ann"),
                ("metadata[user_id]", "42")
            ]
        );
        let anonymous = customer_form(&NewCustomer {
            user_id: 7,
            email: String::new(),
            name: " ".into(),
        });
        assert_eq!(pairs(&anonymous), [("metadata[user_id]", "7")]);
    }

    #[test]
    fn a_refund_names_the_payment_intent_and_maybe_an_amount() {
        let full = RefundRequest {
            charge_id: "pi_1".into(),
            amount_minor: None,
            idempotency_key: "r1".into(),
        };
        assert_eq!(
            pairs(&refund_form(&full).unwrap()),
            [("payment_intent", "pi_1")]
        );
        let part = RefundRequest {
            amount_minor: Some(300),
            ..full
        };
        assert_eq!(
            pairs(&refund_form(&part).unwrap()),
            [("payment_intent", "pi_1"), ("amount", "300")]
        );
    }

    #[test]
    fn payment_intent_states_become_outcomes() {
        let outcome = |status: &str| {
            parse_payment_intent(&json!({"id": "pi_1", "status": status}))
                .unwrap()
                .status
        };
        assert_eq!(outcome("succeeded"), ChargeStatus::Succeeded);
        assert_eq!(outcome("processing"), ChargeStatus::Pending);
        assert_eq!(outcome("requires_capture"), ChargeStatus::Pending);
        assert_eq!(outcome("something_new"), ChargeStatus::Pending);
        assert!(
            matches!(outcome("canceled"), ChargeStatus::Declined { code, .. } if code == "canceled")
        );
        assert!(matches!(
            outcome("requires_action"),
            ChargeStatus::Declined { code, .. } if code == "authentication_required"
        ));
    }

    #[test]
    fn a_failed_payment_intent_is_declined_with_plain_words() {
        let pi = json!({
            "id": "pi_1",
            "status": "requires_payment_method",
            "last_payment_error": {
                "code": "card_declined",
                "decline_code": "insufficient_funds",
                "message": "Your card has insufficient funds."
            }
        });
        assert_eq!(
            parse_payment_intent(&pi).unwrap(),
            ChargeOutcome {
                charge_id: "pi_1".into(),
                status: ChargeStatus::Declined {
                    code: "insufficient_funds".into(),
                    reason: "Your card has insufficient funds.".into(),
                },
            }
        );
    }

    #[test]
    fn a_payment_intent_without_id_or_status_is_an_unexpected_answer() {
        for pi in [
            json!({"status": "succeeded"}),
            json!({"id": "pi_1"}),
            json!([]),
        ] {
            assert!(matches!(
                parse_payment_intent(&pi),
                Err(GatewayError::Unavailable(_))
            ));
        }
    }

    #[test]
    fn decline_reasons_are_plain_words_and_fall_back_to_the_gateway_message() {
        let reason = |code: Option<&str>, decline: Option<&str>, message: Option<&str>| {
            ErrorBody {
                code: code.map(Into::into),
                decline_code: decline.map(Into::into),
                message: message.map(Into::into),
            }
            .decline()
        };
        assert_eq!(
            reason(Some("expired_card"), None, Some("Your card has expired.")),
            ("expired_card".into(), "Your card has expired.".into())
        );
        assert_eq!(
            reason(
                Some("card_declined"),
                Some("stolen_card"),
                Some("Your card was declined.")
            ),
            ("stolen_card".into(), GENERIC_DECLINE.into())
        );
        assert_eq!(
            reason(Some("card_declined"), Some("brand_new_code"), None),
            ("brand_new_code".into(), GENERIC_DECLINE.into())
        );
        assert_eq!(
            reason(Some("odd_code"), None, Some("The bank said no.")),
            ("odd_code".into(), "The bank said no.".into())
        );
        assert_eq!(
            reason(None, None, None),
            ("card_declined".into(), GENERIC_DECLINE.into())
        );
    }

    #[test]
    fn a_real_stripe_decline_names_its_payment_intent() {
        let body = r#"{"error": {"type": "card_error", "code": "card_declined",
            "decline_code": "insufficient_funds", "message": "Your card has insufficient funds.",
            "charge": "ch_9", "payment_intent": {"id": "pi_9", "status": "requires_payment_method"}}}"#;
        let error = parse_error(402, body);
        assert_eq!(error.payment_intent.as_deref(), Some("pi_9"));
        assert_eq!(error.charge.as_deref(), Some("ch_9"));
        assert_eq!(
            error.into_gateway_error(),
            GatewayError::Declined {
                code: "insufficient_funds".into(),
                reason: "Your card has insufficient funds.".into()
            }
        );
    }

    #[test]
    fn a_localstripe_decline_names_only_its_charge() {
        let body = r#"{"error": {"charge": "ch_1", "code": "card_declined",
            "message": "Your card was declined.", "type": "invalid_request_error"}}"#;
        let error = parse_error(402, body);
        assert_eq!(error.payment_intent, None);
        assert_eq!(error.charge.as_deref(), Some("ch_1"));
        assert_eq!(
            error.decline(),
            ("card_declined".into(), GENERIC_DECLINE.into())
        );
    }

    #[test]
    fn refusals_become_errors_by_status() {
        let not_found = parse_error(404, r#"{"error": {"message": "No such customer"}}"#);
        assert_eq!(
            not_found.into_gateway_error(),
            GatewayError::Invalid("No such customer".into())
        );
        let bad_key = parse_error(
            401,
            r#"{"error": {"message": "Invalid API Key provided: sk_test_****1234"}}"#,
        );
        let shown = bad_key.into_gateway_error().to_string();
        assert!(!shown.contains("sk_"), "{shown}");
        let html = parse_error(400, "<html>bad gateway</html>");
        assert_eq!(
            html.into_gateway_error(),
            GatewayError::Invalid("Stripe answered 400".into())
        );
    }

    #[test]
    fn a_payment_method_becomes_the_card_we_keep() {
        let pm = json!({
            "id": "pm_1", "object": "payment_method", "type": "card", "customer": null,
            "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030,
                     "fingerprint": "abc", "funding": "credit"}
        });
        assert_eq!(
            parse_payment_method(&pm).unwrap(),
            StoredCard {
                token: "pm_1".into(),
                brand: "visa".into(),
                last4: "4242".into(),
                exp_month: 12,
                exp_year: 2030,
            }
        );
        let iban = json!({"id": "pm_2", "type": "sepa_debit", "sepa_debit": {"last4": "3000"}});
        assert!(matches!(
            parse_payment_method(&iban),
            Err(GatewayError::Invalid(_))
        ));
    }

    #[test]
    fn a_refund_reads_its_id_amount_and_status() {
        let refund = json!({"id": "re_1", "amount": 300, "status": "succeeded"});
        assert_eq!(
            parse_refund(&refund).unwrap(),
            RefundOutcome {
                refund_id: "re_1".into(),
                amount_minor: 300,
                status: "succeeded".into()
            }
        );
    }

    #[test]
    fn only_plain_ids_go_into_a_path() {
        assert_eq!(checked_id("pm_1NxYz"), Some("pm_1NxYz"));
        for bad in [
            "",
            "../customers",
            "pm_1/attach",
            "pm_1?x=1",
            "pm 1",
            "pm_1%2F",
        ] {
            assert_eq!(checked_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn metadata_reads_string_values() {
        let pi = json!({"metadata": {"payment_id": "7", "n": 3}});
        assert_eq!(
            parse_metadata(&pi),
            BTreeMap::from([("payment_id".to_string(), "7".to_string())])
        );
    }

    #[test]
    fn the_secret_key_does_not_show_in_debug() {
        let client = StripeClient::new(
            "http://127.0.0.1:1/".into(),
            Secret::new("sk_test_verysecret"),
            Duration::from_secs(1),
        )
        .unwrap();
        assert!(!format!("{client:?}").contains("verysecret"));
        assert_eq!(client.base_url, "http://127.0.0.1:1");
    }
}
