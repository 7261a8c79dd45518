//! Single sign-on on the command line: the `SELFCARE_OIDC_*` settings of `serve`, and
//! `selfcare user link|unlink`, which tie an identity at the OpenID provider to a subscriber.

use anyhow::Context as _;
use clap::Args;

use crate::oidc::OidcSettings;
use crate::store::Store;

/// Single sign-on through an OpenID provider (Keycloak realm, …); off unless issuer and client
/// id are set.
#[derive(Args)]
pub struct OidcArgs {
    /// The provider's issuer URL (Keycloak: https://HOST/realms/REALM)
    #[arg(long, env = "SELFCARE_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// The client id registered at the provider for this portal
    #[arg(long, env = "SELFCARE_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,
    /// The client's secret (confidential client)
    #[arg(long, env = "SELFCARE_OIDC_CLIENT_SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<String>,
    /// The claim whose value `selfcare user link` records: sub, preferred_username or email
    #[arg(long, env = "SELFCARE_OIDC_CLAIM", default_value = "sub")]
    pub oidc_claim: String,
    /// The audience Bearer access tokens must name [default: the public URL]
    #[arg(long, env = "SELFCARE_OIDC_AUDIENCE")]
    pub oidc_audience: Option<String>,
}

impl OidcArgs {
    pub fn settings(self, public_url: &str) -> anyhow::Result<Option<OidcSettings>> {
        OidcSettings::new(
            self.oidc_issuer,
            self.oidc_client_id,
            self.oidc_client_secret,
            &self.oidc_claim,
            self.oidc_audience,
            public_url,
        )
    }
}

/// `selfcare user link USER --issuer ISS --sub VALUE`: VALUE is the value of the configured
/// claim (SELFCARE_OIDC_CLAIM) for that person at the provider.
pub async fn link(store: &Store, name: &str, issuer: &str, value: &str) -> anyhow::Result<()> {
    let (user_id, issuer, value) = identity(store, name, issuer, value).await?;
    anyhow::ensure!(
        store.link_identity(&issuer, &value, user_id).await?,
        "{value:?} at {issuer} is linked already; unlink it first"
    );
    println!("{name} now signs in as {value:?} at {issuer}.");
    Ok(())
}

pub async fn unlink(store: &Store, name: &str, issuer: &str, value: &str) -> anyhow::Result<()> {
    let (user_id, issuer, value) = identity(store, name, issuer, value).await?;
    anyhow::ensure!(
        store.unlink_identity(&issuer, &value, user_id).await?,
        "{name} is not linked to {value:?} at {issuer}"
    );
    println!("{name} no longer signs in as {value:?} at {issuer}.");
    Ok(())
}

async fn identity(
    store: &Store,
    name: &str,
    issuer: &str,
    value: &str,
) -> anyhow::Result<(i64, String, String)> {
    let user_id = store
        .user_id_by_name(name)
        .await?
        .with_context(|| format!("no user {name:?}"))?;
    let issuer = issuer.trim();
    let url = reqwest::Url::parse(issuer)
        .ok()
        .filter(|u| matches!(u.scheme(), "https" | "http"));
    anyhow::ensure!(
        url.is_some(),
        "--issuer: {issuer:?} is not an http(s) URL; give SELFCARE_OIDC_ISSUER exactly"
    );
    let value = value.trim();
    anyhow::ensure!(
        !value.is_empty() && value.len() <= 255 && !value.chars().any(char::is_control),
        "--sub: 1 to 255 characters, no control characters"
    );
    Ok((user_id, issuer.to_string(), value.to_string()))
}
