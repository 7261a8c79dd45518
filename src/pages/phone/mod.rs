//! Phone: devices and their caller IDs, numbers (DIDs), the phonebook and its import, the calling-
//! card PIN.

pub mod clis;
pub mod devices;
pub mod numbers;
pub mod phonebook;
pub mod phonebook_import;
pub mod pin;
