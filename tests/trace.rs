//! `gomaplint trace` on real crash logs: racy fixtures built WITHOUT `-race`
//! and run until the runtime's map check killed them (`tests/trace/record.sh`;
//! the logs are kept in `tests/trace/logs/<go version>/<rule>__<fixture>.log`).
//! Each log must lead back to the fixture's map and name a `// want` line as
//! the crashing access or as the other side. Then the log's wrappings
//! (prefixes, JSON), logs cut short, several crashes, another machine's paths,
//! a source that changed since the build, and the command line's exit codes.

mod common;

use std::path::{Path, PathBuf};

use common::{fixtures_root, wants};
use gomaplint::trace::analyze::{AccessReport, CrashReport};
use gomaplint::trace::{Status, trace};

fn logs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/trace/logs")
}

/// Every recorded log: (go version, fixture rule, fixture name, log path).
fn recorded() -> Vec<(String, String, String, PathBuf)> {
    let mut out = Vec::new();
    let mut versions: Vec<_> = std::fs::read_dir(logs_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    versions.sort();
    for v in versions {
        let mut logs: Vec<_> = std::fs::read_dir(&v)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
        logs.sort();
        for log in logs {
            let stem = log.file_stem().unwrap().to_string_lossy().into_owned();
            let (rule, name) = stem.split_once("__").expect("<rule>__<fixture>.log");
            out.push((
                v.file_name().unwrap().to_string_lossy().into_owned(),
                rule.to_string(),
                name.to_string(),
                log,
            ));
        }
    }
    out
}

fn fixtures_arg() -> String {
    fixtures_root().to_string_lossy().into_owned()
}

fn line_of(a: &AccessReport) -> usize {
    a.span.line
}

/// Why a crash report does not name the fixture's map and a `// want` line; `Ok` if it does.
fn check_against_wants(c: &CrashReport, fixture: &Path) -> Result<(), String> {
    if c.status != Status::Traced {
        return Err(format!("status {:?}: {:?}", c.status, c.notes));
    }
    let map = c.map.as_deref().unwrap_or("");
    let wants = wants(fixture);
    let fixture_dir = fixture;
    let fixture = fixture.canonicalize().unwrap();
    let in_fixture = |a: &AccessReport| {
        Path::new(&a.span.path)
            .canonicalize()
            .is_ok_and(|p| p.starts_with(&fixture))
    };
    let want_line = |a: &AccessReport| {
        let file = Path::new(&a.span.path)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        wants
            .iter()
            .any(|w| w.file == file && w.line == line_of(a) && in_fixture(a))
    };
    // The map: a `// want` line is one of its accesses, or names it.
    let named = c.accesses.iter().any(want_line)
        || wants.iter().any(|w| {
            let text = std::fs::read_to_string(fixture_dir.join(&w.file)).unwrap();
            let line = text.lines().nth(w.line - 1).unwrap_or("");
            line.contains(&format!("`{map}`")) || line.contains(map)
        });
    if !named {
        return Err(format!("no `// want` line names the map `{map}`"));
    }
    let crash = c
        .accesses
        .iter()
        .find(|a| a.crash)
        .ok_or("no crashing access")?;
    let others: Vec<&AccessReport> = c.accesses.iter().filter(|a| a.other_side).collect();
    if others.is_empty() {
        return Err(format!(
            "no other side for `{map}` (crash at line {})",
            line_of(crash)
        ));
    }
    if !want_line(crash) && !others.iter().any(|a| want_line(a)) {
        return Err(format!(
            "neither the crashing line {} nor the other side's lines {:?} is a `// want` line",
            line_of(crash),
            others.iter().map(|a| line_of(a)).collect::<Vec<_>>()
        ));
    }
    // Every `// want` line that writes this map must be named: the crash or the other side.
    for a in c
        .accesses
        .iter()
        .filter(|a| matches!(a.operation, "write" | "delete" | "clear") && want_line(a))
    {
        if !a.crash && !a.other_side {
            return Err(format!(
                "the `// want` write at line {} is not named as the other side: {}",
                line_of(a),
                a.why
            ));
        }
    }
    Ok(())
}

#[test]
fn recorded_crashes_name_the_map_and_the_other_side() {
    let logs = recorded();
    assert!(logs.len() >= 10, "too few recorded logs: {}", logs.len());
    let mut failures = Vec::new();
    let mut versions = std::collections::BTreeMap::<String, usize>::new();
    for (version, rule, name, log) in &logs {
        let text = std::fs::read_to_string(log).unwrap();
        let traced = trace(&text, &[fixtures_arg()]);
        let fixture = fixtures_root().join(rule).join(name);
        *versions.entry(version.clone()).or_default() += 1;
        if traced.crashes.len() != 1 {
            failures.push(format!(
                "{version}/{rule}/{name}: {} crashes",
                traced.crashes.len()
            ));
            continue;
        }
        if let Err(why) = check_against_wants(&traced.crashes[0], &fixture) {
            failures.push(format!("{version}/{rule}/{name}: {why}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} recorded logs ({versions:?}) fail:\n{}",
        failures.len(),
        logs.len(),
        failures.join("\n")
    );
}
