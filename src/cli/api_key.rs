//! `selfcare api-key`: the MOR API secret key. While one is set, every MOR API request
//! (`/api/<name>`) must carry MOR's `hash` (see `web::mor_api`).

use std::io::BufRead;

use anyhow::Context;
use clap::Subcommand;

use crate::store::settings::MOR_API_SECRET_KEY;
use crate::store::Store;

#[derive(Subcommand)]
pub enum ApiKeyCommand {
    /// Set the MOR API secret key, read from standard input (one line)
    Set,
    /// Remove the key: MOR API requests need no hash any more
    Clear,
}

pub async fn run(store: &Store, cmd: ApiKeyCommand) -> anyhow::Result<()> {
    match cmd {
        ApiKeyCommand::Set => {
            let key = read_key(std::io::stdin().lock())?;
            store.set_setting(MOR_API_SECRET_KEY, &key).await?;
            println!("MOR API secret key set: API requests must carry its hash");
        }
        ApiKeyCommand::Clear => {
            if store.clear_setting(MOR_API_SECRET_KEY).await? {
                println!("MOR API secret key cleared: API requests need no hash");
            } else {
                println!("no MOR API secret key was set");
            }
        }
    }
    Ok(())
}

/// The key: one line, without its line end; neither empty nor with control characters (it is
/// typed into MOR clients' settings, and hashed as text).
fn read_key(mut input: impl BufRead) -> anyhow::Result<String> {
    let mut line = String::new();
    input
        .read_line(&mut line)
        .context("reading the key from standard input")?;
    let key = line.trim_end_matches(['\r', '\n']);
    anyhow::ensure!(!key.is_empty(), "no key on standard input");
    anyhow::ensure!(
        !key.chars().any(char::is_control),
        "the key must be one line of printable characters"
    );
    anyhow::ensure!(key.len() <= 256, "the key is longer than 256 bytes");
    Ok(key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_one_line() {
        assert_eq!(
            read_key(&b"Very Secret Key\n"[..]).unwrap(),
            "Very Secret Key"
        );
        assert_eq!(read_key(&b"k\r\nmore"[..]).unwrap(), "k");
        assert!(read_key(&b"\n"[..]).is_err());
        assert!(read_key(&b""[..]).is_err());
        assert!(read_key(&b"a\tb\n"[..]).is_err());
    }
}
