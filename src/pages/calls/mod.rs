//! Calls: the call list, new and missed calls, statistics with their charts, faxes and callback,
//! and the period form they share.

pub mod call_list;
pub mod callback;
pub mod charts;
pub mod faxes;
pub mod missed_calls;
pub mod period_form;
pub mod user_stats;
