//! Each rule's precision as measured on the real-code ledger's held-out `check`
//! set: projects nobody tuned the rules on, linted and triaged by hand once a
//! change was finished. `tests/corpus/check --update-readme` writes
//! `precision.tsv` from the ledger, and a meta-test keeps the two in step.

use std::sync::LazyLock;

/// A rule needs this many findings on the `check` set for a measured level.
pub const MIN_FINDINGS: u32 = 5;

/// The measurement, as `tests/corpus/check` wrote it.
const MEASURED: &str = include_str!("precision.tsv");

/// How a rule's findings on the `check` set were triaged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Precision {
    pub real: u32,
    pub unclear: u32,
    pub false_alarms: u32,
}

/// The scale code-scanning tools use for a rule's precision (SARIF's
/// `properties.precision`, as CodeQL's query metadata has it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Low,
    Medium,
    High,
    VeryHigh,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::VeryHigh => "very-high",
        }
    }
}

impl Precision {
    pub fn findings(self) -> u32 {
        self.real + self.unclear + self.false_alarms
    }

    /// The share of findings that are real races or unclear (hinge on
    /// something the source does not show); `None` when the rule made fewer
    /// than [`MIN_FINDINGS`] findings on the `check` set, too few to measure.
    pub fn share(self) -> Option<f64> {
        let n = self.findings();
        (n >= MIN_FINDINGS).then(|| f64::from(self.real + self.unclear) / f64::from(n))
    }

    /// very-high: at least 90% real or unclear; high: 70%; medium: 40%; low below.
    pub fn level(self) -> Option<Level> {
        self.share().map(|share| match share {
            s if s >= 0.9 => Level::VeryHigh,
            s if s >= 0.7 => Level::High,
            s if s >= 0.4 => Level::Medium,
            _ => Level::Low,
        })
    }

    /// One line for people: `low (3 of 31 real or unclear on the check set)`.
    pub fn describe(self) -> String {
        match self.level() {
            Some(level) => format!(
                "{} ({} of {} real or unclear on the check set)",
                level.as_str(),
                self.real + self.unclear,
                self.findings()
            ),
            None if self.findings() == 0 => {
                "not measured (no finding on the check set)".to_string()
            }
            None => format!(
                "not measured ({} of {} real or unclear on the check set: too few findings)",
                self.real + self.unclear,
                self.findings()
            ),
        }
    }
}

pub struct Measurement {
    /// How many projects the `check` set held.
    pub projects: u32,
    /// `DATE@COMMIT` of each measurement the set's projects come from.
    pub measured: String,
    rules: Vec<(String, Precision)>,
}

impl Measurement {
    pub fn of(&self, code: &str) -> Precision {
        self.rules
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, p)| *p)
            .unwrap_or(Precision {
                real: 0,
                unclear: 0,
                false_alarms: 0,
            })
    }
}

/// Parses `precision.tsv`: `projects N` and `measured WHEN` lines, then a
/// `code real unclear false` table.
pub fn parse(text: &str) -> Result<Measurement, String> {
    let mut measurement = Measurement {
        projects: 0,
        measured: String::new(),
        rules: Vec::new(),
    };
    for (number, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split('\t').collect();
        let bad = || format!("precision.tsv:{}: cannot read `{line}`", number + 1);
        match fields.as_slice() {
            [] | [""] => {}
            [first, ..] if first.starts_with('#') => {}
            ["projects", n] => measurement.projects = n.parse().map_err(|_| bad())?,
            ["measured", when] => measurement.measured = when.to_string(),
            ["code", "real", "unclear", "false"] => {}
            [code, real, unclear, false_alarms] => {
                let count = |s: &str| s.parse::<u32>().map_err(|_| bad());
                measurement.rules.push((
                    code.to_string(),
                    Precision {
                        real: count(real)?,
                        unclear: count(unclear)?,
                        false_alarms: count(false_alarms)?,
                    },
                ));
            }
            _ => return Err(bad()),
        }
    }
    Ok(measurement)
}

pub static MEASUREMENT: LazyLock<Measurement> =
    LazyLock::new(|| parse(MEASURED).expect("the bundled precision.tsv is well formed"));

/// The measured precision of the rule with this code.
pub fn of(code: &str) -> Precision {
    MEASUREMENT.of(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(real: u32, unclear: u32, false_alarms: u32) -> Precision {
        Precision {
            real,
            unclear,
            false_alarms,
        }
    }

    #[test]
    fn levels_follow_the_share_of_real_or_unclear() {
        assert_eq!(p(9, 0, 1).level(), Some(Level::VeryHigh));
        assert_eq!(p(6, 1, 3).level(), Some(Level::High));
        assert_eq!(p(3, 1, 6).level(), Some(Level::Medium));
        assert_eq!(p(1, 0, 9).level(), Some(Level::Low));
        assert_eq!(p(0, 0, 0).level(), None);
        assert_eq!(p(0, 1, 0).level(), None, "one finding is too few");
        assert_eq!(p(4, 0, 1).level(), Some(Level::High));
        assert_eq!(
            p(1, 2, 7).describe(),
            "low (3 of 10 real or unclear on the check set)"
        );
    }

    #[test]
    fn the_file_parses_and_bad_rows_are_errors() {
        let m = parse("# c\nprojects\t2\nmeasured\t2026-12-08@abc\ncode\treal\tunclear\tfalse\nGML001\t1\t2\t3\n")
            .unwrap();
        assert_eq!(m.projects, 2);
        assert_eq!(m.measured, "2026-12-08@abc");
        assert_eq!(m.of("GML001"), p(1, 2, 3));
        assert_eq!(m.of("GML009"), p(0, 0, 0));
        assert!(parse("GML001\tx\t2\t3\n").is_err());
        assert!(parse("what\n").is_err());
        assert!(!MEASUREMENT.measured.is_empty());
    }
}
