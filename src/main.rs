use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = selfcare::cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SELFCARE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    actix_web::rt::System::new().block_on(selfcare::cli::run(cli))
}
