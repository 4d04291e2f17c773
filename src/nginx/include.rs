//! `include` expansion and `nginx -T` dumps: from a path or a dump to a whole [`Config`].
//!
//! Owns: reading configuration files (the only file under `nginx/` that touches the
//! filesystem), resolving `include` as nginx does, splitting `nginx -T` output into its files,
//! and the errors of both: missing files, cycles, unreadable files, `include` misuse.
//! Does not own: syntax (`lexer.rs`), the meaning of any other directive.
//!
//! How nginx includes (`ngx_conf_include()`), and so how this does:
//! * A relative argument is relative to the configuration prefix: the main file's directory.
//! * An argument with none of `*?[` is one file, which must exist.
//! * Otherwise it is a `glob(3)` pattern: matches are sorted byte-wise (nginx calls `glob()`
//!   without `GLOB_NOSORT`, in the C locale), `*` does not match a leading dot, `**` is just
//!   `*`, and a pattern matching nothing includes nothing.
//! * The included file is parsed on the spot, so files are listed in the order nginx reads
//!   them (depth first). A file included twice is listed once (as `nginx -T` dumps it once);
//!   a file that includes itself, directly or not, is an error (nginx would recurse until it
//!   fails).
//!
//! An `nginx -T` dump is `# configuration file PATH:` followed by that file's bytes and one
//! added newline, for every file nginx read, main file first, optionally preceded by nginx's
//! `nginx: … syntax is ok` lines when stderr was captured too. Its includes are resolved by
//! matching the dump's paths, never the filesystem.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::ast::{ConfFile, Config, Directive, UnmatchedInclude};
use super::lexer;
use crate::error::{Error, NginxErrorKind};
use crate::escape::escape_bytes;

/// What a dump's header line starts with.
const DUMP_HEADER: &[u8] = b"# configuration file ";

/// The path shown for errors in a dump given as text.
const DUMP_NAME: &str = "<nginx -T>";

/// Where `include` paths lead when the configuration is not where nginx reads it (a
/// repository checkout): nginx's `-p`-like prefix and path rewrites.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// The directory that stands for nginx's configuration directory: relative includes
    /// resolve against it (instead of the main file's directory), and absolute ones under
    /// `/etc/nginx` are read from it (`--prefix`).
    pub prefix: Option<PathBuf>,
    /// Absolute include paths starting with the first path are read from under the second
    /// (`--prefix-map FROM=TO`), whole path components only; the first match wins.
    pub prefix_map: Vec<(PathBuf, PathBuf)>,
}

impl LoadOptions {
    /// The path nginx would open for `path`, rewritten by the maps (explicit ones first,
    /// then `/etc/nginx` to the prefix).
    fn mapped(&self, path: PathBuf) -> PathBuf {
        let implicit = self
            .prefix
            .as_ref()
            .map(|p| (PathBuf::from(DEFAULT_CONF_DIR), p.clone()));
        for (from, to) in self.prefix_map.iter().chain(implicit.as_ref()) {
            if let Ok(rest) = path.strip_prefix(from) {
                return to.join(rest);
            }
        }
        path
    }
}

/// The configuration directory of Debian's and most distributions' nginx.
const DEFAULT_CONF_DIR: &str = "/etc/nginx";

/// Loads the file at `path` with everything it includes; a dump if it looks like one.
pub(crate) fn load(path: &Path, opts: &LoadOptions) -> Result<Config, Error> {
    let io = |e: std::io::Error| Error::io(&path.display().to_string(), &e);
    // The main file may be a pipe (`realip nginx check <(nginx -T)`), but not a directory,
    // and is read up to the same cap as an included file.
    if std::fs::metadata(path).map_err(io)?.is_dir() {
        return Err(io(std::io::Error::other("is a directory, not a file")));
    }
    let file = std::fs::File::open(path).map_err(io)?;
    let src = read_capped(file).map_err(io)?;
    if is_dump(&src) {
        return parse_dump(&src, path);
    }
    let mut loader = Loader::new(path, Box::new(Files));
    if let Some(prefix) = &opts.prefix {
        loader.prefix = prefix.clone();
    }
    loader.opts = opts.clone();
    loader.run(path.to_path_buf(), src)
}

