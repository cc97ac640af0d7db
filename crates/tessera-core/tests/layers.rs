//! The core's modules form layers: no module reaches, directly or through
//! others, back into itself. A service may use the ones below it (users below
//! sign-ins, the client aggregate below the Frontend API's use cases), never
//! the other way round. Test code (`#[cfg(test)]` modules) is not counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Directory modules that are namespaces of several services: each of their
/// files is a layer of its own.
const NAMESPACES: &[&str] = &["frontend", "render", "webhooks"];

/// The layer a source file belongs to: its top-level module
/// (`src/sessions/clients.rs` → `sessions`), or within a namespace its file
/// (`src/frontend/sign_ins.rs` → `frontend::sign_ins`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let parts: Vec<String> = rel
        .components()
        .map(|c| {
            c.as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_owned()
        })
        .collect();
    match parts.as_slice() {
        [ns, sub] if NAMESPACES.contains(&ns.as_str()) && sub != "mod" => format!("{ns}::{sub}"),
        [first, ..] => first.clone(),
        [] => String::new(),
    }
}

/// The layer a path names: `crate::frontend::clients::x` → `frontend::clients`.
fn layer_named(path: &str, src: &Path) -> Option<String> {
    let mut segments = path.split("::").map(|s| {
        s.chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit())
            .collect::<String>()
    });
    let first = segments.next().filter(|s| !s.is_empty())?;
    if NAMESPACES.contains(&first.as_str()) {
        if let Some(sub) = segments.next().filter(|s| !s.is_empty()) {
            if src.join(&first).join(format!("{sub}.rs")).exists() {
                return Some(format!("{first}::{sub}"));
            }
        }
    }
    Some(first)
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text before the file's test module.
fn production_code(text: &str) -> &str {
    text.find("#[cfg(test)]\nmod tests")
        .map_or(text, |i| &text[..i])
}

/// Which top-level modules each top-level module names (`crate::x`, and
/// `super::x` from a directory module's files).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let from = module_of(&src, &file);
        if from == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("readable file");
        let code = production_code(&text);
        let namespace = from.split_once("::").map(|(ns, _)| ns.to_owned());
        let targets = edges.entry(from.clone()).or_default();
        let mut named = |path: &str| {
            if let Some(layer) = layer_named(path, &src) {
                if layer != from {
                    targets.insert(layer);
                }
            }
        };
        for (i, _) in code.match_indices("crate::") {
            named(&code[i + "crate::".len()..]);
        }
        if let Some(ns) = &namespace {
            for (i, _) in code.match_indices("super::") {
                named(&format!("{ns}::{}", &code[i + "super::".len()..]));
            }
        }
    }
    edges
}

fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        if let Some(c) = visit(node, edges, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[test]
fn modules_form_layers_without_cycles() {
    let edges = graph();
    assert!(edges.contains_key("frontend::sign_ins") && edges.contains_key("sessions"));
    assert!(edges["frontend::sign_ins"].contains("sessions"));
    if let Some(cycle) = find_cycle(&edges) {
        panic!("module cycle: {}", cycle.join(" → "));
    }
}

#[test]
fn the_checker_sees_a_cycle() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.entry("a".into()).or_default().insert("b".into());
    edges.entry("b".into()).or_default().insert("a".into());
    assert_eq!(
        find_cycle(&edges),
        Some(vec!["a".to_owned(), "b".to_owned(), "a".to_owned()])
    );
}
