//! OpenID Connect: single sign-on through the operator's provider (authorization code flow with
//! PKCE, `state` and `nonce`) and Bearer access tokens from the same provider.
//!
//! The provider's discovery document and its key set (JWKS) are fetched on first use and kept;
//! a token signed with a key id the cached set does not have makes one fresh fetch of the JWKS
//! (the provider rotated its keys), shared by concurrent requests. Signatures are checked by the
//! `openidconnect` crate with the provider's public keys, never by code of ours.

pub mod settings;

use std::sync::Arc;

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreIdToken, CoreIdTokenVerifier,
    CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, EndSessionUrl, GenderClaim, IdToken, IdTokenClaims, IssuerUrl, JsonWebTokenType,
    LogoutRequest, Nonce, PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl,
    ProviderMetadataWithLogout, RedirectUrl, RequestTokenError, Scope, SignatureVerificationError,
};
use serde::{Deserialize, Serialize};

pub use settings::{LinkClaim, OidcSettings};

use crate::store::Store;

/// How long a started login may take at the provider before its callback is refused.
pub const LOGIN_TTL_S: i64 = 10 * 60;

/// The key set is fetched again at most this often: tokens with made-up key ids cannot turn
/// the portal into a flood of requests to the provider.
const MIN_KEYS_REFRESH: std::time::Duration = std::time::Duration::from_secs(10);

/// Signature algorithms accepted on ID and access tokens: public-key ones only, so a token
/// "signed" with the client secret or unsigned (`none`) never passes.
const ASYMMETRIC_ALGS: [CoreJwsSigningAlgorithm; 10] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EcdsaP521Sha512,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// Why single sign-on did not get as far as an identity.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The provider cannot be reached or answered nonsense: try again later.
    #[error("the identity provider cannot be reached: {0}")]
    Unreachable(String),
    /// The provider refused the code (used already, expired, for another client): start again.
    #[error("the identity provider refused the sign-in: {0}")]
    Refused(String),
    /// The ID token failed a check (signature, issuer, audience, expiry, nonce).
    #[error("the identity token is not valid: {0}")]
    InvalidToken(String),
}

/// A login begun here and not yet finished: kept in the session until the callback.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingLogin {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub expires_at: i64,
}

/// Who the provider says signed in.
#[derive(Debug)]
pub struct Identity {
    /// The value of the configured linking claim.
    pub subject: String,
    /// The ID token as received (sent back to the provider as `id_token_hint` at logout).
    pub id_token: String,
}

/// What a valid Bearer access token grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BearerGrant {
    /// The linked subscriber.
    pub user_id: i64,
    /// The token's scopes (`scope`, space-separated), e.g. `read`, `write`.
    pub scopes: Vec<String>,
}

impl BearerGrant {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// Why a Bearer access token is not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BearerError {
    /// Malformed, badly signed, expired, not yet valid, from another issuer or for another
    /// audience (answer 401 with `WWW-Authenticate: Bearer error="invalid_token"`).
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// A valid token whose identity is linked to no subscriber (401 as well).
    #[error("the token's identity is not linked to a subscriber")]
    NotLinked,
    /// The linked subscriber is blocked (403).
    #[error("the subscriber is blocked")]
    Blocked,
    /// The provider's keys cannot be fetched, or the database failed (503).
    #[error("cannot check the token now: {0}")]
    Unavailable(String),
}

/// Claims of a JWT access token beyond those an ID token has too (RFC 9068).
#[derive(Clone, Debug, Deserialize, Serialize)]
struct AccessClaims {
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    nbf: Option<i64>,
}
impl AdditionalClaims for AccessClaims {}

/// A JWT access token read with the ID token's machinery: `iss`, `aud`, `exp`, `iat`, `sub` and
/// the signature are checked the same way.
type AccessToken = IdToken<
    AccessClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// The provider as discovered: its metadata (endpoints) and its current key set.
