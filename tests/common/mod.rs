//! Shared by the integration tests: the fixture folders and their `// want` expectations.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use regex::Regex;

/// How a fixture is labelled, by the prefix of its folder name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    /// `racy_*`: the race detector reports a race (or the runtime a concurrent map access).
    Racy,
    /// `safe_*`: runs clean under the race detector; gomaplint reports nothing.
    Safe,
    /// `panics_*`: dies of a panic that the code wrongly believes it recovers.
    Panics,
}

#[derive(Debug)]
pub struct Fixture {
    pub rule: String,
    pub name: String,
    pub dir: PathBuf,
    pub label: Label,
}

pub fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Every fixture folder: `fixtures/<rule>/<case>/`.
pub fn all_fixtures() -> Vec<Fixture> {
    let mut out = Vec::new();
    let mut rules: Vec<_> = std::fs::read_dir(fixtures_root())
        .expect("fixtures/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        // `_deps` and other `_` folders hold support code, as the go tool skips them.
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('_'))
        .collect();
    rules.sort();
    for rule_dir in rules {
        let rule = rule_dir.file_name().unwrap().to_string_lossy().into_owned();
        let mut cases: Vec<_> = std::fs::read_dir(&rule_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        cases.sort();
        for dir in cases {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            let label = if name.starts_with("racy_") {
                Label::Racy
            } else if name.starts_with("safe_") {
                Label::Safe
            } else if name.starts_with("panics_") {
                Label::Panics
            } else {
                panic!(
                    "fixture folder {} must start with racy_, safe_ or panics_",
                    dir.display()
                );
            };
            out.push(Fixture {
                rule: rule.clone(),
                name,
                dir,
                label,
            });
        }
    }
    out
}

/// One `// want CODE "regexp"` expectation.
#[derive(Debug, Clone)]
pub struct Want {
    pub file: String,
    pub line: usize,
    pub code: String,
    pub pattern: Regex,
}

/// The expectations in the `.go` files of a fixture folder. The regexp is written
/// between double quotes (`\"` for a quote) or backquotes, as in Go's analysistest.
pub fn wants(dir: &Path) -> Vec<Want> {
    let want = Regex::new(r#"// want ((?:GML\d{3}\s+(?:"(?:[^"\\]|\\.)*"|`[^`]*`)\s*)+)"#).unwrap();
    let item = Regex::new(r#"(GML\d{3})\s+(?:"((?:[^"\\]|\\.)*)"|`([^`]*)`)"#).unwrap();
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "go"))
        .collect();
    files.sort();
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, line) in text.lines().enumerate() {
            let Some(m) = want.captures(line) else {
                continue;
            };
            for c in item.captures_iter(&m[1]) {
                let raw = c
                    .get(2)
                    .or(c.get(3))
                    .unwrap()
                    .as_str()
                    .replace("\\\"", "\"");
                let pattern = Regex::new(&raw).unwrap_or_else(|e| {
                    panic!("{}:{}: bad want regexp: {e}", path.display(), i + 1)
                });
                out.push(Want {
                    file: file.clone(),
                    line: i + 1,
                    code: c[1].to_string(),
                    pattern,
                });
            }
        }
    }
    out
}

/// How a fixture's findings compare with its `// want` lines.
#[derive(Debug, Default)]
pub struct Comparison {
    pub findings: usize,
    pub wants: usize,
    /// Problems: missing or unexpected findings, errors and warnings.
    pub failures: Vec<String>,
}

/// Lints one fixture folder and compares the findings with its `// want` lines.
pub fn compare(fx: &Fixture) -> Comparison {
    let outcome = gomaplint::lint(&[fx.dir.to_string_lossy().into_owned()]);
    let case = format!("{}/{}", fx.rule, fx.name);
    let file_name = |p: &str| {
        Path::new(p)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    let mut out = Comparison {
        findings: outcome.diagnostics.len(),
        ..Default::default()
    };
    for e in outcome.errors.iter().chain(&outcome.warnings) {
        out.failures
            .push(format!("{case}: unexpected error or warning: {e}"));
    }
    let expected = wants(&fx.dir);
    out.wants = expected.len();
    match fx.label {
        Label::Safe if !expected.is_empty() => out.failures.push(format!(
            "{case}: a safe fixture must not have `// want` lines"
        )),
        Label::Racy | Label::Panics if expected.is_empty() => {
            out.failures.push(format!("{case}: has no `// want` line"))
        }
        _ => {}
    }
    let mut unmatched: Vec<_> = outcome.diagnostics.iter().collect();
    for want in &expected {
        let found = unmatched.iter().position(|d| {
            file_name(&d.span.path) == want.file
                && d.span.line == want.line
                && d.code == want.code
                && want.pattern.is_match(&d.message)
        });
        match found {
            Some(i) => {
                unmatched.remove(i);
            }
            None => {
                let got: Vec<String> = outcome
                    .diagnostics
                    .iter()
                    .filter(|d| file_name(&d.span.path) == want.file && d.span.line == want.line)
                    .map(|d| format!("{} {:?}", d.code, d.message))
                    .collect();
                out.failures.push(format!(
                    "{case}/{}:{}: missing {} matching /{}/ (found on that line: {:?})",
                    want.file, want.line, want.code, want.pattern, got
                ));
            }
        }
    }
    for d in unmatched {
        out.failures.push(format!(
            "{case}/{}:{}:{}: unexpected {} {:?}",
            file_name(&d.span.path),
            d.span.line,
            d.span.column,
            d.code,
            d.message
        ));
    }
    out
}

/// A helper script of the test suite, under `tests/tools/`.
pub fn tool(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/tools")
        .join(name)
}

/// Runs a helper script of `tests/tools/`: its standard output, or the one line
/// that says what is missing (the script's last line on standard error).
pub fn run_tool(name: &str, args: &[&std::ffi::OsStr]) -> Result<String, String> {
    let script = tool(name);
    let out = std::process::Command::new("bash")
        .arg(&script)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run bash for {}: {e}", script.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    Err(stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map_or_else(
            || format!("{} failed with {}", script.display(), out.status),
            str::to_string,
        )
        + &if stdout.trim().is_empty() {
            String::new()
        } else {
            format!("\n{stdout}")
        })
}

/// The GOROOT of a Go toolchain with the race detector: `$GOMAPLINT_GOROOT`, or
/// one that `tests/tools/go-toolchain.sh` installs on first use.
pub fn go_root() -> Result<PathBuf, String> {
    run_tool("go-toolchain.sh", &[]).map(|out| PathBuf::from(out.trim()))
}
