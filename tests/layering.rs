//! The runtime's folders use each other downward only, in the order
//! runtime/ARCHITECTURE.md gives: no circle between folders, no arrow that
//! points up. This reads `runtime/src` and checks every `crate::` path
//! outside tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Bottom first. A unit may use only units of lower layers.
const LAYERS: &[&[&str]] = &[
    &["model"],
    &["diag"],
    &["vars", "local"],
    &["export"],
    &["collector"],
    &["context"],
    &["span"],
    &["propagation"],
    &["bridge"],
    &["config", "http", "baggage"],
    &["__private", "lib"],
];

fn layer_of(unit: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&unit))
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime/src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The unit a file belongs to: its folder under `src`, or its own name.
fn unit_of(file: &Path) -> String {
    let relative = file.strip_prefix(src()).unwrap();
    let first = relative.components().next().unwrap().as_os_str();
    first.to_str().unwrap().trim_end_matches(".rs").to_owned()
}

/// Whether a file holds only tests (then its paths are not part of the
/// runtime's structure).
fn is_test_file(file: &Path) -> bool {
    let name = file.file_name().unwrap().to_str().unwrap();
    name.ends_with("_tests.rs") || name == "test_support.rs" || name == "test_server.rs"
}

/// The code of a file without comments and without its test module.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap();
    text.lines()
        .map(|line| match line.find("//") {
            // A `//` inside a string (a URL) cuts the rest of that line
            // only, which holds no `crate::` path the test needs.
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first segment of every `crate::` path in `code`, including each
/// item of a `crate::{a, b::c}` group.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item_start = true;
            let mut ident = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => item_start = true,
                    c if item_start && (c.is_alphanumeric() || c == '_') => ident.push(c),
                    _ if item_start && !ident.is_empty() => {
                        found.insert(std::mem::take(&mut ident));
                        item_start = false;
                    }
                    _ => {}
                }
            }
            if !ident.is_empty() {
                found.insert(ident);
            }
        } else {
            let ident: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !ident.is_empty() {
                found.insert(ident);
            }
        }
    }
    found
}

/// Which units each unit uses.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let units: BTreeSet<String> = files.iter().map(|f| unit_of(f)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files.iter().filter(|f| !is_test_file(f)) {
        let unit = unit_of(file);
        let text = std::fs::read_to_string(file).unwrap();
        for target in crate_paths(&code(&text)) {
            // `crate::Name` of an item the crate root re-exports: the root.
            let target = if units.contains(&target) {
                target
            } else {
                "lib".to_owned()
            };
            if target != unit {
                edges.entry(unit.clone()).or_default().insert(target);
            }
        }
        // A doc link (`[x](crate::module::x)`) names the module it points
        // at as much as a `use` does. Links to the crate root's re-exports
        // (`crate::Span`) are how docs name public items, so only links
        // into a module count.
        for target in crate_paths(&doc_comments(&text)) {
            if units.contains(&target) && target != unit {
                edges.entry(unit.clone()).or_default().insert(target);
            }
        }
    }
    edges
}

/// The doc comments (`///`, `//!`) of a file, without its test module.
fn doc_comments(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap();
    text.lines()
        .map(str::trim_start)
        .filter(|line| line.starts_with("///") || line.starts_with("//!"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_folder_of_the_runtime_is_in_a_layer() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let missing: BTreeSet<String> = files
        .iter()
        .map(|f| unit_of(f))
        .filter(|unit| layer_of(unit).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "{missing:?} are in no layer: add them to LAYERS here and to runtime/ARCHITECTURE.md"
    );
}

#[test]
fn every_arrow_between_folders_points_down() {
    let mut upward = Vec::new();
    for (from, targets) in graph() {
        let Some(from_layer) = layer_of(&from) else {
            continue;
        };
        for to in targets {
            if layer_of(&to).is_none_or(|to_layer| to_layer >= from_layer) {
                upward.push(format!("{from} -> {to}"));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "arrows that do not point down the layering of runtime/ARCHITECTURE.md \
         (a root name like `crate::Span` counts as `lib`: use the defining \
         module's path): {upward:#?}"
    );
}

#[test]
fn the_checker_sees_grouped_and_plain_paths() {
    let paths =
        crate_paths("use crate::{model::{A, B}, span::Opened};\nlet x = crate::collector::mode();");
    assert_eq!(
        paths.into_iter().collect::<Vec<_>>(),
        ["collector", "model", "span"]
    );
    assert_eq!(code("let a = 1; // crate::span\n"), "let a = 1; ");
    assert_eq!(
        crate_paths(&doc_comments(
            "/// See [`inject`](crate::propagation::inject).\n// crate::span\nfn f() {}\n"
        ))
        .into_iter()
        .collect::<Vec<_>>(),
        ["propagation"]
    );
}
