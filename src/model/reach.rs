//! What code the goroutines that a function has started can run: the bodies
//! of its `go` statements and tasks (also those started by the package
//! functions it calls), the callbacks it handed to other packages, and the
//! package functions all of those call. A constructor that shares its value
//! with such goroutines races on a map only if that code touches the map.
//!
//! Two refinements keep this from taking every goroutine for a reader:
//! - A goroutine is *handed* the value under construction when its `go`
//!   statement or task passes the value itself (as receiver, argument or
//!   captured variable), also through the calls that lead to it. While the
//!   value is not yet published (stored where other code can find it), only
//!   handed goroutines can reach it: one started with `n.s` holds the server,
//!   not the node.
//! - A call's constant arguments rule out branches of the callee:
//!   `n.sendAppendEntry(nil)` does not reach the code under
//!   `if len(entries) > 0`.

use tree_sitter::Node;

use super::entry_locks::{reachable, ruled_out_branch};
use super::ownership::called_on_the_spot;
use super::spawn::GoroutineBody;
use super::{Package, contains, walk};
use crate::syntax::{NodeExt, field};
use rustc_hash::FxHashSet;

/// How many calls deep the code of a goroutine is followed.
const MAX_DEPTH: usize = 4;

/// Methods whose function argument runs concurrently.
const TASK_METHODS: &[&str] = &["Go", "TryGo", "AfterFunc", "HandleFunc", "Handle"];

/// A function that concurrent code may run, with the arguments of the call
/// that led there when they rule out some of its branches.
#[derive(Clone, Debug)]
pub struct Reached<'a> {
    pub file: usize,
    pub func: Node<'a>,
    /// The call's file and arguments, in the callee's parameter order.
    args: Option<(usize, Vec<Node<'a>>)>,
}

/// A goroutine or task root, and whether it was handed the tracked value.
struct Root<'a> {
    file: usize,
    func: Node<'a>,
    handed: bool,
}

impl<'a> Package<'a> {
    /// The functions (declarations and literals, with their files) that code
    /// started concurrently by `func` between bytes `from` and `until` may
    /// run; `None` when that code cannot be seen (a task handed to another
    /// package that is not a function of this one).
    ///
    /// With `object` (the name, in `func`, of a value it is building and has
    /// not published), only goroutines handed that value count.
    pub fn concurrent_code(
        &self,
        file: usize,
        func: Node<'a>,
        from: usize,
        until: usize,
        object: Option<&str>,
    ) -> Option<Vec<Reached<'a>>> {
        let mut roots = Vec::new();
        self.started_in(file, func, from, until, 0, object, &mut roots)?;
        // Everything those run, following calls.
        let mut seen: FxHashSet<(usize, usize, String)> = FxHashSet::default();
        let mut out = Vec::new();
        let mut frontier: Vec<(Reached<'a>, usize)> = roots
            .into_iter()
            .filter(|r| object.is_none() || r.handed)
            .map(|r| {
                let reached = Reached {
                    file: r.file,
                    func: r.func,
                    args: None,
                };
                (reached, 0)
            })
            .collect();
        while let Some((r, depth)) = frontier.pop() {
            let signature = self.known_arguments(&r);
            if !seen.insert((r.file, r.func.start_byte(), signature)) {
                continue;
            }
            if depth < MAX_DEPTH {
                let f = r.file;
                self.walk_reachable(&r, |c| {
                    if c.kind_name() == "call_expression"
                        && let Some((cf, decl, _)) = self.static_callee_of(f, c)
                    {
                        let args = c.child_by_field_id(field::ARGUMENTS).map(|a| {
                            let mut cursor = a.walk();
                            (f, a.named_children(&mut cursor).collect())
                        });
                        let callee = Reached {
                            file: cf,
                            func: decl,
                            args,
                        };
                        frontier.push((callee, depth + 1));
                    }
                });
            }
            out.push(r);
        }
        Some(out)
    }

    /// Whether `node` (in `file`) is in code that `code` reaches: inside one
    /// of its functions, in a branch the call's arguments do not rule out.
    pub fn reaches(&self, code: &[Reached<'a>], file: usize, node: Node<'a>) -> bool {
        code.iter().any(|r| {
            r.file == file
                && contains(r.func, node)
                && match &r.args {
                    None => true,
                    Some((args_file, args)) => {
                        let cond = |c| self.known_condition(r.file, r.func, args, *args_file, c);
                        reachable(node, r.func, &cond)
                    }
                }
        })
    }

    /// The nil, `true` and `false` arguments of the call that reached `r`:
    /// the same function reached with other ones is another visit.
    fn known_arguments(&self, r: &Reached<'a>) -> String {
        let Some((f, args)) = &r.args else {
            return String::new();
        };
        args.iter()
            .enumerate()
            .filter(|(_, a)| matches!(self.text(*f, **a), "nil" | "true" | "false"))
            .map(|(i, a)| format!("{i}={};", self.text(*f, *a)))
            .collect()
    }

    /// Visits the nodes of `r` that can run, skipping the branches its call's
    /// arguments rule out.
    fn walk_reachable(&self, r: &Reached<'a>, mut f: impl FnMut(Node<'a>)) {
        let cond = |c| match &r.args {
            Some((args_file, args)) => self.known_condition(r.file, r.func, args, *args_file, c),
            None => None,
        };
        walk(r.func, |n| {
            if r.args.is_some() && ruled_out_branch(n, &cond) {
                return false;
            }
            f(n);
            true
        });
    }

