//! `log_format` definitions and `access_log` bindings.
//!
//! Owns: reading `log_format NAME [escape=…] STRING…;` (the strings concatenated, as nginx
//! does) and `access_log PATH [FORMAT …];` out of the directive tree, with the server each log
//! belongs to, and naming the [`Format`] a log was written in ([`format_named`]).
//! Does not own: compiling or applying templates (`logfmt`), judging them (`lint`).
//!
//! nginx predefines `combined`; [`log_formats`] lists it first with line 0. `access_log`
//! without a format name uses `combined`. A configuration with no `access_log` at all logs to
//! nginx's compiled-in default (`logs/access.log`) in `combined`: [`access_logs`] reports that
//! implicit log at the `http` block's position. `access_log off;` is left out.

use super::ast::{Config, Directive, Pos};
use super::realip::{http_bodies, server_names};
use crate::logfmt::Format;

/// nginx's compiled-in access log path, used when no `access_log` is configured.
pub const DEFAULT_ACCESS_LOG: &str = "logs/access.log";

/// One `log_format` definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogFormatDef {
    /// The format's name.
    pub name: String,
    /// The template: the strings after the name (and `escape=`), concatenated.
    pub template: String,
    /// The `escape=` parameter (`default`, `json`, `none`), when given.
    pub escape: Option<String>,
    /// Where it is defined; line 0 for nginx's predefined `combined`.
    pub pos: Pos,
}

/// One `access_log` binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessLog {
    /// Where the log is written (a path, `syslog:…`, possibly with variables).
    pub path: String,
    /// The format's name (default `combined`).
    pub format: String,
    /// The first `server_name` of the enclosing server; `None` at the `http` level.
    pub server: Option<String>,
    /// The `access_log` directive; for the implicit default log, the `http` block.
    pub pos: Pos,
    /// nginx's default log, in effect because no `access_log` is configured.
    pub implicit: bool,
}

/// Every `log_format`, nginx's predefined `combined` first.
pub fn log_formats(cfg: &Config) -> Vec<LogFormatDef> {
    let mut out = vec![LogFormatDef {
        name: "combined".to_string(),
        template: crate::logfmt::COMBINED.to_string(),
        escape: None,
        pos: Pos::default(),
    }];
    let expanded = cfg.expanded();
    for (_, body) in http_bodies(&expanded) {
        for d in body.iter().filter(|d| d.name == "log_format") {
            let Some((name, rest)) = d.args.split_first() else {
                continue;
            };
            let (escape, strings) = match rest.split_first() {
                Some((first, tail)) if first.value.starts_with("escape=") => {
                    (Some(first.value["escape=".len()..].to_string()), tail)
                }
                _ => (None, rest),
            };
            if strings.is_empty() {
                continue;
            }
            out.push(LogFormatDef {
                name: name.value.clone(),
                template: strings.iter().map(|a| a.value.as_str()).collect(),
                escape,
                pos: d.pos,
            });
        }
    }
    out
}

/// Every `access_log` that writes (not `off`), in configuration order, or the implicit
/// default when there is none.
pub fn access_logs(cfg: &Config) -> Vec<AccessLog> {
    let expanded = cfg.expanded();
    let mut out = Vec::new();
    let mut http_pos = None;
    for (pos, body) in http_bodies(&expanded) {
        http_pos.get_or_insert(pos);
        collect(body, None, &mut out);
    }
    if out.is_empty() && !mentions_access_log(&expanded) {
        out.push(AccessLog {
            path: DEFAULT_ACCESS_LOG.to_string(),
            format: "combined".to_string(),
            server: None,
            pos: http_pos.unwrap_or_default(),
            implicit: true,
        });
    }
    out
}

/// The blocks whose `access_log` directives apply to HTTP requests.
const LOG_BLOCKS: &[&str] = &["server", "location", "if", "limit_except"];

fn collect(body: &[Directive], server: Option<&str>, out: &mut Vec<AccessLog>) {
    for d in body {
        if d.name == "access_log" {
            let args = d.arg_values();
            match args.as_slice() {
                [] | ["off", ..] => {}
                [path] => out.push(AccessLog {
                    path: (*path).to_string(),
                    format: "combined".to_string(),
                    server: server.map(str::to_string),
                    pos: d.pos,
                    implicit: false,
                }),
                [path, format, ..] => out.push(AccessLog {
                    path: (*path).to_string(),
                    format: (*format).to_string(),
                    server: server.map(str::to_string),
                    pos: d.pos,
                    implicit: false,
                }),
            }
        }
        let Some(block) = d.block.as_deref() else {
            continue;
        };
        if !LOG_BLOCKS.contains(&d.name.as_str()) {
            continue;
        }
        if d.name == "server" {
            let names = server_names(block);
            collect(block, names.first().map(String::as_str), out);
        } else {
            collect(block, server, out);
        }
    }
}

