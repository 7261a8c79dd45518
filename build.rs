//! Build-time switches for the tests: the PostgreSQL variant of each database test is compiled
//! as ignored, with the reason, when `SELFCARE_TEST_POSTGRES` is not set, so `cargo test` says
//! it did not run instead of listing it as passed.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(selfcare_test_postgres)");
    println!("cargo::rerun-if-env-changed=SELFCARE_TEST_POSTGRES");
    if std::env::var("SELFCARE_TEST_POSTGRES").is_ok_and(|v| !v.trim().is_empty()) {
        println!("cargo::rustc-cfg=selfcare_test_postgres");
    }
}
