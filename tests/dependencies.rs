//! The dependency tree, as `cargo metadata` resolves it for Linux: every crate under a licence
//! we may ship (permissive ones, and MPL-2.0, which asks only that its own files stay open),
//! and none with a known unfixed advisory in the lock file.

use std::collections::BTreeSet;
use std::process::Command;

/// SPDX identifiers we accept, alone or in `OR`/`AND` expressions.
const ALLOWED: &[&str] = &[
    "MIT",
    "MIT-0",
    "Apache-2.0",
    "Apache-2.0 WITH LLVM-exception",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "ISC",
    "Zlib",
    "0BSD",
    "BSL-1.0",
    "CC0-1.0",
    "Unlicense",
    "Unicode-3.0",
    "Unicode-DFS-2016",
    "CDLA-Permissive-2.0",
    "MPL-2.0",
];

/// Whether an SPDX expression lets us ship the crate: some `OR` alternative whose `AND` parts
/// are all allowed. Parentheses only group here; `/` is the old spelling of `OR`.
fn acceptable(expression: &str) -> bool {
    let flat = expression.replace(['(', ')'], " ").replace('/', " OR ");
    flat.split(" OR ").any(|alternative| {
        alternative
            .split(" AND ")
            .map(|part| part.split_whitespace().collect::<Vec<_>>().join(" "))
            .all(|part| ALLOWED.contains(&part.as_str()))
    })
}

#[test]
fn the_expression_reader_is_strict() {
    assert!(acceptable("MIT OR Apache-2.0"));
    assert!(acceptable("(MIT OR Apache-2.0) AND Unicode-3.0"));
    assert!(acceptable(
        "Apache-2.0 WITH LLVM-exception OR Apache-2.0 OR MIT"
    ));
    assert!(acceptable("MIT/Apache-2.0"));
    assert!(!acceptable("GPL-3.0-only"));
    assert!(!acceptable("MIT AND GPL-2.0"));
    assert!(!acceptable("AGPL-3.0 OR SSPL-1.0"));
    assert!(!acceptable(""));
}

/// `cargo metadata` of the whole workspace, resolved for Linux.
fn metadata() -> serde_json::Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--filter-platform",
            "x86_64-unknown-linux-gnu",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("metadata JSON")
}

#[test]
fn every_dependency_has_a_licence_we_may_ship() {
    let meta = metadata();
    let resolved: BTreeSet<&str> = meta["resolve"]["nodes"]
        .as_array()
        .expect("a resolved graph")
        .iter()
        .filter_map(|n| n["id"].as_str())
        .collect();
    let mut refused = Vec::new();
    let mut checked = 0;
    for package in meta["packages"].as_array().expect("packages") {
        let id = package["id"].as_str().unwrap_or_default();
        let name = package["name"].as_str().unwrap_or_default();
        if !resolved.contains(id) || name == "selfcare" {
            continue;
        }
        checked += 1;
        let licence = package["license"].as_str().unwrap_or_default();
        if !acceptable(licence) {
            refused.push(format!(
                "{name} {}: {licence:?}",
                package["version"].as_str().unwrap_or_default()
            ));
        }
    }
    assert!(checked > 100, "only {checked} crates seen");
    assert!(refused.is_empty(), "licences not on the list: {refused:#?}");
}

#[test]
fn no_crate_with_an_unfixed_advisory_is_in_the_lock_file() {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"))
        .expect("Cargo.lock");
    // sqlx-mysql brought `rsa` for its MySQL driver, which vendor/sqlx leaves out.
    assert!(
        !lock.contains("name = \"sqlx-mysql\"\n"),
        "sqlx-mysql is in Cargo.lock"
    );
}

/// `rsa` has RUSTSEC-2023-0071 (Marvin) and no fixed release: a timing side channel in RSA
/// *private-key* operations (decryption, signing). `openidconnect` uses it for the relying
/// party's part only, verifying the provider's signatures with public keys, which the Marvin
/// attack does not concern; this portal never holds an RSA private key. So `rsa` may be in the
/// tree only when every crate that depends on it is `openidconnect`: anything else that pulls
/// it in (a MySQL driver, a signer) is refused.
#[test]
fn rsa_is_only_used_by_openidconnect_to_verify_signatures() {
    let meta = metadata();
    let nodes = meta["resolve"]["nodes"]
        .as_array()
        .expect("a resolved graph");
    let name_of = |id: &str| {
        meta["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .find(|p| p["id"].as_str() == Some(id))
            .and_then(|p| p["name"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    let rsa_ids: BTreeSet<&str> = nodes
        .iter()
        .filter_map(|n| n["id"].as_str())
        .filter(|id| name_of(id) == "rsa")
        .collect();
    let mut users = BTreeSet::new();
    for node in nodes {
        let deps = node["deps"].as_array().expect("deps");
        if deps
            .iter()
            .any(|d| rsa_ids.contains(d["pkg"].as_str().unwrap_or_default()))
        {
            users.insert(name_of(node["id"].as_str().unwrap_or_default()));
        }
    }
    let others: Vec<&String> = users.iter().filter(|u| *u != "openidconnect").collect();
    assert!(
        others.is_empty(),
        "rsa (RUSTSEC-2023-0071) is used by {others:?}, not only by openidconnect"
    );
}