struct Provider {
    metadata: ProviderMetadataWithLogout,
}

impl Provider {
    fn jwks(&self) -> &CoreJsonWebKeySet {
        self.metadata.jwks()
    }
}

/// Single sign-on as handlers use it (`web::Data<Oidc>`, present only when configured).
pub struct Oidc {
    settings: OidcSettings,
    issuer: IssuerUrl,
    http: reqwest::Client,
    store: Store,
    provider: tokio::sync::RwLock<Option<Arc<Provider>>>,
    /// Held while the discovery document or the key set is fetched: one fetch at a time. It
    /// keeps when the key set was last fetched again.
    fetching: tokio::sync::Mutex<Option<std::time::Instant>>,
}

impl Oidc {
    pub fn new(settings: OidcSettings, store: Store) -> anyhow::Result<Oidc> {
        // No redirects: a provider (or whoever answers in its name) could otherwise point the
        // portal at internal addresses (SSRF), as openidconnect's documentation warns.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        let issuer = IssuerUrl::new(settings.issuer.clone())?;
        Ok(Oidc {
            settings,
            issuer,
            http,
            store,
            provider: tokio::sync::RwLock::new(None),
            fetching: tokio::sync::Mutex::new(None),
        })
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// The discovered provider, fetched on first use (and again after a failed attempt).
    async fn provider(&self) -> Result<Arc<Provider>, OidcError> {
        if let Some(p) = self.provider.read().await.as_ref() {
            return Ok(p.clone());
        }
        let _fetching = self.fetching.lock().await;
        if let Some(p) = self.provider.read().await.as_ref() {
            return Ok(p.clone());
        }
        let metadata = ProviderMetadataWithLogout::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|e| OidcError::Unreachable(error_chain(&e)))?;
        let provider = Arc::new(Provider { metadata });
        *self.provider.write().await = Some(provider.clone());
        Ok(provider)
    }

    /// Fetches the key set again, unless another request did since `seen` was current, or
    /// the last such fetch is less than `MIN_KEYS_REFRESH` ago (then the set stays as it is).
    async fn refresh_keys(&self, seen: &Arc<Provider>) -> Result<Arc<Provider>, OidcError> {
        let mut last_refresh = self.fetching.lock().await;
        if let Some(current) = self.provider.read().await.as_ref() {
            if !Arc::ptr_eq(current, seen) {
                return Ok(current.clone());
            }
        }
        if last_refresh.is_some_and(|at| at.elapsed() < MIN_KEYS_REFRESH) {
            return Ok(seen.clone());
        }
        *last_refresh = Some(std::time::Instant::now());
        let jwks = CoreJsonWebKeySet::fetch_async(seen.metadata.jwks_uri(), &self.http)
            .await
            .map_err(|e| OidcError::Unreachable(error_chain(&e)))?;
        tracing::info!(
            keys = jwks.keys().len(),
            "OpenID provider's key set fetched again"
        );
        let provider = Arc::new(Provider {
            metadata: seen.metadata.clone().set_jwks(jwks),
        });
        *self.provider.write().await = Some(provider.clone());
        Ok(provider)
    }

