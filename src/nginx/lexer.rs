//! nginx configuration syntax: bytes to tokens, tokens to one file's directive tree.
//!
//! Owns: the tokenizer ([`Lexer`], [`Token`]), nginx's unescaping ([`unescape`]) and the
//! three-rule grammar that turns one file's tokens into [`Directive`]s ([`parse`]): positions,
//! quoting, escapes, comments, variables and every syntax error, each with its line and column.
//! Does not own: reading files, `include` and `nginx -T` dumps (`include.rs`); the meaning of
//! any directive (`realip.rs`, `log_format.rs`, `lint.rs`). `include` is parsed like any other
//! directive here.
//!
//! # Why a state machine and not parser combinators
//!
//! nginx has no grammar, only `ngx_conf_read_token()` in `src/core/ngx_conf_file.c`, a byte
//! loop with a handful of flags. [`Lexer`] is a branch-by-branch transliteration of it, so that
//! every rule below can be checked against the C (and was, against nginx 1.22.1):
//!
//! * Tokens are separated by space, tab, CR and LF only (a form feed is part of a token).
//! * `#` starts a comment only where a token could start: `a#b` is one token.
//! * `;` and `{` end a token anywhere, except that a `{` right after `$` belongs to the token
//!   (`${var}`). `}` is special only where a token could start: `a}` is one token.
//! * A quote opens a quoted string only at the start of a token; `a"b` is one token. After the
//!   closing quote nginx wants a space, `;`, `{` or `)`: `"a"b` and `"a"}` are errors.
//!   Inside quotes `;`, `{`, `}` and `#` are plain characters.
//! * A backslash makes the next byte plain (it cannot end a token or a quoted string), and
//!   every parameter, quoted or not, is then unescaped: `\"`, `\'` and `\\` lose their
//!   backslash, `\t`, `\r` and `\n` become tab, CR and LF, and any other `\x` is kept as is
//!   (`\.` stays `\.`, as regexes need).
//! * A parameter, a quoted string or a comment must fit nginx's 4096-byte read buffer, counted
//!   from where the token (after an opening quote) or comment starts, up to the byte before the
//!   next one nginx reads: see [`BUFFER`].
//!
//! crossplane (the Python parser used as an oracle in the tests) differs in a few of these:
//! it ends a token at `}`, keeps backslashes (it only turns `\"` into `"` in double quotes),
//! starts a new token after a closing quote where nginx refuses anything but a space, `;`,
//! `{` or `)`, reads `${…}` only up to a space, counts any Unicode space as a separator and a
//! lone CR as a new line. The sample configurations stay clear of those differences; the
//! tests apply [`unescape`] to crossplane's arguments before comparing.

use super::ast::{Arg, Directive, Pos};
use crate::error::NginxErrorKind;
use crate::escape::escape_bytes;

/// nginx's configuration read buffer (`NGX_CONF_BUFFER`). A token that, with the byte that
/// ends it, does not fit is refused as a "too long parameter" (unless the file ends first).
pub const BUFFER: usize = 4096;

/// How deep blocks may nest. nginx has no limit, but nothing real comes close, and the tree
/// is recursive.
pub const MAX_DEPTH: usize = 100;

/// A syntax error in one file: what and where (1-based line, column in bytes). The caller
/// adds the path and the excerpt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// What is wrong.
    pub kind: NginxErrorKind,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in bytes.
    pub col: u32,
}

/// One token: a word (a directive name or parameter, unescaped) or one of `;`, `{`, `}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// 1-based line where it starts (its opening quote, for a quoted word).
    pub line: u32,
    /// 1-based column where it starts, in bytes.
    pub col: u32,
    /// Byte offset just past its end (past the closing quote, for a quoted word).
    pub end: usize,
}

/// The kinds of [`Token`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// A directive name or parameter, unescaped as nginx does.
    Word {
        /// The value.
        value: String,
        /// Whether it was in single or double quotes.
        quoted: bool,
    },
    /// `;`
    Semicolon,
    /// `{`
    BlockStart,
    /// `}`
    BlockEnd,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// The tokenizer: an iterator of tokens over one file's bytes.
