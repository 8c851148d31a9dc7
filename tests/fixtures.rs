//! The rule tests: every fixture is linted, and its findings must be exactly
//! its `// want` lines. All failures are printed at once.

mod common;

use std::path::Path;

use common::{Label, all_fixtures, wants};

fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn every_fixture_reports_exactly_its_want_lines() {
    let mut failures = Vec::new();
    let fixtures = all_fixtures();
    assert!(!fixtures.is_empty(), "no fixtures found");
    for fx in &fixtures {
        let outcome = gomaplint::lint(&[fx.dir.to_string_lossy().into_owned()]);
        let case = format!("{}/{}", fx.rule, fx.name);
        for e in outcome.errors.iter().chain(&outcome.warnings) {
            failures.push(format!("{case}: unexpected error or warning: {e}"));
        }
        let expected = wants(&fx.dir);
        match fx.label {
            Label::Safe if !expected.is_empty() => failures.push(format!(
                "{case}: a safe fixture must not have `// want` lines"
            )),
            Label::Racy | Label::Panics if expected.is_empty() => {
                failures.push(format!("{case}: has no `// want` line"))
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
                        .filter(|d| {
                            file_name(&d.span.path) == want.file && d.span.line == want.line
                        })
                        .map(|d| format!("{} {:?}", d.code, d.message))
                        .collect();
                    failures.push(format!(
                        "{case}/{}:{}: missing {} matching /{}/ (found on that line: {:?})",
                        want.file, want.line, want.code, want.pattern, got
                    ));
                }
            }
        }
        for d in unmatched {
            failures.push(format!(
                "{case}/{}:{}:{}: unexpected {} {:?}",
                file_name(&d.span.path),
                d.span.line,
                d.span.column,
                d.code,
                d.message
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