    /// Runs a token check with the cached keys; when no key matches the token's key id, fetches
    /// the key set once more and checks again.
    async fn with_keys<T>(
        &self,
        check: impl Fn(&CoreJsonWebKeySet) -> Result<T, ClaimsVerificationError>,
    ) -> Result<Result<T, ClaimsVerificationError>, OidcError> {
        let provider = self.provider().await?;
        match check(provider.jwks()) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                let provider = self.refresh_keys(&provider).await?;
                Ok(check(provider.jwks()))
            }
            other => Ok(other),
        }
    }

    fn client_secret(&self) -> Option<ClientSecret> {
        self.settings
            .client_secret
            .as_ref()
            .map(|s| ClientSecret::new(s.expose().to_string()))
    }

    /// The provider's authorization URL for a new login, and what to keep until its callback.
    pub async fn begin_login(&self, now: i64) -> Result<(String, PendingLogin), OidcError> {
        let provider = self.provider().await?;
        let client = CoreClient::from_provider_metadata(
            provider.metadata.clone(),
            ClientId::new(self.settings.client_id.clone()),
            self.client_secret(),
        )
        .set_redirect_uri(redirect_url(&self.settings.redirect_uri)?);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        if let Some(scope) = self.settings.claim.scope() {
            request = request.add_scope(Scope::new(scope.to_string()));
        }
        let (url, state, nonce) = request.url();
        Ok((
            url.to_string(),
            PendingLogin {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
                expires_at: now + LOGIN_TTL_S,
            },
        ))
    }

    /// Exchanges the code (with the PKCE verifier) and checks the ID token: signature from the
    /// provider's keys, issuer, audience (this client), expiry, nonce.
    pub async fn finish_login(
        &self,
        pending: &PendingLogin,
        code: String,
    ) -> Result<Identity, OidcError> {
        let provider = self.provider().await?;
        let client = CoreClient::from_provider_metadata(
            provider.metadata.clone(),
            ClientId::new(self.settings.client_id.clone()),
            self.client_secret(),
        )
        .set_redirect_uri(redirect_url(&self.settings.redirect_uri)?);
        let response = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| OidcError::Unreachable(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => {
                    OidcError::Refused(r.error().as_ref().to_string())
                }
                RequestTokenError::Request(e) => OidcError::Unreachable(error_chain(&e)),
                other => OidcError::Refused(error_chain(&other)),
            })?;
        let id_token: &CoreIdToken = response
            .extra_fields()
            .id_token()
            .ok_or_else(|| OidcError::InvalidToken("no ID token in the answer".into()))?;
        let nonce = Nonce::new(pending.nonce.clone());
        let claims = self
            .with_keys(|jwks| {
                id_token
                    .claims(&self.id_token_verifier(jwks), &nonce)
                    .cloned()
            })
            .await?
            .map_err(|e| OidcError::InvalidToken(error_chain(&e)))?;
        let subject = link_value(self.settings.claim, &claims).ok_or_else(|| {
            OidcError::InvalidToken(format!(
                "the ID token has no usable {} claim",
                self.settings.claim.as_str()
            ))
        })?;
        Ok(Identity {
            subject,
            id_token: id_token.to_string(),
        })
    }

    fn id_token_verifier<'a>(&self, jwks: &CoreJsonWebKeySet) -> CoreIdTokenVerifier<'a> {
        CoreIdTokenVerifier::new_public_client(
            ClientId::new(self.settings.client_id.clone()),
            self.issuer.clone(),
            jwks.clone(),
        )
        .set_allowed_algs(ASYMMETRIC_ALGS)
    }

    /// The subscriber an identity of this provider is linked to.
    pub async fn linked_user(
        &self,
        subject: &str,
    ) -> sqlx::Result<Option<crate::store::oidc_links::LinkedUser>> {
        self.store.linked_user(&self.settings.issuer, subject).await
    }

    /// Where to send the browser after the local logout: the provider's end-session endpoint
    /// (RP-initiated logout) with the ID token as hint, when the provider has one.
    pub async fn logout_url(&self, id_token: Option<&str>) -> Option<String> {
        let provider = match self.provider().await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "no provider logout");
                return None;
            }
        };
        let endpoint: EndSessionUrl = provider
            .metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()?;
        let mut request = LogoutRequest::from(endpoint)
            .set_client_id(ClientId::new(self.settings.client_id.clone()));
        if let Some(token) = id_token.and_then(|t| t.parse::<CoreIdToken>().ok()) {
            request = request.set_id_token_hint(&token);
        }
        if let Ok(back) = PostLogoutRedirectUrl::new(self.settings.post_logout_redirect_uri.clone())
        {
            request = request.set_post_logout_redirect_uri(back);
        }
        Some(request.http_get_url().to_string())
    }

    /// Checks a Bearer access token (a JWT, RFC 9068): signature against the provider's key set
    /// (fetched again once on an unknown key id), issuer, audience (the configured one among
    /// the token's), expiry and not-before; then the configured claim names a linked subscriber
    /// who is not blocked. Returns the subscriber and the token's scopes.
    pub async fn verify_bearer(&self, token: &str) -> Result<BearerGrant, BearerError> {
        let token: AccessToken = token
            .trim()
            .parse()
            .map_err(|_| BearerError::InvalidToken("not a signed JWT".into()))?;
        let now = chrono::Utc::now();
        let claims = self
            .with_keys(|jwks| check_access_token(&self.settings, &self.issuer, jwks, &token, now))
            .await
            .map_err(|e| BearerError::Unavailable(e.to_string()))?
            .map_err(|e| BearerError::InvalidToken(error_chain(&e)))?;
        let subject = link_value(self.settings.claim, &claims).ok_or_else(|| {
            BearerError::InvalidToken(format!("no usable {} claim", self.settings.claim.as_str()))
        })?;
        let user = self
            .linked_user(&subject)
            .await
            .map_err(|e| BearerError::Unavailable(e.to_string()))?
            .ok_or(BearerError::NotLinked)?;
        if user.blocked != 0 {
            return Err(BearerError::Blocked);
        }
        let scopes = claims
            .additional_claims()
            .scope
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        Ok(BearerGrant {
            user_id: user.id,
            scopes,
        })
    }
}

