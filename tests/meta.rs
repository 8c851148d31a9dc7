//! Keeps the registry honest: every rule has a module, a query, fixtures, docs
//! in the house format and a README row; messages follow the house style.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{Label, all_fixtures};
use gomaplint::queries::{CompiledQuery, SHARED};
use gomaplint::rules::RULES;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn registry_is_sorted_with_unique_stable_codes_and_kebab_names() {
    let codes: Vec<&str> = RULES.iter().map(|r| r.code).collect();
    let mut sorted = codes.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(codes, sorted, "RULES must be sorted by code, codes unique");
    for rule in RULES {
        assert!(
            rule.code.len() == 6
                && rule.code.starts_with("GML")
                && rule.code[3..].chars().all(|c| c.is_ascii_digit()),
            "{}: codes look like GML001",
            rule.code
        );
        assert!(
            rule.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '-')
                && !rule.name.starts_with('-'),
            "{}: names are kebab-case",
            rule.name
        );
        assert!(
            !rule.summary.ends_with('.') && rule.summary.chars().next().unwrap().is_lowercase()
        );
    }
    let names: BTreeSet<&str> = RULES.iter().map(|r| r.name).collect();
    assert_eq!(names.len(), RULES.len(), "rule names are unique");
}

#[test]
fn every_rule_has_one_module_one_query_and_one_fixture_folder_of_the_same_name() {
    for rule in RULES {
        let stem = rule.file_stem();
        assert!(
            root().join(format!("src/rules/{stem}.rs")).is_file(),
            "{}: src/rules/{stem}.rs",
            rule.code
        );
        let query = std::fs::read_to_string(root().join(format!("queries/{stem}.scm")))
            .unwrap_or_else(|_| panic!("{}: queries/{stem}.scm is missing", rule.code));
        assert_eq!(
            query, rule.query,
            "{}: the rule must use queries/{stem}.scm",
            rule.code
        );
        let fixtures: Vec<_> = all_fixtures()
            .into_iter()
            .filter(|f| f.rule == stem)
            .collect();
        assert!(
            fixtures.iter().any(|f| f.label == Label::Racy),
            "{}: no racy fixture in fixtures/{stem}",
            rule.code
        );
        assert!(
            fixtures.iter().any(|f| f.label == Label::Safe),
            "{}: no safe fixture in fixtures/{stem}",
            rule.code
        );
    }
    // No stray fixture folders or query files.
    let stems: BTreeSet<String> = RULES.iter().map(|r| r.file_stem()).collect();
    for fx in all_fixtures() {
        assert!(
            stems.contains(&fx.rule),
            "fixtures/{} belongs to no rule",
            fx.rule
        );
    }
    let shared: BTreeSet<&str> = SHARED.iter().map(|(name, _)| *name).collect();
    for entry in std::fs::read_dir(root().join("queries")).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        assert!(
            stems.contains(&stem) || shared.contains(stem.as_str()),
            "queries/{stem}.scm is neither a rule's query nor listed in queries::SHARED"
        );
    }
}

#[test]
fn every_query_compiles_and_uses_only_supported_predicates() {
    for rule in RULES {
        CompiledQuery::new("rule", rule.query).unwrap_or_else(|e| panic!("{}: {e}", rule.code));
    }
    for (name, source) in SHARED {
        CompiledQuery::new(name, source).unwrap_or_else(|e| panic!("{e}"));
    }
    let err = CompiledQuery::new("bad", "((identifier) @x (#is-map? @x))")
        .err()
        .expect("rejected");
    assert!(err.contains("unsupported predicate `#is-map?`"), "{err}");
}

#[test]
fn rule_docs_follow_the_house_format_and_are_accurate_about_go() {
    for rule in RULES {
        for section in [
            "## What it does",
            "## Why is this bad?",
            "## Example",
            "## Use instead",
        ] {
            assert!(
                rule.docs.contains(section),
                "{}: docs lack `{section}`",
                rule.code
            );
        }
        assert!(
            rule.docs.contains("fatal error: concurrent map"),
            "{}: docs must name the runtime's fatal error",
            rule.code
        );
        assert!(
            rule.docs.contains("```go"),
            "{}: docs need a Go example",
            rule.code
        );
    }
}

