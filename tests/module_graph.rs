//! No two source files import each other, directly or around a circle, and the app, ui and watch
//! modules form no circle either. The graph is read from the sources: every `use` (groups
//! expanded, re-exports included) and every inline `crate::`/`super::` path is an edge from its
//! file to the file of the deepest module the path names. `mod` declarations are not edges.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Every `.rs` file under `src/`, by module path (`crate::app::keymap`).
fn modules(root: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("src is readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let relative = path.strip_prefix(root).expect("under src");
                let mut parts: Vec<String> = relative
                    .with_extension("")
                    .components()
                    .map(|part| part.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if parts == ["lib"] || parts == ["main"] {
                    if parts == ["main"] {
                        continue;
                    }
                    parts.clear();
                }
                let name = std::iter::once("crate".to_owned())
                    .chain(parts)
                    .collect::<Vec<_>>()
                    .join("::");
                out.insert(name, path);
            }
        }
    }
    out
}

/// Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        return vec![tree.split(" as ").next().unwrap_or(tree).trim().to_owned()];
    };
    let prefix = tree[..open].trim_end_matches("::").trim();
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (at, ch) in inner.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|part| !part.trim().is_empty())
        .flat_map(expand)
        .map(|rest| {
            if rest == "self" {
                prefix.to_owned()
            } else {
                format!("{prefix}::{rest}")
            }
        })
        .collect()
}

/// The paths a file refers to: `use` trees and inline `crate::`/`super::` paths.
fn references(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    // Unit tests sit at the end of a file in `mod tests`, where `super` is the file itself.
    let source = source.split("#[cfg(test)]").next().unwrap_or(source);
    let code: String = source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut rest = code.as_str();
    while let Some(at) = rest.find("use ") {
        let before = rest[..at].chars().last();
        let after = &rest[at + 4..];
        rest = after;
        if before.is_some_and(|ch| ch.is_alphanumeric() || ch == '_') {
            continue;
        }
        let Some(end) = after.find(';') else { break };
        let tree: String = after[..end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if tree.starts_with("crate::") || tree.starts_with("super::") || tree.starts_with("self::")
        {
            out.extend(expand(&tree));
        }
    }
    for prefix in ["crate::", "super::"] {
        let mut rest = code.as_str();
        while let Some(at) = rest.find(prefix) {
            let path: String = rest[at..]
                .chars()
                .take_while(|ch| ch.is_alphanumeric() || *ch == '_' || *ch == ':')
                .collect();
            let before = rest[..at].chars().last();
            rest = &rest[at + prefix.len()..];
            let path = path.trim_end_matches(':');
            // `super::{a, b}`: the group is read with the `use` it belongs to.
            if before.is_some_and(|ch| ch.is_alphanumeric() || ch == '_' || ch == ':')
                || path.len() + 2 <= prefix.len()
            {
                continue;
            }
            out.push(path.to_owned());
        }
    }
    out
}

/// `path` as seen from module `from`, made absolute.
fn absolute(from: &str, is_dir_module: bool, path: &str) -> String {
    let mut base: Vec<&str> = from.split("::").collect();
    let mut segments: Vec<&str> = path.split("::").collect();
    match segments.first().copied() {
        Some("crate") => return path.to_owned(),
        Some("self") => {
            segments.remove(0);
        }
        Some("super") => {
            while segments.first() == Some(&"super") {
                segments.remove(0);
                base.pop();
            }
        }
        _ => {}
    }
    let _ = is_dir_module;
    base.extend(segments);
    base.join("::")
}

/// The module file a path lands in: its deepest prefix that is a module.
fn target<'a>(modules: &'a BTreeMap<String, PathBuf>, path: &str) -> Option<&'a str> {
    let segments: Vec<&str> = path.split("::").collect();
    (1..=segments.len())
        .rev()
        .map(|len| segments[..len].join("::"))
        .find_map(|prefix| modules.get_key_value(&prefix).map(|(key, _)| key.as_str()))
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = modules(&root);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, file) in &modules {
        let source = fs::read_to_string(file).expect("readable");
        for reference in references(&source) {
            let path = absolute(module, false, &reference);
            if let Some(to) = target(&modules, &path)
                && to != module
            {
                edges
                    .entry(module.clone())
                    .or_default()
                    .insert(to.to_owned());
            }
        }
    }
    edges
}

/// Strongly connected components with more than one file (Tarjan).
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(state: &mut State<'a>, node: &'a str) {
        state.index.insert(node, state.next);
        state.low.insert(node, state.next);
        state.next += 1;
        state.stack.push(node);
        state.on_stack.insert(node);
        if let Some(targets) = state.edges.get(node) {
            for to in targets {
                let to = to.as_str();
                if !state.index.contains_key(to) {
                    visit(state, to);
                    let low = state.low[node].min(state.low[to]);
                    state.low.insert(node, low);
                } else if state.on_stack.contains(to) {
                    let low = state.low[node].min(state.index[to]);
                    state.low.insert(node, low);
                }
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = Vec::new();
            while let Some(top) = state.stack.pop() {
                state.on_stack.remove(top);
                component.push(top.to_owned());
                if top == node {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                state.found.push(component);
            }
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for node in edges.keys() {
        if !state.index.contains_key(node.as_str()) {
            visit(&mut state, node);
        }
    }
    state.found
}

#[test]
fn the_reader_finds_uses_groups_and_inline_paths() {
    let refs = references(
        "use crate::app::{App, keymap::{self, action_for}};\nfn f() { crate::ui::layout::hit(); }\n// use crate::not::this;\n",
    );
    assert!(refs.contains(&"crate::app::App".to_owned()), "{refs:?}");
    assert!(refs.contains(&"crate::app::keymap".to_owned()), "{refs:?}");
    assert!(refs.contains(&"crate::app::keymap::action_for".to_owned()));
    assert!(refs.contains(&"crate::ui::layout::hit".to_owned()));
    assert!(!refs.iter().any(|path| path.contains("not")));
    // A circle is found.
    let mut edges = BTreeMap::new();
    edges.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    edges.insert("b".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert_eq!(circles(&edges), vec![vec!["a".to_owned(), "b".to_owned()]]);
}

#[test]
fn no_two_files_import_each_other() {
    let edges = graph();
    assert!(
        edges.values().map(BTreeSet::len).sum::<usize>() > 100,
        "the graph was read"
    );
    let found = circles(&edges);
    let detail: Vec<String> = found
        .iter()
        .flat_map(|circle| {
            circle.iter().flat_map(|from| {
                edges[from]
                    .iter()
                    .filter(|to| circle.contains(to))
                    .map(move |to| format!("{from} -> {to}"))
            })
        })
        .collect();
    assert!(
        found.is_empty(),
        "import circles between files: {detail:#?}"
    );
}

#[test]
fn app_ui_and_watch_form_no_circle() {
    let edges = graph();
    let top = |module: &str| module.split("::").nth(1).unwrap_or("crate").to_owned();
    let mut by_top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, targets) in &edges {
        for to in targets {
            if top(from) != top(to) {
                by_top.entry(top(from)).or_default().insert(top(to));
            }
        }
    }
    let found = circles(&by_top);
    let involved: Vec<&Vec<String>> = found
        .iter()
        .filter(|circle| {
            circle
                .iter()
                .any(|module| ["app", "ui", "watch"].contains(&module.as_str()))
        })
        .collect();
    assert!(involved.is_empty(), "module circles: {involved:#?}");
}
