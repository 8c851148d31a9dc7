//! Renderers: each output format turns the neutral diagnostics into bytes.

pub mod concise;
pub mod github;
pub mod json;
pub mod sarif;
pub mod text;
pub mod trace;

use std::io::{self, Write};

use clap::ValueEnum;

use crate::Outcome;

/// The output formats, as `--format` and `output-format` name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Reports with the source snippet and labels (miette).
    Text,
    /// `path:line:col: CODE message`, one line per finding.
    Concise,
    /// One JSON array of findings.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
    /// GitHub Actions annotations (`::error file=...::...`).
    Github,
}

impl Format {
    pub const NAMES: [&'static str; 5] = ["text", "concise", "json", "sarif", "github"];

    /// The format with this name, as `--format` spells it.
    pub fn from_name(name: &str) -> Option<Format> {
        Format::from_str(name, false).ok()
    }
}

/// One output format.
pub trait Emitter {
    fn emit(&self, out: &mut dyn Write, outcome: &Outcome) -> io::Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_value_enum_names() {
        let names: Vec<String> = Format::value_variants()
            .iter()
            .map(|f| f.to_possible_value().unwrap().get_name().to_string())
            .collect();
        assert_eq!(names, Format::NAMES);
        for name in Format::NAMES {
            assert!(Format::from_name(name).is_some());
        }
    }
}
