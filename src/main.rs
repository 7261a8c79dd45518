use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = selfcare::cli::Cli::parse();
    if !matches!(cli.command, selfcare::cli::Command::Serve(_)) {
        quiet_on_closed_pipe();
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SELFCARE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never into a log file or journal.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    actix_web::rt::System::new().block_on(selfcare::cli::run(cli))
}

/// A command whose output is piped into `head` ends quietly when the reader goes away, as Unix
/// tools do, instead of panicking in `println!`. Not for `serve`: there a closed connection must
/// stay an error to handle, never the end of the process.
#[cfg(unix)]
fn quiet_on_closed_pipe() {
    // SAFETY: restores the default disposition of one signal before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn quiet_on_closed_pipe() {}
