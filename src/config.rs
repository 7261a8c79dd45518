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
    /// CSS, icons and fonts.
    pub static_dir: PathBuf,
    /// Mark the session cookie `Secure` (set when the portal is served over TLS).
    pub cookie_secure: bool,
    /// Brute-force protection of the login.
    pub login: crate::login_guard::LoginPolicy,
    /// Outgoing mail (password resets).
    pub mail: crate::mail::MailSettings,
    /// The portal's address as users reach it, for links in mail (`https://portal.example.com`).
    pub public_url: String,
    /// Exports: the most rows a PDF is made of; longer lists are offered as CSV instead.
    pub pdf_max_rows: usize,
    /// The operator as its invoices name it (the seller).
    pub operator: Operator,
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
}

impl Default for Operator {
    fn default() -> Self {
        Operator {
            name: "VoIP operator".to_string(),
            address: Vec::new(),
            vat_number: String::new(),
            email: String::new(),
            phone: String::new(),
        }
    }
}

impl Operator {
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
            static_dir: PathBuf::from("static"),
            cookie_secure: false,
            login: Default::default(),
            mail: crate::mail::MailSettings {
                transport: crate::mail::Transport::Folder(data_dir.join("mail")),
                from: "selfcare@localhost".to_string(),
                poll: std::time::Duration::from_secs(30),
            },
            public_url: format!("http://{bind}"),
            pdf_max_rows: Settings::DEFAULT_PDF_MAX_ROWS,
            operator: Operator::default(),
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
