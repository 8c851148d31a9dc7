//! `--format concise`: `path:line:col: CODE message`, one line per finding, for
//! editors' quickfix lists and `grep`.

use std::io::{self, Write};

use super::Emitter;
use crate::Outcome;

pub struct Concise;

impl Emitter for Concise {
    fn emit(&self, out: &mut dyn Write, outcome: &Outcome) -> io::Result<()> {
        for d in &outcome.diagnostics {
            let s = &d.span;
            // One line each, whatever the message holds.
            let message = d.message.replace(['\n', '\r'], " ");
            writeln!(
                out,
                "{}:{}:{}: {} {message}",
                s.path, s.line, s.column, d.code
            )?;
        }
        Ok(())
    }
}
