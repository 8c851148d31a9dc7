//! Which mutexes are held at a point of a function body, following its
//! statements in order: `x.Lock()` ... `x.Unlock()`, with `defer x.Unlock()`
//! keeping the lock to the end of the function.

use tree_sitter::Node;

use super::scope::{BindKind, ParamRole, Resolved};
use super::{Package, ancestors, block_statements, labeled_inner, walk};
use crate::syntax::{NodeExt, field};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LockMode {
    /// `Lock`: excludes every other holder.
    Write,
    /// `RLock`: shared with other readers; does not permit writes.
    Read,
}

/// A lock held at some point: the receiver expression as written (`mu`,
/// `s.mu`, or `s` for an embedded mutex), and the call that took it.
#[derive(Clone, Debug)]
pub struct HeldLock<'a> {
    pub receiver: String,
    pub mode: LockMode,
    pub call: Node<'a>,
}

#[derive(Clone, Debug, Default)]
pub struct LockSet<'a> {
    pub held: Vec<HeldLock<'a>>,
}

impl<'a> LockSet<'a> {
    pub fn holds_write_lock(&self) -> bool {
        self.held.iter().any(|l| l.mode == LockMode::Write)
    }

    pub fn read_lock(&self) -> Option<&HeldLock<'a>> {
        self.held.iter().find(|l| l.mode == LockMode::Read)
    }
}

/// `x.Lock()` and friends as an expression statement: (the lock's name, as
/// `canonical_lock` gives it, the method name, the call).
pub fn lock_call<'a, 's>(
    pkg: &'s Package<'a>,
    file: usize,
    stmt: Node<'a>,
) -> Option<(String, &'s str, Node<'a>)> {
    if stmt.kind_name() != "expression_statement" {
        return None;
    }
    lock_call_expr(pkg, file, stmt.named_child(0)?)
}

/// `x.Lock()` and friends as a call expression: (the lock's name, the method
/// name, the call).
pub fn lock_call_expr<'a, 's>(
    pkg: &'s Package<'a>,
    file: usize,
    call: Node<'a>,
) -> Option<(String, &'s str, Node<'a>)> {
    if call.kind_name() != "call_expression"
        || call
            .child_by_field_id(field::ARGUMENTS)?
            .named_child_count()
            != 0
    {
        return None;
    }
    let function = call.child_by_field_id(field::FUNCTION)?;
    if function.kind_name() != "selector_expression" {
        return None;
    }
    let method = pkg.text(file, function.child_by_field_id(field::FIELD)?);
    if !matches!(method, "Lock" | "Unlock" | "RLock" | "RUnlock") {
        return None;
    }
    let receiver = pkg.canonical_lock(file, function.child_by_field_id(field::OPERAND)?);
    Some((receiver, method, call))
}

/// What is known about conditions on one path: `Some(true)` for an `if`
/// condition that holds there, `Some(false)` for one that does not. A call
/// site that passes `true` for a `doLock bool` parameter makes
/// `if doLock { mu.Lock() }` take the lock.
pub type Conditions<'c, 'a> = &'c dyn Fn(Node<'a>) -> Option<bool>;

/// Where control goes at the end of a statement list: on to the next
/// statement (with these locks), and out of the enclosing loop by `break`.
struct Flow<'a> {
    next: Option<LockSet<'a>>,
    breaks: Vec<LockSet<'a>>,
}

/// Follows a function body's statements in order, for one point of interest.
struct LockWalk<'p, 'c, 'a> {
    pkg: &'p Package<'a>,
    file: usize,
    /// The function whose statements are followed.
    scope: Node<'a>,
    cond: Conditions<'c, 'a>,
}

const MAX_DEPTH: usize = 16;

/// How often `locks_at` keeps the lock set along a statement list.
const LIST_CHECKPOINT: usize = 16;

/// A statement list's statements, and the lock set before some of them
/// (by index, ascending; the first is the set on entering the list).
pub(crate) struct ListLocks<'a> {
    stmts: Vec<Node<'a>>,
    checkpoints: Vec<(usize, LockSet<'a>)>,
}

