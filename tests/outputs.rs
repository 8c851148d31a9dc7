//! The machine-readable outputs: JSON and SARIF, checked for shape, stability,
//! and (SARIF) against Microsoft's validator with GitHub's ingestion rules.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gomaplint"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run gomaplint")
}

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn sarif(args: &[&str]) -> serde_json::Value {
    let out = run(&[&["--format", "sarif"], args].concat(), &fixtures());
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("SARIF is JSON")
}

#[test]
fn sarif_has_the_shape_code_scanning_needs() {
    let log = sarif(&["."]);
    // The SARIF version, never the tool's.
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "gomaplint");
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let codes: Vec<&str> = gomaplint::rules::RULES.iter().map(|r| r.code).collect();
    assert_eq!(rules, codes);
    let results = run["results"].as_array().unwrap();
    assert!(results.len() > 50);
    let json_out = run_json();
    assert_eq!(
        results.len(),
        json_out.len(),
        "SARIF and JSON report the same findings"
    );
    for (r, j) in results.iter().zip(&json_out) {
        assert_eq!(r["ruleId"], j["code"]);
        assert_eq!(
            rules[r["ruleIndex"].as_u64().unwrap() as usize],
            j["code"].as_str().unwrap()
        );
        let region = &r["locations"][0]["physicalLocation"]["region"];
        assert_eq!(region["startLine"], j["line"]);
        assert_eq!(region["startColumn"], j["column"]);
        let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert_eq!(
            uri,
            j["path"].as_str().unwrap(),
            "relative paths stay relative"
        );
        assert!(!r["relatedLocations"].as_array().unwrap().is_empty());
        assert!(r["partialFingerprints"]["gomaplint/v1"].is_string());
    }
}

fn run_json() -> Vec<serde_json::Value> {
    let out = run(&["--format", "json", "."], &fixtures());
    serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn sarif_fingerprints_are_stable_and_unique() {
    let a = sarif(&["-j", "1", "."]);
    let b = sarif(&["-j", "4", "."]);
    assert_eq!(a, b, "same SARIF whatever the thread count");
    let mut prints: Vec<String> = a["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            // The fingerprint identifies a finding within its file, as
            // code scanning uses it (with the file's path).
            format!(
                "{}{}{}",
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                r["ruleId"],
                r["partialFingerprints"]["gomaplint/v1"]
            )
        })
        .collect();
    let n = prints.len();
    prints.sort();
    prints.dedup();
    assert_eq!(prints.len(), n, "one fingerprint per finding in a file");
}

#[test]
fn sarif_passes_the_validator_with_githubs_rules() {
    if std::env::var_os("GOMAPLINT_SKIP_SARIF_VALIDATOR").is_some() {
        eprintln!("GOMAPLINT_SKIP_SARIF_VALIDATOR is set: SARIF not validated");
        return;
    }
    let script = common::tool("sarif-validate.sh");
    let dir = tempfile::tempdir().unwrap();
    let with_findings = dir.path().join("findings.sarif");
    let clean = dir.path().join("clean.sarif");
    std::fs::write(
        &with_findings,
        run(&["--format", "sarif", "."], &fixtures()).stdout,
    )
    .unwrap();
    std::fs::write(&clean, run(&["--format", "sarif"], dir.path()).stdout).unwrap();
    let out = Command::new("bash")
        .arg(&script)
        .arg(&with_findings)
        .arg(&clean)
        .output()
        .unwrap_or_else(|e| panic!("cannot run bash for {}: {e}", script.display()));
    // Status 3: the validator could not be installed; its last line says why.
    if out.status.code() == Some(3) {
        let stderr = String::from_utf8_lossy(&out.stderr);
        panic!(
            "{}",
            stderr.lines().last().unwrap_or("sarif-validate.sh failed")
        );
    }
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let problems: Vec<&str> = report
        .lines()
        .filter(|l| l.contains(": error ") || l.contains(": warning "))
        // gomaplint has no public home page yet: with `repository` in Cargo.toml,
        // the driver gets an informationUri and this warning goes away.
        .filter(|l| !(l.contains("warning SARIF2005") && l.contains("informationUri")))
        .collect();
    assert!(
        problems.is_empty(),
        "SARIF problems:\n{}",
        problems.join("\n")
    );
    assert!(
        report.contains("sarif-validate:"),
        "validator did not run:\n{report}"
    );
}

