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

#[test]
fn every_dependency_has_a_licence_we_may_ship() {
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
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
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
    // rsa: RUSTSEC-2023-0071 (Marvin), no fixed release; it came with sqlx's MySQL driver,
    // which vendor/sqlx leaves out.
    for name in ["rsa", "sqlx-mysql"] {
        assert!(
            !lock.contains(&format!("name = \"{name}\"\n")),
            "{name} is in Cargo.lock"
        );
    }
}
