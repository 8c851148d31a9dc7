//! Ordering across functions: which calls start goroutines, which wait for
//! them, and which functions run only after their callers have waited for
//! every goroutine they started (`s.startWorkers(); ...; s.stopWorkers();
//! s.report()`).

use std::collections::HashMap;

use tree_sitter::Node;

use super::{Package, contains, walk};

/// How many calls deep a wait is looked for, and callers up a join.
const MAX_DEPTH: usize = 3;

#[derive(Default)]
pub struct JoinMemo {
    waits: HashMap<(usize, usize, usize), bool>,
}

impl<'a> Package<'a> {
    /// Whether a call waits for goroutines: `wg.Wait()`, errgroup's `Wait`,
    /// `closer.SignalAndWait()`, or a call of a package function that does.
    pub fn call_waits(&self, file: usize, call: Node<'a>, depth: usize) -> bool {
        let Some(function) = call.child_by_field_name("function") else {
            return false;
        };
        if function.kind() == "selector_expression"
            && function
                .child_by_field_name("field")
                .is_some_and(|m| self.text(file, m).ends_with("Wait"))
        {
            return true;
        }
        if depth >= MAX_DEPTH {
            return false;
        }
        let Some((cfile, decl, _)) = self.static_callee_of(file, call) else {
            return false;
        };
        let key = (cfile, decl.start_byte(), depth);
        if let Some(&known) = self.join_memo.borrow().waits.get(&key) {
            return known;
        }
        let mut found = false;
        if let Some(body) = decl.child_by_field_name("body") {
            walk(body, |n| {
                if found || n.kind() == "func_literal" || n.kind() == "go_statement" {
                    return false;
                }
                if n.kind() == "call_expression" {
                    found = self.call_waits(cfile, n, depth + 1);
                }
                !found
            });
        }
        self.join_memo.borrow_mut().waits.insert(key, found);
        found
    }

    /// Whether, at `node` in `func`, every goroutine `func` started (itself
    /// or through the functions it called) has been waited for: something
    /// was started, then waited for, and nothing started since.
    pub fn joined_at(&self, file: usize, func: Node<'a>, node: Node<'a>) -> bool {
        let (mut spawned, mut joined) = (false, false);
        walk(func, |n| {
            if n.start_byte() >= node.start_byte() {
                return false;
            }
            if n.id() != func.id() && n.kind() == "func_literal" && !contains(n, node) {
                return false;
            }
            match n.kind() {
                "go_statement" => {
                    spawned = true;
                    joined = false;
                    return false;
                }
                "call_expression" if n.end_byte() <= node.start_byte() => {
                    if self.starts_concurrency(file, n, 0) {
                        spawned = true;
                        joined = false;
                    } else if spawned && self.call_waits(file, n, 0) {
                        joined = true;
                    }
                }
                _ => {}
            }
            true
        });
        joined
    }

    /// Whether the unexported function `decl` is only called after its
    /// callers have waited for the goroutines they started (or from
    /// functions that are), so that it runs alone.
    pub fn runs_after_join(&self, file: usize, decl: Node<'a>, depth: usize) -> bool {
        if depth >= MAX_DEPTH
            || !matches!(decl.kind(), "function_declaration" | "method_declaration")
            || self.is_api(file, decl)
            || self.used_as_value(file, decl)
        {
            return false;
        }
        let all = self.call_sites(file, decl);
        // Tests that call internals directly count only when nothing else calls.
        let outside: Vec<_> = all.iter().filter(|s| !self.is_test_file(s.file)).collect();
        let sites: Vec<_> = if outside.is_empty() {
            all.iter().collect()
        } else {
            outside
        };
        !sites.is_empty()
            && sites.iter().all(|site| {
                let caller = self.static_lock_scope(site.file, site.call);
                self.joined_at(site.file, caller, site.call)
                    || self.runs_after_join(site.file, caller, depth + 1)
            })
    }
}
