//! The command line: `serve`, `migrate`, `demo`, `user add|passwd|tariff|link|unlink`, `device add`,
//! `import cdrs|rates`, `rate`, `bill`, `bench import`, and the wallet's commands (`wallet`).
//! A stable contract that operators and scripts rely on; every flag has a `SELFCARE_*` variable
//! where it makes sense.

pub mod accounts;
pub mod api_key;
pub mod calls;
pub mod controls;
pub mod currency;
pub mod dialplan;
pub mod numbers;
pub mod sso;
pub mod wallet;

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::billing::{self, cdr::Format, import::ImportOptions, month::Month, number::Dialing};
use crate::config::{AmiSettings, Settings};
use crate::demo::{self, DemoOptions};
use crate::store::users::NewUser;
use crate::store::Store;
use crate::wallet::Wallet;
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
    #[command(flatten)]
    pub wallet: wallet::WalletArgs,
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
    Serve(Box<ServeArgs>),
    /// Create or update the database schema, then exit
    Migrate,
    /// Fill an empty database with demo data
    Demo(DemoArgs),
    /// Manage subscribers
    #[command(subcommand)]
    User(UserCommand),
    /// Manage subscribers' devices (the names call records are matched by)
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Import call records or a rate deck
    #[command(subcommand)]
    Import(ImportCommand),
    /// Price stored calls again with the current rates (after a rate change)
    Rate(RateArgs),
    /// Make the invoices of a month from rated calls and subscriptions
    Bill(BillArgs),
    /// Measure the import and rating speed on synthetic data
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Top-up settings as subscribers see them
    #[command(subcommand)]
    Topup(wallet::TopupCommand),
    /// Prepaid voucher codes
    #[command(subcommand)]
    Voucher(wallet::VoucherCommand),
    /// Card payments (refunds)
    #[command(subcommand)]
    Payment(wallet::PaymentCommand),
    /// Subscribers' balances (operator adjustments)
    #[command(subcommand)]
    Balance(wallet::BalanceCommand),
    /// Subscriber controls: national country, risk and limit ceilings, countries' and
    /// services' risk, lifting a lost-phone block
    #[command(subcommand)]
    Controls(controls::ControlsCommand),
    /// Currencies and their exchange rates against the base currency
    #[command(subcommand)]
    Currency(currency::CurrencyCommand),
    /// The number pool (DIDs): load numbers, free, reserve, terminate or take back one,
    /// the quarantine and the price of calls between subscribers
    #[command(subcommand)]
    Did(numbers::NumbersCommand),
    /// The dial plan's local numbers (feature codes, extensions): free, never a country
    #[command(subcommand)]
    Dialplan(dialplan::DialplanCommand),
    /// A subscriber's accounts (contracts): open, close, move subscriptions between them
    #[command(subcommand)]
    Account(accounts::AccountCommand),
    /// Calls the operator has to look at: those without a price
    #[command(subcommand)]
    Calls(calls::CallsCommand),
    /// The MOR API secret key: when set, MOR API requests must carry its `hash`
    #[command(subcommand)]
    ApiKey(api_key::ApiKeyCommand),
}

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on
    #[arg(long, env = "SELFCARE_BIND", default_value = Settings::DEFAULT_BIND)]
    pub bind: String,
    /// Fill an empty database with demo data first, and print the demo logins; demo data made on
    /// an earlier day is made again for today
    #[arg(long)]
    pub demo: bool,
    /// Mark the session cookie Secure (when the portal is served over HTTPS)
    #[arg(long, env = "SELFCARE_COOKIE_SECURE")]
    pub cookie_secure: bool,
    /// A session ends after this many minutes without a request
    #[arg(long, env = "SELFCARE_SESSION_IDLE_MINUTES", default_value_t = 30)]
    pub session_idle_minutes: i64,
    /// A session ends this many hours after its login, however much it is used
    #[arg(long, env = "SELFCARE_SESSION_MAX_HOURS", default_value_t = 12)]
    pub session_max_hours: i64,
    /// Seconds a request's body may take to arrive after its headers
    #[arg(long, env = "SELFCARE_BODY_TIMEOUT_SECONDS", default_value_t = 30)]
    pub body_timeout_seconds: u64,
    /// Keep sessions in Redis (redis://HOST:PORT) so every portal process shares them
    #[arg(long, env = "SELFCARE_REDIS_URL")]
    pub redis_url: Option<String>,
    /// A read-only streaming replica of the PostgreSQL database (postgres://…): call history,
    /// figures and exports are read there, everything else and every write on the primary
    #[arg(long, env = "SELFCARE_REPLICA_DATABASE_URL")]
    pub replica_database_url: Option<String>,
    /// The most database connections the portal opens [default: 8 on SQLite, 16 on PostgreSQL]
    #[arg(long, env = "SELFCARE_DATABASE_CONNECTIONS")]
    pub database_connections: Option<u32>,
    /// The portal's address as users reach it, for links in mail [default: http://BIND]
    #[arg(long, env = "SELFCARE_PUBLIC_URL")]
    pub public_url: Option<String>,
    #[command(flatten)]
    pub mail: MailArgs,
    #[command(flatten)]
    pub ami: AmiArgs,
    /// The most rows a PDF export is made of; longer lists are offered as CSV instead
    #[arg(long, env = "SELFCARE_PDF_MAX_ROWS", default_value_t = Settings::DEFAULT_PDF_MAX_ROWS)]
    pub pdf_max_rows: usize,
    #[command(flatten)]
    pub operator: OperatorArgs,
    /// The token the PBX sends (`Authorization: Bearer …`) to ask /pbx/authorize before a
    /// call; without it the PBX endpoints are off
    #[arg(long, env = "SELFCARE_PBX_TOKEN", hide_env_values = true)]
    pub pbx_token: Option<String>,
    #[command(flatten)]
    pub dialing: DialingArgs,
    /// Reverse proxies (IP addresses, comma-separated) whose X-Forwarded-For names the client,
    /// for the per-address limits and the activity log
    #[arg(long, env = "SELFCARE_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
    #[command(flatten)]
    pub oidc: sso::OidcArgs,
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
    /// How to pay an invoice besides by card (bank details, a reference), shown on unpaid
    /// invoices; `;` separates lines
    #[arg(
        long,
        env = "SELFCARE_OPERATOR_PAYMENT_INSTRUCTIONS",
        default_value = ""
    )]
    pub operator_payment_instructions: String,
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
            payment_instructions: crate::config::Operator::address_lines(
                &self.operator_payment_instructions,
            ),
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

