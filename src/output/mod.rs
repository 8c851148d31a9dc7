//! Renderers: each output format turns the neutral diagnostics into bytes.

pub mod github;
pub mod json;
pub mod sarif;
pub mod text;

use std::io::{self, Write};

use crate::Outcome;

/// One output format.
pub trait Emitter {
    fn emit(&self, out: &mut dyn Write, outcome: &Outcome) -> io::Result<()>;
}
