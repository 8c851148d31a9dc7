//! Set-up phases: code that runs before any other goroutine of the package
//! can: `init` functions, package variable initialisers, and the unexported
//! functions that only those call. A map written only there is read-only
//! afterwards. Also functions documented as running once the concurrent
//! work is over ("Called after all functions have been compiled").

use tree_sitter::Node;

use super::Package;
use crate::syntax::{NodeExt, field};

/// How many callers up a helper is followed to `init`.
const MAX_DEPTH: usize = 3;

impl<'a> Package<'a> {
    /// Whether the top-level declaration `decl` only runs during the
    /// package's set-up: it is `init`, or an unexported function that only
    /// set-up code calls (and that nothing uses as a value).
    pub fn is_setup_function(&self, file: usize, decl: Node<'a>) -> bool {
        self.is_setup_function_at(file, decl, 0)
    }

    fn is_setup_function_at(&self, file: usize, decl: Node<'a>, depth: usize) -> bool {
        match decl.kind_name() {
            // A call in a package variable's initialiser.
            "var_declaration" | "source_file" => return true,
            "function_declaration" | "method_declaration" => {}
            _ => return false,
        }
        let name = decl
            .child_by_field_id(field::NAME)
            .map_or("", |n| self.text(file, n));
        if decl.kind_name() == "function_declaration" && name == "init" {
            return true;
        }
        if says_runs_alone(&self.doc_comment(file, decl)) {
            return true;
        }
        if depth >= MAX_DEPTH
            || name.is_empty()
            || self.is_api(file, decl)
            || self.used_as_value(file, decl)
        {
            return false;
        }
        let sites = self.call_sites(file, decl);
        !sites.is_empty()
            && sites.iter().all(|site| {
                top_level(site.caller)
                    .is_some_and(|caller| self.is_setup_function_at(site.file, caller, depth + 1))
            })
    }
}

/// The top-level declaration around a function, or a package variable's
/// declaration around a call in its initialiser.
fn top_level(node: Node<'_>) -> Option<Node<'_>> {
    let mut top = None;
    let mut n = Some(node);
    while let Some(current) = n {
        if matches!(
            current.kind_name(),
            "function_declaration" | "method_declaration" | "var_declaration"
        ) {
            top = Some(current);
        }
        if current.kind_name() == "source_file" {
            break;
        }
        n = current.parent();
    }
    top
}

/// A doc comment that places the function in a phase of its own, after the
/// concurrent work: "Called after all functions have been compiled", "must
/// not be called during the parallel portion".
pub fn says_runs_alone(doc: &str) -> bool {
    let doc = doc.to_lowercase();
    [
        "called after all",
        "called only after all",
        "runs after all",
        "not be called during parallel",
        "not be called during the parallel",
    ]
    .iter()
    .any(|p| doc.contains(p))
}