///
/// Field names follow `ngx_conf_read_token()`.
#[derive(Debug, Clone)]
pub struct Lexer<'a> {
    src: &'a [u8],
    /// Next byte to read (`b->pos`).
    pos: usize,
    /// Line of the next byte, and the offset where that line starts.
    line: u32,
    line_start: usize,
    /// Where the current token's content starts, and the 4096-byte rule counts from.
    start: usize,
    /// Where the current word starts, quote included.
    word_at: usize,
    word_line: u32,
    word_col: u32,
    need_space: bool,
    last_space: bool,
    sharp_comment: bool,
    variable: bool,
    quoted: bool,
    s_quoted: bool,
    d_quoted: bool,
    /// A `;` or `{` that ended a word, returned on the next call.
    pending: Option<Token>,
    /// Set after an error or the end of input.
    done: bool,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `src`.
    pub fn new(src: &'a [u8]) -> Self {
        // A byte-order mark is reported by the lint (nginx makes it part of the first
        // directive's name and refuses it); the tree is read as if it were not there.
        let skip = if has_bom(src) { BOM.len() } else { 0 };
        Lexer {
            src,
            pos: skip,
            line: 1,
            line_start: 0,
            start: skip,
            word_at: skip,
            word_line: 1,
            word_col: 1,
            need_space: false,
            last_space: true,
            sharp_comment: false,
            variable: false,
            quoted: false,
            s_quoted: false,
            d_quoted: false,
            pending: None,
            done: false,
        }
    }

    /// The next token, `Ok(None)` at the end of the input.
    pub fn next_token(&mut self) -> Result<Option<Token>, SyntaxError> {
        if let Some(t) = self.pending.take() {
            return Ok(Some(t));
        }
        if self.done {
            return Ok(None);
        }
        let r = self.scan();
        if !matches!(r, Ok(Some(_))) {
            self.done = true;
        }
        r
    }

    /// The column of the byte at `at`, on the current line.
    fn col_of(&self, at: usize) -> u32 {
        u32::try_from(at.saturating_sub(self.line_start) + 1).unwrap_or(u32::MAX)
    }

    /// A punctuation token for the byte just read, and the state nginx starts its next call
    /// with.
    fn punct(&mut self, kind: TokenKind) -> Token {
        let at = self.pos - 1;
        self.start = self.pos;
        self.need_space = false;
        self.last_space = true;
        self.variable = false;
        Token {
            kind,
            line: self.line,
            col: self.col_of(at),
            end: self.pos,
        }
    }

    fn error(&self, kind: NginxErrorKind, line: u32, col: u32) -> SyntaxError {
        SyntaxError { kind, line, col }
    }

    fn scan(&mut self) -> Result<Option<Token>, SyntaxError> {
        loop {
            if self.pos >= self.src.len() {
                if self.last_space {
                    return Ok(None);
                }
                if self.d_quoted || self.s_quoted {
                    let quote = if self.d_quoted { '"' } else { '\'' };
                    return Err(self.error(
                        NginxErrorKind::UnclosedQuote { quote },
                        self.word_line,
                        self.word_col,
                    ));
                }
                if self.need_space {
                    // The quoted word was returned already.
                    return Ok(None);
                }
                // An unfinished unquoted word: return it; the parser reports the missing ";".
                self.last_space = true;
                return self.word(self.src.len()).map(Some);
            }
            if self.pos - self.start >= BUFFER {
                return Err(self.too_long());
            }
            let ch = self.src[self.pos];
            self.pos += 1;
            if ch == b'\n' {
                self.line += 1;
                self.line_start = self.pos;
                self.sharp_comment = false;
            }
            if self.sharp_comment {
                continue;
            }
            if self.quoted {
                self.quoted = false;
                continue;
            }
            if self.need_space {
                if is_space(ch) {
                    self.last_space = true;
                    self.need_space = false;
                    continue;
                }
                match ch {
                    b';' => return Ok(Some(self.punct(TokenKind::Semicolon))),
                    b'{' => return Ok(Some(self.punct(TokenKind::BlockStart))),
                    b')' => {
                        self.last_space = true;
                        self.need_space = false;
                    }
                    _ => {
                        return Err(self.error(
                            NginxErrorKind::Unexpected {
                                found: self.char_at(self.pos - 1),
                                hint: " after a quoted string: nginx wants a space, \";\", \
                                       \"{\" or \")\" there",
                            },
                            self.line,
                            self.col_of(self.pos - 1),
                        ))
                    }
                }
            }
            if self.last_space {
                self.start = self.pos - 1;
                if is_space(ch) {
                    continue;
                }
                self.word_at = self.pos - 1;
                self.word_line = self.line;
                self.word_col = self.col_of(self.pos - 1);
                match ch {
                    b';' => return Ok(Some(self.punct(TokenKind::Semicolon))),
                    b'{' => return Ok(Some(self.punct(TokenKind::BlockStart))),
                    b'}' => return Ok(Some(self.punct(TokenKind::BlockEnd))),
                    b'#' => self.sharp_comment = true,
                    b'\\' => {
                        self.quoted = true;
                        self.last_space = false;
                    }
                    b'"' => {
                        self.start += 1;
                        self.d_quoted = true;
                        self.last_space = false;
                    }
                    b'\'' => {
                        self.start += 1;
                        self.s_quoted = true;
                        self.last_space = false;
                    }
                    b'$' => {
                        self.variable = true;
                        self.last_space = false;
                    }
                    _ => self.last_space = false,
                }
                continue;
            }
            if ch == b'{' && self.variable {
                continue;
            }
            self.variable = false;
            if ch == b'\\' {
                self.quoted = true;
                continue;
            }
            if ch == b'$' {
                self.variable = true;
                continue;
            }
            let found = if self.d_quoted {
                ch == b'"'
            } else if self.s_quoted {
                ch == b'\''
            } else {
                is_space(ch) || ch == b';' || ch == b'{'
            };
            if !found {
                continue;
            }
            let was_quoted = self.d_quoted || self.s_quoted;
            self.d_quoted = false;
            self.s_quoted = false;
            if was_quoted {
                self.need_space = true;
            } else {
                self.last_space = true;
            }
            let end = self.pos - 1;
            let word = self.word(end)?;
            match ch {
                b';' if !was_quoted => self.pending = Some(self.punct(TokenKind::Semicolon)),
                b'{' if !was_quoted => self.pending = Some(self.punct(TokenKind::BlockStart)),
                _ => {}
            }
            return Ok(Some(word));
        }
    }

    /// The word whose content is `start..end`, unescaped. nginx does not decode its
    /// configuration: bytes that are not UTF-8 are kept as they are in the file (positions
    /// and excerpts count and show them as bytes) and read as U+FFFD in the value, as
    /// crossplane does.
    fn word(&self, end: usize) -> Result<Token, SyntaxError> {
        let raw = &self.src[self.start.min(end)..end];
        let quoted = self.start > self.word_at;
        let value = String::from_utf8_lossy(&unescape(raw)).into_owned();
        Ok(Token {
            kind: TokenKind::Word { value, quoted },
            line: self.word_line,
            col: self.word_col,
            end: end + usize::from(quoted),
        })
    }

    /// Reads the body of a `*_by_lua_block` as OpenResty does (`ngx_http_lua_conf_read_lua_token`):
    /// from just after its `{` up to the `}` that balances it, counting braces only outside
    /// Lua strings (`'…'`, `"…"` with backslash escapes, long brackets `[[…]]`, `[==[…]==]`)
    /// and comments (`--` to the end of the line, `--[[…]]`). Returns the body as written
    /// (bytes not UTF-8 read as U+FFFD) and leaves the lexer after the closing `}`.
    /// `open` is the line and column of the `{`, for the error when the block never closes.
    pub fn lua_block(&mut self, name: &str, open: (u32, u32)) -> Result<String, SyntaxError> {
        let src = self.src;
        let begin = self.pos;
        let mut i = self.pos;
        let mut depth = 1usize;
        let unclosed = |this: &Self| {
            let (line, col) = line_col(src, src.len());
            this.error(
                NginxErrorKind::UnclosedLua {
                    directive: escape_bytes(name.as_bytes()).into_owned(),
                    open_line: open.0,
                    open_col: open.1,
                },
                line,
                col,
            )
        };
        while i < src.len() {
            let ch = src[i];
            match ch {
                b'{' => {
                    depth += 1;
                    i += 1;
                }
                b'}' => {
                    depth -= 1;
                    i += 1;
                    if depth == 0 {
                        let body = String::from_utf8_lossy(&src[begin..i - 1]).into_owned();
                        self.advance_to(i);
                        return Ok(body);
                    }
                }
                b'"' | b'\'' => {
                    i += 1;
                    while i < src.len() && src[i] != ch && src[i] != b'\n' {
                        i += if src[i] == b'\\' { 2 } else { 1 };
                    }
                    i += 1;
                }
                b'-' if src.get(i + 1) == Some(&b'-') => {
                    i += 2;
                    match long_bracket(&src[i..]) {
                        Some(level) => i = skip_long(src, i, level),
                        None => {
                            while i < src.len() && src[i] != b'\n' {
                                i += 1;
                            }
                        }
                    }
                }
                b'[' => match long_bracket(&src[i..]) {
                    Some(level) => i = skip_long(src, i, level),
                    None => i += 1,
                },
                _ => i += 1,
            }
        }
        self.advance_to(src.len());
        Err(unclosed(self))
    }

    /// Moves the read position to `at`, counting lines, in the state after a `}`.
    fn advance_to(&mut self, at: usize) {
        let at = at.min(self.src.len());
        for (k, &b) in self.src[self.pos.min(at)..at].iter().enumerate() {
            if b == b'\n' {
                self.line += 1;
                self.line_start = self.pos + k + 1;
            }
        }
        self.pos = at;
        self.start = at;
        self.need_space = false;
        self.last_space = true;
        self.variable = false;
        self.sharp_comment = false;
        self.quoted = false;
        self.pending = None;
    }

    fn too_long(&self) -> SyntaxError {
        let first = &self.src[self.start..self.src.len().min(self.start + 10)];
        let (line, col) = line_col(self.src, self.start);
        let kind = NginxErrorKind::TooLong {
            start: escape_bytes(first).into_owned(),
        };
        self.error(kind, line, col)
    }

    /// The character starting at `at`, escaped, for messages.
    fn char_at(&self, at: usize) -> String {
        let rest = &self.src[at..self.src.len().min(at + 4)];
        let n = match std::str::from_utf8(rest) {
            Ok(s) => s.chars().next().map_or(1, char::len_utf8),
            Err(e) if e.valid_up_to() > 0 => std::str::from_utf8(&rest[..e.valid_up_to()])
                .ok()
                .and_then(|s| s.chars().next())
                .map_or(1, char::len_utf8),
            Err(_) => 1,
        };
        escape_bytes(&rest[..n.min(rest.len())]).into_owned()
    }
}