#[test]
fn readme_rule_table_lists_every_rule() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for rule in RULES {
        let row = format!("| {} | `{}` | {} |", rule.code, rule.name, rule.summary);
        assert!(readme.contains(&row), "README.md lacks the row:\n{row}");
    }
}

#[test]
fn messages_follow_the_house_style() {
    let outcome = gomaplint::lint(&[root().join("fixtures").to_string_lossy().into_owned()]);
    assert!(!outcome.diagnostics.is_empty());
    let codes: BTreeSet<&str> = outcome.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes.len(), RULES.len(), "the fixtures exercise every rule");
    for d in &outcome.diagnostics {
        let first = d.message.chars().next().unwrap();
        assert!(
            first.is_lowercase() || first == '`',
            "not lowercase: {}",
            d.message
        );
        assert!(!d.message.ends_with('.'), "trailing period: {}", d.message);
        assert!(
            d.message.contains('`'),
            "names no Go construct in backticks: {}",
            d.message
        );
        assert!(!d.labels.is_empty(), "no secondary label: {}", d.message);
        assert!(d.help.is_some(), "no help: {}", d.message);
    }
}

#[test]
fn fixture_counts_meet_the_foundation_issue() {
    let count = |rule: &str, label: Label| {
        all_fixtures()
            .iter()
            .filter(|f| f.rule == rule && f.label == label)
            .count()
    };
    assert!(count("unsynchronized_map_write", Label::Racy) >= 12);
    assert!(count("unsynchronized_map_write", Label::Safe) >= 12);
    assert!(count("recover_cannot_catch_map_race", Label::Racy) >= 4);
    assert!(count("recover_cannot_catch_map_race", Label::Safe) >= 4);
}