/// The checks of a JWT access token that need no network, at the time `now`.
fn check_access_token(
    settings: &OidcSettings,
    issuer: &IssuerUrl,
    jwks: &CoreJsonWebKeySet,
    token: &AccessToken,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<IdTokenClaims<AccessClaims, CoreGenderClaim>, ClaimsVerificationError> {
    // RFC 9068 names the type `at+jwt`; Keycloak and others say `JWT`.
    let types = ["at+jwt", "application/at+jwt", "JWT"]
        .into_iter()
        .filter_map(|t| JsonWebTokenType::new(t.to_string()).normalize().ok());
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(settings.audience.clone()),
        issuer.clone(),
        jwks.clone(),
    )
    .set_allowed_algs(ASYMMETRIC_ALGS)
    .set_allowed_jose_types(types)
    // An access token may name other resource servers beside this one.
    .set_other_audience_verifier_fn(|_| true)
    .set_time_fn(move || now);
    let claims = token.claims(&verifier, |_: Option<&Nonce>| Ok(()))?.clone();
    if let Some(nbf) = claims.additional_claims().nbf {
        if nbf > now.timestamp() {
            return Err(ClaimsVerificationError::Expired(format!(
                "not valid before {nbf}"
            )));
        }
    }
    Ok(claims)
}

/// The value of the linking claim: `sub`, `preferred_username`, or a verified `email`.
fn link_value<AC: AdditionalClaims, GC: GenderClaim>(
    claim: LinkClaim,
    claims: &IdTokenClaims<AC, GC>,
) -> Option<String> {
    let value = match claim {
        LinkClaim::Sub => Some(claims.subject().as_str().to_string()),
        LinkClaim::PreferredUsername => claims.preferred_username().map(|u| u.as_str().to_string()),
        LinkClaim::Email => match claims.email_verified() {
            Some(true) => claims.email().map(|e| e.as_str().to_string()),
            _ => None,
        },
    };
    value.filter(|v| !v.is_empty())
}

fn redirect_url(url: &str) -> Result<RedirectUrl, OidcError> {
    RedirectUrl::new(url.to_string())
        .map_err(|e| OidcError::Unreachable(format!("redirect URI {url:?}: {e}")))
}

