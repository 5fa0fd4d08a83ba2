//! The layer order of `src/` (docs/architecture.md), checked on the source:
//! a top-level module may use only modules below it. A `use crate::x` (or a
//! `crate::x::...` path anywhere, tests included) that points up or
//! sideways fails here with the file and line, so a new import cycle cannot
//! land.

use std::path::{Path, PathBuf};

/// Lowest first. A module may depend on any module before it.
const LAYERS: &[&str] = &[
    "files",     // bounded reads of the files an operator names
    "budget",    // the per-worker byte budget of traffic-grown buffers
    "capture",   // frames and timestamps from files and interfaces
    "decode",    // borrowed header views, fragments, tunnels
    "output",    // EVE primitives: time format, Community ID
    "flow",      // key, counters, TCP state, the bounded table
    "enrich",    // geo/AS/feed lookups (pure service)
    "dissect",   // application protocols
    "detect",    // detectors and the detection model
    "correlate", // the cross-flow, per-host stage
    "report",    // the analyst's report (text, JSON, HTML)
    "event",     // the EVE wire schema
    "sink",      // outputs behind bounded queues
    "stats",     // run counters
    "config",    // the typed configuration of every layer
    "pipeline",  // threads wiring the stages
    "daemon",    // live service: signals, metrics, privileges
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|m| *m == module)
}

/// Top-level modules named after `crate::` in one line, including grouped
/// imports (`use crate::{a, b::c}`).
fn crate_refs(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let mut depth = 0;
            let mut start = 0;
            let mut end = group.len();
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        end = i;
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(ident(&group[start..i]));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            out.push(ident(&group[start..end]));
        } else {
            out.push(ident(after));
        }
        rest = after;
    }
    out.retain(|m| !m.is_empty());
    out
}

fn ident(s: &str) -> String {
    s.trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_module_depends_only_on_layers_below_it() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut bad = Vec::new();
    let mut unknown = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src");
        let top = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .map(|s| s.trim_end_matches(".rs").to_string())
            .unwrap_or_default();
        if top == "main" || top == "lib" {
            continue; // the binary and the crate root sit above every layer
        }
        let Some(me) = rank(&top) else {
            unknown.push(top);
            continue;
        };
        let text = std::fs::read_to_string(file).expect("read");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for m in crate_refs(code) {
                match rank(&m) {
                    Some(r) if r < me || m == top => {}
                    Some(_) => bad.push(format!(
                        "src/{}:{}: {top} uses {m}, which is not below it",
                        rel.display(),
                        n + 1
                    )),
                    None => unknown.push(m),
                }
            }
        }
    }
    unknown.sort();
    unknown.dedup();
    assert!(
        unknown.is_empty(),
        "modules missing from the layer list in tests/layers.rs: {unknown:?}"
    );
    assert!(bad.is_empty(), "layer violations:\n{}", bad.join("\n"));
}

#[test]
fn the_reference_parser_reads_grouped_imports() {
    assert_eq!(
        crate_refs("use crate::{flow::Flow, detect::{A, B}, event};"),
        vec!["flow", "detect", "event"]
    );
    assert_eq!(
        crate_refs("let x = crate::enrich::home::X;"),
        vec!["enrich"]
    );
}
