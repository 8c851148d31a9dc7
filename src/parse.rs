//! The Go grammar and one tree-sitter parser per worker thread.

use std::cell::RefCell;

use tree_sitter::{Language, Parser, Tree};

pub fn language() -> Language {
    tree_sitter_go::LANGUAGE.into()
}

thread_local! {
    static PARSER: RefCell<Parser> = RefCell::new({
        let mut parser = Parser::new();
        parser
            .set_language(&language())
            .expect("the bundled tree-sitter-go grammar matches the tree-sitter runtime");
        parser
    });
}

/// Parses Go source. tree-sitter recovers from syntax errors, so a tree is
/// always produced; `None` only if parsing was cancelled, which we never do.
pub fn parse(text: &[u8]) -> Option<Tree> {
    PARSER.with(|parser| {
        let mut parser = parser.borrow_mut();
        parser.reset();
        parser.parse(text, None)
    })
}