/// The access walk (`Package::find_accesses`) finds exactly what the queries
/// that state it (`unsynchronized_map_write.scm`, `concurrent_map_read_write.scm`)
/// match, on every fixture.
#[test]
fn access_walk_finds_what_the_access_queries_match() {
    use gomaplint::model::Package;
    use gomaplint::model::access::AccessKind;
    use gomaplint::source::SourceFile;
    let q = gomaplint::rules::access_queries();
    let (access_i, map_i) = (q.query().capture("access"), q.query().capture("map"));
    let mut files = Vec::new();
    for fx in all_fixtures() {
        for entry in std::fs::read_dir(&fx.dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "go") {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 100, "fixtures found");
    let mut differences = Vec::new();
    for path in files {
        let text = std::fs::read(&path).unwrap();
        let tree = gomaplint::parse::parse(&text).unwrap();
        let source = SourceFile::new(path.clone(), path.display().to_string(), text, tree);
        let pkg = Package::new(vec![&source]);
        let walked: Vec<(bool, usize, usize)> = pkg
            .find_accesses(0)
            .iter()
            .map(|a| (a.kind == AccessKind::Write, a.node.id(), a.map_node.id()))
            .collect();
        let mut queried = Vec::new();
        q.query()
            .for_each_match(source.tree().root_node(), &source.text, |m| {
                let get = |i| m.captures.iter().find(|c| c.index == i).map(|c| c.node);
                if let (Some(node), Some(map)) = (get(access_i), get(map_i)) {
                    queried.push((
                        q.kind(m.pattern_index) == AccessKind::Write,
                        node.id(),
                        map.id(),
                    ));
                }
            });
        let (mut w, mut qd) = (walked.clone(), queried.clone());
        w.sort();
        qd.sort();
        if w != qd {
            differences.push(format!(
                "{}: walk found {} accesses, the queries {}",
                path.display(),
                w.len(),
                qd.len()
            ));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// The library lists (`src/model/library.rs`) and the access queries that
/// state them name the same functions and methods: a Go file that calls every
/// one of them (and one name that is none) gives the walk and the queries the
/// same accesses.
#[test]
fn access_queries_name_every_library_call_the_walk_knows() {
    use gomaplint::model::Package;
    use gomaplint::model::access::AccessKind;
    use gomaplint::model::library::{MAP_TYPES, PACKAGE_CALLS, READ_METHODS, WRITE_METHODS};
    use gomaplint::source::SourceFile;
    let mut body = String::new();
    for (package, functions, _) in PACKAGE_CALLS {
        for f in *functions {
            body.push_str(&format!("\t{package}.{f}(a, b, c)\n"));
        }
    }
    for m in WRITE_METHODS.iter().chain(READ_METHODS) {
        body.push_str(&format!("\th.{m}(a)\n"));
    }
    body.push_str("\tjson.Unmarshal(a, b)\n\th.Walk(a)\n");
    let (package, name) = MAP_TYPES[0];
    let text =
        format!("package p\n\nfunc f(h {package}.{name}, a, b, c map[string]int) {{\n{body}}}\n");
    let path = std::path::PathBuf::from("library_calls.go");
    let tree = gomaplint::parse::parse(text.as_bytes()).unwrap();
    let source = SourceFile::new(
        path.clone(),
        "library_calls.go".into(),
        text.into_bytes(),
        tree,
    );
    let pkg = Package::new(vec![&source]);
    let mut walked: Vec<(bool, usize, usize)> = pkg
        .find_accesses(0)
        .iter()
        .map(|a| (a.kind == AccessKind::Write, a.node.id(), a.map_node.id()))
        .collect();
    let q = gomaplint::rules::access_queries();
    let (access_i, map_i) = (q.query().capture("access"), q.query().capture("map"));
    let mut queried = Vec::new();
    q.query()
        .for_each_match(source.tree().root_node(), &source.text, |m| {
            let get = |i| m.captures.iter().find(|c| c.index == i).map(|c| c.node);
            if let (Some(node), Some(map)) = (get(access_i), get(map_i)) {
                queried.push((
                    q.kind(m.pattern_index) == AccessKind::Write,
                    node.id(),
                    map.id(),
                ));
            }
        });
    walked.sort();
    queried.sort();
    let calls = PACKAGE_CALLS.iter().map(|(_, f, _)| f.len()).sum::<usize>();
    assert!(
        walked.len() >= calls * 3,
        "every listed call is found ({})",
        walked.len()
    );
    assert_eq!(
        walked, queried,
        "the walk and the queries disagree on some library call"
    );
}

#[test]
fn packaging_pins_the_crate_version() {
    let version = env!("CARGO_PKG_VERSION");
    let read = |rel: &str| std::fs::read_to_string(root().join(rel)).unwrap();
    // The pre-commit metapackage pulls the wheel of this version.
    let shim = read("pyproject.toml");
    assert!(
        shim.contains(&format!("\"gomaplint=={version}\""))
            && shim.contains(&format!("version = \"{version}\"")),
        "pyproject.toml must pin gomaplint=={version}"
    );
    // The wheel takes its version from Cargo.toml.
    let wheel = read("python/pyproject.toml");
    assert!(wheel.contains("bindings = \"bin\"") && wheel.contains("dynamic = [\"version\"]"));
    assert!(wheel.contains("manifest-path = \"../Cargo.toml\""));
    // The Action installs this version by default.
    let action = read("action.yml");
    let default = regex::Regex::new(r"(?m)^  version:\n(?:    .*\n)*?    default: (\S+)$").unwrap();
    assert_eq!(
        default.captures(&action).map(|c| c[1].to_string()),
        Some(version.to_string()),
        "action.yml's `version` input defaults to the crate's version"
    );
    // Both pre-commit hooks exist.
    let hooks = read(".pre-commit-hooks.yaml");
    assert!(hooks.contains("- id: gomaplint\n") && hooks.contains("language: rust"));
    assert!(hooks.contains("- id: gomaplint-python\n") && hooks.contains("language: python"));
}

/// A TSV file's rows (after its comments and header) as column vectors.
fn tsv_rows(path: &Path, header: &str) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(header))
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// Per rule, the verdicts of the ledger rows of the measured `check` projects
/// (a row belongs to the project with the longest folder that holds its path).
fn check_set_verdicts() -> std::collections::BTreeMap<String, (u32, u32, u32)> {
    let corpus = root().join("tests/corpus");
    let projects = tsv_rows(&corpus.join("projects.tsv"), "folder\t");
    let ledger = tsv_rows(&corpus.join("ledger.tsv"), "path\t");
    let mut counts = std::collections::BTreeMap::new();
    for row in &ledger {
        let project = projects
            .iter()
            .filter(|p| row[0].starts_with(&format!("{}/", p[0])))
            .max_by_key(|p| p[0].len())
            .unwrap_or_else(|| panic!("ledger row {row:?} is in no project"));
        if project[3] != "check" || project[5] == "-" {
            continue;
        }
        let c: &mut (u32, u32, u32) = counts.entry(row[2].clone()).or_default();
        match row[4].as_str() {
            "real" => c.0 += 1,
            "unclear" => c.1 += 1,
            "false" => c.2 += 1,
            other => panic!("ledger row {row:?}: verdict {other}"),
        }
    }
    counts
}

#[test]
fn sarif_precision_is_the_check_sets_in_the_ledger() {
    use gomaplint::rules::precision;
    let counts = check_set_verdicts();
    assert!(
        !counts.is_empty(),
        "the ledger has no row of a measured `check` project"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gomaplint"))
        .args(["--format", "sarif", "."])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let mut measured_rules = 0;
    for rule in RULES {
        let (real, unclear, false_alarms) = counts.get(rule.code).copied().unwrap_or_default();
        let bundled = precision::of(rule.code);
        assert_eq!(
            (bundled.real, bundled.unclear, bundled.false_alarms),
            (real, unclear, false_alarms),
            "{}: src/rules/precision.tsv is not the ledger's check set; run tests/corpus/check --update-readme",
            rule.code
        );
        let n = real + unclear + false_alarms;
        let expected = (n >= precision::MIN_FINDINGS).then(|| {
            let share = f64::from(real + unclear) / f64::from(n);
            if share >= 0.9 {
                "very-high"
            } else if share >= 0.7 {
                "high"
            } else if share >= 0.4 {
                "medium"
            } else {
                "low"
            }
        });
        let descriptor = rules.iter().find(|r| r["id"] == rule.code).unwrap();
        assert_eq!(
            descriptor["properties"]["precision"].as_str(),
            expected,
            "{}: SARIF's precision",
            rule.code
        );
        if expected.is_some() {
            measured_rules += 1;
            assert_eq!(
                descriptor["properties"]["gomaplint/precision"]["false"],
                serde_json::json!(false_alarms)
            );
        }
    }
    assert!(measured_rules > 0, "no rule has a measured precision");
}

#[test]
fn list_rules_and_explain_show_the_measured_precision() {
    use gomaplint::rules::precision;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gomaplint"))
        .arg("--list-rules")
        .output()
        .unwrap();
    let listing = String::from_utf8(out.stdout).unwrap();
    for rule in RULES {
        let level = precision::of(rule.code).level().map_or("-", |l| l.as_str());
        let line = listing.lines().find(|l| l.starts_with(rule.code)).unwrap();
        assert!(
            line.split_whitespace().nth(3) == Some(level),
            "--list-rules shows {line:?}, expected precision {level}"
        );
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gomaplint"))
            .args(["--explain", rule.code])
            .output()
            .unwrap();
        let explain = String::from_utf8(out.stdout).unwrap();
        assert!(
            explain.contains("## Measured precision")
                && explain.contains(&precision::of(rule.code).describe()),
            "{}: --explain lacks the measured precision",
            rule.code
        );
    }
}
