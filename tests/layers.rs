//! The library's layers: every `crate::` path in `src/` (outside `#[cfg(test)]` code and
//! comments) must point to a module on a lower line of the list in `src/lib.rs`'s "Layers"
//! section, and the module graph must have no circle. A new module must be placed in the list.
//! See: issue #12.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// `module -> (used module -> first place it is used, as path:line)`.
type Graph = BTreeMap<String, BTreeMap<String, String>>;

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The numbered list under `# Layers` in lib.rs: one entry per line, lowest first.
fn layers(lib: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in lib.lines() {
        let Some(doc) = line.strip_prefix("//!") else {
            continue;
        };
        let doc = doc.trim();
        if doc.starts_with('#') {
            inside = doc == "# Layers";
            continue;
        }
        if !inside {
            continue;
        }
        let Some((num, rest)) = doc.split_once(". ") else {
            continue;
        };
        if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let names: Vec<String> = rest
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect();
        out.push(names);
    }
    out
}

/// `pub mod x;` in lib.rs.
fn declared_modules(lib: &str) -> Vec<String> {
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .filter_map(|l| l.strip_suffix(';'))
        .map(str::to_string)
        .collect()
}

/// Names re-exported at the crate root (`pub use net::{Addr, …};`) -> their module.
fn root_reexports(lib: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for l in lib.lines() {
        let Some(rest) = l.trim().strip_prefix("pub use ") else {
            continue;
        };
        let rest = rest.trim_end_matches(';');
        let Some((module, items)) = rest.split_once("::") else {
            continue;
        };
        let items = items.trim_start_matches('{').trim_end_matches('}');
        for item in items.split(',') {
            let item = item.trim();
            let name = item.rsplit("::").next().unwrap_or(item);
            if !name.is_empty() {
                out.insert(name.to_string(), module.to_string());
            }
        }
    }
    out
}

/// The first path segment after each `crate::` on a line (every item of a `{…}` group).
fn crate_paths(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // e.g. `mycrate::`
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let seg: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !seg.is_empty() {
                    out.push(seg);
                }
            }
        } else {
            let seg: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !seg.is_empty() {
                out.push(seg);
            }
        }
    }
    out
}

/// Code of a source file without `#[cfg(test)]` items and comments, with 1-based line
/// numbers. Test modules sit at the end of a file, as the style guide asks.
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            break;
        }
        if t.starts_with("//") {
            continue;
        }
        // A trailing comment starts at a `//` outside a string literal.
        let code = line
            .match_indices("//")
            .map(|(i, _)| i)
            .find(|&i| line[..i].matches('"').count() % 2 == 0)
            .map_or(line, |i| &line[..i]);
        out.push((n + 1, code.to_string()));
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The module graph of the library (the binary's `cli/` and `main.rs` are not part of it).
fn graph(lib: &str) -> Graph {
    let src = src_dir();
    let reexports = root_reexports(lib);
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut g = Graph::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        if matches!(module.as_str(), "cli" | "main" | "lib") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let node = g.entry(module.clone()).or_default();
        for (n, line) in code_lines(&text) {
            for seg in crate_paths(&line) {
                let used = reexports.get(&seg).cloned().unwrap_or(seg);
                if used != module {
                    node.entry(used)
                        .or_insert_with(|| format!("src/{}:{n}", rel.display()));
                }
            }
        }
    }
    g
}

