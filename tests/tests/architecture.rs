//! Architecture invariants, checked on every `cargo test --workspace` so they hold by CI rather
//! than by convention: the dependency rules of ARCHITECTURE.md (parsed from its "Dependency
//! rules" section, so the document and the check cannot drift apart), the file-size limit under
//! `crates/`, and that clippy's function-length lint stays switched on.
//!
//! Each limit has a list of known violations that issue 11 is removing. A listed violation is
//! printed while it lasts, and the check fails once it is gone, so the lists can only shrink.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;

/// Dependency edges that break the rules today, as (crate, dependency package).
const KNOWN_DEPENDENCY_VIOLATIONS: &[(&str, &str)] = &[];

/// The most lines a file under `crates/` may have.
const MAX_FILE_LINES: usize = 800;

/// Files under `crates/` over the limit today; issue 11 (items 1 and 6) is splitting them.
const KNOWN_LONG_FILES: &[&str] = &[];

fn root() -> PathBuf {
    // This crate lives in `tests/`, one level below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| panic!("tests/ has no parent directory"))
}

/// Fails with every unexpected item and every stale known item, and prints the known ones.
fn check_known(what: &str, found: &BTreeSet<String>, known: &BTreeSet<String>) {
    let unexpected: Vec<_> = found.difference(known).collect();
    let fixed: Vec<_> = known.difference(found).collect();
    for k in found.intersection(known) {
        println!("known {what} (issue 11, being removed): {k}");
    }
    assert!(
        unexpected.is_empty() && fixed.is_empty(),
        "{what}:\n  new, not allowed: {unexpected:?}\n  \
         fixed, remove from the known list in tests/tests/architecture.rs: {fixed:?}"
    );
}

// ---- Dependency rules -----------------------------------------------------------------------

/// Who may use a crate: the workspace crates named in a rule row, or any crate.
#[derive(Clone, Debug)]
enum Allowed {
    Any,
    Only(BTreeSet<String>),
}

#[derive(Debug, Default)]
struct Rules {
    /// Workspace crate (short name) → the workspace crates it may depend on.
    internal: BTreeMap<String, Allowed>,
    /// Third-party crate pattern (`name` or `prefix*`) → the workspace crates that may use it.
    external: Vec<(String, BTreeSet<String>)>,
}

/// The names written in `code spans` in a table cell.
fn code_spans(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// Reads the two tables of the "Dependency rules" section of ARCHITECTURE.md.
fn parse_rules(doc: &str) -> Rules {
    let mut rules = Rules::default();
    let mut in_section = false;
    let mut table = "";
    for line in doc.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            in_section = heading.trim() == "Dependency rules";
            continue;
        }
        if !in_section || !line.starts_with('|') {
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        match cells.first().copied() {
            Some("crate") | Some("third-party crate") => {
                table = cells[0];
                continue;
            }
            Some(c) if c.starts_with("---") => continue,
            _ => {}
        }
        let (Some(subject), Some(allowed)) = (cells.first(), cells.get(1)) else {
            panic!("ARCHITECTURE.md: a rule row needs two cells: {line}");
        };
        let allowed_names: BTreeSet<String> = code_spans(allowed).into_iter().collect();
        match table {
            "crate" => {
                let rule = if allowed.starts_with("any") {
                    Allowed::Any
                } else {
                    Allowed::Only(allowed_names)
                };
                for name in code_spans(subject) {
                    assert!(
                        rules.internal.insert(name.clone(), rule.clone()).is_none(),
                        "ARCHITECTURE.md: two rows for `{name}`"
                    );
                }
            }
            "third-party crate" => {
                for pattern in code_spans(subject) {
                    rules.external.push((pattern, allowed_names.clone()));
                }
            }
            _ => panic!("ARCHITECTURE.md: a rule row outside a known table: {line}"),
        }
    }
    assert!(
        !rules.internal.is_empty() && !rules.external.is_empty(),
        "ARCHITECTURE.md has no \"Dependency rules\" section with both tables"
    );
    rules
}

fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

/// A workspace crate and the packages it depends on outside dev-dependencies.
struct Package {
    short: String,
    deps: BTreeSet<String>,
}

fn workspace_packages() -> Vec<Package> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let manifest = root().join("Cargo.toml");
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .unwrap_or_else(|e| panic!("cargo metadata could not run: {e}"));
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("cargo metadata printed no JSON: {e}"));
    let packages = meta["packages"].as_array().cloned().unwrap_or_default();
    packages
        .iter()
        .map(|p| {
            let name = p["name"].as_str().unwrap_or_default();
            let short = name.strip_prefix("weft-").unwrap_or_else(|| {
                panic!("workspace crate `{name}` is not named weft-<something>")
            });
            let deps = p["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                // Dev-dependencies are exempt: tests may use whatever they need.
                .filter(|d| d["kind"].as_str() != Some("dev"))
                .filter_map(|d| d["name"].as_str().map(str::to_owned))
                .collect();
            Package {
                short: short.to_owned(),
                deps,
            }
        })
        .collect()
}