/// The Asterisk Manager Interface that places callbacks (none given: callbacks stay queued).
#[derive(Args)]
pub struct AmiArgs {
    /// Asterisk manager host that places callbacks [default: none, callbacks are only queued]
    #[arg(long, env = "SELFCARE_AMI_HOST")]
    pub ami_host: Option<String>,
    /// Asterisk manager port
    #[arg(long, env = "SELFCARE_AMI_PORT", default_value_t = AmiSettings::DEFAULT_PORT)]
    pub ami_port: u16,
    /// Asterisk manager user (manager.conf), needs the originate and call permissions
    #[arg(long, env = "SELFCARE_AMI_USER")]
    pub ami_user: Option<String>,
    /// Asterisk manager secret (prefer the environment variable: flags show in `ps`)
    #[arg(long, env = "SELFCARE_AMI_SECRET", hide_env_values = true)]
    pub ami_secret: Option<String>,
    /// Dialplan context callbacks are placed in
    #[arg(long, env = "SELFCARE_AMI_CONTEXT", default_value = AmiSettings::DEFAULT_CONTEXT)]
    pub ami_context: String,
}

#[derive(Args)]
pub struct DemoArgs {
    /// Number of subscribers (at least 2: demo and demo2; the others are user3, user4, …)
    #[arg(long, default_value_t = 2)]
    pub users: u32,
    /// Number of call records in all, shared equally by the subscribers (for benchmarks);
    /// without it, each subscriber makes as many calls as a household or a small office does
    #[arg(long)]
    pub calls: Option<u64>,
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
    /// Switch a subscriber's two-factor login off (a lost phone and lost recovery codes); the
    /// password alone logs in again. Recorded in the subscriber's activity log.
    TwoFactorOff { name: String },
    /// Set the tariff a subscriber's calls are priced with
    Tariff { name: String, tariff: String },
    /// Let an identity at the OpenID provider sign in as this subscriber (single sign-on)
    Link {
        name: String,
        /// The provider's issuer URL, exactly as SELFCARE_OIDC_ISSUER
        #[arg(long)]
        issuer: String,
        /// The value of the configured claim (SELFCARE_OIDC_CLAIM: sub, preferred_username or email)
        #[arg(long = "sub")]
        value: String,
    },
    /// Remove a link made with `user link`
    Unlink {
        name: String,
        #[arg(long)]
        issuer: String,
        #[arg(long = "sub")]
        value: String,
    },
}

