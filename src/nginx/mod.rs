//! nginx configuration: read it the way nginx does, and extract what realip needs.
//!
//! Owns the front door: [`load`] (a config file with its includes, or an `nginx -T` dump) into
//! an [`ast::Config`] tree. The parts:
//! * `ast.rs`: the generic directive tree, positions;
//! * `lexer.rs`: bytes to tokens (quotes, escapes, comments, variables) and one file's
//!   directives, following nginx's own read loop;
//! * `include.rs`: include expansion, `nginx -T` splitting; the only file here that touches
//!   the filesystem;
//! * `realip.rs`: effective realip settings per context, with nginx's inheritance;
//! * `log_format.rs`: `log_format` and `access_log`;
//! * `lint.rs`: the checks of `realip nginx check`;
//! * `snippet.rs`: correct realip configuration text.

pub mod ast;
pub mod include;
pub mod lexer;
pub mod lint;
pub mod log_format;
pub mod realip;
pub mod snippet;

use std::path::Path;

pub use include::LoadOptions;

/// Loads the configuration file at `path` and every file it includes, as nginx reads them.
///
/// Relative `include` arguments are relative to `path`'s directory (nginx's configuration
/// prefix); globs expand like nginx's (sorted byte-wise, no hidden files, none matching is
/// fine). A missing included file, an include cycle and every syntax error are errors with
/// the file, line, column and a caret excerpt. A file whose first line (after nginx's own
/// `nginx: …` messages) is `# configuration file PATH:` is read as `nginx -T` output
/// ([`parse_dump`]).
pub fn load(path: &Path) -> Result<ast::Config, crate::Error> {
    include::load(path, &LoadOptions::default())
}

/// [`load`] with include paths rewritten as for a repository checkout: `opts.prefix` stands
/// for nginx's configuration directory (relative includes resolve against it, absolute ones
/// under `/etc/nginx` are read from it), and `opts.prefix_map` rewrites other absolute
/// prefixes. Globs that match nothing are listed in [`ast::Config::unmatched`].
pub fn load_with(path: &Path, opts: &LoadOptions) -> Result<ast::Config, crate::Error> {
    include::load(path, opts)
}

/// Parses one file's text, named `path` in positions and errors. Its `include`s are not
/// followed (their `includes` stay empty), unless the text is `nginx -T` output, which is
/// split into its files with includes resolved among them ([`parse_dump`]).
pub fn parse_str(text: &str, path: &Path) -> Result<ast::Config, crate::Error> {
    include::parse_one(text.as_bytes(), path)
}

/// Parses `nginx -T` output: optional `nginx: … syntax is ok` / `test is successful` lines,
/// then, for every file nginx read, `# configuration file PATH:` and the file. The first file
/// is the main one; includes are resolved by matching the dump's own paths (globs included),
/// never by touching the filesystem.
pub fn parse_dump(text: &str) -> Result<ast::Config, crate::Error> {
    include::parse_dump_text(text.as_bytes())
}
