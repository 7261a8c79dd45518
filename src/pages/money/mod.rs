//! Money: the wallet (top-up, card, vouchers), payments, invoices, subscriptions, rates and
//! destinations, the subscriber's controls and calling plan.

pub mod calling_plan;
pub mod controls;
pub mod destinations;
pub mod invoices;
pub mod payments;
pub mod rates;
pub mod subscriptions;
pub mod wallet;
