//! Rendering results for people.
//!
//! Owns: turning library results into text ([`explain`]) and the one function that makes
//! untrusted bytes safe for a terminal ([`escape`]). Computes nothing; writes nothing itself:
//! renderers return text or write to a `fmt::Write`/`io::Write` the CLI hands them.

pub mod escape;
pub mod explain;