/// Parses one file's text without following its includes; a dump if it looks like one.
pub(crate) fn parse_one(src: &[u8], path: &Path) -> Result<Config, Error> {
    if is_dump(src) {
        return parse_dump(src, path);
    }
    let directives = lexer::parse(src, 0).map_err(|e| syntax(path, src, e))?;
    Ok(Config {
        files: vec![ConfFile {
            path: path.to_path_buf(),
            directives,
            bom: lexer::has_bom(src),
        }],
        unmatched: Vec::new(),
    })
}

/// Parses `nginx -T` output given as text.
pub(crate) fn parse_dump_text(src: &[u8]) -> Result<Config, Error> {
    parse_dump(src, Path::new(DUMP_NAME))
}

/// Whether `src` is `nginx -T` output: after any `nginx: ` lines, a dump header line.
pub fn is_dump(src: &[u8]) -> bool {
    lines(src)
        .find(|(_, l)| !is_preamble(l))
        .is_some_and(|(_, l)| header_path(l).is_some())
}

/// The lines of `src` with their start offsets, each without its `\n`.
fn lines(src: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut at = 0;
    src.split(|&b| b == b'\n').map(move |l| {
        let start = at;
        at += l.len() + 1;
        (start, l)
    })
}

/// nginx's own messages before a dump (`nginx: the configuration file … syntax is ok`), and
/// blank lines.
fn is_preamble(line: &[u8]) -> bool {
    line.starts_with(b"nginx: ") || line.iter().all(|b| b.is_ascii_whitespace())
}

/// The path in a dump header line `# configuration file PATH:`.
fn header_path(line: &[u8]) -> Option<&[u8]> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let path = line.strip_prefix(DUMP_HEADER)?.strip_suffix(b":")?;
    (!path.is_empty()).then_some(path)
}

/// Splits a dump into its files and resolves includes among them. `name` is the dump's own
/// path, for errors outside any file.
fn parse_dump(src: &[u8], name: &Path) -> Result<Config, Error> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let mut current: Option<(PathBuf, usize)> = None;
    let mut seen_header = false;
    for (at, line) in lines(src) {
        if !seen_header && is_preamble(line) {
            continue;
        }
        let Some(path) = header_path(line) else {
            if !seen_header {
                let (line, col) = lexer::line_col(src, at);
                return Err(Error::nginx_config(
                    name,
                    src,
                    line,
                    col,
                    NginxErrorKind::NotADump,
                ));
            }
            continue;
        };
        seen_header = true;
        let Ok(path) = std::str::from_utf8(path) else {
            let (line, col) = lexer::line_col(src, at);
            let byte = path.iter().copied().find(|b| !b.is_ascii()).unwrap_or(0);
            let kind = NginxErrorKind::InvalidUtf8 { byte };
            return Err(Error::nginx_config(name, src, line, col, kind));
        };
        if let Some((prev, start)) = current.take() {
            files.push((prev, dump_content(&src[start..at])));
        }
        current = Some((PathBuf::from(path), (at + line.len() + 1).min(src.len())));
    }
    let Some((last, start)) = current else {
        let (line, col) = lexer::line_col(src, src.len());
        return Err(Error::nginx_config(
            name,
            src,
            line,
            col,
            NginxErrorKind::NotADump,
        ));
    };
    files.push((last, dump_content(&src[start..])));

    let mut files = files.into_iter();
    let Some((main, main_src)) = files.next() else {
        return Err(Error::nginx_config(
            name,
            src,
            1,
            1,
            NginxErrorKind::NotADump,
        ));
    };
    let rest: Vec<(PathBuf, Vec<u8>)> = files.collect();
    let mut dump = Dump::default();
    for (path, content) in &rest {
        // nginx dumps each file once; if a path repeats, the first copy wins.
        dump.files
            .entry(path.clone())
            .or_insert_with(|| content.clone());
        dump.order.push(path.clone());
    }
    dump.files
        .entry(main.clone())
        .or_insert_with(|| main_src.clone());
    let mut loader = Loader::new(&main, Box::new(dump));
    loader.add(main, main_src)?;
    // Files of the dump that no include reached (a hand-edited dump, or a glob nginx
    // expanded differently): kept, after the others, so that nothing vanishes.
    for (path, content) in rest {
        if !loader.keys.contains_key(&path) {
            loader.add(path, content)?;
        }
    }
    Ok(loader.config)
}

