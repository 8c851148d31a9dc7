//! What code the goroutines that a function has started can run: the bodies
//! of its `go` statements and tasks (also those started by the package
//! functions it calls), the callbacks it handed to other packages, and the
//! package functions all of those call. A constructor that shares its value
//! with such goroutines races on a map only if that code touches the map.

use std::collections::HashSet;

use tree_sitter::Node;

use super::ownership::called_on_the_spot;
use super::spawn::GoroutineBody;
use super::{Package, walk};

/// How many calls deep the code of a goroutine is followed.
const MAX_DEPTH: usize = 4;

/// Methods whose function argument runs concurrently.
const TASK_METHODS: &[&str] = &["Go", "TryGo", "AfterFunc", "HandleFunc", "Handle"];

impl<'a> Package<'a> {
    /// The functions (declarations and literals, with their files) that code
    /// started concurrently by `func` between bytes `from` and `until` may
    /// run; `None` when that code cannot be seen (a task handed to another
    /// package that is not a function of this one).
    pub fn concurrent_code(
        &self,
        file: usize,
        func: Node<'a>,
        from: usize,
        until: usize,
    ) -> Option<Vec<(usize, Node<'a>)>> {
        let mut roots = Vec::new();
        self.started_in(file, func, from, until, 0, &mut roots)?;
        // Everything those run, following calls.
        let mut seen: HashSet<(usize, usize)> = HashSet::new();
        let mut out = Vec::new();
        let mut frontier: Vec<(usize, Node<'a>, usize)> =
            roots.into_iter().map(|(f, n)| (f, n, 0)).collect();
        while let Some((f, n, depth)) = frontier.pop() {
            if !seen.insert((f, n.start_byte())) {
                continue;
            }
            out.push((f, n));
            if depth >= MAX_DEPTH {
                continue;
            }
            walk(n, |c| {
                if c.kind() == "call_expression" {
                    if let Some((cf, decl, _)) = self.static_callee_of(f, c) {
                        frontier.push((cf, decl, depth + 1));
                    }
                }
                true
            });
        }
        Some(out)
    }

    /// The roots of concurrent code started in `func` between `from` and `until`.
    fn started_in(
        &self,
        file: usize,
        func: Node<'a>,
        from: usize,
        until: usize,
        depth: usize,
        roots: &mut Vec<(usize, Node<'a>)>,
    ) -> Option<()> {
        let mut unknown = false;
        walk(func, |n| {
            if unknown || n.end_byte() <= from || n.start_byte() >= until {
                return false;
            }
            match n.kind() {
                "go_statement" => {
                    let function = n
                        .named_child(0)
                        .and_then(|call| call.child_by_field_name("function"));
                    match function.and_then(|f| self.body_of(file, f)) {
                        Some(root) => roots.push(root),
                        None => unknown = true,
                    }
                    return false;
                }
                // A callback that may run later: it runs whatever it runs.
                "func_literal" if n.id() != func.id() && !called_on_the_spot(n) => {
                    roots.push((file, n));
                    return false;
                }
                "call_expression" => {
                    let method = n
                        .child_by_field_name("function")
                        .filter(|f| f.kind() == "selector_expression")
                        .and_then(|f| f.child_by_field_name("field"))
                        .map(|m| self.text(file, m));
                    if method.is_some_and(|m| TASK_METHODS.contains(&m)) {
                        let task = n
                            .child_by_field_name("arguments")
                            .and_then(|a| a.named_child(a.named_child_count().checked_sub(1)?));
                        match task.and_then(|t| self.body_of(file, t)) {
                            Some(root) => roots.push(root),
                            None => unknown = true,
                        }
                    } else if depth < 3 && self.starts_concurrency(file, n, 0) {
                        match self.static_callee_of(file, n) {
                            Some((cf, decl, _)) => {
                                if self
                                    .started_in(cf, decl, 0, usize::MAX, depth + 1, roots)
                                    .is_none()
                                {
                                    unknown = true;
                                }
                            }
                            None => unknown = true,
                        }
                    }
                }
                _ => {}
            }
            !unknown
        });
        (!unknown).then_some(())
    }

    /// The function a goroutine or task runs: a literal, or a package
    /// function or method named or taken as a value.
    fn body_of(&self, file: usize, function: Node<'a>) -> Option<(usize, Node<'a>)> {
        match self.goroutine_body(file, function)?.0 {
            GoroutineBody::Literal { file, lit } => Some((file, lit)),
            GoroutineBody::Function { file, decl } => Some((file, decl)),
        }
    }
}
