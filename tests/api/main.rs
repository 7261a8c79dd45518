//! Integration tests: the real application on a free port, a real database per test (SQLite
//! always; PostgreSQL when SELFCARE_TEST_POSTGRES names a server), spoken to over HTTP.

mod access;
mod account;
mod browser;
mod call_exports;
mod calls;
mod cli;
mod common;
mod controls;
mod database_busy;
mod database_outage;
mod demo_data;
mod export;
mod fax_period;
mod fuzz;
mod headers;
mod import;
mod invoice_lines;
mod invoice_zone;
mod login;
mod main_page;
mod money;
mod numbers;
mod passwords;
mod pbx;
mod phonebook_io;
mod pin;
mod rate_decks;
mod session_outage;
mod sessions;
mod stripe_gateway;
mod wallet_cards;
mod wallet_ledger;
mod xml_property;
mod xml_text;
