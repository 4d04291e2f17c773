//! nginx configuration: read it the way nginx does, and extract what realip needs.
//!
//! Owns the front door: [`load`] (a config file with its includes, or an `nginx -T` dump) into
//! an [`ast::Config`] tree. The parts:
//! * `ast.rs`: the generic directive tree, positions;
//! * `lexer.rs`: bytes to tokens (quotes, escapes, comments, variables), with nom;
//! * `include.rs`: include expansion, `nginx -T` splitting; the only file here that touches
//!   the filesystem;
//! * `realip.rs`: effective realip settings per context, with nginx's inheritance;
//! * `log_format.rs`: `log_format` and `access_log`;
//! * `lint.rs`: the checks of `realip nginx check`;
//! * `snippet.rs`: correct realip configuration text.

pub mod ast;
