//! Test code: `_test.go` files, and helpers of other files that only tests
//! call. A test inspecting its own objects runs alone, unless it has started
//! goroutines that it has not yet waited for, or it runs in parallel with
//! other tests (`t.Parallel()`).

use tree_sitter::Node;

use super::spawn::calls_parallel;
use super::{Package, ancestors, walk};
use crate::syntax::{NodeExt, field};

/// How many callers up a helper is followed to the tests that call it.
const MAX_DEPTH: usize = 2;

impl<'a> Package<'a> {
    pub fn is_test_file(&self, file: usize) -> bool {
        self.files[file].display.ends_with("_test.go")
    }

    /// A test, benchmark, fuzz test, example or `TestMain` of a `_test.go`
    /// file, or a helper there that takes the test's `*testing.T`.
    pub fn is_test_entry(&self, file: usize, decl: Node<'a>) -> bool {
        if !self.is_test_file(file)
            || !matches!(
                decl.kind_name(),
                "function_declaration" | "method_declaration"
            )
        {
            return false;
        }
        let name = decl
            .child_by_field_id(field::NAME)
            .map_or("", |n| self.text(file, n));
        // A helper that takes the test's `*testing.T` runs in the test's goroutine.
        let takes_t = decl.child_by_field_id(field::PARAMETERS).is_some_and(|p| {
            let text = self.text(file, p);
            ["*testing.T", "testing.TB", "*testing.B"]
                .iter()
                .any(|t| text.contains(t))
        });
        takes_t
            || ["Test", "Benchmark", "Fuzz", "Example"]
                .iter()
                .any(|p| name.starts_with(p))
    }

    /// Whether the declaration `decl` is test code that runs alone: a test
    /// that does not call `t.Parallel()`, or a helper (of a `_test.go` file,
    /// or unexported) that only such code calls, where no goroutine of the
    /// caller runs. Exported functions of other files are API: other packages
    /// call them too.
    pub fn is_lone_test_code(&self, file: usize, decl: Node<'a>) -> bool {
        self.is_lone_test_code_at(file, decl, 0)
    }

    fn is_lone_test_code_at(&self, file: usize, decl: Node<'a>, depth: usize) -> bool {
        if self.is_test_entry(file, decl) {
            return !calls_parallel(self, file, decl);
        }
        if self.is_api(file, decl) && !self.is_test_file(file)
            || depth >= MAX_DEPTH
            || self.used_as_value(file, decl)
        {
            return false;
        }
        let sites = self.call_sites(file, decl);
        !sites.is_empty()
            && sites.iter().all(|site| {
                let Some(caller) = top_level(site.caller) else {
                    return false;
                };
                !self.in_started_literal(site.file, caller, site.call)
                    && self.is_lone_test_code_at(site.file, caller, depth + 1)
                    && !self.goroutines_running_at(site.file, caller, site.call)
            })
    }

    /// Whether `node` is test code that runs alone: in a test (or a helper
    /// only tests call) that has no goroutine of its own running at `node`,
    /// and that does not run in parallel with other tests.
    pub fn in_lone_test(&self, file: usize, node: Node<'a>) -> bool {
        let Some(top) = ancestors(node)
            .filter(|n| matches!(n.kind_name(), "function_declaration" | "method_declaration"))
            .last()
        else {
            return false;
        };
        self.is_lone_test_code(file, top)
            && !self.in_started_literal(file, top, node)
            && !self.goroutines_running_at(file, top, node)
    }

    /// Whether `node` is inside a function literal of `top` that may run
    /// later or elsewhere: a goroutine, a subtest, a callback. A literal
    /// called on the spot, or a local closure that is only ever called, runs
    /// in line.
    fn in_started_literal(&self, file: usize, top: Node<'a>, node: Node<'a>) -> bool {
        ancestors(node)
            .take_while(|n| n.id() != top.id())
            .filter(|n| n.kind_name() == "func_literal")
            .any(|lit| {
                let local_closure = lit
                    .parent()
                    .is_some_and(|p| p.kind_name() == "expression_list")
                    && !self.used_as_value(file, lit)
                    && !self.call_sites(file, lit).iter().any(|s| {
                        s.call
                            .parent()
                            .is_some_and(|g| g.kind_name() == "go_statement")
                    });
                // In a test, a callback handed to the test framework (`It(...,
                // func() {...})`, a sequential `t.Run`) runs in the test's goroutine.
                let framework_callback = self.is_test_file(file)
                    && lit
                        .parent()
                        .is_some_and(|p| p.kind_name() == "argument_list")
                    && lit.parent().and_then(|p| p.parent()).is_some_and(|call| {
                        self.static_callee_of(file, call).is_none()
                            && !call.child_by_field_id(field::FUNCTION).is_some_and(|f| {
                                let f = self.text(file, f);
                                [".Go", ".TryGo", "AfterFunc", "HandleFunc", "HandlerFunc"]
                                    .iter()
                                    .any(|s| f.ends_with(s))
                            })
                    })
                    && !super::spawn::calls_parallel(self, file, lit);
                !super::ownership::called_on_the_spot(lit) && !local_closure && !framework_callback
            })
    }

    /// Whether `func` has started a goroutine before `node` (a `go`
    /// statement, `g.Go(...)`) and not waited since (`x.Wait()`, a receive).
    fn goroutines_running_at(&self, file: usize, func: Node<'a>, node: Node<'a>) -> bool {
        let (mut running, until) = (false, node.start_byte());
        walk(func, |n| {
            if n.start_byte() >= until {
                return false;
            }
            match n.kind_name() {
                "go_statement" => {
                    running = true;
                    return false;
                }
                "func_literal" if n.end_byte() <= until => return false,
                "call_expression" => {
                    let f = n
                        .child_by_field_id(field::FUNCTION)
                        .map_or("", |f| self.text(file, f));
                    if f.ends_with(".Go") || f.ends_with(".TryGo") {
                        running = true;
                    } else if f.ends_with("Wait") && n.end_byte() <= until {
                        running = false;
                    }
                }
                "unary_expression"
                    if n.child_by_field_id(field::OPERATOR)
                        .is_some_and(|o| self.text(file, o) == "<-")
                        && n.end_byte() <= until =>
                {
                    running = false;
                }
                _ => {}
            }
            true
        });
        running
    }
}

/// The top-level declaration around a function (declaration or literal).
fn top_level(func: Node<'_>) -> Option<Node<'_>> {
    if matches!(
        func.kind_name(),
        "function_declaration" | "method_declaration"
    ) {
        return Some(func);
    }
    ancestors(func)
        .filter(|n| matches!(n.kind_name(), "function_declaration" | "method_declaration"))
        .last()
}
