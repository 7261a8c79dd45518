//! The command line: `serve`, `migrate`, `demo`, `user add|passwd`. A stable contract that
//! operators and scripts rely on; every flag has a `SELFCARE_*` variable where it makes sense.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::config::Settings;
use crate::demo::{self, DemoOptions};
use crate::store::users::NewUser;
use crate::store::Store;
use crate::web::Application;

#[derive(Parser)]
#[command(
    name = "selfcare",
    version,
    about = "Subscriber self-care portal for VoIP and telecom operators"
)]
pub struct Cli {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args)]
pub struct DbArgs {
    /// Database URL: sqlite://FILE or postgres://USER@HOST/DB [default: a SQLite file in the data folder]
    #[arg(long, global = true, env = "SELFCARE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Folder for the SQLite file, the session key and stored files (faxes)
    #[arg(long, global = true, env = "SELFCARE_DATA_DIR", default_value = Settings::DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
}

// Parsed once at start: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum Command {
    /// Run the portal (creates and migrates the database on start)
    Serve(ServeArgs),
    /// Create or update the database schema, then exit
    Migrate,
    /// Fill an empty database with demo data
    Demo(DemoArgs),
    /// Manage subscribers
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on
    #[arg(long, env = "SELFCARE_BIND", default_value = Settings::DEFAULT_BIND)]
    pub bind: String,
    /// Fill an empty database with demo data first, and print the demo logins
    #[arg(long)]
    pub demo: bool,
    /// Folder of CSS, icons and fonts
    #[arg(long, env = "SELFCARE_STATIC_DIR", default_value = "static")]
    pub static_dir: PathBuf,
    /// Mark the session cookie Secure (when the portal is served over HTTPS)
    #[arg(long, env = "SELFCARE_COOKIE_SECURE")]
    pub cookie_secure: bool,
    /// The portal's address as users reach it, for links in mail [default: http://BIND]
    #[arg(long, env = "SELFCARE_PUBLIC_URL")]
    pub public_url: Option<String>,
    #[command(flatten)]
    pub mail: MailArgs,
    /// The most rows a PDF export is made of; longer lists are offered as CSV instead
    #[arg(long, env = "SELFCARE_PDF_MAX_ROWS", default_value_t = Settings::DEFAULT_PDF_MAX_ROWS)]
    pub pdf_max_rows: usize,
    #[command(flatten)]
    pub operator: OperatorArgs,
}

/// The operator's details printed on invoices (the seller).
#[derive(Args)]
pub struct OperatorArgs {
    /// The operator's name on invoices
    #[arg(long, env = "SELFCARE_OPERATOR_NAME", default_value = "VoIP operator")]
    pub operator_name: String,
    /// The operator's postal address; `;` separates lines
    #[arg(long, env = "SELFCARE_OPERATOR_ADDRESS", default_value = "")]
    pub operator_address: String,
    /// The operator's VAT registration number
    #[arg(long, env = "SELFCARE_OPERATOR_VAT_NUMBER", default_value = "")]
    pub operator_vat_number: String,
    /// The operator's contact e-mail on invoices
    #[arg(long, env = "SELFCARE_OPERATOR_EMAIL", default_value = "")]
    pub operator_email: String,
    /// The operator's contact phone on invoices
    #[arg(long, env = "SELFCARE_OPERATOR_PHONE", default_value = "")]
    pub operator_phone: String,
}

impl OperatorArgs {
    fn into_operator(self) -> anyhow::Result<crate::config::Operator> {
        let name = self.operator_name.trim().to_string();
        anyhow::ensure!(
            !name.is_empty() && name.chars().count() <= 200,
            "SELFCARE_OPERATOR_NAME / --operator-name: give the operator's name (200 characters at most)"
        );
        Ok(crate::config::Operator {
            name,
            address: crate::config::Operator::address_lines(&self.operator_address),
            vat_number: self.operator_vat_number.trim().to_string(),
            email: self.operator_email.trim().to_string(),
            phone: self.operator_phone.trim().to_string(),
        })
    }
}

#[derive(Args)]
pub struct MailArgs {
    /// SMTP server for outgoing mail; without it, mail is written as .eml files into --mail-dir
    #[arg(long, env = "SELFCARE_SMTP_HOST")]
    pub smtp_host: Option<String>,
    #[arg(long, env = "SELFCARE_SMTP_PORT", default_value_t = 587)]
    pub smtp_port: u16,
    /// How to secure the SMTP connection
    #[arg(
        long,
        env = "SELFCARE_SMTP_TLS",
        value_enum,
        default_value = "starttls"
    )]
    pub smtp_tls: crate::mail::TlsMode,
    #[arg(long, env = "SELFCARE_SMTP_USER")]
    pub smtp_user: Option<String>,
    /// (better given in the environment than on the command line)
    #[arg(long, env = "SELFCARE_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,
    /// Sender address of the portal's mail
    #[arg(long, env = "SELFCARE_MAIL_FROM", default_value = "selfcare@localhost")]
    pub mail_from: String,
    /// Folder for .eml files when no SMTP server is set [default: DATA_DIR/mail]
    #[arg(long, env = "SELFCARE_MAIL_DIR")]
    pub mail_dir: Option<PathBuf>,
}

