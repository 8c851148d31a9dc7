//! The locks a function runs with because its callers hold them: the locks
//! every call site in the package holds (intersected over the call sites,
//! named as the callee names them), including function literals that a
//! package function calls while it holds a lock (`withLock(func() { ... })`)
//! and local closures called under a lock. Call sites on values that the
//! caller made and has not shared (constructors) do not break the
//! intersection. Functions named `...Locked`, or documented as running with a
//! lock held, run with it by their own statement.

use tree_sitter::Node;

use super::callgraph::{CallSite, FuncKey, func_key};
use super::locks::LockMode;
use super::scope::{BindKind, ParamRole, Resolved};
use super::{Package, ancestors, enclosing_function, walk};
use crate::syntax::{NodeExt, field};
use rustc_hash::FxHashMap;

/// How many callers up the locks are followed.
const MAX_DEPTH: usize = 4;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntryLocks {
    /// Named `...Locked`, or documented as running with a lock held or
    /// never concurrently: the function says which lock, in words.
    pub documented: bool,
    /// Every call site holds some lock.
    pub any: bool,
    /// Every call site holds some write lock (`Lock`, not only `RLock`).
    pub write: bool,
    /// The locks every call site holds, named as this function names them
    /// (`s.mu` for its receiver `s`, `mu` for a package variable).
    pub named: Vec<(String, LockMode)>,
}

impl EntryLocks {
    /// Some lock is held on entry, by the callers or by the function's own statement.
    pub fn held(&self) -> bool {
        self.documented || self.any
    }

    pub fn write_held(&self) -> bool {
        self.documented || self.write
    }
}

#[derive(Default)]
pub struct EntryLockMemo {
    /// By function and depth: the answer is a function of both, whatever
    /// order the questions come in.
    entry: FxHashMap<(FuncKey, usize), EntryLocks>,
}

/// A doc comment that says the caller must hold a lock, or that the function
/// must not run concurrently with others ("must not be called concurrent with
/// any Import/Export method").
pub fn says_lock_held(doc: &str) -> bool {
    let doc = doc.to_lowercase();
    if [
        "must not be called concurrent",
        "not be called concurrently",
        "not safe for concurrent",
        "must not run concurrently",
    ]
    .iter()
    .any(|p| doc.contains(p))
    {
        return true;
    }
    let names_lock = doc.contains("lock") || doc.contains("mutex") || doc.contains("mu ");
    [
        "must be held",
        "must hold",
        "must be locked",
        "lock held",
        "locked by the caller",
        "caller holds",
        "caller must hold",
        "with the lock held",
        "while holding",
        "should be guarded",
        "should be held",
        "is held",
    ]
    .iter()
    .any(|p| doc.contains(p))
        || doc.contains(" held") && names_lock
        || doc.contains("assumes") && (doc.contains("locked") || doc.contains("held"))
        || doc.contains("requires") && names_lock
        || doc.contains("called with") && (doc.contains("locked") || doc.contains("held"))
}

