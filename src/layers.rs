//! Tests of the structure itself: the top-level modules import each other in one direction
//! only, and error answers are built in `answers` alone.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The top-level module a file belongs to (`src/api/admin/clients.rs` → `api`).
fn module_of(path: &Path) -> String {
    let relative = path.strip_prefix(SRC).unwrap();
    let first = relative.components().next().unwrap().as_os_str();
    first.to_string_lossy().trim_end_matches(".rs").to_owned()
}

/// Code without comments and `#[cfg(test)]` modules (tests may reach anywhere).
fn production_code(text: &str) -> String {
    let code = text.split("#[cfg(test)]").next().unwrap_or(text);
    code.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn first_name(path: &str) -> String {
    path.trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// Which top-level modules each top-level module uses (`crate::x`).
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(Path::new(SRC), &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let from = module_of(&file);
        if matches!(from.as_str(), "lib" | "main" | "layers") {
            continue;
        }
        let text = production_code(&std::fs::read_to_string(&file).unwrap());
        let used = graph.entry(from.clone()).or_default();
        for (at, _) in text.match_indices("crate::") {
            let rest = &text[at + "crate::".len()..];
            // `crate::x…` or a group `crate::{x, y::z, …}`.
            let names: Vec<String> = match rest.strip_prefix('{') {
                Some(group) => group
                    .split('}')
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(first_name)
                    .collect(),
                None => vec![first_name(rest)],
            };
            for name in names {
                if name != from && modules.contains(&name) {
                    used.insert(name);
                }
            }
        }
    }
    graph
}

/// The layers, outermost first. A module may use modules of its own layer's right-hand
/// neighbours and of any layer below; nothing below may use anything above.
const LAYERS: &[&[&str]] = &[
    &["cli"],
    &["http"],
    &["gate"],
    &["api", "pages", "postman"],
    &["answers"],
    &["services"],
    &["store", "telemetry"],
    &["engine", "oauth", "authz"],
    &["caller", "scope", "roles", "config", "error"],
];

fn layer_of(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|layer| layer.contains(&module))
        .unwrap_or_else(|| panic!("module {module} is in no layer: add it to LAYERS"))
}

#[test]
fn modules_import_downwards_only() {
    let graph = imports();
    let mut upward = Vec::new();
    for (from, used) in &graph {
        for to in used {
            if layer_of(to) < layer_of(from) {
                upward.push(format!("{from} -> {to}"));
            }
        }
    }
    assert!(upward.is_empty(), "imports against the flow: {upward:?}");
}

#[test]
fn modules_import_in_no_cycle() {
    let graph = imports();
    // Depth-first search for a back edge.
    fn visit<'a>(
        node: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| *n == node) {
            let mut cycle: Vec<String> = path[at..].iter().map(|s| (*s).to_owned()).collect();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if !done.insert(node) {
            return None;
        }
        path.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        let cycle = visit(node, &graph, &mut Vec::new(), &mut done);
        assert!(cycle.is_none(), "import cycle: {cycle:?}");
    }
}

#[test]
fn error_answers_are_built_in_answers_alone() {
    let mut files = Vec::new();
    rust_files(Path::new(SRC), &mut files);
    let mut offenders = Vec::new();
    for file in files {
        if module_of(&file) == "answers" || file.ends_with("layers.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for pattern in [
            "StatusCode::BAD_REQUEST",
            "StatusCode::UNAUTHORIZED",
            "StatusCode::FORBIDDEN",
            "StatusCode::NOT_FOUND",
            "StatusCode::METHOD_NOT_ALLOWED",
            "StatusCode::CONFLICT",
            "StatusCode::PAYLOAD_TOO_LARGE",
            "StatusCode::UNSUPPORTED_MEDIA_TYPE",
            "StatusCode::UNPROCESSABLE_ENTITY",
            "StatusCode::TOO_MANY_REQUESTS",
            "StatusCode::REQUEST_TIMEOUT",
            "StatusCode::INTERNAL_SERVER_ERROR",
            "StatusCode::SERVICE_UNAVAILABLE",
            "RETRY_AFTER",
            "WWW_AUTHENTICATE",
            "from_status(",
            "oai(status = 4",
            "oai(status = 5",
            "\"success\": false",
        ] {
            if production_code(&text).contains(pattern) {
                offenders.push(format!("{}: {pattern}", file.display()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "error answers built outside answers/: {offenders:?}"
    );
}

#[test]
fn no_file_grows_past_six_hundred_lines() {
    let mut files = Vec::new();
    rust_files(Path::new(SRC), &mut files);
    for file in files {
        let lines = std::fs::read_to_string(&file).unwrap().lines().count();
        assert!(lines <= 600, "{} has {lines} lines", file.display());
    }
}
