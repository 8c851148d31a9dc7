//! The rule registry: a static table of plain `Rule` values, sorted by code.

pub mod concurrent_map_read_write;
pub mod inconsistent_map_guard;
pub mod map_escapes_lock;
pub mod map_write_under_rlock;
pub mod precision;
pub mod recover_cannot_catch_map_race;
pub mod spawn_labels;
pub mod sync_map_inner_map_mutation;
pub mod unsynchronized_map_write;

use std::cell::OnceCell;
use std::sync::LazyLock;

use crate::diagnostic::{Diagnostic, Severity};
use crate::model::Package;
use crate::model::access::AccessQueries;
use crate::model::guards::Guards;
use crate::model::races::{Analysis, Race};
use crate::model::spawn::Spawn;
use crate::queries::CompiledQuery;

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
    concurrent_map_read_write::RULE,
    map_write_under_rlock::RULE,
    sync_map_inner_map_mutation::RULE,
    inconsistent_map_guard::RULE,
    map_escapes_lock::RULE,
];

pub fn find(code_or_name: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| r.code.eq_ignore_ascii_case(code_or_name) || r.name == code_or_name)
}

/// GML001's write patterns followed by GML003's read patterns, as one query.
static ACCESS_QUERY: LazyLock<CompiledQuery> = LazyLock::new(|| {
    let source = format!(
        "{}\n{}",
        unsynchronized_map_write::RULE.query,
        concurrent_map_read_write::RULE.query
    );
    CompiledQuery::new("map_accesses", &source).expect("bundled queries compile")
});

/// Compiles the queries the lint runs (tree-sitter takes about a tenth of
/// a second for them all). Run it on a worker while the main thread finds
/// the files, so that the first packages do not wait for it.
pub fn compile_queries() {
    for query in [
        &crate::queries::GO_QUERY,
        &crate::queries::SPAWN_CALLS_QUERY,
        &crate::queries::CALLS_QUERY,
        &inconsistent_map_guard::QUERY,
        &map_escapes_lock::QUERY,
        &map_write_under_rlock::QUERY,
        &recover_cannot_catch_map_race::QUERY,
        &sync_map_inner_map_mutation::QUERY,
        &unsynchronized_map_write::QUERY,
    ] {
        LazyLock::force(query);
    }
}

/// GML001's write patterns and GML003's read patterns, as one query.
pub fn access_queries() -> AccessQueries<'static> {
    AccessQueries::new(&ACCESS_QUERY, &unsynchronized_map_write::QUERY)
}

/// What rules read: the package model and analyses shared between rules,
/// each computed once, on first use.
pub struct Context<'p, 'a> {
    pub pkg: &'p Package<'a>,
    pub selection: &'p Selection,
    analysis: OnceCell<Analysis<'a>>,
    write_races: OnceCell<Vec<Race<'a>>>,
    read_races: OnceCell<Vec<Race<'a>>>,
    guards: OnceCell<Guards<'a>>,
}

impl<'p, 'a> Context<'p, 'a> {
    pub fn new(pkg: &'p Package<'a>, selection: &'p Selection) -> Self {
        Context {
            pkg,
            selection,
            analysis: OnceCell::new(),
            write_races: OnceCell::new(),
            read_races: OnceCell::new(),
            guards: OnceCell::new(),
        }
    }

    /// The package's concurrent contexts and their map accesses, found with
    /// GML001's write query and GML003's read query.
    pub fn analysis(&self) -> &Analysis<'a> {
        self.analysis
            .get_or_init(|| Analysis::new(self.pkg, &access_queries()))
    }

    pub fn spawn(&self, i: usize) -> &Spawn<'a> {
        &self.analysis().spawns[i]
    }

    /// Unsynchronized writes that can overlap another access (GML001).
    pub fn write_races(&self) -> &[Race<'a>] {
        self.write_races
            .get_or_init(|| self.analysis().write_races(self.pkg))
    }

    /// How the package's struct-field and package-level maps are guarded (GML006, GML007).
    pub fn guards(&self) -> &Guards<'a> {
        self.guards.get_or_init(|| {
            self.pkg
                .guards(&access_queries(), &self.analysis().concurrent)
        })
    }

    /// Whether another rule reports this access already.
    /// Only rules that run count: with GML001 ignored, GML006 reports its lines.
    pub fn reported_elsewhere(&self, file: usize, node: tree_sitter::Node<'_>) -> bool {
        let same = |r: &&Race<'_>| r.access.file == file && r.access.node.id() == node.id();
        self.selection.contains(unsynchronized_map_write::RULE.code)
            && self.write_races().iter().any(|r| same(&r))
            || self
                .selection
                .contains(concurrent_map_read_write::RULE.code)
                && self.read_races().iter().any(|r| same(&r))
    }

    /// Unlocked reads that can overlap a write (GML003).
    pub fn read_races(&self) -> &[Race<'a>] {
        self.read_races
            .get_or_init(|| self.analysis().read_races(self.pkg, self.write_races()))
    }
}

