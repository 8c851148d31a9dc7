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

    /// The index of a capture that the query must define.
    pub fn capture(&self, capture: &str) -> u32 {
        self.query
            .capture_index_for_name(capture)
            .unwrap_or_else(|| panic!("queries/{}.scm has no capture @{capture}", self.name))
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

/// The queries the package model shares between rules.
pub const SHARED: &[(&str, &str)] = &[SPAWNS];

fn compile(name: &'static str, source: &str) -> CompiledQuery {
    CompiledQuery::new(name, source).unwrap_or_else(|e| panic!("bundled query is invalid: {e}"))
}

pub static SPAWNS_QUERY: LazyLock<CompiledQuery> = LazyLock::new(|| compile(SPAWNS.0, SPAWNS.1));