impl<'a> Package<'a> {
    /// The doc comment of a declaration as plain words: `//` and `/* */`
    /// markers dropped, lines joined.
    pub fn doc_comment(&self, file: usize, decl: Node<'a>) -> String {
        let mut lines = Vec::new();
        let mut prev = decl.prev_named_sibling();
        while let Some(c) = prev.filter(|c| c.kind_name() == "comment") {
            let text = self.text(file, c);
            let text = text
                .strip_prefix("//")
                .or_else(|| text.strip_prefix("/*"))
                .unwrap_or(text);
            lines.push(text.strip_suffix("*/").unwrap_or(text).to_string());
            prev = c.prev_named_sibling();
        }
        lines.reverse();
        lines
            .join(" ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Whether a declaration says it runs with its caller's lock: named
    /// `...Locked` or `..._locked`, or documented so.
    pub fn documented_lock_held(&self, file: usize, decl: Node<'a>) -> bool {
        if !matches!(
            decl.kind_name(),
            "function_declaration" | "method_declaration"
        ) {
            return false;
        }
        let name = decl
            .child_by_field_id(field::NAME)
            .map_or("", |n| self.text(file, n));
        name.ends_with("Locked")
            || name.ends_with("_locked")
            || says_lock_held(&self.doc_comment(file, decl))
    }

    /// The locks `func` (a declaration or function literal) runs with, held by its callers.
    pub fn entry_locks(&self, file: usize, func: Node<'a>) -> EntryLocks {
        self.entry_locks_at(file, func, 0)
    }

    fn entry_locks_at(&self, file: usize, func: Node<'a>, depth: usize) -> EntryLocks {
        // Past the depth limit nothing is known to be held.
        if depth > MAX_DEPTH {
            return EntryLocks::default();
        }
        let key = (func_key(file, func), depth);
        if let Some(known) = self.entry_lock_memo.borrow().entry.get(&key) {
            return known.clone();
        }
        let locks = self.compute_entry_locks(file, func, depth);
        self.entry_lock_memo
            .borrow_mut()
            .entry
            .insert(key, locks.clone());
        locks
    }

    fn compute_entry_locks(&self, file: usize, func: Node<'a>, depth: usize) -> EntryLocks {
        if self.documented_lock_held(file, func) {
            return EntryLocks {
                documented: true,
                any: true,
                write: true,
                named: Vec::new(),
            };
        }
        if func.kind_name() == "func_literal" && self.is_spawned_literal(file, func)
            || self.used_as_value(file, func)
        {
            return EntryLocks::default();
        }
        let all = self.call_sites(file, func);
        // Tests that call internals directly run alone: they count only when nothing else calls.
        let outside_tests: Vec<&CallSite<'a>> =
            all.iter().filter(|s| !self.is_test_file(s.file)).collect();
        let sites: Vec<&CallSite<'a>> = if outside_tests.is_empty() {
            all.iter().collect()
        } else {
            outside_tests
        };
        // A recursive call holds what the outer call held.
        let sites: Vec<&CallSite<'a>> = sites
            .into_iter()
            .filter(|s| {
                !(s.file == file && self.static_lock_scope(s.file, s.call).id() == func.id())
            })
            .collect();
        let mut locks: Option<EntryLocks> = None;
        for site in sites {
            let held = self.held_at_site(site, file, func, depth);
            // A constructor calling it on a value nobody else has yet holds no
            // lock, and needs none: it does not count.
            if !held.any
                && site
                    .receiver
                    .is_some_and(|r| self.is_private(site.file, r, site.call))
            {
                continue;
            }
            locks = Some(match locks {
                None => held,
                Some(mut prev) => {
                    prev.any &= held.any;
                    prev.write &= held.write;
                    prev.named.retain(|l| held.named.contains(l));
                    prev
                }
            });
            if locks.as_ref().is_some_and(|l| !l.any && l.named.is_empty()) {
                break;
            }
        }
        locks.unwrap_or_default()
    }

    /// The locks held at one call site, named as the callee names them.
    fn held_at_site(
        &self,
        site: &CallSite<'a>,
        callee_file: usize,
        callee: Node<'a>,
        depth: usize,
    ) -> EntryLocks {
        // `go f()` runs f in a new goroutine: no lock of the starter is held there.
        if site
            .call
            .parent()
            .is_some_and(|p| p.kind_name() == "go_statement")
        {
            return EntryLocks::default();
        }
        let scope = self.static_lock_scope(site.file, site.call);
        let local = self.locks_at(site.file, site.call, scope);
        let outer = self.entry_locks_at(site.file, scope, depth + 1);
        let mut held: Vec<(String, LockMode)> = local
            .held
            .iter()
            .map(|l| (l.receiver.clone(), l.mode))
            .collect();
        held.extend(outer.named.iter().cloned());
        let any = !held.is_empty() || outer.held();
        let write = held.iter().any(|(_, m)| *m == LockMode::Write) || outer.write_held();
        let mut named: Vec<(String, LockMode)> = held
            .into_iter()
            .filter_map(|(lock, mode)| {
                self.translate_lock(site, callee_file, callee, &lock)
                    .map(|l| (l, mode))
            })
            .collect();
        named.sort();
        named.dedup();
        EntryLocks {
            documented: false,
            any,
            write,
            named,
        }
    }

    /// The function whose lock state counts at `node`: its function, or for a
    /// function literal that runs on the spot or as a callback (not a
    /// goroutine or a task), the function around it.
    pub fn static_lock_scope(&self, file: usize, node: Node<'a>) -> Node<'a> {
        let mut func = enclosing_function(node).unwrap_or(node);
        while func.kind_name() == "func_literal" && !self.is_spawned_literal(file, func) {
            // A literal with call sites of its own runs where they are.
            if !self.call_sites(file, func).is_empty() {
                break;
            }
            match enclosing_function(func) {
                Some(outer) => func = outer,
                None => break,
            }
        }
        func
    }

    /// A function literal that runs concurrently with the code around it:
    /// `go func() { ... }()`, or a task handed to `g.Go`, `time.AfterFunc`,
    /// an HTTP mux, or a subtest.
    pub fn is_spawned_literal(&self, file: usize, lit: Node<'a>) -> bool {
        let Some(parent) = lit.parent() else {
            return false;
        };
        if parent.kind_name() == "call_expression" {
            return parent
                .parent()
                .is_some_and(|g| g.kind_name() == "go_statement");
        }
        if parent.kind_name() != "argument_list" {
            return false;
        }
        parent
            .parent()
            .and_then(|call| call.child_by_field_id(field::FUNCTION))
            .is_some_and(|f| {
                let f = self.text(file, f);
                [
                    ".Go",
                    ".TryGo",
                    "AfterFunc",
                    "HandleFunc",
                    "HandlerFunc",
                    ".Run",
                ]
                .iter()
                .any(|s| f.ends_with(s))
            })
    }

    /// A lock held at a call site (`x.mu` in the caller), named as the
    /// callee names it (`s.mu` for its receiver `s`), when it can be named there.
    fn translate_lock(
        &self,
        site: &CallSite<'a>,
        callee_file: usize,
        callee: Node<'a>,
        lock: &str,
    ) -> Option<String> {
        let root = lock.split('.').next().unwrap_or(lock);
        // A package-level mutex is the same everywhere.
        if self.var(root).is_some() {
            return Some(lock.to_string());
        }
        if callee.kind_name() == "func_literal" {
            // A local closure called under a lock of its own function sees the same names.
            let Some(outer) = site.outer else {
                return Some(lock.to_string());
            };
            // The literal sees the variables around it: a lock of the package
            // function that calls it is named through the arguments of the
            // call that passed the literal (`withLock(&s.mu, func() { ... })`).
            let literal_file = callee_file;
            let (params, _) = self.param_names(site.file, site.caller);
            let args = call_args(outer);
            for (i, p) in params.iter().enumerate() {
                if let Some(rest) = strip_root(lock, p) {
                    let arg = args.get(i)?;
                    return Some(format!("{}{rest}", plain(self.text(literal_file, *arg))));
                }
            }
            return None;
        }
        let (params, receiver) = self.param_names(callee_file, callee);
        if let Some((vfile, outer, operand)) = site.via_value {
            // From the wrapper's names to its caller's, then to the method's.
            let wrapper = super::ancestors(site.call)
                .filter(|n| matches!(n.kind_name(), "function_declaration" | "method_declaration"))
                .last()?;
            let (wparams, wreceiver) = self.param_names(site.file, wrapper);
            let mut in_caller = None;
            if let (Some(name), Some(recv)) = (
                wreceiver,
                outer
                    .child_by_field_id(field::FUNCTION)
                    .and_then(|f| f.child_by_field_id(field::OPERAND)),
            ) {
                if let Some(rest) = strip_root(lock, &name) {
                    in_caller = Some(format!("{}{rest}", plain(self.text(vfile, recv))));
                }
            }
            let args = call_args(outer);
            for (i, p) in wparams.iter().enumerate() {
                if in_caller.is_none() {
                    if let (Some(rest), Some(arg)) = (strip_root(lock, p), args.get(i)) {
                        in_caller = Some(format!("{}{rest}", plain(self.text(vfile, *arg))));
                    }
                }
            }
            let in_caller = in_caller?;
            let recv_name = receiver?;
            let rest = strip_root(&in_caller, plain(self.text(vfile, operand)))?;
            return Some(format!("{recv_name}{rest}"));
        }
        if let (Some(recv_name), Some(recv)) = (receiver, site.receiver) {
            if let Some(rest) = strip_root(lock, plain(self.text(site.file, recv))) {
                return Some(format!("{recv_name}{rest}"));
            }
        }
        for (i, p) in params.iter().enumerate() {
            if let Some(arg) = site.args.get(i) {
                if let Some(rest) = strip_root(lock, plain(self.text(site.file, *arg))) {
                    return Some(format!("{p}{rest}"));
                }
            }
        }
        None
    }

    /// The names of a function's parameters, in order, and of its receiver.
    fn param_names(&self, file: usize, func: Node<'a>) -> (Vec<String>, Option<String>) {
        let mut params = Vec::new();
        if let Some(list) = func.child_by_field_id(field::PARAMETERS) {
            let mut cursor = list.walk();
            for p in list.named_children(&mut cursor) {
                let mut c = p.walk();
                let names: Vec<Node<'a>> = p.children_by_field_name("name", &mut c).collect();
                if names.is_empty() {
                    params.push(String::new());
                }
                params.extend(names.iter().map(|n| self.text(file, *n).to_string()));
            }
        }
        let receiver = func
            .child_by_field_id(field::RECEIVER)
            .and_then(|r| r.named_child(0))
            .and_then(|p| p.child_by_field_id(field::NAME))
            .map(|n| self.text(file, n).to_string());
        (params, receiver)
    }

    /// The locks held at `node` in `scope` (a function that contains it, as
    /// `static_lock_scope` gives), its own and its callers', named as `scope`
    /// names them; and whether the callers hold some lock (or the function
    /// says they do) that may not be among the names. A function that takes a
    /// lock only when a `bool` parameter says so (`if doLock { s.mu.Lock() }`)
    /// is followed for each call site with the argument passed there.
    pub fn locks_with_callers(
        &self,
        file: usize,
        node: Node<'a>,
        scope: Node<'a>,
    ) -> (Vec<(String, LockMode)>, bool) {
        let entry = self.entry_locks(file, scope);
        let own = |cond: super::locks::Conditions<'_, 'a>| -> Vec<(String, LockMode)> {
            self.locks_at_with(file, node, scope, cond)
                .held
                .into_iter()
                .map(|l| (l.receiver, l.mode))
                .collect()
        };
        if !entry.documented && self.has_conditional_lock(file, scope) {
            let sites = self.call_sites(file, scope);
            if !sites.is_empty() && !self.used_as_value(file, scope) {
                let mut result: Option<Vec<(String, LockMode)>> = None;
                let mut any_held = true;
                for site in sites.iter() {
                    let cond =
                        |c: Node<'a>| self.known_condition(file, scope, &site.args, site.file, c);
                    // A call whose arguments rule out the branch `node` is in does not reach it.
                    if !reachable(node, scope, &cond) {
                        continue;
                    }
                    let mut held = own(&cond);
                    let callers = self.held_at_site(site, file, scope, 0);
                    any_held &= !held.is_empty() || callers.held();
                    held.extend(callers.named);
                    result = Some(match result {
                        None => held,
                        Some(prev) => prev.into_iter().filter(|l| held.contains(l)).collect(),
                    });
                }
                return (result.unwrap_or_default(), any_held);
            }
        }
        // No condition known: `locks_at`, which keeps lock sets along long functions.
        let mut held: Vec<(String, LockMode)> = self
            .locks_at(file, node, scope)
            .held
            .into_iter()
            .map(|l| (l.receiver, l.mode))
            .collect();
        held.extend(entry.named.iter().cloned());
        (held, entry.held())
    }

    /// Whether `func` takes a lock under `if p` or `if !p`, for a parameter `p`.
    fn has_conditional_lock(&self, file: usize, func: Node<'a>) -> bool {
        let key = (file, func.id());
        if let Some(&found) = self.conditional_lock_memo.borrow().get(&key) {
            return found;
        }
        let found = self.find_conditional_lock(file, func);
        self.conditional_lock_memo.borrow_mut().insert(key, found);
        found
    }

    fn find_conditional_lock(&self, file: usize, func: Node<'a>) -> bool {
        let Some(body) = func.child_by_field_id(field::BODY) else {
            return false;
        };
        let mut found = false;
        walk(body, |n| {
            if found || n.kind_name() == "func_literal" {
                return false;
            }
            if n.kind_name() == "if_statement" {
                let on_param = n.child_by_field_id(field::CONDITION).is_some_and(|c| {
                    let ident = if c.kind_name() == "unary_expression" {
                        c.child_by_field_id(field::OPERAND)
                    } else {
                        Some(c)
                    };
                    ident.is_some_and(|i| {
                        i.kind_name() == "identifier"
                            && matches!(self.resolve(file, i), Resolved::Local(b)
                                if matches!(b.kind, BindKind::Param { func: f, .. } if f.id() == func.id()))
                    })
                });
                if on_param {
                    walk(n, |m| {
                        found |= super::locks::lock_call(self, file, m).is_some();
                        !found
                    });
                }
            }
            !found
        });
        found
    }

    /// What is known, on one call path, about `if` conditions in `func`: a
    /// `bool` parameter (or its negation) whose argument is `true` or `false`.
    pub fn known_condition(
        &self,
        file: usize,
        func: Node<'a>,
        args: &[Node<'a>],
        args_file: usize,
        cond: Node<'a>,
    ) -> Option<bool> {
        if cond.kind_name() == "binary_expression" {
            let op = cond
                .child_by_field_id(field::OPERATOR)
                .map(|o| self.text(file, o));
            let (left, right) = (
                cond.child_by_field_id(field::LEFT)?,
                cond.child_by_field_id(field::RIGHT)?,
            );
            if let Some(op @ ("==" | "!=" | ">" | "<")) = op {
                return self.known_nil_comparison(file, func, args, args_file, op, left, right);
            }
            let l = self.known_condition(file, func, args, args_file, left);
            let r = self.known_condition(file, func, args, args_file, right);
            return match op {
                Some("&&") if l == Some(false) || r == Some(false) => Some(false),
                Some("&&") if l == Some(true) && r == Some(true) => Some(true),
                Some("||") if l == Some(true) || r == Some(true) => Some(true),
                Some("||") if l == Some(false) && r == Some(false) => Some(false),
                _ => None,
            };
        }
        let (ident, negated) = match cond.kind_name() {
            "identifier" => (cond, false),
            "unary_expression"
                if cond
                    .child_by_field_id(field::OPERATOR)
                    .is_some_and(|o| self.text(file, o) == "!") =>
            {
                (cond.child_by_field_id(field::OPERAND)?, true)
            }
            "parenthesized_expression" => {
                return self.known_condition(file, func, args, args_file, cond.named_child(0)?);
            }
            _ => return None,
        };
        let value = match self.argument_text(file, func, args, args_file, ident)? {
            "true" => true,
            "false" => false,
            _ => return None,
        };
        Some(value != negated)
    }

    /// The text of the argument that a call passes for `ident`, when `ident`
    /// names a parameter of `func`.
    fn argument_text(
        &self,
        file: usize,
        func: Node<'a>,
        args: &[Node<'a>],
        args_file: usize,
        ident: Node<'a>,
    ) -> Option<&str> {
        if ident.kind_name() != "identifier" {
            return None;
        }
        let Resolved::Local(b) = self.resolve(file, ident) else {
            return None;
        };
        let BindKind::Param {
            func: f,
            index,
            role: ParamRole::Param,
            ..
        } = b.kind
        else {
            return None;
        };
        if f.id() != func.id() {
            return None;
        }
        Some(self.text(args_file, *args.get(index)?))
    }

    /// `p == nil`, `p != nil`, `len(p) > 0`, `len(p) != 0`, `len(p) == 0`
    /// (and `0 < len(p)`) for a parameter `p` whose argument is `nil`.
    #[allow(clippy::too_many_arguments)]
    fn known_nil_comparison(
        &self,
        file: usize,
        func: Node<'a>,
        args: &[Node<'a>],
        args_file: usize,
        op: &str,
        left: Node<'a>,
        right: Node<'a>,
    ) -> Option<bool> {
        let (side, other, op) = match (self.text(file, left), self.text(file, right)) {
            (_, "nil" | "0") => (left, self.text(file, right), op),
            ("nil" | "0", _) => (
                right,
                self.text(file, left),
                match op {
                    ">" => "<",
                    "<" => ">",
                    o => o,
                },
            ),
            _ => return None,
        };
        let len_of = (side.kind_name() == "call_expression")
            .then(|| {
                let f = side.child_by_field_id(field::FUNCTION)?;
                let a = side.child_by_field_id(field::ARGUMENTS)?;
                (self.text(file, f) == "len" && a.named_child_count() == 1)
                    .then(|| a.named_child(0))
                    .flatten()
            })
            .flatten();
        let (param, is_len) = match (len_of, other) {
            (Some(p), "0") => (p, true),
            (None, "nil") => (side, false),
            _ => return None,
        };
        if self.argument_text(file, func, args, args_file, param)? != "nil" {
            return None;
        }
        // The argument is nil: the value is nil and its length 0.
        match (is_len, op) {
            (false, "==") | (true, "==") => Some(true),
            (false, "!=") | (true, "!=") | (true, ">") => Some(false),
            (true, "<") => Some(false),
            _ => None,
        }
    }
}

/// Whether `node` can run in `scope` on a path where `cond` holds: no `if`
/// around it picks the other branch.
pub(crate) fn reachable<'a>(
    node: Node<'a>,
    scope: Node<'a>,
    cond: super::locks::Conditions<'_, 'a>,
) -> bool {
    std::iter::once(node)
        .chain(ancestors(node))
        .take_while(|n| n.id() != scope.id())
        .all(|n| !ruled_out_branch(n, cond))
}

/// Whether `node` is the branch of an `if` that `cond` decides against: the
/// consequence of a condition known false, the alternative of one known true.
pub(crate) fn ruled_out_branch<'a>(node: Node<'a>, cond: super::locks::Conditions<'_, 'a>) -> bool {
    let Some(parent) = node.parent().filter(|p| p.kind_name() == "if_statement") else {
        return false;
    };
    let is = |field| {
        parent
            .child_by_field_name(field)
            .is_some_and(|b| b.id() == node.id())
    };
    let known = || parent.child_by_field_id(field::CONDITION).and_then(cond);
    is("consequence") && known() == Some(false) || is("alternative") && known() == Some(true)
}

/// `lock` with `root` taken off its front: `s.mu` with root `s` is `.mu`; the
/// embedded mutex `s` is ``.
fn strip_root<'s>(lock: &'s str, root: &str) -> Option<&'s str> {
    if root.is_empty() {
        return None;
    }
    if lock == root {
        return Some("");
    }
    lock.strip_prefix(root).filter(|r| r.starts_with('.'))
}

/// An argument as the object it names: `&s.mu` and `(s)` are `s.mu` and `s`.
fn plain(text: &str) -> &str {
    text.trim()
        .trim_start_matches('&')
        .trim_start_matches('(')
        .trim_end_matches(')')
}

fn call_args(call: Node<'_>) -> Vec<Node<'_>> {
    call.child_by_field_id(field::ARGUMENTS)
        .map(|a| {
            let mut c = a.walk();
            a.named_children(&mut c).collect()
        })
        .unwrap_or_default()
}
