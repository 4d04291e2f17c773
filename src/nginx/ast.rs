//! The generic nginx configuration tree.
//!
//! Owns: [`Config`] (every file read, in order, each with its directives), [`Directive`]
//! (name, arguments, optional block, position, and for `include` the files it pulled in),
//! [`Arg`] and [`Pos`]. Knows no nginx module: unknown directives are kept like any other.
//! Does not own: lexing (`lexer`), reading files and expanding includes (`include`), meaning
//! (`realip`, `log_format`, `lint`).

use std::path::PathBuf;

/// A position in a configuration file: file index into [`Config::files`], 1-based line and
/// column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pos {
    /// Index of the file in [`Config::files`].
    pub file: usize,
    /// 1-based line.
    pub line: u32,
    /// 1-based column (in bytes).
    pub col: u32,
}

/// One directive argument, unquoted, with escapes processed as nginx does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arg {
    /// The value.
    pub value: String,
    /// Whether it was written in single or double quotes.
    pub quoted: bool,
    /// Where it starts.
    pub pos: Pos,
}

/// One directive: `name arg…;` or `name arg… { … }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    /// The directive name (`server`, `set_real_ip_from`, …).
    pub name: String,
    /// Its arguments.
    pub args: Vec<Arg>,
    /// Its block, for block directives (`http`, `server`, `location`, …).
    pub block: Option<Vec<Directive>>,
    /// Where the name starts.
    pub pos: Pos,
    /// For `include`: the indices in [`Config::files`] of the files it included, in order.
    pub includes: Vec<usize>,
}

impl Directive {
    /// The argument values as strings.
    pub fn arg_values(&self) -> Vec<&str> {
        self.args.iter().map(|a| a.value.as_str()).collect()
    }
}

/// One configuration file and its top-level directives (as written; includes not inlined).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfFile {
    /// The file's path (as nginx would open it).
    pub path: PathBuf,
    /// Its directives.
    pub directives: Vec<Directive>,
    /// Whether it starts with a UTF-8 byte-order mark, which nginx refuses (it reads it as
    /// part of the first directive's name); the directives are read without it.
    pub bom: bool,
}

/// A whole configuration: the main file first, then every included file in the order nginx
/// reads them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// Every file read.
    pub files: Vec<ConfFile>,
    /// `include` globs that matched no file (nginx includes nothing for them).
    pub unmatched: Vec<UnmatchedInclude>,
}

/// An `include` glob that matched no file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnmatchedInclude {
    /// The `include` directive.
    pub pos: Pos,
    /// Its argument, as written.
    pub pattern: String,
    /// The pattern looked for (after the prefix and any `--prefix-map`).
    pub looked: String,
}

impl Config {
    /// The path of a position's file, for messages.
    pub fn path(&self, pos: Pos) -> String {
        self.files
            .get(pos.file)
            .map(|f| f.path.display().to_string())
            .unwrap_or_default()
    }

    /// The main file's directives with every `include` replaced by the directives of the files
    /// it included (recursively), as nginx sees them.
    pub fn expanded(&self) -> Vec<Directive> {
        match self.files.first() {
            Some(main) => self.expand(&main.directives, 0),
            None => Vec::new(),
        }
    }

    fn expand(&self, directives: &[Directive], depth: usize) -> Vec<Directive> {
        let mut out = Vec::new();
        for d in directives {
            if d.name == "include" && depth < 64 {
                for &i in &d.includes {
                    if let Some(f) = self.files.get(i) {
                        out.extend(self.expand(&f.directives, depth + 1));
                    }
                }
                continue;
            }
            let mut d = d.clone();
            if let Some(block) = &d.block {
                d.block = Some(self.expand(block, depth));
            }
            out.push(d);
        }
        out
    }
}