#[derive(Subcommand)]
pub enum DeviceCommand {
    /// Give a subscriber a device; CDRs name it by NAME (accountcode or channel, e.g. SIP/NAME-0000002a)
    Add {
        /// The subscriber's user name
        user: String,
        /// Device type: SIP, PJSIP, IAX2, FAX, …
        #[arg(value_name = "TYPE")]
        device_type: String,
        /// The device's name on the PBX (its peer/endpoint name)
        name: String,
        /// Extension number [default: NAME]
        #[arg(long)]
        extension: Option<String>,
        /// Caller ID shown for the device
        #[arg(long, default_value = "")]
        caller_id: String,
        #[arg(long, default_value = "")]
        description: String,
    },
}

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Import call records (CDR CSV files); idempotent, all-or-nothing unless --skip-bad
    Cdrs(ImportCdrsArgs),
    /// Import a rate deck CSV into a tariff (created when missing; re-importing updates it)
    #[command(
        long_about = "Import a rate deck CSV into a tariff (created when missing; re-importing updates it).\n\n\
        Columns are found by the deck's header row (prefix/code/dial code, destination/name, \
        rate/price per minute, connection/setup fee, initial increment and increment or one X/Y \
        interval column, effective date, type, service, risk; the README lists every synonym). \
        The delimiter (comma, semicolon, tab) and a decimal comma are detected. A deck without \
        a header must be the positional layout: prefix, destination, rate, connection fee, \
        increment, minimum seconds, effective date[, type, service, risk]. Prefixes belong to \
        the tariff: another tariff's prefixes are never changed."
    )]
    Rates(ImportRatesArgs),
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum CdrFormat {
    /// Asterisk cdr_csv Master.csv (16 to 21 fields)
    Asterisk,
    /// FreeSWITCH mod_cdr_csv, written with --template [default: example]
    Freeswitch,
}

/// How subscribers dial: used to bring dialled numbers to the international form of the deck.
#[derive(Args)]
pub struct DialingArgs {
    /// Prefix dialled before a country code (00 is always recognised, as is +)
    #[arg(long, env = "SELFCARE_INTERNATIONAL_PREFIX", default_value = "00")]
    pub international_prefix: String,
    /// Prefix dialled before a national number (e.g. 0); needs --country-code
    #[arg(long, env = "SELFCARE_NATIONAL_PREFIX")]
    pub national_prefix: Option<String>,
    /// Country code that replaces the national prefix (e.g. 44)
    #[arg(long, env = "SELFCARE_COUNTRY_CODE")]
    pub country_code: Option<String>,
}

impl DialingArgs {
    fn dialing(&self) -> anyhow::Result<Dialing> {
        Dialing::new(
            &self.international_prefix,
            self.national_prefix.as_deref(),
            self.country_code.as_deref(),
        )
        .map_err(anyhow::Error::msg)
    }
}

