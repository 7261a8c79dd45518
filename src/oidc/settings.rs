//! What the operator configures for single sign-on (`SELFCARE_OIDC_*`), validated at start.

use anyhow::Context as _;

use crate::config::Secret;

/// The claim whose value the operator links to a subscriber (`selfcare user link … --sub VALUE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LinkClaim {
    /// The provider's stable subject identifier (the safest choice).
    #[default]
    Sub,
    /// The user name at the provider (Keycloak: the user's login name).
    PreferredUsername,
    /// The e-mail address, accepted only when the provider says it is verified.
    Email,
}

impl LinkClaim {
    pub fn parse(s: &str) -> Option<LinkClaim> {
        match s.trim() {
            "sub" => Some(LinkClaim::Sub),
            "preferred_username" => Some(LinkClaim::PreferredUsername),
            "email" => Some(LinkClaim::Email),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LinkClaim::Sub => "sub",
            LinkClaim::PreferredUsername => "preferred_username",
            LinkClaim::Email => "email",
        }
    }

    /// The scope (besides `openid`) the login asks for so the provider sends this claim.
    pub fn scope(self) -> Option<&'static str> {
        match self {
            LinkClaim::Sub => None,
            LinkClaim::PreferredUsername => Some("profile"),
            LinkClaim::Email => Some("email"),
        }
    }
}

/// Single sign-on through an OpenID provider (Keycloak realm, …).
#[derive(Clone, Debug)]
pub struct OidcSettings {
    /// The issuer URL exactly as the provider names itself (Keycloak: the realm's URL).
    pub issuer: String,
    pub client_id: String,
    /// None for a public client (PKCE only).
    pub client_secret: Option<Secret>,
    pub claim: LinkClaim,
    /// The audience (`aud`) a Bearer access token must name to be accepted here.
    pub audience: String,
    /// `{public_url}/auth/oidc/callback`, registered at the provider.
    pub redirect_uri: String,
    /// `{public_url}/callc/login`, where the provider sends the browser after its logout.
    pub post_logout_redirect_uri: String,
}

impl OidcSettings {
    /// None when neither issuer nor client id is set (single sign-on off); an error when only
    /// one of them is, or a value is not usable.
    pub fn new(
        issuer: Option<String>,
        client_id: Option<String>,
        client_secret: Option<String>,
        claim: &str,
        audience: Option<String>,
        public_url: &str,
    ) -> anyhow::Result<Option<OidcSettings>> {
        let given = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let (issuer, client_id) = (given(issuer), given(client_id));
        let (issuer, client_id) = match (issuer, client_id) {
            (None, None) => return Ok(None),
            (Some(i), Some(c)) => (i, c),
            (Some(_), None) => anyhow::bail!(
                "SELFCARE_OIDC_ISSUER is set: SELFCARE_OIDC_CLIENT_ID / --oidc-client-id must name the client too"
            ),
            (None, Some(_)) => anyhow::bail!(
                "SELFCARE_OIDC_CLIENT_ID is set: SELFCARE_OIDC_ISSUER / --oidc-issuer must name the provider too"
            ),
        };
        let url = reqwest::Url::parse(&issuer).with_context(|| {
            format!("SELFCARE_OIDC_ISSUER: {issuer:?} is not a URL like https://sso.example.com/realms/voip")
        })?;
        anyhow::ensure!(
            matches!(url.scheme(), "https" | "http")
                && url.query().is_none()
                && url.fragment().is_none(),
            "SELFCARE_OIDC_ISSUER: {issuer:?} must be an http(s) URL without query or fragment"
        );
        let claim = LinkClaim::parse(claim).with_context(|| {
            format!("SELFCARE_OIDC_CLAIM / --oidc-claim: {claim:?} is not one of sub, preferred_username, email")
        })?;
        let public_url = public_url.trim_end_matches('/');
        let audience = given(audience).unwrap_or_else(|| public_url.to_string());
        // An ID token names the client as its audience: were that the access tokens' audience
        // too, an ID token would pass as a Bearer token.
        anyhow::ensure!(
            audience != client_id,
            "SELFCARE_OIDC_AUDIENCE / --oidc-audience must differ from the client id (ID tokens are issued to the client)"
        );
        for (name, value) in [
            ("SELFCARE_OIDC_CLIENT_ID", client_id.as_str()),
            ("SELFCARE_OIDC_AUDIENCE", audience.as_str()),
        ] {
            anyhow::ensure!(
                !value.chars().any(char::is_control),
                "{name}: control characters are not allowed"
            );
        }
        Ok(Some(OidcSettings {
            issuer,
            client_id,
            client_secret: given(client_secret).map(Secret::new),
            claim,
            audience,
            redirect_uri: format!("{public_url}/auth/oidc/callback"),
            post_logout_redirect_uri: format!("{public_url}/callc/login"),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make(issuer: Option<&str>, client: Option<&str>) -> anyhow::Result<Option<OidcSettings>> {
        OidcSettings::new(
            issuer.map(str::to_string),
            client.map(str::to_string),
            Some("s3cr3t-value".into()),
            "sub",
            None,
            "https://portal.example.com/",
        )
    }

    #[test]
    fn off_unless_issuer_and_client_are_set() {
        assert!(make(None, None).unwrap().is_none());
        assert!(make(Some(" "), Some("")).unwrap().is_none());
        assert!(make(Some("https://sso.example.com/realms/voip"), None).is_err());
        assert!(make(None, Some("selfcare")).is_err());
    }

    #[test]
    fn redirect_uri_and_default_audience_come_from_the_public_url() {
        let s = make(
            Some("https://sso.example.com/realms/voip"),
            Some("selfcare"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            s.redirect_uri,
            "https://portal.example.com/auth/oidc/callback"
        );
        assert_eq!(s.audience, "https://portal.example.com");
        assert_eq!(s.claim, LinkClaim::Sub);
        assert!(!format!("{s:?}").contains("s3cr3t-value"));
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(make(Some("not a url"), Some("selfcare")).is_err());
        assert!(make(Some("ftp://sso.example.com"), Some("selfcare")).is_err());
        let claim = OidcSettings::new(
            Some("https://sso.example.com".into()),
            Some("selfcare".into()),
            None,
            "name",
            None,
            "https://portal.example.com",
        );
        assert!(claim.is_err());
        let same = OidcSettings::new(
            Some("https://sso.example.com".into()),
            Some("selfcare".into()),
            None,
            "sub",
            Some("selfcare".into()),
            "https://portal.example.com",
        );
        assert!(same.is_err());
    }
}
