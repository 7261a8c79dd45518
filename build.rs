//! Build-time switches for the tests, so `cargo test` lists a test that cannot run here as
//! ignored, with the reason, instead of as passed:
//!
//! - the PostgreSQL variant of each database test needs `SELFCARE_TEST_POSTGRES`, the Redis
//!   session-store tests `SELFCARE_TEST_REDIS` (cfgs `selfcare_test_postgres`, `…_redis`);
//! - tests that drive an outside tool need it installed (cfg `selfcare_has = "tool"`; the reasons
//!   are in `tests/api/common.rs`, `needs!`). With `CI` set every tool counts as present, so a
//!   missing one fails its tests loudly instead of being ignored.
//!
//! A probe names what it found (the file is watched: uninstalling is noticed) or, when nothing
//! was found, the folders an install would change (installing is noticed).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    for (variable, cfg) in [
        ("SELFCARE_TEST_POSTGRES", "selfcare_test_postgres"),
        ("SELFCARE_TEST_REDIS", "selfcare_test_redis"),
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        println!("cargo::rerun-if-env-changed={variable}");
        if set(variable) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-env-changed=SELFCARE_TEST_STRIPE");
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    let python = python_paths();
    let oidc = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/oidc_provider");
    let tools: [(&str, Vec<Probe>); 7] = [
        (
            "chromium",
            vec![program("chromium"), program("chromedriver")],
        ),
        (
            "poppler",
            vec![program("pdftotext"), program("pdfinfo"), program("qpdf")],
        ),
        ("aiosmtpd", vec![module(&python, "aiosmtpd")]),
        ("pyotp", vec![module(&python, "pyotp")]),
        (
            "openapi_core",
            vec![module(&python, "openapi_core"), module(&python, "requests")],
        ),
        (
            "localstripe",
            if set("SELFCARE_TEST_STRIPE") {
                vec![Ok(PathBuf::new())]
            } else {
                vec![module(&python, "localstripe"), module(&python, "aiohttp")]
            },
        ),
        (
            "oidc_provider",
            vec![
                program("node"),
                found_or(
                    oidc.join("node_modules/oidc-provider/package.json"),
                    vec![oidc],
                ),
            ],
        ),
    ];
    let names: Vec<String> = tools.iter().map(|(t, _)| format!("\"{t}\"")).collect();
    println!(
        "cargo::rustc-check-cfg=cfg(selfcare_has, values({}))",
        names.join(", ")
    );
    for (tool, probes) in tools {
        let mut present = true;
        for probe in probes {
            let watched = match probe {
                Ok(file) => vec![file],
                Err(folders) => {
                    present = false;
                    folders
                }
            };
            for path in watched.iter().filter(|p| p.exists()) {
                println!("cargo::rerun-if-changed={}", path.display());
            }
        }
        if present || ci {
            println!("cargo::rustc-cfg=selfcare_has=\"{tool}\"");
        }
    }
}

/// The file found, or the folders where installing it would put it.
type Probe = Result<PathBuf, Vec<PathBuf>>;

fn set(variable: &str) -> bool {
    std::env::var(variable).is_ok_and(|v| !v.trim().is_empty())
}

fn found_or(file: PathBuf, folders: Vec<PathBuf>) -> Probe {
    if file.exists() {
        Ok(file)
    } else {
        Err(folders)
    }
}

/// A program on `PATH` (the tests start them by name, or from `/usr/bin`).
fn program(name: &str) -> Probe {
    let folders: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    let found = folders.iter().map(|f| f.join(name)).find(|f| f.is_file());
    found.ok_or(folders)
}

/// The folders `pip` installs into (`site-packages`, `dist-packages`) of `python3`; empty
/// without Python.
fn python_paths() -> Vec<PathBuf> {
    Command::new("python3")
        .args([
            "-c",
            "import sys; print('\\n'.join(p for p in sys.path if p))",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(PathBuf::from)
                .filter(|p| p.is_dir() && p.to_string_lossy().ends_with("-packages"))
                .collect()
        })
        .unwrap_or_default()
}

/// A Python module as `python3` would import it: a package folder or a single file.
fn module(paths: &[PathBuf], name: &str) -> Probe {
    let found = paths.iter().find_map(|p| {
        [
            p.join(name).join("__init__.py"),
            p.join(format!("{name}.py")),
        ]
        .into_iter()
        .find(|f| f.is_file())
    });
    found.ok_or_else(|| paths.to_vec())
}
