//! The Go grammar and one tree-sitter parser per worker thread.

use std::cell::RefCell;

use tree_sitter::{Language, Parser, Tree};

/// Makes tree-sitter allocate with mimalloc instead of the C library's
/// malloc: its trees are millions of small blocks, which two threads
/// allocate and free faster with mimalloc (the standard library's lint took
/// about 9 s with malloc, 7.5 s with mimalloc, at the same peak memory).
/// Call it first thing, before anything of tree-sitter is made: a block must
/// be freed by the allocator that made it. Later calls do nothing.
pub fn use_mimalloc() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: called before any tree-sitter object exists (see above),
        // with mimalloc's C functions, which have the signatures of malloc,
        // calloc, realloc and free.
        unsafe {
            tree_sitter::set_allocator(
                Some(libmimalloc_sys::mi_malloc),
                Some(libmimalloc_sys::mi_calloc),
                Some(libmimalloc_sys::mi_realloc),
                Some(libmimalloc_sys::mi_free),
            );
        }
    });
}

/// Returns the memory this thread has freed to the system now. mimalloc
/// keeps freed pages for a while for reuse; after a large package, another
/// thread may start the next large one before they go, and the two would
/// add up in the peak.
pub fn release_freed_memory() {
    // SAFETY: `mi_collect` only tidies the calling thread's heap.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

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

thread_local! {
    static LAZY_PARSE_TIME: std::cell::Cell<std::time::Duration> = const {
        std::cell::Cell::new(std::time::Duration::ZERO)
    };
}

/// `parse`, timed: the time adds to this thread's lazy parse time.
pub fn parse_lazily(text: &[u8]) -> Option<Tree> {
    let start = std::time::Instant::now();
    let tree = parse(text);
    LAZY_PARSE_TIME.with(|t| t.set(t.get() + start.elapsed()));
    tree
}

/// This thread's time in `parse_lazily` since the last call.
pub fn take_lazy_parse_time() -> std::time::Duration {
    LAZY_PARSE_TIME.with(|t| t.replace(std::time::Duration::ZERO))
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
