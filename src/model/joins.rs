//! Ordering across functions: which calls start goroutines, which wait for
//! them, and which functions run only after their callers have waited for
//! every goroutine they started (`s.startWorkers(); ...; s.stopWorkers();
//! s.report()`).

use tree_sitter::Node;

use super::{Package, contains, walk};
use crate::syntax::{NodeExt, field};
use rustc_hash::FxHashMap;

/// How many calls deep a wait is looked for, and callers up a join.
const MAX_DEPTH: usize = 3;

/// Whether a node is inside a loop of its function.
fn in_loop(node: Node<'_>) -> bool {
    super::ancestors(node)
        .take_while(|n| !super::is_function(n.kind_name()))
        .any(|n| n.kind_name() == "for_statement")
}

#[derive(Default)]
pub struct JoinMemo<'a> {
    waits: FxHashMap<(usize, usize, usize), bool>,
    /// `joined_at`'s walk of each function, by (file, function node id).
    order: FxHashMap<(usize, usize), JoinOrder<'a>>,
}

/// A function's `go` statements and calls in walk order (not inside nested
/// function literals), with `joined_at`'s state before every
/// `JOIN_CHECKPOINT`th of them, so that a query resumes from the nearest.
struct JoinOrder<'a> {
    events: Vec<Node<'a>>,
    /// The largest end byte of `events[..i]`, for each `i` (and one more).
    max_end: Vec<usize>,
    /// The function literals inside the function, not nested in one another.
    literals: Vec<(usize, usize)>,
    /// (event index, spawned, joined), ascending.
    checkpoints: Vec<(usize, bool, bool)>,
}

const JOIN_CHECKPOINT: usize = 16;

impl<'a> JoinOrder<'a> {
    fn of(func: Node<'a>) -> Self {
        let mut order = JoinOrder {
            events: Vec::new(),
            max_end: vec![0],
            literals: Vec::new(),
            checkpoints: vec![(0, false, false)],
        };
        walk(func, |n| {
            if n.id() == func.id() {
                return true;
            }
            match n.kind_name() {
                "func_literal" => {
                    order.literals.push((n.start_byte(), n.end_byte()));
                    return false;
                }
                "go_statement" | "call_expression" => {
                    let end = order.max_end.last().copied().unwrap_or(0);
                    order.max_end.push(end.max(n.end_byte()));
                    order.events.push(n);
                    return n.kind_name() == "call_expression";
                }
                _ => {}
            }
            true
        });
        order
    }
}

impl<'a> Package<'a> {
    /// Whether a call waits for goroutines: `wg.Wait()`, errgroup's `Wait`,
    /// `closer.SignalAndWait()`, or a call of a package function that does.
    pub fn call_waits(&self, file: usize, call: Node<'a>, depth: usize) -> bool {
        let Some(function) = call.child_by_field_id(field::FUNCTION) else {
            return false;
        };
        if function.kind_name() == "selector_expression"
            && function
                .child_by_field_id(field::FIELD)
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
        if let Some(body) = decl.child_by_field_id(field::BODY) {
            walk(body, |n| {
                if found || n.kind_name() == "func_literal" || n.kind_name() == "go_statement" {
                    return false;
                }
                if n.kind_name() == "call_expression" {
                    found = self.call_waits(cfile, n, depth + 1);
                }
                !found
            });
        }
        self.join_memo.borrow_mut().waits.insert(key, found);
        found
    }

    /// Whether a call is itself a wait (`wg.Wait()`, `c.SignalAndWait()`),
    /// not a call of a function that waits somewhere inside.
    fn waits_itself(&self, file: usize, call: Node<'a>) -> bool {
        call.child_by_field_id(field::FUNCTION).is_some_and(|f| {
            f.kind_name() == "selector_expression"
                && f.child_by_field_id(field::FIELD)
                    .is_some_and(|m| self.text(file, m).ends_with("Wait"))
        })
    }

    /// Whether, at `node` in `func`, every goroutine `func` started (itself
    /// or through the functions it called) has been waited for: something
    /// was started, then waited for, and nothing started since.
    pub fn joined_at(&self, file: usize, func: Node<'a>, node: Node<'a>) -> bool {
        let at = node.start_byte();
        let key = (file, func.id());
        let (mut i, mut spawned, mut joined, events) = {
            let mut memo = self.join_memo.borrow_mut();
            let order = memo.order.entry(key).or_insert_with(|| JoinOrder::of(func));
            // Inside a nested function literal, other literals are skipped
            // and this one is not: walk it all.
            let inside = order.literals.partition_point(|&(start, _)| start < at);
            if inside > 0 && order.literals[inside - 1].1 > at {
                drop(memo);
                return self.joined_at_walk(file, func, node);
            }
            // Events before `from` all end before `node`: every one counts.
            let from = order.max_end.partition_point(|&end| end <= at) - 1;
            let c = order.checkpoints.partition_point(|&(j, _, _)| j <= from) - 1;
            let (j, spawned, joined) = order.checkpoints[c];
            let end = order.events.partition_point(|e| e.start_byte() < at);
            (j, spawned, joined, order.events[j..end.max(j)].to_vec())
        };
        for n in events {
            self.join_step(file, n, at, &mut spawned, &mut joined);
            i += 1;
            if i % JOIN_CHECKPOINT == 0 && n.end_byte() <= at {
                let mut memo = self.join_memo.borrow_mut();
                let order = memo.order.get_mut(&key).expect("made above");
                if order.max_end[i] <= at {
                    let k = order.checkpoints.partition_point(|&(j, _, _)| j < i);
                    if order.checkpoints.get(k).is_none_or(|&(j, _, _)| j != i) {
                        order.checkpoints.insert(k, (i, spawned, joined));
                    }
                }
            }
        }
        joined
    }

