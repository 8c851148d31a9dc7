//! A Go file: its bytes, its syntax tree (parsed when first asked for), and
//! byte-to-line/column mapping.

use std::path::PathBuf;
use std::sync::OnceLock;

use tree_sitter::{Node, Tree};

use crate::diagnostic::Span;

pub struct SourceFile {
    /// The path used to read the file.
    pub path: PathBuf,
    /// The path shown to users: as given on the command line, or relative to it.
    pub display: String,
    pub text: Vec<u8>,
    /// Parsed on first use: the model parses only the files its questions reach.
    tree: OnceLock<Tree>,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(path: PathBuf, display: String, text: Vec<u8>, tree: Tree) -> Self {
        let file = Self::unparsed(path, display, text);
        file.tree
            .set(tree)
            .unwrap_or_else(|_| unreachable!("a new file has no tree yet"));
        file
    }

    /// A file whose tree is parsed when first asked for.
    pub fn unparsed(path: PathBuf, display: String, text: Vec<u8>) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.iter()
                .enumerate()
                .filter(|&(_, &b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        SourceFile {
            path,
            display,
            text,
            tree: OnceLock::new(),
            line_starts,
        }
    }

    /// The syntax tree, parsed now if it was not yet. tree-sitter recovers
    /// from syntax errors, so there is always one.
    pub fn tree(&self) -> &Tree {
        self.tree.get_or_init(|| {
            crate::parse::parse_lazily(&self.text).expect("tree-sitter parses without a timeout")
        })
    }

    /// Whether the tree has been parsed.
    pub fn is_parsed(&self) -> bool {
        self.tree.get().is_some()
    }

    /// The text of a node; invalid UTF-8 yields an empty string, which never
    /// matches a Go identifier.
    pub fn text_of(&self, node: Node<'_>) -> &str {
        node.utf8_text(&self.text).unwrap_or("")
    }

    /// 1-based line and 1-based column counted in characters.
    pub fn line_col(&self, byte: usize) -> (usize, usize) {
        let byte = byte.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= byte) - 1;
        let start = self.line_starts[line];
        let prefix = &self.text[start..byte];
        let column = match std::str::from_utf8(prefix) {
            Ok(s) => s.chars().count(),
            Err(_) => String::from_utf8_lossy(prefix).chars().count(),
        };
        (line + 1, column + 1)
    }

    pub fn span(&self, start_byte: usize, end_byte: usize) -> Span {
        let (line, column) = self.line_col(start_byte);
        let (end_line, end_column) = self.line_col(end_byte);
        Span {
            path: self.display.clone(),
            line,
            column,
            end_line,
            end_column,
            start_byte,
            end_byte,
        }
    }

    pub fn node_span(&self, node: Node<'_>) -> Span {
        self.span(node.start_byte(), node.end_byte())
    }

    /// The first syntax error in the file, if any, as (line, column): the
    /// innermost error, since tree-sitter may wrap a whole file in one.
    pub fn first_syntax_error(&self) -> Option<(usize, usize)> {
        let mut node = self.tree().root_node();
        if !node.has_error() {
            return None;
        }
        'descend: loop {
            let mut cursor = node.walk();
            for child in node.children(&mut cursor) {
                if child.is_missing() {
                    return Some(self.line_col(child.start_byte()));
                }
                if child.has_error() {
                    node = child;
                    continue 'descend;
                }
            }
            return Some(self.line_col(node.start_byte()));
        }
    }
}
