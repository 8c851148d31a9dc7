//! `--format json`: one JSON array of findings, for scripts and editors.

use std::io::{self, Write};

use super::Emitter;
use crate::Outcome;

pub struct Json;

impl Emitter for Json {
    fn emit(&self, out: &mut dyn Write, outcome: &Outcome) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, &outcome.diagnostics)?;
        writeln!(out)
    }
}