/// A circle in the graph, as the modules along it (first == last), if there is one.
fn find_circle(g: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        g: &Graph,
        m: &str,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(m) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = path.iter().position(|p| p == m).unwrap_or(0);
                let mut circle = path[start..].to_vec();
                circle.push(m.to_string());
                return Some(circle);
            }
            None => {}
        }
        marks.insert(m.to_string(), Mark::Open);
        path.push(m.to_string());
        if let Some(uses) = g.get(m) {
            for next in uses.keys() {
                if let Some(c) = visit(g, next, marks, path) {
                    return Some(c);
                }
            }
        }
        path.pop();
        marks.insert(m.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for m in g.keys() {
        if let Some(c) = visit(g, m, &mut marks, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

/// Every use that does not point to a lower layer, as `path:line: a uses b (...)`.
fn violations(g: &Graph, layers: &[Vec<String>]) -> Vec<String> {
    let rank: BTreeMap<&str, usize> = layers
        .iter()
        .enumerate()
        .flat_map(|(i, names)| names.iter().map(move |n| (n.as_str(), i)))
        .collect();
    let mut out = Vec::new();
    for (m, uses) in g {
        for (used, place) in uses {
            match (rank.get(m.as_str()), rank.get(used.as_str())) {
                (Some(a), Some(b)) if b < a => {}
                (Some(a), Some(b)) => out.push(format!(
                    "{place}: `{m}` (layer {}) uses `{used}` (layer {}): a module may only use \
                     modules on lower layers",
                    a + 1,
                    b + 1
                )),
                (None, _) => out.push(format!("{place}: `{m}` is missing from the layer list")),
                (_, None) => out.push(format!(
                    "{place}: `{m}` uses `{used}`, which is missing from the layer list"
                )),
            }
        }
    }
    out
}

fn lib_rs() -> String {
    std::fs::read_to_string(src_dir().join("lib.rs")).unwrap()
}

#[test]
fn every_library_module_is_in_the_documented_layer_list_once() {
    let lib = lib_rs();
    let listed: Vec<String> = layers(&lib).into_iter().flatten().collect();
    let unique: BTreeSet<&String> = listed.iter().collect();
    assert_eq!(
        unique.len(),
        listed.len(),
        "a module listed twice: {listed:?}"
    );
    let declared: BTreeSet<String> = declared_modules(&lib).into_iter().collect();
    let listed: BTreeSet<String> = listed.into_iter().collect();
    assert_eq!(declared, listed, "lib.rs's `pub mod`s vs its # Layers list");
}

#[test]
fn library_modules_use_only_lower_layers() {
    let lib = lib_rs();
    let g = graph(&lib);
    // The reader must see the known imports, or the check proves nothing.
    assert!(g["error"].contains_key("escape"), "{:?}", g["error"]);
    assert!(g["scan"].contains_key("accumulate"), "{:?}", g["scan"]);
    assert!(
        g["net"].contains_key("error"),
        "crate::Error must count: {:?}",
        g["net"]
    );
    let bad = violations(&g, &layers(&lib));
    assert!(bad.is_empty(), "layer violations:\n{}", bad.join("\n"));
}

#[test]
fn library_has_no_import_circle() {
    let g = graph(&lib_rs());
    if let Some(c) = find_circle(&g) {
        panic!("import circle: {}", c.join(" -> "));
    }
}

#[test]
fn the_checks_catch_a_circle_and_an_upward_import() {
    let lib =
        "//! # Layers\n//!\n//! 1. [`a`]\n//! 2. [`b`], [`c`]\n//!\n//! # Next\n//! 3. [`z`]\n";
    let layers = layers(lib);
    assert_eq!(
        layers,
        vec![vec!["a".to_string()], vec!["b".into(), "c".into()]]
    );
    let mut g = Graph::new();
    let edge = |g: &mut Graph, a: &str, b: &str| {
        g.entry(a.into())
            .or_default()
            .insert(b.into(), format!("src/{a}.rs:1"));
    };
    edge(&mut g, "b", "a");
    edge(&mut g, "c", "a");
    assert!(find_circle(&g).is_none());
    assert!(violations(&g, &layers).is_empty());
    edge(&mut g, "a", "c");
    assert_eq!(
        find_circle(&g),
        Some(vec!["a".to_string(), "c".into(), "a".into()])
    );
    let bad = violations(&g, &layers);
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].starts_with("src/a.rs:1: `a` (layer 1) uses `c` (layer 2)"));
    edge(&mut g, "b", "c");
    assert_eq!(violations(&g, &layers).len(), 2, "same layer is not lower");
}

#[test]
fn crate_paths_are_read_from_uses_groups_and_inline_paths() {
    assert_eq!(crate_paths("use crate::net::{Addr, TrustedSet};"), ["net"]);
    assert_eq!(
        crate_paths("use crate::{error, net::Addr};"),
        ["error", "net"]
    );
    assert_eq!(
        crate_paths("let x = crate::escape::escape_str(crate::Error::x());"),
        ["escape", "Error"]
    );
    assert!(crate_paths("use mycrate::x;").is_empty());
    let code = code_lines(
        "use a;\n// crate::x\nlet u = \"http://x\"; // crate::y\n#[cfg(test)]\nuse crate::z;\n",
    );
    let joined: Vec<String> = code.iter().flat_map(|(_, l)| crate_paths(l)).collect();
    assert!(joined.is_empty(), "{joined:?}");
}

/// Functions of `src/cli/` longer than `max` lines, as `path:line name (n lines)`: a function
/// starts at a line `fn name(` (after optional `pub …`) and ends at the first `}` line with
/// the same indentation.
fn long_cli_functions(max: usize) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&src_dir().join("cli"), &mut files);
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let mut open: Option<(usize, String, usize)> = None;
        for (n, line) in text.lines().enumerate() {
            let indent = line.len() - line.trim_start().len();
            let t = line.trim_start();
            let t = t
                .strip_prefix("pub(crate) ")
                .or(t.strip_prefix("pub "))
                .unwrap_or(t);
            if open.is_none() {
                if let Some(rest) = t.strip_prefix("fn ") {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    open = Some((n, name, indent));
                }
            } else if let Some((start, name, ind)) = &open {
                if indent == *ind && line.trim() == "}" {
                    let len = n - start + 1;
                    if len > max {
                        out.push(format!(
                            "{}:{} {name} ({len} lines)",
                            f.display(),
                            start + 1
                        ));
                    }
                    open = None;
                }
            }
        }
    }
    out
}

#[test]
fn no_function_in_the_cli_is_over_100_lines() {
    // See: issue #12. The CLI maps flags onto library front doors; logic longer than this
    // belongs in the library (the scan job, lint, report).
    let long = long_cli_functions(100);
    assert!(
        long.is_empty(),
        "move logic into the library:\n{}",
        long.join("\n")
    );
    assert!(
        !long_cli_functions(10).is_empty(),
        "the reader must see the CLI's functions"
    );
}
