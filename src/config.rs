//! Settings, validated once at start. The command line (`cli.rs`) fills them from flags and
//! `SELFCARE_*` environment variables; nothing else in the code reads the environment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;

#[derive(Clone, Debug)]
pub struct Settings {
    /// Address the HTTP server listens on; port 0 picks a free port (tests).
    pub bind: SocketAddr,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// Where the SQLite file, the session key and stored files live.
    pub data_dir: PathBuf,
    /// Mark the session cookie `Secure` (set when the portal is served over TLS).
    pub cookie_secure: bool,
    /// Brute-force protection of the login.
    pub login: crate::login_guard::LoginPolicy,
    /// How long a session lives without use, and in all.
    pub sessions: SessionLifetimes,
    /// How long a request's body may take to arrive after its headers.
    pub body_timeout: std::time::Duration,
    /// Outgoing mail (password resets).
    pub mail: crate::mail::MailSettings,
    /// Keep sessions in Redis (shared by every portal process) instead of in the cookie.
    pub redis_url: Option<String>,
    /// A read-only streaming replica (PostgreSQL) that pages of call history read from.
    pub replica_database_url: Option<String>,
    /// The most database connections the portal opens (to the primary, and as many to the
    /// replica); None: the engine's default.
    pub database_connections: Option<u32>,
    /// The portal's address as users reach it, for links in mail (`https://portal.example.com`).
    pub public_url: String,
    /// The Asterisk Manager Interface that places callbacks; None: no PBX configured.
    pub ami: Option<AmiSettings>,
    /// Exports: the most rows a PDF is made of; longer lists are offered as CSV instead.
    pub pdf_max_rows: usize,
    /// The operator as its invoices name it (the seller).
    pub operator: Operator,
    /// Card payments, top-up limits, low-balance mail, invoice due dates.
    pub wallet: crate::wallet::WalletSettings,
    /// The PBX's questions (`/pbx/authorize`): its token, and how subscribers dial.
    pub pbx: crate::controls::PbxApiSettings,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`web::client_address`).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Single sign-on through an OpenID provider; None: off (`crate::oidc`).
    pub oidc: Option<crate::oidc::OidcSettings>,
}

/// A session ends after `idle_s` without a request and `max_s` after its login, whatever the
/// session store (checked against `user_sessions` on every request).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionLifetimes {
    pub idle_s: i64,
    pub max_s: i64,
}

impl Default for SessionLifetimes {
    fn default() -> Self {
        SessionLifetimes {
            idle_s: 30 * 60,
            max_s: 12 * 3600,
        }
    }
}

impl SessionLifetimes {
    /// From the operator's minutes and hours, each at least 1 (the variables are named).
    pub fn new(idle_minutes: i64, max_hours: i64) -> anyhow::Result<SessionLifetimes> {
        anyhow::ensure!(
            (1..=7 * 24 * 60).contains(&idle_minutes),
            "SELFCARE_SESSION_IDLE_MINUTES / --session-idle-minutes: 1 to 10080 minutes"
        );
        anyhow::ensure!(
            (1..=24 * 90).contains(&max_hours),
            "SELFCARE_SESSION_MAX_HOURS / --session-max-hours: 1 to 2160 hours"
        );
        Ok(SessionLifetimes {
            idle_s: idle_minutes * 60,
            max_s: max_hours * 3600,
        })
    }
}

/// The operator's details printed on invoices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operator {
    pub name: String,
    /// Address lines.
    pub address: Vec<String>,
    pub vat_number: String,
    pub email: String,
    pub phone: String,
    /// How to pay an invoice other than by card here (bank transfer details), one line each;
    /// shown on unpaid invoices.
    pub payment_instructions: Vec<String>,
}

impl Default for Operator {
    fn default() -> Self {
        Operator {
            name: "VoIP operator".to_string(),
            address: Vec::new(),
            vat_number: String::new(),
            email: String::new(),
            phone: String::new(),
            payment_instructions: Vec::new(),
        }
    }
}

impl Operator {
    /// The seller of the demo data (`serve --demo` without operator settings): fictional, but
    /// an invoice that looks like one.
    pub fn demo() -> Operator {
        Operator {
            name: "Example Telecom Ltd".to_string(),
            address: Operator::address_lines("1 Example Street;London EC1A 1AA;United Kingdom"),
            vat_number: "GB 123 4567 89".to_string(),
            email: "billing@example.com".to_string(),
            phone: "+44 20 7946 0000".to_string(),
            payment_instructions: Operator::address_lines(
                "Bank transfer to Example Bank plc;IBAN GB33 EXMP 0000 0000 0000 00, BIC EXMPGB2L;Reference: your invoice number",
            ),
        }
    }

    /// True when nothing about the seller was configured.
    pub fn is_unset(&self) -> bool {
        self.address.is_empty()
            && self.vat_number.is_empty()
            && self.email.is_empty()
            && self.phone.is_empty()
            && self.payment_instructions.is_empty()
            && self.name == Operator::default().name
    }

    /// Address lines from one setting: `;` or a line break separates them, blanks are dropped.
    pub fn address_lines(text: &str) -> Vec<String> {
        text.split([';', '\n'])
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }
}

impl Settings {
    pub const DEFAULT_BIND: &'static str = "127.0.0.1:8080";
    pub const DEFAULT_DATA_DIR: &'static str = "data";
    pub const DEFAULT_PDF_MAX_ROWS: usize = 10_000;

