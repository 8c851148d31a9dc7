//! The tree-sitter queries under `queries/`, compiled once and shared by all threads.

use std::sync::LazyLock;

use tree_sitter::{Query, QueryCursor, QueryMatch, StreamingIterator};

use crate::parse::language;
use rustc_hash::FxHashSet;

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

    /// Calls `f` for every match inside `node` when every match of this query
    /// contains one of `words` as a whole identifier or keyword (a `#eq?`
    /// or `#any-of?` text, or a keyword such as `go`). Instead of walking
    /// the whole tree, the cursor visits only the nodes around each
    /// occurrence of a word, which for the usual few occurrences is a small
    /// part of the tree. Each match is given once; with many occurrences
    /// the whole tree is walked as by `for_each_match`.
    pub fn for_each_match_near<'t>(
        &self,
        node: tree_sitter::Node<'t>,
        text: &[u8],
        words: &[&str],
        f: impl FnMut(&QueryMatch<'_, 't>),
    ) {
        let ranges = word_ranges(text, node.start_byte(), node.end_byte(), words);
        self.run_near(node, text, ranges, f);
    }

    /// `for_each_match_near` on a whole file, which is parsed only if one
    /// of the words is in it.
    pub fn for_each_match_near_file<'t>(
        &self,
        file: &'t crate::source::SourceFile,
        words: &[&str],
        f: impl FnMut(&QueryMatch<'_, 't>),
    ) {
        let ranges = word_ranges(&file.text, 0, file.text.len(), words);
        if ranges.as_ref().is_some_and(|r| r.is_empty()) {
            return;
        }
        self.run_near(file.tree().root_node(), &file.text, ranges, f);
    }

    /// The matches of the query around `ranges`; `None`: in the whole tree.
    fn run_near<'t>(
        &self,
        node: tree_sitter::Node<'t>,
        text: &[u8],
        ranges: Option<Vec<std::ops::Range<usize>>>,
        mut f: impl FnMut(&QueryMatch<'_, 't>),
    ) {
        let Some(mut ranges) = ranges else {
            return self.for_each_match(node, text, f);
        };
        if ranges.is_empty() {
            return;
        }
        ranges.sort_by_key(|r| (r.start, r.end));
        let mut seen: FxHashSet<(usize, Vec<(u32, usize)>)> = FxHashSet::default();
        let mut cursor = QueryCursor::new();
        for range in ranges {
            cursor.set_byte_range(range);
            let mut matches = cursor.matches(&self.query, node, text);
            while let Some(m) = matches.next() {
                let key = m.captures.iter().map(|c| (c.index, c.node.id())).collect();
                if seen.insert((m.pattern_index, key)) {
                    f(m);
                }
            }
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

/// Past this many occurrences of its words in one file, `for_each_match_near`
/// walks the whole tree: each occurrence costs a descent from the root.
const NEAR_LIMIT: usize = 48;

/// Whether a byte can be part of a Go identifier. Bytes of multi-byte UTF-8
/// characters count: outside strings and comments, such a character next to
/// a word can only be a letter of a longer identifier.
fn is_identifier_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
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
/// The keyword of every match of `GO_QUERY`, for `for_each_match_near`.
pub const GO_KEYWORD: &[&str] = &["go"];
/// The method names of the matches of `SPAWN_CALLS_QUERY`, for `for_each_match_near`.
pub const SPAWN_CALL_NAMES: &[&str] = &[
    "Go",
    "TryGo",
    "AfterFunc",
    "HandleFunc",
    "HandlerFunc",
    "Run",
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

/// The byte ranges of whole-word occurrences of `words` in `text[start..end]`;
/// `None` when there are more than `NEAR_LIMIT` (then a whole walk is cheaper).
/// Where the identifier `word` occurs whole in `text[start..end]`: the
/// offsets of its first byte. Comments and literals included.
pub(crate) fn word_occurrences<'t>(
    text: &'t [u8],
    start: usize,
    end: usize,
    word: &'t str,
) -> impl Iterator<Item = usize> + 't {
    let end = end.min(text.len());
    memchr::memmem::find_iter(&text[start..end], word.as_bytes())
        .map(move |at| start + at)
        .filter(move |&at| {
            let inside = |i: usize| text.get(i).is_some_and(|&b| is_identifier_byte(b));
            (at == 0 || !inside(at - 1)) && !inside(at + word.len())
        })
}

fn word_ranges(
    text: &[u8],
    start: usize,
    end: usize,
    words: &[&str],
) -> Option<Vec<std::ops::Range<usize>>> {
    let end = end.min(text.len());
    let mut ranges = Vec::new();
    for word in words {
        ranges.extend(word_occurrences(text, start, end, word).map(|at| at..at + word.len()));
        if ranges.len() > NEAR_LIMIT {
            return None;
        }
    }
    Some(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The matches of a pass, as (pattern, captures by index and node id), in order.
    fn matches(
        q: &CompiledQuery,
        tree: &tree_sitter::Tree,
        text: &[u8],
        near: Option<&[&str]>,
    ) -> Vec<(usize, Vec<(u32, usize)>)> {
        let mut found = Vec::new();
        let mut push = |m: &QueryMatch<'_, '_>| {
            let captures = m.captures.iter().map(|c| (c.index, c.node.id())).collect();
            found.push((m.pattern_index, captures));
        };
        match near {
            Some(words) => q.for_each_match_near(tree.root_node(), text, words, &mut push),
            None => q.for_each_match(tree.root_node(), text, &mut push),
        }
        found.sort();
        found
    }

    /// Every query run near its words, with those words, finds what the
    /// whole-tree pass finds, on every fixture and on corner cases.
    #[test]
    fn near_words_finds_every_match() {
        let rule = |name: &str| {
            let r = crate::rules::RULES
                .iter()
                .find(|r| r.file_stem() == name)
                .expect("a rule");
            compile(r.name, r.query)
        };
        let cases: Vec<(CompiledQuery, &[&str])> = vec![
            (
                compile(SPAWNS.0, SPAWNS.1).with_patterns(|i| i == 0),
                GO_KEYWORD,
            ),
            (
                compile(SPAWNS.0, SPAWNS.1).with_patterns(|i| i != 0),
                SPAWN_CALL_NAMES,
            ),
            (rule("recover_cannot_catch_map_race"), &["recover"]),
            (rule("map_write_under_rlock"), &["RLock"]),
            (rule("inconsistent_map_guard"), &["Lock", "RLock"]),
            (
                rule("sync_map_inner_map_mutation"),
                &["Load", "LoadOrStore", "LoadAndDelete", "Swap", "Range"],
            ),
        ];
        let mut texts: Vec<Vec<u8>> = vec![
            // A match holding a second occurrence, words in comments and strings,
            // and words next to identifier characters, multi-byte ones too.
            b"package p\nfunc f() {\n\tgo func() { go g(); recover() }() // go recover\n\ts := \"go RLock\"\n\tgo\xC3\xA9 := 1\n\tdefer recover()\n\tmu.RLock(); x.Lock()\n}\n".to_vec(),
            // More occurrences than `NEAR_LIMIT`: the whole tree is walked.
            format!("package p\nfunc f() {{\n{}}}\n", "\tgo g()\n".repeat(NEAR_LIMIT + 5)).into_bytes(),
        ];
        for entry in walkdir::WalkDir::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures")) {
            let entry = entry.expect("fixtures are readable");
            if entry.path().extension().is_some_and(|e| e == "go") {
                texts.push(std::fs::read(entry.path()).expect("a fixture reads"));
            }
        }
        let mut compared = 0;
        for text in &texts {
            let tree = crate::parse::parse(text).expect("parses");
            for (q, words) in &cases {
                let all = matches(q, &tree, text, None);
                compared += all.len();
                assert_eq!(
                    matches(q, &tree, text, Some(words)),
                    all,
                    "{} near {words:?} in {}",
                    q.name,
                    String::from_utf8_lossy(&text[..text.len().min(200)])
                );
            }
        }
        assert!(compared > 100, "the fixtures have matches to compare");
    }
}
