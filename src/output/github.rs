//! `--format github`: GitHub Actions workflow commands, which annotate the
//! pull request's diff (`::error file=...,line=...::message`).

use std::io::{self, Write};

use super::Emitter;
use crate::Outcome;
use crate::diagnostic::Severity;

pub struct Github;

/// Escapes a command's message (`%`, CR, LF), as the runner expects.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value: the message escapes plus `:` and `,`.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

impl Emitter for Github {
    fn emit(&self, out: &mut dyn Write, outcome: &Outcome) -> io::Result<()> {
        for d in &outcome.diagnostics {
            let command = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let s = &d.span;
            writeln!(
                out,
                "::{command} title={},file={},line={},col={},endLine={},endColumn={}::{}",
                escape_property(&format!("{} {}", d.code, d.name)),
                escape_property(&s.path),
                s.line,
                s.column,
                s.end_line,
                s.end_column,
                escape_data(&format!("{} ({})", d.message, d.label)),
            )?;
        }
        Ok(())
    }
}
