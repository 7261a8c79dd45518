//! Build-time switches for the tests: the PostgreSQL variant of each database test is compiled
//! as ignored, with the reason, when `SELFCARE_TEST_POSTGRES` is not set, so `cargo test` says
//! it did not run instead of listing it as passed; the same for the Redis session-store tests
//! and `SELFCARE_TEST_REDIS`.

fn main() {
    for (variable, cfg) in [
        ("SELFCARE_TEST_POSTGRES", "selfcare_test_postgres"),
        ("SELFCARE_TEST_REDIS", "selfcare_test_redis"),
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        println!("cargo::rerun-if-env-changed={variable}");
        if std::env::var(variable).is_ok_and(|v| !v.trim().is_empty()) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}
