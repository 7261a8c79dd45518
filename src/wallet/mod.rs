//! Money that moves (DESIGN.md §6): card payments through a [`gateway::Gateway`], whose first
//! implementation speaks Stripe's HTTP API ([`stripe`]), and the signed notifications the
//! gateway sends back ([`webhook`]). The gateway only ever sees a token for a card; what we keep
//! is the token, brand, last four digits and expiry, never a card number. Nothing here touches
//! the database: crediting a balance happens elsewhere, and only on the gateway's success.

pub mod gateway;
pub mod stripe;
pub mod webhook;
