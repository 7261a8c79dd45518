//! selfcare: a subscriber self-care portal for VoIP and telecom operators.
//!
//! The binary (`main.rs`) only parses the command line; everything else lives here so the
//! integration tests can build the same application on a free port.

pub mod billing;
pub mod call_filter;
pub mod cli;
pub mod config;
pub mod controls;
pub mod countries;
pub mod demo;
pub mod error;
pub mod export;
pub mod i18n;
pub mod input;
pub mod locale;
pub mod login_gate;
pub mod login_guard;
pub mod mail;
pub mod money;
pub mod numbers;
pub mod oidc;
pub mod pages;
pub mod password;
pub mod pbx;
pub mod period;
pub mod phonebook_file;
pub mod pin;
pub mod store;
pub mod time;
pub mod tmf;
pub mod tokens;
pub mod two_factor;
pub mod wallet;
pub mod web;

pub use config::Settings;
pub use web::Application;

// Every binary, test and bench that links the portal allocates with mimalloc: under load glibc's
// malloc and free were a seventh of the portal's CPU (`perf`, README's Performance section).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