    /// Builds settings from raw values; `database_url` defaults to a SQLite file in `data_dir`.
    pub fn new(
        bind: &str,
        database_url: Option<String>,
        data_dir: PathBuf,
    ) -> anyhow::Result<Self> {
        let bind: SocketAddr = bind.parse().with_context(|| {
            format!("SELFCARE_BIND / --bind: {bind:?} is not an address like 127.0.0.1:8080")
        })?;
        let database_url = match database_url.filter(|u| !u.trim().is_empty()) {
            Some(url) => {
                if !(url.starts_with("sqlite:")
                    || url.starts_with("postgres://")
                    || url.starts_with("postgresql://"))
                {
                    anyhow::bail!(
                        "SELFCARE_DATABASE_URL / --database-url: {url:?} must start with sqlite: or postgres://"
                    );
                }
                url
            }
            None => default_sqlite_url(&data_dir),
        };
        Ok(Settings {
            bind,
            database_url,
            data_dir: data_dir.clone(),
            cookie_secure: false,
            login: Default::default(),
            sessions: Default::default(),
            body_timeout: std::time::Duration::from_secs(30),
            mail: crate::mail::MailSettings {
                transport: crate::mail::Transport::Folder(data_dir.join("mail")),
                from: "selfcare@localhost".to_string(),
                poll: std::time::Duration::from_secs(30),
            },
            public_url: format!("http://{bind}"),
            redis_url: None,
            replica_database_url: None,
            database_connections: None,
            ami: None,
            pdf_max_rows: Settings::DEFAULT_PDF_MAX_ROWS,
            operator: Operator::default(),
            wallet: Default::default(),
            pbx: Default::default(),
            trusted_proxies: Vec::new(),
            oidc: None,
        })
    }

    pub fn session_key_path(&self) -> PathBuf {
        self.data_dir.join("session.key")
    }
}

pub fn default_sqlite_url(data_dir: &Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("selfcare.db").display()
    )
}

/// Where and as whom the portal logs in to the Asterisk Manager Interface.
#[derive(Clone, Debug)]
pub struct AmiSettings {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub secret: Secret,
    /// The dialplan context both legs of a callback are placed in.
    pub context: String,
}

impl AmiSettings {
    pub const DEFAULT_PORT: u16 = 5038;
    pub const DEFAULT_CONTEXT: &'static str = "from-internal";

    /// None when no manager host is given; an error when the host is given without a user
    /// and secret, or a value would break the manager protocol's line framing.
    pub fn new(
        host: Option<String>,
        port: u16,
        username: Option<String>,
        secret: Option<String>,
        context: String,
    ) -> anyhow::Result<Option<AmiSettings>> {
        let given = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        let (host, username, secret) = (given(host), given(username), given(secret));
        let Some(host) = host else {
            anyhow::ensure!(
                username.is_none() && secret.is_none(),
                "SELFCARE_AMI_USER / SELFCARE_AMI_SECRET are set but SELFCARE_AMI_HOST / --ami-host is not: \
                 name the Asterisk manager's host too, or unset them"
            );
            return Ok(None);
        };
        let username = username.context(
            "SELFCARE_AMI_HOST is set: SELFCARE_AMI_USER / --ami-user must name the manager user too",
        )?;
        let secret = secret.context(
            "SELFCARE_AMI_HOST is set: SELFCARE_AMI_SECRET / --ami-secret must give the manager secret too",
        )?;
        anyhow::ensure!(port != 0, "SELFCARE_AMI_PORT / --ami-port: 0 is not a port");
        for (name, value) in [
            ("SELFCARE_AMI_HOST", host.as_str()),
            ("SELFCARE_AMI_USER", username.as_str()),
            ("SELFCARE_AMI_SECRET", secret.as_str()),
            ("SELFCARE_AMI_CONTEXT", context.as_str()),
        ] {
            anyhow::ensure!(
                !value.chars().any(char::is_control),
                "{name}: control characters (line breaks) are not allowed"
            );
        }
        anyhow::ensure!(
            !context.trim().is_empty(),
            "SELFCARE_AMI_CONTEXT / --ami-context: name a dialplan context (default {})",
            Self::DEFAULT_CONTEXT
        );
        Ok(Some(AmiSettings {
            host: host.trim().to_string(),
            port,
            username,
            secret: Secret(secret),
            context: context.trim().to_string(),
        }))
    }
}

/// A password kept out of logs: `Debug` shows stars.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ami(
        host: Option<&str>,
        user: Option<&str>,
        secret: Option<&str>,
    ) -> anyhow::Result<Option<AmiSettings>> {
        AmiSettings::new(
            host.map(str::to_string),
            5038,
            user.map(str::to_string),
            secret.map(str::to_string),
            "from-internal".to_string(),
        )
    }

    #[test]
    fn no_host_is_no_pbx() {
        assert!(ami(None, None, None).unwrap().is_none());
        assert!(ami(Some(" "), None, None).unwrap().is_none());
        assert!(ami(None, Some("portal"), None).is_err());
    }

    #[test]
    fn a_host_needs_a_user_and_a_secret() {
        assert!(ami(Some("pbx"), None, Some("s")).is_err());
        assert!(ami(Some("pbx"), Some("portal"), None).is_err());
        let ok = ami(Some("pbx"), Some("portal"), Some("s3cret"))
            .unwrap()
            .unwrap();
        assert_eq!(ok.secret.expose(), "s3cret");
        assert!(!format!("{ok:?}").contains("s3cret"));
    }

    #[test]
    fn line_breaks_are_refused() {
        let err = ami(Some("pbx"), Some("portal"), Some("x\r\nAction: Command"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("SELFCARE_AMI_SECRET"), "{err}");
    }
}