#[derive(Args)]
pub struct ImportCdrsArgs {
    /// The PBX that wrote the files
    #[arg(long, value_enum)]
    pub format: CdrFormat,
    /// FreeSWITCH's template: a name (default = the compiled-in one, example, snom, linksys,
    /// sql, asterisk, opencdrrate) or the template itself ('"${caller_id_number}",…')
    /// [default: example]
    #[arg(long, value_name = "NAME|TEMPLATE")]
    pub template: Option<String>,
    /// Import the good records and set the bad ones aside in the reject file
    #[arg(long)]
    pub skip_bad: bool,
    /// Where --skip-bad writes bad records [default: the first FILE + .rejected]
    #[arg(long)]
    pub reject_file: Option<PathBuf>,
    /// Time zone of the times in the files (the PBX's; UTC if it logs with usegmtime)
    #[arg(long, env = "SELFCARE_PBX_TIME_ZONE", default_value = "UTC")]
    pub time_zone: String,
    /// Print no progress lines
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub dialing: DialingArgs,
    /// CSV files, imported in one transaction
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Args)]
pub struct ImportRatesArgs {
    /// The tariff to fill
    #[arg(long)]
    pub tariff: String,
    /// Currency of a new tariff [default: the base currency]; created if the database lacks it
    #[arg(long)]
    pub currency: Option<String>,
    /// Order of day and month in the deck's dates, needed when one is ambiguous (03/04/2024)
    #[arg(long, value_enum)]
    pub date_order: Option<billing::deck::DateOrder>,
    /// Print how the deck's columns are read and its first rows as understood; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// The column names of a deck without a header row, comma-separated, as its header would
    /// name them (Freeside's: "destination,country code / prefix,rate")
    #[arg(long, value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// The rate deck CSV
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Args)]
pub struct RateArgs {
    /// First day of calls to rate (YYYY-MM-DD, UTC) [default: the first call]
    #[arg(long)]
    pub from: Option<String>,
    /// Last day of calls to rate (YYYY-MM-DD, UTC, included) [default: the last call]
    #[arg(long)]
    pub to: Option<String>,
    /// Print no progress lines
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub dialing: DialingArgs,
}