/// An error with its causes, for the log and for messages to the operator.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod test_tokens;

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::test_tokens::*;
    use super::*;

    const ISSUER: &str = "https://sso.example.test/realms/voip";
    const PORTAL: &str = "https://portal.example.test";

    fn settings() -> OidcSettings {
        OidcSettings::new(
            Some(ISSUER.into()),
            Some("selfcare".into()),
            None,
            "sub",
            None,
            PORTAL,
        )
        .unwrap()
        .unwrap()
    }

    /// The checks of `verify_bearer` that need no network, a minute and 40 s after the
    /// fixtures were issued.
    fn check(
        token: &str,
    ) -> Result<IdTokenClaims<AccessClaims, CoreGenderClaim>, ClaimsVerificationError> {
        let jwks: CoreJsonWebKeySet = serde_json::from_str(JWKS).unwrap();
        let token: AccessToken = token.parse().expect("a JWT");
        let now = chrono::Utc.timestamp_opt(1_700_000_100, 0).unwrap();
        check_access_token(
            &settings(),
            &IssuerUrl::new(ISSUER.into()).unwrap(),
            &jwks,
            &token,
            now,
        )
    }

    #[test]
    fn a_valid_access_token_gives_its_claims_and_scopes() {
        for token in [VALID, KEYCLOAK_TYP] {
            let claims = check(token).unwrap();
            assert_eq!(
                claims.additional_claims().scope.as_deref(),
                Some("read write")
            );
            assert_eq!(
                link_value(LinkClaim::Sub, &claims).as_deref(),
                Some("user-1")
            );
            assert_eq!(
                link_value(LinkClaim::PreferredUsername, &claims).as_deref(),
                Some("alice")
            );
            // The fixture's e-mail address is not verified: it links nobody.
            assert_eq!(link_value(LinkClaim::Email, &claims), None);
        }
    }

    #[test]
    fn expired_and_not_yet_valid_tokens_are_refused() {
        assert!(matches!(
            check(EXPIRED),
            Err(ClaimsVerificationError::Expired(_))
        ));
        match check(NOT_YET) {
            Err(ClaimsVerificationError::Expired(why)) => assert!(why.contains("before"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn another_issuer_or_audience_is_refused() {
        assert!(matches!(
            check(OTHER_ISSUER),
            Err(ClaimsVerificationError::InvalidIssuer(_))
        ));
        assert!(matches!(
            check(OTHER_AUDIENCE),
            Err(ClaimsVerificationError::InvalidAudience(_))
        ));
    }

    #[test]
    fn an_unknown_key_id_asks_for_the_key_set_again() {
        assert_eq!(
            check(UNKNOWN_KID).unwrap_err(),
            ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey
            )
        );
    }

    #[test]
    fn forged_signatures_and_algorithms_are_refused() {
        // HS256 "signed" with a secret (algorithm confusion) and an unsigned token.
        assert!(matches!(
            check(HS256),
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::DisallowedAlg(_)
            ))
        ));
        if let Ok(none) = NONE.parse::<AccessToken>() {
            let jwks: CoreJsonWebKeySet = serde_json::from_str(JWKS).unwrap();
            let now = chrono::Utc.timestamp_opt(1_700_000_100, 0).unwrap();
            let issuer = IssuerUrl::new(ISSUER.into()).unwrap();
            assert!(check_access_token(&settings(), &issuer, &jwks, &none, now).is_err());
        }
        // The payload changed after signing.
        let mut parts: Vec<String> = VALID.split('.').map(str::to_string).collect();
        let claims =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &parts[1])
                .unwrap();
        let changed = String::from_utf8(claims)
            .unwrap()
            .replace("user-1", "user-2");
        parts[1] =
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, changed);
        assert!(matches!(
            check(&parts.join(".")),
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::CryptoError(_)
            ))
        ));
    }

    #[test]
    fn an_id_token_type_is_not_an_access_token() {
        assert!(matches!(
            check(ID_TOKEN_TYP),
            Err(ClaimsVerificationError::Unsupported(_))
        ));
    }
}