    /// The roots of concurrent code started in `func` between `from` and
    /// `until`; `tracked` names the value being followed in `func`.
    #[allow(clippy::too_many_arguments)]
    fn started_in(
        &self,
        file: usize,
        func: Node<'a>,
        from: usize,
        until: usize,
        depth: usize,
        tracked: Option<&str>,
        roots: &mut Vec<Root<'a>>,
    ) -> Option<()> {
        let mut unknown = false;
        walk(func, |n| {
            if unknown || n.end_byte() <= from || n.start_byte() >= until {
                return false;
            }
            match n.kind_name() {
                "go_statement" => {
                    let handed = tracked.is_some_and(|t| self.hands(file, n, t));
                    let function = n
                        .named_child(0)
                        .and_then(|call| call.child_by_field_id(field::FUNCTION));
                    match function.and_then(|f| self.body_of(file, f)) {
                        Some((f, body)) => roots.push(Root {
                            file: f,
                            func: body,
                            handed,
                        }),
                        // Code that cannot be seen cannot reach a value it was not handed.
                        None => unknown |= handed || tracked.is_none(),
                    }
                    return false;
                }
                // A callback that may run later: it runs whatever it runs.
                "func_literal" if n.id() != func.id() && !called_on_the_spot(n) => {
                    roots.push(Root {
                        file,
                        func: n,
                        handed: tracked.is_some_and(|t| self.hands(file, n, t)),
                    });
                    return false;
                }
                "call_expression" => {
                    let method = n
                        .child_by_field_id(field::FUNCTION)
                        .filter(|f| f.kind_name() == "selector_expression")
                        .and_then(|f| f.child_by_field_id(field::FIELD))
                        .map(|m| self.text(file, m));
                    if method.is_some_and(|m| TASK_METHODS.contains(&m)) {
                        let task = n
                            .child_by_field_id(field::ARGUMENTS)
                            .and_then(|a| a.named_child(a.named_child_count().checked_sub(1)?));
                        let handed =
                            tracked.is_some_and(|t| task.is_some_and(|k| self.hands(file, k, t)));
                        match task.and_then(|t| self.body_of(file, t)) {
                            Some((f, body)) => roots.push(Root {
                                file: f,
                                func: body,
                                handed,
                            }),
                            None => unknown |= handed || tracked.is_none(),
                        }
                    } else if depth < 3 && self.starts_concurrency(file, n, 0) {
                        match self.static_callee_of(file, n) {
                            Some((cf, decl, _)) => {
                                let inner =
                                    tracked.and_then(|t| self.handed_name(file, n, cf, decl, t));
                                let inner = inner.as_deref();
                                // A callee that was not handed the value starts
                                // nothing that holds it (when it is followed).
                                let tracked_inner = if tracked.is_some() {
                                    Some(inner.unwrap_or(""))
                                } else {
                                    None
                                };
                                if self
                                    .started_in(
                                        cf,
                                        decl,
                                        0,
                                        usize::MAX,
                                        depth + 1,
                                        tracked_inner,
                                        roots,
                                    )
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

    /// Whether `node` (a `go` statement, task or callback) hands over the
    /// value named `name`: uses it itself, not only a field of it. A function
    /// literal that mentions it captures it; `x.m` taken as a method value
    /// holds `x`.
    fn hands(&self, file: usize, node: Node<'a>, name: &str) -> bool {
        if name.is_empty() {
            return false;
        }
        let mut handed = false;
        walk(node, |n| {
            if handed {
                return false;
            }
            if n.kind_name() == "identifier" && self.text(file, n) == name {
                let in_literal = super::ancestors(n)
                    .take_while(|a| a.id() != node.id())
                    .any(|a| a.kind_name() == "func_literal")
                    || node.kind_name() == "func_literal";
                let field_of_it = n.parent().is_some_and(|p| {
                    p.kind_name() == "selector_expression"
                        && p.child_by_field_id(field::OPERAND)
                            .is_some_and(|o| o.id() == n.id())
                        && p.child_by_field_id(field::FIELD).is_some_and(|f| {
                            let field = self.text(file, f);
                            !self.has_methods_named(field)
                        })
                });
                handed = in_literal || !field_of_it;
            }
            !handed
        });
        handed
    }

    /// The name that callee `decl` gives the value named `name` at `call`:
    /// its receiver's when the call is `name.m(...)`, its parameter's when
    /// `name` is an argument.
    fn handed_name(
        &self,
        file: usize,
        call: Node<'a>,
        cfile: usize,
        decl: Node<'a>,
        name: &str,
    ) -> Option<String> {
        if name.is_empty() {
            return None;
        }
        let function = call.child_by_field_id(field::FUNCTION)?;
        let is_it = |e: Node<'a>| {
            let e = if e.kind_name() == "unary_expression" {
                e.child_by_field_id(field::OPERAND).unwrap_or(e)
            } else {
                e
            };
            e.kind_name() == "identifier" && self.text(file, e) == name
        };
        let index = if function.kind_name() == "selector_expression"
            && function
                .child_by_field_id(field::OPERAND)
                .is_some_and(is_it)
        {
            None
        } else {
            let args = call.child_by_field_id(field::ARGUMENTS)?;
            let mut cursor = args.walk();
            let position = args.named_children(&mut cursor).position(is_it)?;
            Some(position)
        };
        let b = self.param_binding(cfile, decl, index)?;
        Some(self.text(cfile, b.name).to_string())
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