/// The codes of rules named by code or name; an unknown one is an error
/// that lists the rules.
pub fn codes(entries: &[String]) -> Result<Vec<&'static str>, String> {
    entries
        .iter()
        .map(|entry| {
            find(entry.trim()).map(|r| r.code).ok_or_else(|| {
                let codes: Vec<&str> = RULES.iter().map(|r| r.code).collect();
                format!(
                    "no rule `{}`; the rules are {} (see `gomaplint --list-rules`)",
                    entry.trim(),
                    codes.join(", ")
                )
            })
        })
        .collect()
}

/// Which rules run: all by default, narrowed by `--select` and `--ignore`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    codes: Vec<&'static str>,
}

impl Default for Selection {
    fn default() -> Self {
        Selection {
            codes: RULES.iter().map(|r| r.code).collect(),
        }
    }
}

impl Selection {
    /// `select` (empty: all rules) minus `ignore`; each entry a code or a name.
    pub fn new(select: &[String], ignore: &[String]) -> Result<Self, String> {
        let select = codes(select)?;
        let ignore = codes(ignore)?;
        let select = (!select.is_empty()).then_some(select.as_slice());
        Ok(Selection::layered(&[(select, &ignore)]))
    }

    /// Layers of choices, each `(select, ignore)`: a layer's `select`, when
    /// given, replaces what the layers before chose; its `ignore` removes.
    /// The configuration file is one layer, the command line the next.
    pub fn layered(layers: &[(Option<&[&'static str]>, &[&'static str])]) -> Self {
        let mut codes: Vec<&'static str> = RULES.iter().map(|r| r.code).collect();
        for (select, ignore) in layers {
            if let Some(select) = select {
                codes = RULES
                    .iter()
                    .map(|r| r.code)
                    .filter(|c| select.contains(c))
                    .collect();
            }
            codes.retain(|c| !ignore.contains(c));
        }
        Selection { codes }
    }

    pub fn contains(&self, code: &str) -> bool {
        self.codes.contains(&code)
    }
}

/// Runs the selected rules on one package.
pub fn check_package(pkg: &Package<'_>, selection: &Selection) -> Vec<Diagnostic> {
    let ctx = Context::new(pkg, selection);
    let mut out = Vec::new();
    for rule in RULES.iter().filter(|r| selection.contains(r.code)) {
        (rule.check)(&ctx, &mut out);
    }
    one_per_map_per_statement(pkg, out)
}

/// Keeps the first of a rule's findings on the same map in the same
/// statement: `use(e.Env["GOPATH"], e.Env["GOWORK"])` is one race to fix,
/// not two. The map is the first name the message quotes.
fn one_per_map_per_statement(pkg: &Package<'_>, diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut seen = rustc_hash::FxHashSet::default();
    diagnostics
        .into_iter()
        .filter(|d| {
            let Some(file) = pkg.files.iter().position(|f| f.display == d.span.path) else {
                return true;
            };
            let statement = statement_at(pkg, file, d.span.start_byte, d.span.end_byte);
            let map = d.message.split('`').nth(1).unwrap_or_default().to_string();
            seen.insert((d.code, file, statement, map))
        })
        .collect()
}

/// The byte range of the innermost statement around a span (the span's own
/// when it is in no statement): the nearest node whose parent is a statement
/// list, so that a loop's `range` clause and the statements of its body are
/// apart.
fn statement_at(pkg: &Package<'_>, file: usize, start: usize, end: usize) -> (usize, usize) {
    let source = pkg.files[file];
    if !source.is_parsed() {
        return (start, end);
    }
    let root = source.tree().root_node();
    let Some(node) = root.descendant_for_byte_range(start, end) else {
        return (start, end);
    };
    let mut chain: Vec<tree_sitter::Node<'_>> = crate::model::ancestors(node).collect();
    chain.insert(0, node);
    chain
        .windows(2)
        .find(|w| w[1].kind() == "statement_list")
        .map_or((start, end), |w| (w[0].start_byte(), w[0].end_byte()))
}
