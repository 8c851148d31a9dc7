//! The rule tests: every fixture is linted, and its findings must be exactly
//! its `// want` lines. All failures are printed at once.

mod common;

use common::{all_fixtures, compare};

#[test]
fn every_fixture_reports_exactly_its_want_lines() {
    let fixtures = all_fixtures();
    assert!(!fixtures.is_empty(), "no fixtures found");
    let failures: Vec<String> = fixtures
        .iter()
        .flat_map(|fx| compare(fx).failures)
        .collect();
    assert!(
        failures.is_empty(),
        "{} fixture failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