#[derive(Args)]
pub struct BillArgs {
    /// The month to bill: YYYY-MM, each subscriber's calendar month in their time zone (billed
    /// once it has ended there)
    #[arg(long)]
    pub period: String,
}

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Import N synthetic Master.csv records into an EMPTY database, re-rate them, rate in memory
    Import {
        /// Number of call records
        #[arg(long, default_value_t = 1_000_000)]
        records: u64,
        /// Number of subscribers (one SIP device each)
        #[arg(long, default_value_t = 1000)]
        users: u32,
        /// Folder for the generated files (and the SQLite database when no --database-url is given)
        #[arg(long, default_value = "bench")]
        work_dir: PathBuf,
        /// Keep the generated files
        #[arg(long)]
        keep_files: bool,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let database_url = cli.db.database_url.clone();
    let data_dir = cli.db.data_dir.clone();
    let wallet_settings = cli.wallet.settings()?;
    let open_wallet = |store: Store| Wallet::new(store, wallet_settings.clone());
    match cli.command {
        Command::Serve(args) => {
            let mut settings = Settings::new(&args.bind, database_url, data_dir)?;
            settings.cookie_secure = args.cookie_secure;
            settings.sessions = crate::config::SessionLifetimes::new(
                args.session_idle_minutes,
                args.session_max_hours,
            )?;
            anyhow::ensure!(
                (1..=600).contains(&args.body_timeout_seconds),
                "SELFCARE_BODY_TIMEOUT_SECONDS / --body-timeout-seconds: 1 to 600"
            );
            settings.body_timeout = std::time::Duration::from_secs(args.body_timeout_seconds);
            settings.redis_url = args.redis_url.filter(|u| !u.trim().is_empty());
            settings.replica_database_url =
                args.replica_database_url.filter(|u| !u.trim().is_empty());
            if let Some(n) = args.database_connections {
                anyhow::ensure!(
                    (1..=1000).contains(&n),
                    "SELFCARE_DATABASE_CONNECTIONS / --database-connections: 1 to 1000"
                );
                settings.database_connections = Some(n);
            }
            if let Some(url) = args.public_url {
                settings.public_url = url;
            }
            args.mail.apply(&mut settings)?;
            settings.ami = AmiSettings::new(
                args.ami.ami_host,
                args.ami.ami_port,
                args.ami.ami_user,
                args.ami.ami_secret,
                args.ami.ami_context,
            )?;
            anyhow::ensure!(
                args.pdf_max_rows >= 1,
                "SELFCARE_PDF_MAX_ROWS / --pdf-max-rows: at least 1"
            );
            settings.pdf_max_rows = args.pdf_max_rows;
            settings.operator = args.operator.into_operator()?;
            if args.demo && settings.operator.is_unset() {
                // Demo invoices get a believable (fictional) seller and payment details.
                settings.operator = crate::config::Operator::demo();
            }
            settings.wallet = wallet_settings.clone();
            settings.pbx = crate::controls::PbxApiSettings {
                token: match args.pbx_token.as_deref().map(str::trim) {
                    None | Some("") => None,
                    Some(t) if t.len() < 16 => {
                        anyhow::bail!("SELFCARE_PBX_TOKEN / --pbx-token: at least 16 characters")
                    }
                    Some(t) => Some(crate::config::Secret::new(t)),
                },
                dialing: args.dialing.dialing()?,
            };
            settings.trusted_proxies = args
                .trusted_proxies
                .iter()
                .map(|a| a.trim())
                .filter(|a| !a.is_empty())
                .map(|a| {
                    a.parse().map_err(|_| {
                        anyhow::anyhow!("SELFCARE_TRUSTED_PROXIES: {a:?} is not an IP address")
                    })
                })
                .collect::<anyhow::Result<_>>()?;
            settings.oidc = args.oidc.settings(&settings.public_url)?;
            let store = crate::web::serving_store(&settings).await?;
            if args.demo {
                let opts = DemoOptions::default();
                if let Some(summary) =
                    demo::fill_or_refresh(&store, &settings.data_dir, &opts).await?
                {
                    print_summary(&summary);
                }
            }
            let app = Application::build_with_store(settings.clone(), store).await?;
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
        Command::Device(cmd) => {
            let settings = Settings::new(Settings::DEFAULT_BIND, database_url, data_dir)?;
            let store = open(&settings).await?;
            device_command(&store, cmd).await?;
        }
        Command::Import(cmd) => {
            let settings = Settings::new(Settings::DEFAULT_BIND, database_url, data_dir)?;
            let store = open(&settings).await?;
            let wallet = open_wallet(store)?;
            import_command(&wallet, cmd).await?;
        }
        Command::Rate(args) => {
            let dialing = args.dialing.dialing()?;
            let from = match &args.from {
                Some(d) => day_start(d)?,
                None => i64::MIN,
            };
            let to = match &args.to {
                Some(d) => day_start(d)? + 86_399,
                None => i64::MAX,
            };
            anyhow::ensure!(from <= to, "--from is after --to");
            let settings = Settings::new(Settings::DEFAULT_BIND, database_url, data_dir)?;
            let store = open(&settings).await?;
            let wallet = open_wallet(store)?;
            let summary = billing::rerate::rerate(
                &wallet.store,
                from,
                to,
                dialing,
                wallet.rules(),
                !args.quiet,
            )
            .await?;
            println!("{summary}");
            wallet::run_pending(&wallet).await;
        }
        Command::Bill(args) => {
            let period = Month::parse(&args.period).map_err(anyhow::Error::msg)?;
            let settings = Settings::new(Settings::DEFAULT_BIND, database_url, data_dir)?;
            let store = open(&settings).await?;
            let summary =
                billing::invoice::bill(&store, period, crate::time::now(), &wallet_settings)
                    .await?;
            println!("Period {period}: {summary}");
            anyhow::ensure!(
                summary.not_billed.is_empty(),
                "{} subscriber(s) not billed for {period} (see above)",
                summary.not_billed.len()
            );
        }
        Command::Bench(BenchCommand::Import {
            records,
            users,
            work_dir,
            keep_files,
        }) => {
            let url = match database_url {
                Some(url) => url,
                None => {
                    let db = work_dir.join("bench.db");
                    for suffix in ["", "-wal", "-shm"] {
                        let mut p = db.clone().into_os_string();
                        p.push(suffix);
                        let _ = std::fs::remove_file(p);
                    }
                    format!("sqlite://{}?mode=rwc", db.display())
                }
            };
            let settings = Settings::new(Settings::DEFAULT_BIND, Some(url), data_dir)?;
            let store = open(&settings).await?;
            let opts = billing::bench::BenchOptions {
                records,
                users,
                work_dir,
                keep_files,
            };
            billing::bench::run(&store, &opts).await?;
        }
        Command::Topup(cmd) => {
            let settings = Settings::new(Settings::DEFAULT_BIND, database_url, data_dir)?;
            let store = open(&settings).await?;
            wallet::topup(&open_wallet(store)?, cmd).await?;
        }
        Command::Voucher(cmd) => {
            let settings = Settings::new(Settings::DEFAULT_BIND, database_url, data_dir)?;
            wallet::voucher(&open(&settings).await?, cmd).await?;
        }
        Command::Payment(cmd) => {
            let settings = Settings::new(Settings::DEFAULT_BIND, database_url, data_dir)?;
            let store = open(&settings).await?;
            wallet::payment(&open_wallet(store)?, cmd).await?;
        }
        Command::Currency(cmd) => {
            let settings = Settings::new(Settings::DEFAULT_BIND, database_url, data_dir)?;
            let store = open(&settings).await?;
            currency::run(&store, cmd).await?;
        }
        Command::Controls(cmd) => {
            let settings = Settings::new(Settings::DEFAULT_BIND, database_url, data_dir)?;
            let store = open(&settings).await?;
            controls::run(&store, cmd).await?;
        }
        Command::Dialplan(cmd) => {
            let settings = Settings::new(Settings::DEFAULT_BIND, database_url, data_dir)?;
            let store = open(&settings).await?;
            dialplan::dialplan(&store, cmd).await?;
        }
        Command::Account(cmd) => {
            let settings = Settings::new(Settings::DEFAULT_BIND, database_url, data_dir)?;
            let store = open(&settings).await?;
            accounts::run(&store, cmd).await?;
        }
        Command::Calls(cmd) => {
            let settings = Settings::new(Settings::DEFAULT_BIND, database_url, data_dir)?;
            let store = open(&settings).await?;
            calls::calls(&store, cmd).await?;
        }
        Command::Did(cmd) => {
            let settings = Settings::new(Settings::DEFAULT_BIND, database_url, data_dir)?;
            let store = open(&settings).await?;
            numbers::run(&store, cmd).await?;
        }
        Command::Balance(cmd) => {
            let settings = Settings::new(Settings::DEFAULT_BIND, database_url, data_dir)?;
            let store = open(&settings).await?;
            wallet::balance(&open_wallet(store)?, cmd).await?;
        }
        Command::ApiKey(cmd) => {
            let settings = Settings::new(Settings::DEFAULT_BIND, database_url, data_dir)?;
            let store = open(&settings).await?;
            api_key::run(&store, cmd).await?;
        }
    }
    Ok(())
}

/// The first second (UTC) of a `YYYY-MM-DD` day.
fn day_start(s: &str) -> anyhow::Result<i64> {
    let d = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .with_context(|| format!("{s:?} is not a date like 2024-03-01"))?;
    Ok(d.and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
        .timestamp())
}

async fn import_command(wallet: &Wallet, cmd: ImportCommand) -> anyhow::Result<()> {
    let store = &wallet.store;
    match cmd {
        ImportCommand::Cdrs(args) => {
            let time_zone: chrono_tz::Tz = args.time_zone.parse().map_err(|_| {
                anyhow::anyhow!(
                    "--time-zone {:?} is not a zone like Europe/London",
                    args.time_zone
                )
            })?;
            let format = match (args.format, args.template) {
                (CdrFormat::Asterisk, None) => Format::Asterisk,
                (CdrFormat::Asterisk, Some(_)) => anyhow::bail!(
                    "--template is FreeSWITCH's: Asterisk's cdr_csv has one layout (16 to 21 fields, read as they come)"
                ),
                (CdrFormat::Freeswitch, None) => Format::freeswitch(),
                (CdrFormat::Freeswitch, Some(t)) => Format::FreeSwitch(std::sync::Arc::new(
                    billing::cdr::Template::named_or_given(&t)
                        .map_err(|e| anyhow::anyhow!("--template: {e}"))?,
                )),
            };
            let opts = ImportOptions {
                format,
                files: args.files,
                skip_bad: args.skip_bad,
                reject_file: args.reject_file,
                time_zone,
                dialing: args.dialing.dialing()?,
                progress: !args.quiet,
                rules: wallet.rules().clone(),
            };
            let summary = billing::import::import_cdrs(store, opts).await?;
            println!("{summary}");
            wallet::run_pending(wallet).await;
        }
        ImportCommand::Rates(args) => {
            let opts = billing::deck::DeckOptions {
                date_order: args.date_order,
                now: crate::time::now(),
                columns: args.columns,
            };
            if args.dry_run {
                let deck = billing::deck::load_deck(&args.file, &opts)?;
                println!("{}", billing::deck::preview(&deck, 10));
                return Ok(());
            }
            let summary = billing::deck::import_deck(
                store,
                &args.tariff,
                args.currency.as_deref(),
                &args.file,
                &opts,
            )
            .await?;
            println!("{summary}");
        }
    }
    Ok(())
}

async fn device_command(store: &Store, cmd: DeviceCommand) -> anyhow::Result<()> {
    match cmd {
        DeviceCommand::Add {
            user,
            device_type,
            name,
            extension,
            caller_id,
            description,
        } => {
            let device_type = device_type.trim().to_ascii_uppercase();
            anyhow::ensure!(
                !device_type.is_empty()
                    && device_type.len() <= 10
                    && device_type.bytes().all(|b| b.is_ascii_alphanumeric()),
                "a device type is a word like SIP, PJSIP, IAX2 or FAX"
            );
            let name = name.trim().to_string();
            let extension = extension
                .map(|e| e.trim().to_string())
                .unwrap_or_else(|| name.clone());
            for (what, v) in [("name", &name), ("extension", &extension)] {
                anyhow::ensure!(
                    !v.is_empty()
                        && v.len() <= 80
                        && !v.chars().any(|c| c.is_whitespace() || c == '/'),
                    "a device {what} is 1 to 80 characters without spaces or /"
                );
            }
            let user_id = store
                .user_id_by_name(&user)
                .await?
                .with_context(|| format!("no user {user:?}"))?;
            for v in [&name, &extension] {
                anyhow::ensure!(
                    !store.device_name_taken(v).await?,
                    "a device named {v:?} already exists"
                );
            }
            let secret: String = {
                use rand::seq::SliceRandom;
                let mut rng = rand::thread_rng();
                (0..16)
                    .map(|_| {
                        *b"abcdefghjkmnpqrstuvwxyz23456789"
                            .choose(&mut rng)
                            .unwrap_or(&b'x') as char
                    })
                    .collect()
            };
            let id = store
                .insert_device(&crate::store::seed::NewDevice {
                    user_id,
                    device_type: &device_type,
                    description: &description,
                    extension: &extension,
                    username: &name,
                    secret: &secret,
                    caller_id: &caller_id,
                    last_registered_at: None,
                    created_at: crate::time::now(),
                })
                .await?;
            store
                .audit(
                    Some(user_id),
                    "device_added",
                    &format!("{device_type}/{name} by the operator"),
                    "",
                )
                .await?;
            println!("Device {device_type}/{name} (extension {extension}) added to {user} (id {id}); its secret is {secret}");
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
            anyhow::ensure!(
                store.currency_decimals(&currency).await?.is_some(),
                "no currency {currency} in this database: import a rate deck in it, or give it an \
                 exchange rate with `selfcare currency set {currency} RATE`"
            );
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
        UserCommand::TwoFactorOff { name } => {
            let user_id = store
                .user_id_by_name(&name)
                .await?
                .with_context(|| format!("no user {name:?}"))?;
            if store.disable_two_factor(user_id, "operator").await? {
                println!("Two-factor login of {name} switched off; the password alone logs in.");
            } else {
                println!("Two-factor login of {name} was off already.");
            }
        }
        UserCommand::Tariff { name, tariff } => {
            let user_id = store
                .user_id_by_name(&name)
                .await?
                .with_context(|| format!("no user {name:?}"))?;
            let (tariff_id, currency) =
                store.tariff_by_name(&tariff).await?.with_context(|| {
                    format!(
                        "no tariff {tariff:?} (create it with `selfcare import rates --tariff`)"
                    )
                })?;
            store.set_user_tariff(user_id, tariff_id).await?;
            println!("{name} now pays tariff {tariff} ({currency}); run `selfcare rate` to price stored calls with it.");
        }
        UserCommand::Link {
            name,
            issuer,
            value,
        } => sso::link(store, &name, &issuer, &value).await?,
        UserCommand::Unlink {
            name,
            issuer,
            value,
        } => sso::unlink(store, &name, &issuer, &value).await?,
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