impl<'a> Package<'a> {
    /// The locks held when `node` runs, counting only lock calls in `scope`
    /// (a function body that contains `node`). Locks taken inside a branch
    /// that does not contain `node` are not counted.
    pub fn locks_at(&self, file: usize, node: Node<'a>, scope: Node<'a>) -> LockSet<'a> {
        self.locks_along(file, node, scope, &|_| None, true)
    }

    /// `locks_at`, where `cond` says which `if` conditions are known on this path.
    pub fn locks_at_with(
        &self,
        file: usize,
        node: Node<'a>,
        scope: Node<'a>,
        cond: Conditions<'_, 'a>,
    ) -> LockSet<'a> {
        self.locks_along(file, node, scope, cond, false)
    }

    /// `locks_at_with`; with `memo` (only when no condition is known), the
    /// lock set before every `LIST_CHECKPOINT`th statement of a list is kept,
    /// so that the accesses of a long function do not each follow all the
    /// statements before them: the walk is a function of the statements alone.
    fn locks_along(
        &self,
        file: usize,
        node: Node<'a>,
        scope: Node<'a>,
        cond: Conditions<'_, 'a>,
        memo: bool,
    ) -> LockSet<'a> {
        let walk = LockWalk {
            pkg: self,
            file,
            scope,
            cond,
        };
        // The statement lists from `node` up to `scope`, with the child on the path.
        let mut chain = Vec::new();
        let mut child = node;
        for parent in ancestors(node) {
            if parent.kind_name() == "statement_list" {
                chain.push((parent, child));
            }
            if parent.id() == scope.id() {
                break;
            }
            child = parent;
        }
        let mut set = LockSet {
            held: self.held_on_entry(file, scope),
        };
        for (list, child) in chain.into_iter().rev() {
            if memo {
                set = self.list_locks_before(&walk, list, child, set);
                continue;
            }
            let mut cursor = list.walk();
            for stmt in list.named_children(&mut cursor) {
                if stmt.start_byte() >= child.start_byte() {
                    break;
                }
                walk.apply(stmt, &mut set, 0);
            }
        }
        set
    }

    /// The lock set after the statements of `list` before `child`, given the
    /// set on entering `list` (the same on every call for one list and scope).
    fn list_locks_before(
        &self,
        walk: &LockWalk<'_, '_, 'a>,
        list: Node<'a>,
        child: Node<'a>,
        entry: LockSet<'a>,
    ) -> LockSet<'a> {
        let key = (walk.file, walk.scope.id(), list.id());
        let (mut at, mut set, todo) = {
            let mut memo = self.list_lock_memo.borrow_mut();
            let known = memo.entry(key).or_insert_with(|| {
                let mut cursor = list.walk();
                ListLocks {
                    stmts: list.named_children(&mut cursor).collect(),
                    checkpoints: vec![(0, entry)],
                }
            });
            let end = known
                .stmts
                .partition_point(|s| s.start_byte() < child.start_byte());
            let from = known.checkpoints.partition_point(|(i, _)| *i <= end) - 1;
            let (at, set) = known.checkpoints[from].clone();
            (at, set, known.stmts[at..end].to_vec())
        };
        for stmt in todo {
            walk.apply(stmt, &mut set, 0);
            at += 1;
            if at % LIST_CHECKPOINT == 0 {
                let mut memo = self.list_lock_memo.borrow_mut();
                let known = memo.get_mut(&key).expect("made above");
                let i = known.checkpoints.partition_point(|(j, _)| *j < at);
                if known.checkpoints.get(i).is_none_or(|(j, _)| *j != at) {
                    known.checkpoints.insert(i, (at, set.clone()));
                }
            }
        }
        set
    }

    /// Locks that a function releases before it takes them: it runs with them
    /// held, taken by its caller or by the code that started it, until that
    /// `Unlock`. (A lock's first call in the function, in source order, is an
    /// unlock.)
    pub(crate) fn held_on_entry(&self, file: usize, scope: Node<'a>) -> Vec<HeldLock<'a>> {
        let key = (file, scope.id());
        if let Some(held) = self.held_on_entry_memo.borrow().get(&key) {
            return held.clone();
        }
        let held = self.find_held_on_entry(file, scope);
        self.held_on_entry_memo
            .borrow_mut()
            .insert(key, held.clone());
        held
    }

    fn find_held_on_entry(&self, file: usize, scope: Node<'a>) -> Vec<HeldLock<'a>> {
        // What it finds starts with an unlock, in this file (a local closure
        // that unlocks is in it too).
        if !["Unlock", "RUnlock"]
            .iter()
            .any(|w| self.lexicon.mentions(file, w))
        {
            return Vec::new();
        }
        let Some(body) = scope.child_by_field_id(field::BODY) else {
            return Vec::new();
        };
        let mut first: Vec<(String, LockMode, bool, Node<'a>)> = Vec::new();
        walk(body, |n| {
            if n.kind_name() == "func_literal" {
                return false;
            }
            // `defer mu.Unlock()` with no `Lock` before it releases a lock held on entry.
            let call = match n.kind_name() {
                "defer_statement" => n.named_child(0),
                "expression_statement" => Some(n),
                _ => return true,
            };
            let mut found: Vec<(String, &str, Node<'a>)> = call
                .and_then(|c| match c.kind_name() {
                    "call_expression" => lock_call_expr(self, file, c),
                    _ => lock_call(self, file, c),
                })
                .into_iter()
                .collect();
            // `lock()`, a local closure that locks, counts as its lock calls.
            if found.is_empty() && n.kind_name() == "expression_statement" {
                if let Some(list) = self.local_lock_closure(file, n) {
                    walk(list, |c| {
                        found.extend(lock_call(self, file, c));
                        c.kind_name() != "func_literal"
                    });
                }
            }
            for (receiver, method, call) in found {
                let mode = mode_of(method);
                if !first
                    .iter()
                    .any(|(r, m, _, _)| *r == receiver && *m == mode)
                {
                    first.push((receiver, mode, matches!(method, "Unlock" | "RUnlock"), call));
                }
            }
            n.kind_name() != "defer_statement"
        });
        first
            .into_iter()
            .filter(|(_, _, unlock, _)| *unlock)
            .map(|(receiver, mode, _, call)| HeldLock {
                receiver: receiver.to_string(),
                mode,
                call,
            })
            .collect()
    }
}

impl<'a> Package<'a> {
    /// The statement list of a local function literal without arguments that
    /// locks or unlocks, called as a statement: `accLock()`.
    pub fn local_lock_closure(&self, file: usize, stmt: Node<'a>) -> Option<Node<'a>> {
        let call = stmt
            .named_child(0)
            .filter(|c| c.kind_name() == "call_expression")?;
        let function = call.child_by_field_id(field::FUNCTION)?;
        if function.kind_name() != "identifier"
            || call
                .child_by_field_id(field::ARGUMENTS)?
                .named_child_count()
                != 0
        {
            return None;
        }
        let Resolved::Local(b) = self.resolve(file, function) else {
            return None;
        };
        let BindKind::Var { decl, index } = b.kind else {
            return None;
        };
        let field = if decl.kind_name() == "short_var_declaration" {
            "right"
        } else {
            "value"
        };
        let lit = decl.child_by_field_name(field)?.named_child(index)?;
        if lit.kind_name() != "func_literal" {
            return None;
        }
        let list = block_statements(lit.child_by_field_id(field::BODY)?)?;
        let mut locks = false;
        walk(list, |n| {
            locks |= lock_call(self, file, n).is_some();
            !locks && n.kind_name() != "func_literal"
        });
        locks.then_some(list)
    }
}

fn mode_of(method: &str) -> LockMode {
    if matches!(method, "Lock" | "Unlock") {
        LockMode::Write
    } else {
        LockMode::Read
    }
}

impl<'a> LockWalk<'_, '_, 'a> {
    /// Updates `set` for one statement that runs before the point of interest.
    fn apply(&self, stmt: Node<'a>, set: &mut LockSet<'a>, depth: usize) {
        let mut breaks = Vec::new();
        if !self.apply_flow(stmt, set, &mut breaks, depth) {
            // The statement never falls through: nothing after it runs from here.
            // Keep the locks as they were: the point of interest is reached some other way.
        }
    }

    /// Applies `stmt` to `set`; `false` when it never falls through. `break`s
    /// out of an enclosing loop add their lock sets to `breaks`.
    fn apply_flow(
        &self,
        stmt: Node<'a>,
        set: &mut LockSet<'a>,
        breaks: &mut Vec<LockSet<'a>>,
        depth: usize,
    ) -> bool {
        if depth > MAX_DEPTH {
            return true;
        }
        match stmt.kind_name() {
            "labeled_statement" => {
                return match labeled_inner(stmt) {
                    Some(inner) => self.apply_flow(inner, set, breaks, depth + 1),
                    None => true,
                };
            }
            "if_statement" => return self.apply_if(stmt, set, breaks, depth),
            "expression_switch_statement" | "type_switch_statement" | "select_statement" => {
                return self.apply_cases(stmt, set, breaks, depth);
            }
            "for_statement" => return self.apply_for(stmt, set, depth),
            "block" => {
                let flow = self.block_flow(stmt, set, depth);
                breaks.extend(flow.breaks);
                return match flow.next {
                    Some(next) => {
                        *set = next;
                        true
                    }
                    None => false,
                };
            }
            "break_statement" => {
                // `break Label` may leave more than the innermost loop: not followed.
                if stmt.named_child_count() == 0 {
                    breaks.push(set.clone());
                }
                return false;
            }
            "return_statement" | "continue_statement" | "goto_statement" => return false,
            "expression_statement" if self.exits(stmt) => return false,
            _ => {}
        }
        if let Some((receiver, method, call)) = lock_call(self.pkg, self.file, stmt) {
            apply_lock_call(set, &receiver, method, call);
        } else if let Some(body) = self.pkg.local_lock_closure(self.file, stmt) {
            // `accLock()` where `accLock := func() { if isq { ... }; acc.mu.Lock() }`:
            // the closure's statements run here.
            if let Some(next) = self.list_flow(body, set, depth + 1).next {
                *set = next;
            }
        }
        true
    }

    /// `panic(...)`, `log.Fatal(...)`, `os.Exit(...)`: the function does not go on.
    fn exits(&self, stmt: Node<'a>) -> bool {
        stmt.named_child(0)
            .and_then(|c| c.child_by_field_id(field::FUNCTION))
            .is_some_and(|f| {
                matches!(
                    self.pkg.text(self.file, f),
                    "panic" | "log.Fatal" | "log.Fatalf" | "log.Fatalln" | "os.Exit"
                )
            })
    }

    /// An `if` before the point of interest: afterwards, a lock is held if
    /// every branch that falls through holds it. A condition known on this
    /// path (`cond`) picks its branch.
    fn apply_if(
        &self,
        stmt: Node<'a>,
        set: &mut LockSet<'a>,
        breaks: &mut Vec<LockSet<'a>>,
        depth: usize,
    ) -> bool {
        // `if !hasLock { mu.Lock(); defer mu.Unlock() }` and `if doLock { ... }`:
        // a lock taken only when a parameter says the caller does not hold
        // it. Unless this path says otherwise, the lock is held after it:
        // taken here, or by the caller, by the function's own contract.
        if stmt.child_by_field_id(field::ALTERNATIVE).is_none() {
            if let Some(condition) = stmt.child_by_field_id(field::CONDITION) {
                if (self.cond)(condition).is_none() && self.is_param_flag(condition) {
                    if let Some(block) = stmt.child_by_field_id(field::CONSEQUENCE) {
                        let flow = self.block_flow(block, set, depth);
                        breaks.extend(flow.breaks);
                        if let Some(next) = flow.next {
                            let before = set.held.len();
                            let taken = next.held.len() > before;
                            if taken {
                                *set = next;
                                return true;
                            }
                        }
                    }
                }
            }
        }
        let mut outcomes: Vec<LockSet<'a>> = Vec::new();
        let mut branch = Some(stmt);
        while let Some(b) = branch {
            branch = None;
            let known = b
                .child_by_field_id(field::CONDITION)
                .and_then(|c| (self.cond)(c));
            if known != Some(false) {
                if let Some(block) = b.child_by_field_id(field::CONSEQUENCE) {
                    let flow = self.block_flow(block, set, depth);
                    outcomes.extend(flow.next);
                    breaks.extend(flow.breaks);
                }
            }
            if known == Some(true) {
                break;
            }
            match b.child_by_field_id(field::ALTERNATIVE) {
                Some(alt) if alt.kind_name() == "if_statement" => branch = Some(alt),
                Some(alt) => {
                    let flow = self.block_flow(alt, set, depth);
                    outcomes.extend(flow.next);
                    breaks.extend(flow.breaks);
                }
                // No else: the condition may be false and skip every branch.
                None => outcomes.push(set.clone()),
            }
        }
        meet(set, &outcomes)
    }

    /// A condition that is a parameter of the function, or its negation: `doLock`, `!hasLock`.
    fn is_param_flag(&self, condition: Node<'a>) -> bool {
        let ident = match condition.kind_name() {
            "identifier" => Some(condition),
            "unary_expression"
                if condition
                    .child_by_field_id(field::OPERATOR)
                    .is_some_and(|o| self.pkg.text(self.file, o) == "!") =>
            {
                condition.child_by_field_id(field::OPERAND)
            }
            _ => None,
        };
        ident.is_some_and(|i| {
            i.kind_name() == "identifier"
                && matches!(self.pkg.resolve(self.file, i), Resolved::Local(b)
                    if matches!(b.kind, BindKind::Param { func, role: ParamRole::Param, .. }
                        if func.id() == self.scope.id()))
        })
    }

    /// A `switch` or `select` before the point of interest: a lock is held
    /// afterwards if every case that falls through holds it. A `switch`
    /// without `default` may run no case at all; a `select` always runs one.
    /// A `break` in a case leaves the `switch`, not a loop around it.
    fn apply_cases(
        &self,
        stmt: Node<'a>,
        set: &mut LockSet<'a>,
        _breaks: &mut Vec<LockSet<'a>>,
        depth: usize,
    ) -> bool {
        let mut outcomes: Vec<LockSet<'a>> = Vec::new();
        let mut has_default = stmt.kind_name() == "select_statement";
        let mut cursor = stmt.walk();
        for case in stmt.named_children(&mut cursor) {
            if !matches!(
                case.kind_name(),
                "expression_case" | "type_case" | "communication_case" | "default_case"
            ) {
                continue;
            }
            has_default |= case.kind_name() == "default_case";
            let mut c = case.walk();
            let list = case
                .named_children(&mut c)
                .find(|n| n.kind_name() == "statement_list");
            match list {
                Some(list) => {
                    let flow = self.list_flow(list, set, depth);
                    outcomes.extend(flow.next);
                    outcomes.extend(flow.breaks);
                }
                None => outcomes.push(set.clone()),
            }
        }
        if !has_default {
            outcomes.push(set.clone());
        }
        meet(set, &outcomes)
    }

    /// A loop before the point of interest. Afterwards a lock is held if it is
    /// held when the loop ends normally and at every `break`: a lock taken and
    /// released in the body changes nothing, and a lock taken in a retry loop
    /// and kept at `break` is held after it. `for { ... }` ends only by `break`.
    fn apply_for(&self, stmt: Node<'a>, set: &mut LockSet<'a>, depth: usize) -> bool {
        let header = {
            let mut cursor = stmt.walk();
            stmt.named_children(&mut cursor)
                .find(|c| !matches!(c.kind_name(), "block" | "comment"))
        };
        let endless = header.is_none_or(|h| {
            h.kind_name() == "for_clause" && h.child_by_field_id(field::CONDITION).is_none()
        });
        let Some(body) = stmt.child_by_field_id(field::BODY) else {
            return true;
        };
        let flow = self.block_flow(body, set, depth);
        // `for _, p := range ps { p.mu.Lock() }`: every element's lock is held
        // after the loop, named `ps[*].mu`.
        if let (Some(header), Some(next)) = (header, flow.next.as_ref()) {
            if let Some(each) = self.locked_for_each(header, set, next) {
                set.held.extend(each);
                return true;
            }
        }
        let mut outcomes = flow.breaks;
        if !endless {
            // The loop may run no iteration, or end after one that keeps the locks.
            outcomes.push(set.clone());
            outcomes.extend(flow.next);
        }
        meet(set, &outcomes)
    }

    /// The locks a `range` loop's body takes on its element variable and
    /// keeps, renamed for every element of the ranged value.
    fn locked_for_each(
        &self,
        header: Node<'a>,
        before: &LockSet<'a>,
        after: &LockSet<'a>,
    ) -> Option<Vec<HeldLock<'a>>> {
        if header.kind_name() != "range_clause" {
            return None;
        }
        let left = header.child_by_field_id(field::LEFT)?;
        let value = left.named_child(left.named_child_count().checked_sub(1)?)?;
        if left.named_child_count() != 2 {
            return None;
        }
        let var = self.pkg.text(self.file, value);
        let ranged = self
            .pkg
            .text(self.file, header.child_by_field_id(field::RIGHT)?);
        let each: Vec<HeldLock<'a>> = after
            .held
            .iter()
            .filter(|l| !before.held.iter().any(|b| b.call.id() == l.call.id()))
            .filter_map(|l| {
                let rest = l
                    .receiver
                    .strip_prefix(var)
                    .filter(|r| r.is_empty() || r.starts_with('.'))?;
                Some(HeldLock {
                    receiver: format!("{ranged}[*]{rest}"),
                    mode: l.mode,
                    call: l.call,
                })
            })
            .collect();
        (!each.is_empty()).then_some(each)
    }

    fn block_flow(&self, block: Node<'a>, set: &LockSet<'a>, depth: usize) -> Flow<'a> {
        match block_statements(block) {
            Some(list) => self.list_flow(list, set, depth),
            None => Flow {
                next: Some(set.clone()),
                breaks: Vec::new(),
            },
        }
    }

    /// The locks held at the end of a statement list entered with `set`
    /// (`None` when it always leaves), and at each `break` in it.
    fn list_flow(&self, list: Node<'a>, set: &LockSet<'a>, depth: usize) -> Flow<'a> {
        let mut out = set.clone();
        let mut breaks = Vec::new();
        let mut cursor = list.walk();
        for stmt in list.named_children(&mut cursor) {
            if !self.apply_flow(stmt, &mut out, &mut breaks, depth + 1) {
                return Flow { next: None, breaks };
            }
        }
        Flow {
            next: Some(out),
            breaks,
        }
    }
}

fn apply_lock_call<'a>(set: &mut LockSet<'a>, receiver: &str, method: &str, call: Node<'a>) {
    let mode = mode_of(method);
    if matches!(method, "Lock" | "RLock") {
        set.held.push(HeldLock {
            receiver: receiver.to_string(),
            mode,
            call,
        });
    } else if let Some(i) = set
        .held
        .iter()
        .rposition(|l| l.receiver == receiver && l.mode == mode)
    {
        set.held.remove(i);
    }
}

/// Keeps in `set` the locks held in every outcome; `false` when there is no
/// outcome, so that nothing falls through.
fn meet<'a>(set: &mut LockSet<'a>, outcomes: &[LockSet<'a>]) -> bool {
    let Some((first, rest)) = outcomes.split_first() else {
        return false;
    };
    set.held = first
        .held
        .iter()
        .filter(|l| {
            rest.iter().all(|o| {
                o.held
                    .iter()
                    .any(|m| m.receiver == l.receiver && m.mode == l.mode)
            })
        })
        .cloned()
        .collect();
    true
}
