//! The tree-sitter queries under `queries/`, compiled once and shared by all threads.

use std::sync::LazyLock;

use tree_sitter::{Query, QueryCursor, QueryMatch, StreamingIterator};

use crate::parse::language;

/// A compiled query with its captures looked up by name.
pub struct CompiledQuery {
    pub name: &'static str,
    pub query: Query,
}

impl CompiledQuery {
    /// Compiles `source`, rejecting predicates that tree-sitter would silently ignore.
    pub fn new(name: &'static str, source: &str) -> Result<Self, String> {
        let query = Query::new(&language(), source).map_err(|e| {
            format!(
                "queries/{name}.scm: {e} (row {}, column {})",
                e.row + 1,
                e.column + 1
            )
        })?;
        for pattern in 0..query.pattern_count() {
            if let Some(predicate) = query.general_predicates(pattern).first() {
                return Err(format!(
                    "queries/{name}.scm: unsupported predicate `#{}` in pattern {}: tree-sitter would ignore it",
                    predicate.operator,
                    pattern + 1
                ));
            }
        }
        Ok(CompiledQuery { name, query })
    }

    /// The same query with only the patterns for which `keep(index)` holds.
    pub fn with_patterns(mut self, keep: impl Fn(usize) -> bool) -> Self {
        for i in 0..self.query.pattern_count() {
            if !keep(i) {
                self.query.disable_pattern(i);
            }
        }
        self
    }

    /// The index of a capture that the query must define.
    pub fn capture(&self, capture: &str) -> u32 {
        self.query
            .capture_index_for_name(capture)
            .unwrap_or_else(|| panic!("queries/{}.scm has no capture @{capture}", self.name))
    }

    /// Calls `f` for every match inside `node` that starts at or after byte `from`.
    pub fn for_each_match_from<'t>(
        &self,
        node: tree_sitter::Node<'t>,
        text: &[u8],
        from: usize,
        mut f: impl FnMut(&QueryMatch<'_, 't>),
    ) {
        let mut cursor = QueryCursor::new();
        cursor.set_byte_range(from.max(node.start_byte())..node.end_byte());
        let mut matches = cursor.matches(&self.query, node, text);
        while let Some(m) = matches.next() {
            f(m);
        }
    }

    /// Calls `f` for every match inside `node`.
    pub fn for_each_match<'t>(
        &self,
        node: tree_sitter::Node<'t>,
        text: &[u8],
        mut f: impl FnMut(&QueryMatch<'_, 't>),
    ) {
        let mut cursor = QueryCursor::new();
        let mut matches = cursor.matches(&self.query, node, text);
        while let Some(m) = matches.next() {
            f(m);
        }
    }
}

/// Query sources, named like their files. Rule queries are listed in the rule registry.
pub const SPAWNS: (&str, &str) = ("spawns", include_str!("../queries/spawns.scm"));
pub const CALLS: (&str, &str) = ("calls", include_str!("../queries/calls.scm"));

/// The queries the package model shares between rules.
pub const SHARED: &[(&str, &str)] = &[SPAWNS, CALLS];

/// Whether `text` contains any of `needles`: a query whose matches all need one
/// of these words is skipped on files without them (most files, for most queries).
pub fn mentions_any(text: &[u8], needles: &[&str]) -> bool {
    needles
        .iter()
        .any(|n| memchr::memmem::find(text, n.as_bytes()).is_some())
}

fn compile(name: &'static str, source: &str) -> CompiledQuery {
    CompiledQuery::new(name, source).unwrap_or_else(|e| panic!("bundled query is invalid: {e}"))
}

/// `spawns.scm` in two parts, each run only on files that mention its words:
/// the `go` statement pattern (the first), and the calls that start code.
pub static GO_QUERY: LazyLock<CompiledQuery> =
    LazyLock::new(|| compile(SPAWNS.0, SPAWNS.1).with_patterns(|i| i == 0));
pub static SPAWN_CALLS_QUERY: LazyLock<CompiledQuery> =
    LazyLock::new(|| compile(SPAWNS.0, SPAWNS.1).with_patterns(|i| i != 0));
pub static CALLS_QUERY: LazyLock<CompiledQuery> = LazyLock::new(|| compile(CALLS.0, CALLS.1));

/// Words that every match of `GO_QUERY` contains: the `go` keyword, after the
/// space, tab, newline, brace or semicolon that ends what comes before a statement.
pub const GO_WORDS: &[&str] = &[
    "\tgo ", " go ", "\ngo ", "{go ", ";go ", "\tgo(", " go(", "\ngo(", "{go(", ";go(", "\tgo\t",
    " go\t",
];
/// Words that every match of `SPAWN_CALLS_QUERY` contains.
pub const SPAWN_CALL_WORDS: &[&str] = &[
    ".Go(",
    ".TryGo(",
    "AfterFunc",
    "HandleFunc",
    "HandlerFunc",
    ".Run(",
];