#[test]
fn github_annotations_have_one_line_per_finding() {
    let out = run(&["--format", "github", "."], &fixtures());
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let json_out = run_json();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), json_out.len());
    for (line, j) in lines.iter().zip(&json_out) {
        let level = if j["severity"] == "error" {
            "::error "
        } else {
            "::warning "
        };
        assert!(line.starts_with(level), "{line}");
        assert!(
            line.contains(&format!(
                "file={},line={},col={},",
                j["path"].as_str().unwrap(),
                j["line"],
                j["column"]
            )),
            "{line}"
        );
        assert!(
            line.contains(&format!(
                "title={} {}",
                j["code"].as_str().unwrap(),
                j["name"].as_str().unwrap()
            )),
            "{line}"
        );
        assert!(
            line.split_once("::").unwrap().1.contains("::map") || line.contains("::`"),
            "{line}"
        );
    }
}

/// The text report people read, pinned: miette's snippet, labels and help.
/// Accept a deliberate change with `INSTA_UPDATE=always cargo test --test outputs`.
#[test]
fn text_report_snapshot() {
    let fixture = "recover_cannot_catch_map_race/racy_recover_in_goroutine";
    let out = Command::new(env!("CARGO_BIN_EXE_gomaplint"))
        .args(["--color", "never", fixture])
        .current_dir(fixtures())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

/// The JSON of one finding of each kind of reason, pinned.
#[test]
fn json_snapshot() {
    let out = run(
        &[
            "--format",
            "json",
            "map_escapes_lock/racy_len_after_unlock",
            "unsynchronized_map_write/racy_starter_reads_before_wait",
        ],
        &fixtures(),
    );
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

/// A goroutine rule's finding carries its witness: in SARIF, one code flow
/// with a thread flow per side, each from where its code starts to its access.
#[test]
fn sarif_code_flows_show_both_sides_of_a_race() {
    let log = sarif(&["concurrent_map_read_write/racy_two_reads_in_one_statement"]);
    let result = &log["runs"][0]["results"][0];
    let flows = result["codeFlows"][0]["threadFlows"].as_array().unwrap();
    assert_eq!(flows.len(), 2, "{result:#}");
    let line_of = |step: &serde_json::Value| {
        step["location"]["physicalLocation"]["region"]["startLine"]
            .as_u64()
            .unwrap()
    };
    let first: Vec<&serde_json::Value> = flows[0]["locations"].as_array().unwrap().iter().collect();
    let second: Vec<&serde_json::Value> =
        flows[1]["locations"].as_array().unwrap().iter().collect();
    // The goroutine: started at line 10, reads at line 11 (the result's own location).
    assert_eq!(line_of(first[0]), 10);
    assert_eq!(
        line_of(first.last().unwrap()),
        result["locations"][0]["physicalLocation"]["region"]["startLine"]
            .as_u64()
            .unwrap()
    );
    // The starter: goes on after line 10 and writes at line 14.
    assert_eq!(line_of(second[0]), 10);
    assert_eq!(line_of(second.last().unwrap()), 14);
    assert_eq!(
        second.last().unwrap()["location"]["message"]["text"],
        "writes the map here"
    );
}

/// Code that races with another run of itself has one side, run twice.
#[test]
fn json_witness_of_code_that_runs_many_times_at_once() {
    let out = run(
        &[
            "--format",
            "json",
            "unsynchronized_map_write/racy_loop_counter",
        ],
        &fixtures(),
    );
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let witness = &findings[0]["witness"];
    assert_eq!(witness["runs_twice"], true, "{findings:#}");
    assert_eq!(witness["sides"].as_array().unwrap().len(), 1);
    assert_eq!(witness["sides"][0]["access"]["line"], findings[0]["line"]);
    let log = sarif(&["unsynchronized_map_write/racy_loop_counter"]);
    let flows = &log["runs"][0]["results"][0]["codeFlows"][0]["threadFlows"];
    assert_eq!(flows.as_array().unwrap().len(), 2);
    assert_eq!(flows[0], flows[1]);
}
