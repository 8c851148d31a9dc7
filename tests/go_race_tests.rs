//! Go's own race-detector tests of maps (`runtime/race/testdata/map_test.go`,
//! and the nested-map `len` test of `regression_test.go`): every test whose
//! race is on a map is found, and no `TestNoRace` test is flagged. Races on a
//! key or value variable that a map operation merely reads or copies are out
//! of scope: no map is written concurrently there.
//!
//! Go comes from `tests/tools/go-toolchain.sh` (or `$GOMAPLINT_GOROOT`);
//! `GOMAPLINT_SKIP_RACE=1` skips this test with the race-detector one.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// Tests of `map_test.go` whose race is on the key or value, not on the map.
const NOT_ON_THE_MAP: &[&str] = &[
    "TestRaceMapLookupPartKey",
    "TestRaceMapLookupPartKey2",
    "TestRaceMapDeletePartKey",
    "TestRaceMapInsertPartKey",
    "TestRaceMapInsertPartVal",
    // `conns[1][0], err = connect()`: a slice element in a map value.
    "TestRaceMapAssignMultipleReturn",
    "TestRaceMapBigKeyAccess1",
    "TestRaceMapBigKeyAccess2",
    "TestRaceMapBigKeyInsert",
    "TestRaceMapBigKeyDelete",
    "TestRaceMapBigValInsert",
    "TestRaceMapBigValAccess1",
    "TestRaceMapBigValAccess2",
];

/// The test functions of a Go file: (name, first line, last line).
fn test_functions(path: &Path) -> Vec<(String, usize, usize)> {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.strip_prefix("func Test") else {
            continue;
        };
        let name = format!("Test{}", rest.split('(').next().unwrap());
        let end = (i..lines.len()).find(|&j| lines[j] == "}").unwrap();
        out.push((name, i + 1, end + 1));
    }
    out
}

/// The lines of `path` that gomaplint reports.
fn reported_lines(files: &[&Path]) -> Vec<(String, usize)> {
    let out = Command::new(env!("CARGO_BIN_EXE_gomaplint"))
        .args(["--format", "json", "--isolated"])
        .args(files)
        .output()
        .unwrap();
    assert!(out.status.code().is_some_and(|c| c < 2), "{out:?}");
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let path = f["path"].as_str().unwrap();
            let file = Path::new(path).file_name().unwrap().to_string_lossy();
            (file.into_owned(), f["line"].as_u64().unwrap() as usize)
        })
        .collect()
}

#[test]
fn every_map_race_of_gos_race_tests_is_found_and_no_norace_test_is_flagged() {
    if std::env::var_os("GOMAPLINT_SKIP_RACE").is_some() {
        eprintln!("GOMAPLINT_SKIP_RACE is set: Go's race tests are not linted");
        return;
    }
    let goroot = common::go_root().unwrap_or_else(|why| panic!("{why}"));
    let dir = goroot.join("src/runtime/race/testdata");
    let (map_test, regression) = (dir.join("map_test.go"), dir.join("regression_test.go"));
    let reported = reported_lines(&[&map_test, &regression]);
    let flagged = |file: &str, from: usize, to: usize| {
        reported
            .iter()
            .any(|(f, line)| f == file && (from..=to).contains(line))
    };
    let mut missed = BTreeSet::new();
    let mut false_alarms = BTreeSet::new();
    let mut checked = 0;
    for (name, from, to) in test_functions(&map_test) {
        let on_the_map = !NOT_ON_THE_MAP.contains(&name.as_str());
        if name.starts_with("TestNoRace") {
            if flagged("map_test.go", from, to) {
                false_alarms.insert(name);
            }
        } else if on_the_map {
            checked += 1;
            if !flagged("map_test.go", from, to) {
                missed.insert(name);
            }
        }
    }
    let nested = test_functions(&regression)
        .into_iter()
        .find(|(name, ..)| name == "TestRaceUnaddressableMapLen")
        .expect("regression_test.go has TestRaceUnaddressableMapLen");
    if !flagged("regression_test.go", nested.1, nested.2) {
        missed.insert(nested.0);
    }
    assert!(checked >= 11, "map_test.go has its map races ({checked})");
    assert!(
        missed.is_empty() && false_alarms.is_empty(),
        "missed: {missed:?}\nflagged TestNoRace: {false_alarms:?}"
    );
}