/// Whether any `access_log` (even `off`) is written anywhere.
fn mentions_access_log(directives: &[Directive]) -> bool {
    directives
        .iter()
        .any(|d| d.name == "access_log" || d.block.as_deref().is_some_and(mentions_access_log))
}

/// The format a log named `name` is written in: [`Format::Combined`] for `combined`, else the
/// template of the `log_format` with that name, as [`Format::Custom`]; `None` when the
/// configuration defines no such format.
///
/// With `escape=json` the template is still a template, but nginx writes the values
/// JSON-escaped: a `"` in a value appears as `\"` (not `\x22`), so a value that contains one
/// can end early where the template delimits it with quotes.
pub fn format_named(cfg: &Config, name: &str) -> Option<Format> {
    if name == "combined" {
        return Some(Format::Combined);
    }
    log_formats(cfg)
        .into_iter()
        .rev()
        .find(|f| f.name == name)
        .map(|f| Format::Custom(f.template))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nginx::realip::tests::conf;

    const CONF: &str = r#"
http {
    log_format main '$remote_addr - $remote_user [$time_local] "$request" '
                    '$status $body_bytes_sent "$http_referer" '
                    '"$http_user_agent" "$http_x_forwarded_for"';
    log_format js escape=json '{"addr":"$remote_addr",' '"xff":"$http_x_forwarded_for"}';
    access_log /var/log/nginx/access.log main;
    server {
        server_name shop.test www.shop.test;
        access_log /var/log/nginx/shop.log;
        location /api/ {
            access_log /var/log/nginx/api.json js buffer=32k;
            if ($x) { access_log off; }
        }
    }
    upstream u { server 10.0.0.1; }
}
"#;

    #[test]
    fn templates_are_the_strings_concatenated() {
        let cfg = conf(CONF);
        let f = log_formats(&cfg);
        assert_eq!(f[0].name, "combined");
        assert_eq!(f[0].pos.line, 0);
        assert_eq!(f[1].name, "main");
        assert_eq!(f[1].template, crate::logfmt::MAIN);
        assert_eq!(f[1].escape, None);
        assert_eq!(f[1].pos.line, 3);
        assert_eq!(f[2].escape.as_deref(), Some("json"));
        assert_eq!(
            f[2].template,
            r#"{"addr":"$remote_addr","xff":"$http_x_forwarded_for"}"#
        );
    }

    #[test]
    fn access_logs_carry_their_format_and_server() {
        let logs = access_logs(&conf(CONF));
        let got: Vec<_> = logs
            .iter()
            .map(|l| {
                (
                    l.path.as_str(),
                    l.format.as_str(),
                    l.server.as_deref(),
                    l.pos.line,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("/var/log/nginx/access.log", "main", None, 7),
                ("/var/log/nginx/shop.log", "combined", Some("shop.test"), 10),
                ("/var/log/nginx/api.json", "js", Some("shop.test"), 12),
            ]
        );
    }

    #[test]
    fn without_any_access_log_nginx_writes_its_default_in_combined() {
        let logs = access_logs(&conf("http {\n server { } }"));
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].path, DEFAULT_ACCESS_LOG);
        assert_eq!(logs[0].format, "combined");
        assert_eq!(logs[0].pos.line, 1);
        assert!(access_logs(&conf("http { access_log off; }")).is_empty());
    }

    #[test]
    fn formats_are_found_by_name() {
        let cfg = conf(CONF);
        assert_eq!(format_named(&cfg, "combined"), Some(Format::Combined));
        assert_eq!(
            format_named(&cfg, "main"),
            Some(Format::Custom(crate::logfmt::MAIN.to_string()))
        );
        assert_eq!(format_named(&cfg, "nope"), None);
        let Some(js) = format_named(&cfg, "js") else {
            panic!("js");
        };
        let plan = crate::logfmt::Plan::compile(&js).unwrap();
        assert!(plan
            .fields()
            .any(|f| f == crate::logfmt::Field::HttpXForwardedFor));
    }
}
