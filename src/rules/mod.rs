//! The rule registry: a static table of plain `Rule` values, sorted by code.

pub mod map_write_under_rlock;
pub mod recover_cannot_catch_map_race;
pub mod unsynchronized_map_write;

use std::cell::OnceCell;

use crate::diagnostic::{Diagnostic, Severity};
use crate::model::Package;
use crate::model::spawn::Spawn;

pub struct Rule {
    /// Stable code, e.g. `GML001`.
    pub code: &'static str,
    /// kebab-case name, e.g. `unsynchronized-map-write`.
    pub name: &'static str,
    /// One line: what the rule finds.
    pub summary: &'static str,
    /// Markdown: What it does / Why is this bad? / Example / Use instead.
    pub docs: &'static str,
    pub severity: Severity,
    /// The source of `queries/<name>.scm`.
    pub query: &'static str,
    pub check: fn(&Context<'_, '_>, &mut Vec<Diagnostic>),
}

impl Rule {
    /// The Rust module, query file and fixture folder name: the name in snake_case.
    pub fn file_stem(&self) -> String {
        self.name.replace('-', "_")
    }
}

pub static RULES: &[Rule] = &[
    unsynchronized_map_write::RULE,
    recover_cannot_catch_map_race::RULE,
    map_write_under_rlock::RULE,
];

pub fn find(code_or_name: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| r.code.eq_ignore_ascii_case(code_or_name) || r.name == code_or_name)
}

/// What rules read: the package model and analyses shared between rules.
pub struct Context<'p, 'a> {
    pub pkg: &'p Package<'a>,
    pub spawns: Vec<Spawn<'a>>,
    races: OnceCell<Vec<unsynchronized_map_write::Race<'a>>>,
}

impl<'p, 'a> Context<'p, 'a> {
    pub fn new(pkg: &'p Package<'a>) -> Self {
        Context {
            pkg,
            spawns: pkg.spawns(),
            races: OnceCell::new(),
        }
    }

    /// Unsynchronized goroutine map writes, computed once for GML001 and GML002.
    pub fn races(&self) -> &[unsynchronized_map_write::Race<'a>] {
        self.races
            .get_or_init(|| unsynchronized_map_write::find_races(self))
    }
}

/// Runs every rule on one package.
pub fn check_package(pkg: &Package<'_>) -> Vec<Diagnostic> {
    let ctx = Context::new(pkg);
    let mut out = Vec::new();
    for rule in RULES {
        (rule.check)(&ctx, &mut out);
    }
    out
}