    /// One `go` statement or call of `joined_at`'s walk, before byte `at`.
    fn join_step(
        &self,
        file: usize,
        n: Node<'a>,
        at: usize,
        spawned: &mut bool,
        joined: &mut bool,
    ) {
        match n.kind_name() {
            "go_statement" => {
                *spawned = true;
                *joined = false;
            }
            "call_expression" if n.end_byte() <= at => {
                let starts = self.starts_concurrency(file, n, 0);
                let waits = self.call_waits(file, n, 0);
                if starts && waits {
                    *joined = !*spawned || *joined;
                } else if starts {
                    *spawned = true;
                    *joined = false;
                } else if waits && (*spawned || self.waits_itself(file, n)) {
                    *joined = true;
                }
            }
            _ => {}
        }
    }

    /// `joined_at` by walking `func` up to `node`.
    fn joined_at_walk(&self, file: usize, func: Node<'a>, node: Node<'a>) -> bool {
        let (mut spawned, mut joined) = (false, false);
        walk(func, |n| {
            if n.start_byte() >= node.start_byte() {
                return false;
            }
            if n.id() != func.id() && n.kind_name() == "func_literal" && !contains(n, node) {
                return false;
            }
            match n.kind_name() {
                "go_statement" => {
                    spawned = true;
                    joined = false;
                    return false;
                }
                "call_expression" if n.end_byte() <= node.start_byte() => {
                    let starts = self.starts_concurrency(file, n, 0);
                    let waits = self.call_waits(file, n, 0);
                    if starts && waits {
                        // A function that starts goroutines and waits for them
                        // (`runAll()`) leaves none running when it returns.
                        joined = !spawned || joined;
                    } else if starts {
                        spawned = true;
                        joined = false;
                    } else if waits && (spawned || self.waits_itself(file, n)) {
                        // Its own goroutines, or, waited for right here
                        // (`closer.SignalAndWait()`), ones started elsewhere:
                        // a shutdown path waits for the workers, then tears
                        // down alone.
                        joined = true;
                    }
                }
                _ => {}
            }
            true
        });
        joined
    }

    /// The one goroutine that runs function `func`, when that is the only
    /// way it runs: it is the body of a single `go` statement, not in a loop
    /// (`go s.loop()`), or only such functions call it. (The `go` statement's
    /// file and node.) Exported functions and functions used as values may
    /// run anywhere.
    pub fn single_owner(&self, file: usize, func: Node<'a>) -> Option<(usize, Node<'a>)> {
        self.single_owner_at(file, func, 0)
    }

    fn single_owner_at(
        &self,
        file: usize,
        func: Node<'a>,
        depth: usize,
    ) -> Option<(usize, Node<'a>)> {
        if depth >= MAX_DEPTH
            || self.used_as_value(file, func)
            || matches!(
                func.kind_name(),
                "function_declaration" | "method_declaration"
            ) && self.is_api(file, func)
        {
            return None;
        }
        // A literal started with `go func() { ... }()`.
        if func.kind_name() == "func_literal" {
            let go = func
                .parent()
                .filter(|c| c.kind_name() == "call_expression")
                .and_then(|c| c.parent())
                .filter(|g| g.kind_name() == "go_statement")?;
            return (!in_loop(go)).then_some((file, go));
        }
        let sites = self.call_sites(file, func);
        let mut owner: Option<(usize, Node<'a>)> = None;
        for site in sites.iter() {
            let this = match site
                .call
                .parent()
                .filter(|g| g.kind_name() == "go_statement")
            {
                Some(go) if !in_loop(go) => (site.file, go),
                Some(_) => return None,
                None => {
                    let caller = self.static_lock_scope(site.file, site.call);
                    self.single_owner_at(site.file, caller, depth + 1)?
                }
            };
            match owner {
                None => owner = Some(this),
                Some(o) if o.0 == this.0 && o.1.id() == this.1.id() => {}
                Some(_) => return None,
            }
        }
        owner
    }

    /// Whether the unexported function `decl` is only called after its
    /// callers have waited for the goroutines they started (or from
    /// functions that are), so that it runs alone.
    pub fn runs_after_join(&self, file: usize, decl: Node<'a>, depth: usize) -> bool {
        if depth >= MAX_DEPTH
            || !matches!(
                decl.kind_name(),
                "function_declaration" | "method_declaration"
            )
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