impl MailArgs {
    fn apply(self, settings: &mut Settings) -> anyhow::Result<()> {
        settings.mail.from = self.mail_from;
        anyhow::ensure!(
            settings.mail.from.parse::<lettre::Address>().is_ok(),
            "SELFCARE_MAIL_FROM / --mail-from: {:?} is not an e-mail address",
            settings.mail.from
        );
        settings.mail.transport = match self.smtp_host {
            Some(host) => crate::mail::Transport::Smtp {
                host,
                port: self.smtp_port,
                tls: self.smtp_tls,
                credentials: self
                    .smtp_user
                    .map(|u| (u, self.smtp_password.unwrap_or_default())),
            },
            None => crate::mail::Transport::Folder(
                self.mail_dir
                    .unwrap_or_else(|| settings.data_dir.join("mail")),
            ),
        };
        Ok(())
    }
}

#[derive(Args)]
pub struct DemoArgs {
    /// Number of subscribers (at least 2: demo and demo2; the others are user3, user4, …)
    #[arg(long, default_value_t = 2)]
    pub users: u32,
    /// Number of call records, spread over the last 90 days
    #[arg(long, default_value_t = 20_000)]
    pub calls: u64,
    /// Random seed: the same seed gives the same data
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a subscriber; the password is read from standard input (one line)
    Add {
        name: String,
        /// Currency of the account [default: the base currency]
        #[arg(long)]
        currency: Option<String>,
    },
    /// Set a subscriber's password, read from standard input (one line)
    Passwd { name: String },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let database_url = cli.db.database_url.clone();
    let data_dir = cli.db.data_dir.clone();
    match cli.command {
        Command::Serve(args) => {
            let mut settings = Settings::new(&args.bind, database_url, data_dir)?;
            settings.static_dir = args.static_dir;
            settings.cookie_secure = args.cookie_secure;
            if let Some(url) = args.public_url {
                settings.public_url = url;
            }
            args.mail.apply(&mut settings)?;
            anyhow::ensure!(
                args.pdf_max_rows >= 1,
                "SELFCARE_PDF_MAX_ROWS / --pdf-max-rows: at least 1"
            );
            settings.pdf_max_rows = args.pdf_max_rows;
            settings.operator = args.operator.into_operator()?;
            let store = open(&settings).await?;
            if args.demo {
                if store.user_count().await? == 0 {
                    let summary =
                        demo::fill(&store, &settings.data_dir, &DemoOptions::default()).await?;
                    print_summary(&summary);
                } else {
                    println!("The database already has users; demo data not added.");
                }
            }
            let app = Application::build_with_store(settings.clone(), store)?;
            println!(
                "selfcare listening on http://{}:{}",
                settings.bind.ip(),
                app.port()
            );
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            let settings = Settings::new(Settings::DEFAULT_BIND, database_url, data_dir)?;
            open(&settings).await?;
            println!("Database is up to date.");
        }
        Command::Demo(args) => {
            let settings = Settings::new(Settings::DEFAULT_BIND, database_url, data_dir)?;
            let store = open(&settings).await?;
            let opts = DemoOptions {
                users: args.users,
                calls: args.calls,
                seed: args.seed,
            };
            let summary = demo::fill(&store, &settings.data_dir, &opts).await?;
            print_summary(&summary);
        }
        Command::User(cmd) => {
            let settings = Settings::new(Settings::DEFAULT_BIND, database_url, data_dir)?;
            let store = open(&settings).await?;
            user_command(&store, cmd).await?;
        }
    }
    Ok(())
}

async fn open(settings: &Settings) -> anyhow::Result<Store> {
    let store = Store::connect(&settings.database_url).await?;
    store.migrate().await?;
    Ok(store)
}

fn print_summary(s: &demo::Summary) {
    println!(
        "Demo data: {} calls in {:.1} s. Logins (user / password):",
        s.calls, s.seconds
    );
    for (user, pw) in s.logins.iter().take(10) {
        println!("  {user} / {pw}");
    }
    if s.logins.len() > 10 {
        println!(
            "  … and {} more (user N has password userN)",
            s.logins.len() - 10
        );
    }
}

async fn user_command(store: &Store, cmd: UserCommand) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Add { name, currency } => {
            let name = name.trim().to_string();
            anyhow::ensure!(
                !name.is_empty() && name.len() <= 100 && !name.chars().any(char::is_whitespace),
                "a user name is 1 to 100 characters without spaces"
            );
            anyhow::ensure!(
                !store.user_exists(&name).await?,
                "user {name:?} already exists"
            );
            let currency = match currency {
                Some(c) => c.to_ascii_uppercase(),
                None => store.base_currency().await?.context(
                    "no currency in the database: run `selfcare demo` or import rates first",
                )?,
            };
            let hash = hash_password(read_password()?).await?;
            let id = store
                .insert_user(&NewUser {
                    username: &name,
                    password_hash: &hash,
                    first_name: "",
                    last_name: "",
                    language: "en",
                    currency: &currency,
                    time_zone: "UTC",
                    account_type: "prepaid",
                    balance_micros: 0,
                    credit_limit_micros: Some(0),
                    tariff_id: None,
                    created_at: crate::time::now(),
                })
                .await
                .with_context(|| {
                    format!("cannot create user {name:?} (is {currency} a known currency?)")
                })?;
            println!("User {name} created (id {id}).");
        }
        UserCommand::Passwd { name } => {
            anyhow::ensure!(store.user_exists(&name).await?, "no user {name:?}");
            let hash = hash_password(read_password()?).await?;
            store.set_password_hash(&name, &hash).await?;
            println!("Password of {name} changed.");
        }
    }
    Ok(())
}

/// One line of standard input, without its line end.
fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let pw = line.trim_end_matches(['\r', '\n']).to_string();
    anyhow::ensure!(!pw.is_empty(), "no password on standard input");
    Ok(pw)
}

async fn hash_password(pw: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || crate::password::hash(&pw)).await?
}