impl Iterator for Lexer<'_> {
    type Item = Result<Token, SyntaxError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_token().transpose()
    }
}

/// nginx's unescaping of a parameter (the copy loop at the end of `ngx_conf_read_token()`):
/// `\"`, `\'` and `\\` drop the backslash; `\t`, `\r`, `\n` become tab, CR, LF; any other
/// backslash is kept.
pub fn unescape(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b == b'\\' {
            match raw.get(i + 1) {
                Some(b'"' | b'\'' | b'\\') => i += 1,
                Some(b't') => {
                    out.push(b'\t');
                    i += 2;
                    continue;
                }
                Some(b'r') => {
                    out.push(b'\r');
                    i += 2;
                    continue;
                }
                Some(b'n') => {
                    out.push(b'\n');
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

/// The level of a Lua long bracket opening at the start of `s` (`[[` is 0, `[==[` is 2).
fn long_bracket(s: &[u8]) -> Option<usize> {
    let rest = s.strip_prefix(b"[")?;
    let level = rest.iter().take_while(|&&b| b == b'=').count();
    (rest.get(level) == Some(&b'[')).then_some(level)
}

/// The offset just past the long bracket of `level` that opens at `at`, or the end.
fn skip_long(src: &[u8], at: usize, level: usize) -> usize {
    let mut close = vec![b']'];
    close.extend(std::iter::repeat_n(b'=', level));
    close.push(b']');
    let body = at + level + 2;
    match memchr::memmem::find(src.get(body..).unwrap_or_default(), &close) {
        Some(k) => body + k + close.len(),
        None => src.len(),
    }
}

/// The UTF-8 byte-order mark. nginx does not skip it: it becomes part of the first
/// directive's name (`unknown directive "\u{FEFF}events"`).
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Whether a file starts with a UTF-8 byte-order mark.
pub fn has_bom(src: &[u8]) -> bool {
    src.starts_with(BOM)
}

/// Directives that never take a block (nginx core and the modules realip reads): a `{` after
/// one is nginx's "directive is not terminated by \";\"" at that `{`, whatever follows.
const NOT_BLOCKS: &[&str] = &[
    "set_real_ip_from",
    "real_ip_header",
    "real_ip_recursive",
    "server_name",
    "listen",
    "root",
    "alias",
    "return",
    "rewrite",
    "proxy_pass",
    "proxy_set_header",
    "add_header",
    "access_log",
    "error_log",
    "log_format",
    "include",
    "index",
    "try_files",
    "allow",
    "deny",
    "set",
    "worker_processes",
    "user",
    "pid",
];

/// Whether a directive's block is Lua code that OpenResty reads itself (`*_by_lua_block`).
pub fn is_lua_block(name: &str) -> bool {
    name.ends_with("_by_lua_block")
}

/// The 1-based line and byte column of offset `at` in `src`.
pub fn line_col(src: &[u8], at: usize) -> (u32, u32) {
    let before = &src[..at.min(src.len())];
    let line = memchr::memchr_iter(b'\n', before).count() + 1;
    let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(at - line_start + 1).unwrap_or(u32::MAX),
    )
}

/// All tokens of `src`, or the first error.
pub fn tokenize(src: &[u8]) -> Result<Vec<Token>, SyntaxError> {
    Lexer::new(src).collect()
}

/// Parses one file's bytes into its directives, as `ngx_conf_parse()` reads a file: `name
/// args… ;` or `name args… { … }`, blocks balanced within the file. `file` is the index
/// recorded in every [`Pos`]. `include` is kept as a plain directive with no `includes`.
pub fn parse(src: &[u8], file: usize) -> Result<Vec<Directive>, SyntaxError> {
    let mut parser = Parser {
        lexer: Lexer::new(src),
        src,
        file,
    };
    parser.block(None, 0)
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    src: &'a [u8],
    file: usize,
}

/// The words of a directive not yet ended by `;` or `{`.
struct Word {
    value: String,
    quoted: bool,
    pos: Pos,
}

impl Parser<'_> {
    /// The directives up to the end of the file (`opener` is `None`) or up to the `}` that
    /// closes the block opened by `opener` (its name and the position of its `{`).
    fn block(
        &mut self,
        opener: Option<(&str, u32, u32)>,
        depth: usize,
    ) -> Result<Vec<Directive>, SyntaxError> {
        let mut out = Vec::new();
        let mut words: Vec<Word> = Vec::new();
        loop {
            let Some(token) = self.lexer.next_token()? else {
                // nginx reports the end of the file where the file ends.
                let (line, col) = line_col(self.src, self.src.len());
                if let Some(first) = words.first() {
                    let directive = escape_bytes(first.value.as_bytes()).into_owned();
                    return Err(SyntaxError {
                        kind: NginxErrorKind::EofInDirective { directive },
                        line,
                        col,
                    });
                }
                if let Some((name, open_line, open_col)) = opener {
                    let directive = escape_bytes(name.as_bytes()).into_owned();
                    return Err(SyntaxError {
                        kind: NginxErrorKind::UnclosedBlock {
                            directive,
                            open_line,
                            open_col,
                        },
                        line,
                        col,
                    });
                }
                return Ok(out);
            };
            let unexpected = |found: &str, hint: &'static str| SyntaxError {
                kind: NginxErrorKind::Unexpected {
                    found: found.to_string(),
                    hint,
                },
                line: token.line,
                col: token.col,
            };
            match token.kind {
                TokenKind::Word { value, quoted } => words.push(Word {
                    value,
                    quoted,
                    pos: Pos {
                        file: self.file,
                        line: token.line,
                        col: token.col,
                    },
                }),
                TokenKind::Semicolon => {
                    if words.is_empty() {
                        return Err(unexpected(";", ": no directive before it"));
                    }
                    out.push(directive(std::mem::take(&mut words), None));
                }
                TokenKind::BlockStart => {
                    if words.is_empty() {
                        return Err(unexpected("{", ": no directive before it"));
                    }
                    if depth >= MAX_DEPTH {
                        return Err(SyntaxError {
                            kind: NginxErrorKind::TooDeep { limit: MAX_DEPTH },
                            line: token.line,
                            col: token.col,
                        });
                    }
                    let words = std::mem::take(&mut words);
                    let name = words.first().map_or("", |w| w.value.as_str());
                    if NOT_BLOCKS.contains(&name) {
                        // nginx: the directive takes no block, so the `{` (often inside an
                        // unquoted argument: `server_name a{b;`) ends it without a `;`.
                        return Err(SyntaxError {
                            kind: NginxErrorKind::MissingSemicolon {
                                directive: escape_bytes(name.as_bytes()).into_owned(),
                            },
                            line: token.line,
                            col: token.col,
                        });
                    }
                    if is_lua_block(name) {
                        let name = name.to_string();
                        let body = self.lexer.lua_block(&name, (token.line, token.col))?;
                        let mut d = directive(words, None);
                        d.args.push(Arg {
                            value: body,
                            quoted: true,
                            pos: Pos {
                                file: self.file,
                                line: token.line,
                                col: token.col,
                            },
                        });
                        out.push(d);
                        continue;
                    }
                    let block = self.block(Some((name, token.line, token.col)), depth + 1)?;
                    out.push(directive(words, Some(block)));
                }
                TokenKind::BlockEnd => {
                    if let Some(first) = words.first() {
                        // nginx reports the `}` itself.
                        let directive = escape_bytes(first.value.as_bytes()).into_owned();
                        return Err(SyntaxError {
                            kind: NginxErrorKind::BraceInDirective { directive },
                            line: token.line,
                            col: token.col,
                        });
                    }
                    if opener.is_none() {
                        return Err(unexpected("}", ": no block is open"));
                    }
                    return Ok(out);
                }
            }
        }
    }
}

fn directive(words: Vec<Word>, block: Option<Vec<Directive>>) -> Directive {
    let mut words = words.into_iter();
    let (name, pos) = words.next().map(|w| (w.value, w.pos)).unwrap_or_default();
    Directive {
        name,
        args: words
            .map(|w| Arg {
                value: w.value,
                quoted: w.quoted,
                pos: w.pos,
            })
            .collect(),
        block,
        pos,
        includes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(value, quoted)` of every word, `;`, `{` and `}` as themselves.
    fn words(src: &str) -> Vec<(String, bool)> {
        tokenize(src.as_bytes())
            .unwrap()
            .into_iter()
            .map(|t| match t.kind {
                TokenKind::Word { value, quoted } => (value, quoted),
                TokenKind::Semicolon => (";".into(), false),
                TokenKind::BlockStart => ("{".into(), false),
                TokenKind::BlockEnd => ("}".into(), false),
            })
            .collect()
    }

    fn plain(src: &str) -> Vec<String> {
        words(src).into_iter().map(|(v, _)| v).collect()
    }

    fn err(src: &str) -> SyntaxError {
        match parse(src.as_bytes(), 0) {
            Err(e) => e,
            Ok(d) => panic!("{src:?} parsed: {d:?}"),
        }
    }

    #[test]
    fn whitespace_semicolon_and_braces_separate_tokens() {
        assert_eq!(
            plain("http{server {listen 80;}}\n"),
            ["http", "{", "server", "{", "listen", "80", ";", "}", "}"]
        );
        assert_eq!(plain("a\tb\r\nc;"), ["a", "b", "c", ";"]);
    }

    #[test]
    fn a_form_feed_is_not_a_separator() {
        assert_eq!(plain("a\x0cb;"), ["a\x0cb", ";"]);
    }

    #[test]
    fn close_brace_and_hash_are_plain_inside_a_token() {
        assert_eq!(plain("a} b#c ;"), ["a}", "b#c", ";"]);
    }

    #[test]
    fn comments_start_only_where_a_token_could() {
        // The comment after `a ` swallows the `;` up to the end of its line.
        assert_eq!(plain("# c ; { }\na #c;\nb;#d\n"), ["a", "b", ";"]);
    }

    #[test]
    fn quotes_make_separators_plain() {
        assert_eq!(
            words(r#"a "b c;{}#" 'd"e' "";"#),
            [
                ("a".to_string(), false),
                ("b c;{}#".to_string(), true),
                ("d\"e".to_string(), true),
                (String::new(), true),
                (";".to_string(), false),
            ]
        );
    }

    #[test]
    fn a_quote_inside_a_token_is_plain() {
        assert_eq!(plain(r#"a"b c'd"e ;"#), [r#"a"b"#, r#"c'd"e"#, ";"]);
    }

    #[test]
    fn escapes_follow_nginx_in_and_out_of_quotes() {
        assert_eq!(
            plain(r#""a\tb\"c\\d\qe\x" 'f\'g\"h' i\"j\;k\ l \.php$ ;"#),
            [
                "a\tb\"c\\d\\qe\\x",
                "f'g\"h",
                "i\"j\\;k\\ l",
                "\\.php$",
                ";"
            ]
        );
        assert_eq!(plain(r#""\r\n" ;"#), ["\r\n", ";"]);
        // Unquoted too (nginx 1.22.1 reports `unknown directive "a^Ib` for `a\tb`).
        assert_eq!(plain(r"a\tb\nc ;"), ["a\tb\nc", ";"]);
    }

    #[test]
    fn a_backslash_keeps_a_quote_or_newline_from_ending_anything() {
        assert_eq!(plain("\"a\\\"b\" c\\\nd ;"), ["a\"b", "c\\\nd", ";"]);
    }

    #[test]
    fn brace_right_after_dollar_belongs_to_the_token() {
        assert_eq!(plain("a${b}c ${d};"), ["a${b}c", "${d}", ";"]);
        // Every `{` right after `$` stays (nginx 1.22.1: `${{{x}` is one token).
        assert_eq!(plain("${{{x} ;"), ["${{{x}", ";"]);
        // Only directly after `$`: the `{` after `$x` opens a block.
        assert_eq!(plain("$x{"), ["$x", "{"]);
        // nginx's quirk: a regex ending in `$` swallows the block's `{`.
        assert_eq!(
            plain(r"location ~ \.php${ a"),
            ["location", "~", r"\.php${", "a"]
        );
    }

    #[test]
    fn closing_paren_may_follow_a_quote() {
        assert_eq!(
            plain(r#"if ($a = "b") { }"#),
            ["if", "($a", "=", "b", ")", "{", "}"]
        );
    }

    #[test]
    fn anything_but_space_semicolon_brace_or_paren_after_a_quote_is_an_error() {
        let e = err(r#"a "b"c;"#);
        assert_eq!((e.line, e.col), (1, 6));
        assert!(matches!(e.kind, NginxErrorKind::Unexpected { ref found, .. } if found == "c"));
        let e = err("a \"b\"'c';");
        assert!(matches!(e.kind, NginxErrorKind::Unexpected { ref found, .. } if found == "'"));
        let e = err("server {\n  a \"b\"}\n");
        assert_eq!((e.line, e.col), (2, 8));
        let e = err("a \"b\"\u{e9};");
        assert!(
            matches!(e.kind, NginxErrorKind::Unexpected { ref found, .. } if found == "\u{e9}")
        );
    }

    #[test]
    fn positions_are_line_and_byte_column_of_the_token_start() {
        let d = parse(
            b"events {}\nhttp {\n\tserver {\n\t\tlisten  \"80\";\n\t}\n}\n",
            3,
        )
        .unwrap();
        let server = &d[1].block.as_ref().unwrap()[0];
        assert_eq!(
            server.pos,
            Pos {
                file: 3,
                line: 3,
                col: 2
            }
        );
        let listen = &server.block.as_ref().unwrap()[0];
        assert_eq!(
            listen.pos,
            Pos {
                file: 3,
                line: 4,
                col: 3
            }
        );
        assert_eq!(
            listen.args[0].pos,
            Pos {
                file: 3,
                line: 4,
                col: 11
            }
        );
        assert!(listen.args[0].quoted);
    }

    #[test]
    fn parse_builds_blocks_and_keeps_unknown_directives() {
        let d = parse(b"frobnicate 1 2;\nmy_block a { inner; }\nempty {}\n", 0).unwrap();
        assert_eq!(d.len(), 3);
        assert_eq!(d[0].name, "frobnicate");
        assert_eq!(d[0].arg_values(), ["1", "2"]);
        assert!(d[0].block.is_none());
        assert_eq!(d[1].block.as_ref().unwrap()[0].name, "inner");
        assert_eq!(d[2].block, Some(Vec::new()));
    }

    #[test]
    fn a_quoted_directive_name_is_a_name() {
        let d = parse(br#""listen" 80;"#, 0).unwrap();
        assert_eq!(d[0].name, "listen");
    }

    #[test]
    fn stray_semicolon_or_brace_is_unexpected() {
        let e = err("a;\n ;");
        assert_eq!((e.line, e.col), (2, 2));
        assert!(matches!(e.kind, NginxErrorKind::Unexpected { ref found, .. } if found == ";"));
        let e = err("{");
        assert!(matches!(e.kind, NginxErrorKind::Unexpected { ref found, .. } if found == "{"));
        let e = err("a;\n}");
        assert_eq!((e.line, e.col), (2, 1));
        assert!(matches!(e.kind, NginxErrorKind::Unexpected { ref found, .. } if found == "}"));
    }

    #[test]
    fn a_directive_cut_short_is_reported_where_nginx_reports_it() {
        // nginx 1.22.1: `unexpected "}"` at the `}`, and at the end of the file
        // `unexpected end of file, expecting ";" or "}"` on the line where the file ends.
        let e = err("server {\n    listen 80\n}\n");
        assert_eq!((e.line, e.col), (3, 1));
        assert!(
            matches!(e.kind, NginxErrorKind::BraceInDirective { ref directive } if directive == "listen")
        );
        let e = err("a \"b\"");
        assert_eq!((e.line, e.col), (1, 6));
        assert!(matches!(e.kind, NginxErrorKind::EofInDirective { .. }));
        let e = err("a b\n\n");
        assert_eq!((e.line, e.col), (3, 1));
    }

    #[test]
    fn a_brace_after_a_directive_that_takes_no_block_is_reported_at_the_brace() {
        // nginx 1.22.1: `directive "server_name" is not terminated by ";"` on line 2.
        let e = err("server {\n    server_name a{b;\n  }\n}\n");
        assert_eq!((e.line, e.col), (2, 18));
        assert!(
            matches!(e.kind, NginxErrorKind::MissingSemicolon { ref directive } if directive == "server_name")
        );
    }

    #[test]
    fn an_unclosed_block_is_reported_at_the_end_of_the_file() {
        let e = err("http {\n  server {\n  }\n");
        assert_eq!((e.line, e.col), (4, 1));
        assert!(matches!(
            e.kind,
            NginxErrorKind::UnclosedBlock { ref directive, open_line: 1, open_col: 6 } if directive == "http"
        ));
    }

    #[test]
    fn lua_block_bodies_are_one_opaque_argument() {
        let src = "location / {\n  access_by_lua_block {\n    local t = { a = \"}\" } -- }\n    \
                   local s = [==[ { ]==] --[[ } ]]\n    if x then ngx.exit(403) end\n  }\n  \
                   set_by_lua_block $v { return '{' }\n  root /x;\n}\n";
        let d = parse(src.as_bytes(), 0).unwrap();
        let inner = d[0].block.as_ref().unwrap();
        assert_eq!(inner.len(), 3, "{inner:?}");
        assert_eq!(inner[0].name, "access_by_lua_block");
        assert!(inner[0].block.is_none());
        assert_eq!(inner[0].args.len(), 1);
        assert!(inner[0].args[0].value.contains("ngx.exit(403)"));
        assert!(inner[0].args[0].value.ends_with("end\n  "));
        assert_eq!(inner[1].arg_values(), ["$v", " return '{' "]);
        assert_eq!(inner[2].name, "root");
        assert_eq!(inner[2].pos.line, 8);
        let e = err("init_by_lua_block {\n  local a = '}'\n");
        assert!(matches!(
            e.kind,
            NginxErrorKind::UnclosedLua { open_line: 1, .. }
        ));
        assert_eq!(e.line, 3);
    }

    #[test]
    fn a_byte_order_mark_is_skipped_and_reported_by_has_bom() {
        let src = b"\xEF\xBB\xBFevents {}\n";
        assert!(has_bom(src));
        assert_eq!(parse(src, 0).unwrap()[0].name, "events");
    }

    #[test]
    fn unclosed_quote_points_at_the_quote() {
        let e = err("a 'b;\n}\n");
        assert_eq!((e.line, e.col), (1, 3));
        assert_eq!(e.kind, NginxErrorKind::UnclosedQuote { quote: '\'' });
    }

    #[test]
    fn bytes_that_are_not_utf8_are_accepted_as_nginx_does() {
        let d = parse(b"a b;\nreturn 200 \"M\xfcller\";\nc;", 0).unwrap();
        assert_eq!(d[1].arg_values(), ["200", "M\u{FFFD}ller"]);
        assert_eq!(d[2].pos.line, 3);
    }

    #[test]
    fn invalid_utf8_in_a_comment_is_fine() {
        assert_eq!(parse(b"# caf\xe9\na;", 0).unwrap()[0].name, "a");
    }

    #[test]
    fn the_4096_byte_rule_matches_nginx() {
        // Verified with nginx 1.22.1: a token and the space after it must fit in 4096 bytes;
        // a token ended by ";" may be 4095 long; a comment up to (not including) its newline.
        let x = |n| "x".repeat(n);
        let ok = |s: String| assert!(parse(s.as_bytes(), 0).is_ok(), "{}", s.len());
        let too_long = |s: String| {
            let e = parse(s.as_bytes(), 0).unwrap_err();
            assert!(matches!(e.kind, NginxErrorKind::TooLong { .. }), "{e:?}");
        };
        ok(format!("{} ;", x(4094)));
        too_long(format!("{} ;", x(4095)));
        ok(format!("{};", x(4095)));
        too_long(format!("{};", x(4096)));
        ok(format!("a \"{}\";", x(4094)));
        too_long(format!("a \"{}\";", x(4095)));
        ok(format!("a \"{}\"  ;", x(4093)));
        too_long(format!("a \"{}\"  ;", x(4094)));
        ok(format!("#{}\na;", x(4094)));
        too_long(format!("#{}\na;", x(4095)));
        // The limit is checked before nginx reads more, so a comment may fill the buffer
        // exactly when the file ends there.
        ok(format!("#{}", x(4095)));
        too_long(format!("#{}", x(4096)));
        ok(format!("{}a;", " ".repeat(9000)));
    }

    #[test]
    fn too_deep_nesting_is_an_error_not_a_stack_overflow() {
        let src = "a{".repeat(100_000);
        let e = err(&src);
        assert_eq!(e.kind, NginxErrorKind::TooDeep { limit: MAX_DEPTH });
    }

    #[test]
    fn unescape_is_nginx_copy_loop() {
        assert_eq!(
            unescape(br#"a\"b\'c\\d\te\rf\ng\xh\"#),
            b"a\"b'c\\d\te\rf\ng\\xh\\"
        );
    }
}
