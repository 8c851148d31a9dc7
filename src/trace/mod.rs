//! `gomaplint trace`: from the crash log of a map race to the map, its accesses
//! and the fix. Plain data only; `output::trace` renders it.

pub mod analyze;
pub mod locate;
pub mod parse;

pub use analyze::{Status, Trace, analyze};
pub use parse::{Crash, CrashKind};

/// Finds the map-race crashes in a log and maps them to the source under `paths`.
pub fn trace(log: &str, paths: &[String]) -> Trace {
    analyze(&parse::parse(log), paths)
}