fn architecture_rules() -> Rules {
    let path = root().join("ARCHITECTURE.md");
    let doc =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    parse_rules(&doc)
}

/// Every workspace crate has a row, and every name in the tables is a workspace crate, so a new
/// crate (or a renamed one) is a decision written in ARCHITECTURE.md first.
#[test]
fn dependency_rules_name_every_workspace_crate() {
    let rules = architecture_rules();
    let crates: BTreeSet<String> = workspace_packages().into_iter().map(|p| p.short).collect();
    let rows: BTreeSet<String> = rules.internal.keys().cloned().collect();
    assert_eq!(
        crates, rows,
        "the rows of \"Between Weft crates\" in ARCHITECTURE.md must be the workspace crates"
    );
    let named = rules
        .internal
        .values()
        .flat_map(|a| match a {
            Allowed::Any => BTreeSet::new(),
            Allowed::Only(names) => names.clone(),
        })
        .chain(rules.external.iter().flat_map(|(_, only)| only.clone()));
    for name in named {
        assert!(
            crates.contains(&name),
            "ARCHITECTURE.md names `{name}`, which is not a workspace crate"
        );
    }
}

/// No crate depends on a Weft crate or a third-party crate that ARCHITECTURE.md keeps from it.
#[test]
fn dependencies_follow_architecture_md() {
    let rules = architecture_rules();
    let packages = workspace_packages();
    let weft: BTreeSet<String> = packages
        .iter()
        .map(|p| format!("weft-{}", p.short))
        .collect();
    let mut found = BTreeSet::new();
    for p in &packages {
        for dep in &p.deps {
            let allowed = if weft.contains(dep) {
                let short = dep.trim_start_matches("weft-");
                match rules.internal.get(&p.short) {
                    Some(Allowed::Only(names)) => names.contains(short),
                    Some(Allowed::Any) | None => true,
                }
            } else if p.short == "tests" {
                // The cross-crate test crate drives the whole stack, as dev-dependencies do.
                true
            } else {
                rules
                    .external
                    .iter()
                    .filter(|(pattern, _)| matches(pattern, dep))
                    .all(|(_, only)| only.contains(&p.short))
            };
            if !allowed {
                found.insert(format!("{} -> {dep}", p.short));
            }
        }
    }
    let known = KNOWN_DEPENDENCY_VIOLATIONS
        .iter()
        .map(|(krate, dep)| format!("{krate} -> {dep}"))
        .collect();
    check_known("dependency edge", &found, &known);
}

// ---- Size limits ----------------------------------------------------------------------------

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// No Rust file under `crates/` (sources, tests, benches) is over 800 lines.
#[test]
fn no_file_under_crates_is_over_800_lines() {
    let root = root();
    let mut files = Vec::new();
    rust_files(&root.join("crates"), &mut files);
    let mut found = BTreeSet::new();
    for file in files {
        let text = fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let lines = text.lines().count();
        if lines > MAX_FILE_LINES {
            let rel = file.strip_prefix(&root).unwrap_or(&file);
            let rel = rel.to_string_lossy().replace('\\', "/");
            println!("{rel}: {lines} lines");
            found.insert(rel);
        }
    }
    let known = KNOWN_LONG_FILES.iter().map(|f| (*f).to_owned()).collect();
    check_known("file over 800 lines", &found, &known);
}

/// Functions stay under 150 lines through clippy's `too_many_lines`, which CI runs with
/// `-D warnings`; this keeps the lint and its threshold from being switched off quietly.
#[test]
fn function_length_lint_is_on() {
    let root = root();
    let read = |name: &str| {
        fs::read_to_string(root.join(name)).unwrap_or_else(|e| panic!("cannot read {name}: {e}"))
    };
    let has_line = |text: &str, wanted: &str| {
        text.lines()
            .any(|l| l.split('#').next().unwrap_or("").replace(' ', "") == wanted)
    };
    assert!(
        has_line(&read("clippy.toml"), "too-many-lines-threshold=150"),
        "clippy.toml must set too-many-lines-threshold = 150"
    );
    assert!(
        has_line(&read("Cargo.toml"), "too_many_lines=\"warn\""),
        "[workspace.lints.clippy] must set too_many_lines = \"warn\""
    );
}
