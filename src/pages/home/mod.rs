//! Home: the main page and the activity log.

pub mod activity;
pub mod main_page;
