//! Access-log formats: which fields a line has and where.
//!
//! Owns: [`record::Record`] and field values. (The formats themselves, the template compiler
//! and the hot-path line parser are being added in issue #3.)

pub mod record;

pub use record::{Field, Record};