/// A file's bytes as dumped: without the newline `nginx -T` adds after each file.
fn dump_content(part: &[u8]) -> Vec<u8> {
    part.strip_suffix(b"\n").unwrap_or(part).to_vec()
}

/// Where included files come from: the filesystem or a dump.
trait Source {
    /// The bytes of the file at `path`, `Ok(None)` when there is no such file.
    fn read(&mut self, path: &Path) -> Result<Option<Vec<u8>>, String>;
    /// The files matching a glob pattern, sorted byte-wise.
    fn glob(&mut self, pattern: &str) -> Result<Vec<PathBuf>, String>;
    /// What makes two paths the same file.
    fn key(&self, path: &Path) -> PathBuf;
}

/// The filesystem.
struct Files;

/// The most bytes read from one configuration file: `include /dev/zero;` must fail, not
/// fill the memory (issue #10).
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// Reads at most [`MAX_FILE_BYTES`]; more is an error.
fn read_capped(file: std::fs::File) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut out)?;
    if out.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {} MiB, the most realip reads from one configuration file",
            MAX_FILE_BYTES >> 20
        )));
    }
    Ok(out)
}

/// What a path that is not a regular file is, for the error.
fn file_type_name(t: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

impl Source for Files {
    /// Only regular files (symbolic links followed), checked before opening: a FIFO would
    /// block and a device never end. At most [`MAX_FILE_BYTES`].
    fn read(&mut self, path: &Path) -> Result<Option<Vec<u8>>, String> {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        if !meta.is_file() {
            return Err(format!(
                "{}; only regular files can be included",
                file_type_name(meta.file_type())
            ));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(format!(
                "{} bytes, larger than {} MiB, the most realip reads from one configuration file",
                meta.len(),
                MAX_FILE_BYTES >> 20
            ));
        }
        match std::fs::File::open(path).and_then(read_capped) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    fn glob(&mut self, pattern: &str) -> Result<Vec<PathBuf>, String> {
        let paths =
            glob::glob_with(&libc_pattern(pattern), glob_options()).map_err(|e| e.to_string())?;
        // Like glob(3) without GLOB_ERR: directories that cannot be read are skipped.
        let mut paths: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
        sort_bytewise(&mut paths);
        Ok(paths)
    }

    fn key(&self, path: &Path) -> PathBuf {
        std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
    }
}

/// The files of an `nginx -T` dump.
#[derive(Default)]
struct Dump {
    files: HashMap<PathBuf, Vec<u8>>,
    order: Vec<PathBuf>,
}

impl Source for Dump {
    fn read(&mut self, path: &Path) -> Result<Option<Vec<u8>>, String> {
        Ok(self.files.get(path).cloned())
    }

    fn glob(&mut self, pattern: &str) -> Result<Vec<PathBuf>, String> {
        let pattern = glob::Pattern::new(&libc_pattern(pattern)).map_err(|e| e.to_string())?;
        let mut paths: Vec<PathBuf> = self
            .order
            .iter()
            .filter(|p| pattern.matches_path_with(p, glob_options()))
            .cloned()
            .collect();
        sort_bytewise(&mut paths);
        paths.dedup();
        Ok(paths)
    }

    fn key(&self, path: &Path) -> PathBuf {
        path.to_path_buf()
    }
}

/// glob(3) semantics in the `glob` crate: `/` and a leading `.` only match literally.
fn glob_options() -> glob::MatchOptions {
    glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    }
}

/// A glob(3) pattern for the `glob` crate: `**` means `*` to glob(3), not "any directories".
fn libc_pattern(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    for c in pattern.chars() {
        if !(c == '*' && out.ends_with('*')) {
            out.push(c);
        }
    }
    out
}

fn sort_bytewise(paths: &mut [PathBuf]) {
    paths.sort_by(|a, b| {
        a.as_os_str()
            .as_encoded_bytes()
            .cmp(b.as_os_str().as_encoded_bytes())
    });
}

/// A syntax error in the file `path` whose bytes are `src`.
fn syntax(path: &Path, src: &[u8], e: lexer::SyntaxError) -> Error {
    Error::nginx_config(path, src, e.line, e.col, e.kind)
}

/// Builds a [`Config`] file by file, following includes depth first.
struct Loader {
    source: Box<dyn Source>,
    /// The configuration prefix: relative includes are relative to it.
    prefix: PathBuf,
    config: Config,
    /// File identity ([`Source::key`]) to index in `config.files`.
    keys: HashMap<PathBuf, usize>,
    /// The files being expanded, outermost first.
    stack: Vec<usize>,
    /// Path rewrites (never for a dump, whose paths are the ones nginx read).
    opts: LoadOptions,
}

impl Loader {
    fn new(main: &Path, source: Box<dyn Source>) -> Self {
        Loader {
            source,
            prefix: main.parent().map(Path::to_path_buf).unwrap_or_default(),
            config: Config::default(),
            keys: HashMap::new(),
            stack: Vec::new(),
            opts: LoadOptions::default(),
        }
    }

    fn run(mut self, main: PathBuf, src: Vec<u8>) -> Result<Config, Error> {
        self.add(main, src)?;
        Ok(self.config)
    }

    /// Parses one file, lists it, and expands its includes; returns its index.
    fn add(&mut self, path: PathBuf, src: Vec<u8>) -> Result<usize, Error> {
        let index = self.config.files.len();
        self.keys.insert(self.source.key(&path), index);
        let mut directives = lexer::parse(&src, index).map_err(|e| syntax(&path, &src, e))?;
        self.config.files.push(ConfFile {
            path,
            directives: Vec::new(),
            bom: lexer::has_bom(&src),
        });
        self.stack.push(index);
        self.expand(&mut directives, index, &src)?;
        self.stack.pop();
        if let Some(file) = self.config.files.get_mut(index) {
            file.directives = directives;
        }
        Ok(index)
    }

    fn expand(
        &mut self,
        directives: &mut [Directive],
        file: usize,
        src: &[u8],
    ) -> Result<(), Error> {
        for d in directives {
            if d.name == "include" {
                d.includes = self.include(d, file, src)?;
            } else if let Some(block) = &mut d.block {
                self.expand(block, file, src)?;
            }
        }
        Ok(())
    }

    /// The files one `include` directive of `file` (whose bytes are `src`) pulls in.
    fn include(&mut self, d: &Directive, file: usize, src: &[u8]) -> Result<Vec<usize>, Error> {
        let path = self.path_of(file);
        let fail = |line, col, kind| Error::nginx_config(&path, src, line, col, kind);
        let [arg] = d.args.as_slice() else {
            let reason = "it takes exactly one file or glob pattern";
            return Err(fail(
                d.pos.line,
                d.pos.col,
                NginxErrorKind::Include { reason },
            ));
        };
        if d.block.is_some() {
            let reason = "it is not terminated by \";\" (it cannot have a block)";
            return Err(fail(
                d.pos.line,
                d.pos.col,
                NginxErrorKind::Include { reason },
            ));
        }
        let at = |kind| fail(arg.pos.line, arg.pos.col, kind);
        let pattern = escape_bytes(arg.value.as_bytes()).into_owned();
        let full = self.opts.mapped(self.prefix.join(&arg.value));
        let full_text = full.to_string_lossy().into_owned();
        let names = if full_text.contains(['*', '?', '[']) {
            let names = self.source.glob(&full_text).map_err(|reason| {
                at(NginxErrorKind::IncludeRead {
                    pattern: pattern.clone(),
                    path: escape_bytes(full_text.as_bytes()).into_owned(),
                    reason,
                })
            })?;
            if names.is_empty() {
                self.config.unmatched.push(UnmatchedInclude {
                    pos: d.pos,
                    pattern: arg.value.clone(),
                    looked: full_text.clone(),
                });
            }
            names
        } else {
            vec![full]
        };
        let mut indices = Vec::with_capacity(names.len());
        for name in names {
            let shown = escape_bytes(name.as_os_str().as_encoded_bytes()).into_owned();
            if let Some(&index) = self.keys.get(&self.source.key(&name)) {
                if let Some(from) = self.stack.iter().position(|&i| i == index) {
                    let mut chain: Vec<String> = self.stack[from..]
                        .iter()
                        .map(|&i| self.shown_path(i))
                        .collect();
                    chain.push(shown);
                    return Err(at(NginxErrorKind::IncludeCycle { chain }));
                }
                indices.push(index);
                continue;
            }
            let content = match self.source.read(&name) {
                Ok(Some(content)) => content,
                Ok(None) => {
                    return Err(at(NginxErrorKind::IncludeNotFound {
                        pattern,
                        looked: shown,
                    }))
                }
                Err(reason) => {
                    return Err(at(NginxErrorKind::IncludeRead {
                        pattern,
                        path: shown,
                        reason,
                    }))
                }
            };
            indices.push(self.add(name, content)?);
        }
        Ok(indices)
    }

    fn path_of(&self, file: usize) -> PathBuf {
        self.config
            .files
            .get(file)
            .map(|f| f.path.clone())
            .unwrap_or_default()
    }

    fn shown_path(&self, file: usize) -> String {
        escape_bytes(self.path_of(file).as_os_str().as_encoded_bytes()).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dump_is_recognised_after_nginx_messages() {
        assert!(is_dump(
            b"# configuration file /etc/nginx/nginx.conf:\nevents {}\n"
        ));
        assert!(is_dump(
            b"nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n\
              nginx: configuration file /etc/nginx/nginx.conf test is successful\n\
              # configuration file /etc/nginx/nginx.conf:\r\n"
        ));
        assert!(!is_dump(b"# configuration file without colon\n"));
        assert!(!is_dump(b"events {}\n# configuration file /x:\n"));
        assert!(!is_dump(b""));
    }

    #[test]
    fn dump_files_lose_only_the_newline_nginx_added() {
        let dump = b"# configuration file /e/nginx.conf:\nhttp { include a.conf; }\n\
                     # configuration file /e/a.conf:\nlog_format x 'y';\n\n";
        let config = parse_dump_text(dump).unwrap();
        assert_eq!(config.files.len(), 2);
        assert_eq!(config.files[1].path, Path::new("/e/a.conf"));
        assert_eq!(
            config.files[0].directives[0].block.as_ref().unwrap()[0].includes,
            [1]
        );
        assert_eq!(config.files[1].directives[0].pos.line, 1);
    }

    #[test]
    fn dump_globs_match_dump_paths_sorted_bytewise() {
        let dump = b"# configuration file /e/nginx.conf:\ninclude conf.d/*.conf;\n\n\
                     # configuration file /e/conf.d/b.conf:\nb;\n\n\
                     # configuration file /e/conf.d/B.conf:\nB;\n\n\
                     # configuration file /e/conf.d/.hidden.conf:\nh;\n\n";
        let config = parse_dump_text(dump).unwrap();
        let names: Vec<_> = config
            .files
            .iter()
            .map(|f| f.path.display().to_string())
            .collect();
        // The hidden file is not matched by `*` but is kept, last, since it was dumped.
        assert_eq!(
            names,
            [
                "/e/nginx.conf",
                "/e/conf.d/B.conf",
                "/e/conf.d/b.conf",
                "/e/conf.d/.hidden.conf"
            ]
        );
        assert_eq!(config.files[0].directives[0].includes, [1, 2]);
    }

    #[test]
    fn text_that_is_not_a_dump_is_refused_with_its_place() {
        let e = parse_dump_text(b"nginx: ok\nevents {}\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("<nginx -T>:2:1: not an nginx -T dump"),
            "{e}"
        );
    }

    #[test]
    fn double_stars_are_single_stars_to_glob3() {
        assert_eq!(libc_pattern("/a/**/b*.conf"), "/a/*/b*.conf");
    }
}
