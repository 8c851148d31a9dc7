//! Which mutexes are held at a point of a function body, following its
//! statements in order: `x.Lock()` ... `x.Unlock()`, with `defer x.Unlock()`
//! keeping the lock to the end of the function.

use tree_sitter::Node;

use super::{Package, ancestors};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// `x.Lock()` and friends as an expression statement: (receiver, method name, call).
pub fn lock_call<'a, 's>(
    pkg: &'s Package<'a>,
    file: usize,
    stmt: Node<'a>,
) -> Option<(&'s str, &'s str, Node<'a>)> {
    if stmt.kind() != "expression_statement" {
        return None;
    }
    let call = stmt.named_child(0)?;
    if call.kind() != "call_expression"
        || call.child_by_field_name("arguments")?.named_child_count() != 0
    {
        return None;
    }
    let function = call.child_by_field_name("function")?;
    if function.kind() != "selector_expression" {
        return None;
    }
    let method = pkg.text(file, function.child_by_field_name("field")?);
    if !matches!(method, "Lock" | "Unlock" | "RLock" | "RUnlock") {
        return None;
    }
    let receiver = pkg.text(file, function.child_by_field_name("operand")?);
    Some((receiver, method, call))
}

impl<'a> Package<'a> {
    /// The locks held when `node` runs, counting only lock calls in `scope`
    /// (a function body that contains `node`). Locks taken inside a branch
    /// that does not contain `node` are not counted.
    pub fn locks_at(&self, file: usize, node: Node<'a>, scope: Node<'a>) -> LockSet<'a> {
        // The statement lists from `node` up to `scope`, with the child on the path.
        let mut chain = Vec::new();
        let mut child = node;
        for parent in ancestors(node) {
            if parent.kind() == "statement_list" {
                chain.push((parent, child));
            }
            if parent.id() == scope.id() {
                break;
            }
            child = parent;
        }
        let mut set = LockSet::default();
        for (list, child) in chain.into_iter().rev() {
            let mut cursor = list.walk();
            for stmt in list.named_children(&mut cursor) {
                if stmt.start_byte() >= child.start_byte() {
                    break;
                }
                self.apply_statement(file, stmt, &mut set, 0);
            }
        }
        set
    }

    /// Updates `set` for one statement that runs before the point of interest.
    fn apply_statement(&self, file: usize, stmt: Node<'a>, set: &mut LockSet<'a>, depth: usize) {
        match stmt.kind() {
            "if_statement" => return self.apply_if(file, stmt, set, depth),
            "expression_switch_statement" | "type_switch_statement" | "select_statement" => {
                return self.apply_cases(file, stmt, set, depth);
            }
            _ => {}
        }
        let Some((receiver, method, call)) = lock_call(self, file, stmt) else {
            return;
        };
        let mode = if matches!(method, "Lock" | "Unlock") {
            LockMode::Write
        } else {
            LockMode::Read
        };
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

    /// An `if` held before the point of interest: afterwards, a lock is held if
    /// every branch that falls through holds it. Branches that end in `return`,
    /// `panic`, `break`, `continue` or `goto` do not reach what follows.
    fn apply_if(&self, file: usize, stmt: Node<'a>, set: &mut LockSet<'a>, depth: usize) {
        const MAX_DEPTH: usize = 16;
        if depth > MAX_DEPTH {
            return;
        }
        let mut outcomes: Vec<LockSet<'a>> = Vec::new();
        let mut branch = Some(stmt);
        while let Some(b) = branch {
            branch = None;
            if let Some(block) = b.child_by_field_name("consequence") {
                outcomes.extend(self.block_outcome(file, block, set, depth));
            }
            match b.child_by_field_name("alternative") {
                Some(alt) if alt.kind() == "if_statement" => branch = Some(alt),
                Some(alt) => outcomes.extend(self.block_outcome(file, alt, set, depth)),
                // No else: the condition may be false and skip every branch.
                None => outcomes.push(set.clone()),
            }
        }
        Self::meet(set, &outcomes);
    }

    /// A `switch` or `select` before the point of interest: a lock is held
    /// afterwards if every case that falls through holds it. A `switch`
    /// without `default` may run no case at all; a `select` always runs one.
    fn apply_cases(&self, file: usize, stmt: Node<'a>, set: &mut LockSet<'a>, depth: usize) {
        const MAX_DEPTH: usize = 16;
        if depth > MAX_DEPTH {
            return;
        }
        let mut outcomes: Vec<LockSet<'a>> = Vec::new();
        let mut has_default = stmt.kind() == "select_statement";
        let mut cursor = stmt.walk();
        for case in stmt.named_children(&mut cursor) {
            if !matches!(
                case.kind(),
                "expression_case" | "type_case" | "communication_case" | "default_case"
            ) {
                continue;
            }
            has_default |= case.kind() == "default_case";
            let mut c = case.walk();
            let list = case
                .named_children(&mut c)
                .find(|n| n.kind() == "statement_list");
            match list {
                Some(list) => outcomes.extend(self.list_outcome(file, list, set, depth)),
                None => outcomes.push(set.clone()),
            }
        }
        if !has_default {
            outcomes.push(set.clone());
        }
        Self::meet(set, &outcomes);
    }

    /// Keeps the locks held in every outcome; no outcome means nothing falls through.
    fn meet(set: &mut LockSet<'a>, outcomes: &[LockSet<'a>]) {
        let Some((first, rest)) = outcomes.split_first() else {
            return;
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
    }

    /// The locks held at the end of a block entered with `set`, or `None` when
    /// the block always leaves (return, panic, break, continue, goto).
    fn block_outcome(
        &self,
        file: usize,
        block: Node<'a>,
        set: &LockSet<'a>,
        depth: usize,
    ) -> Option<LockSet<'a>> {
        match block
            .named_child(0)
            .filter(|l| l.kind() == "statement_list")
        {
            Some(list) => self.list_outcome(file, list, set, depth),
            None => Some(set.clone()),
        }
    }

    /// The locks held at the end of a statement list entered with `set`, or
    /// `None` when it always leaves.
    fn list_outcome(
        &self,
        file: usize,
        list: Node<'a>,
        set: &LockSet<'a>,
        depth: usize,
    ) -> Option<LockSet<'a>> {
        let mut out = set.clone();
        let mut cursor = list.walk();
        let mut last = None;
        for stmt in list.named_children(&mut cursor) {
            self.apply_statement(file, stmt, &mut out, depth + 1);
            last = Some(stmt);
        }
        let leaves = last.is_some_and(|s| match s.kind() {
            "return_statement" | "break_statement" | "continue_statement" | "goto_statement" => {
                true
            }
            "expression_statement" => s
                .named_child(0)
                .and_then(|c| c.child_by_field_name("function"))
                .is_some_and(|f| {
                    matches!(
                        self.text(file, f),
                        "panic" | "log.Fatal" | "log.Fatalf" | "os.Exit"
                    )
                }),
            _ => false,
        });
        (!leaves).then_some(out)
    }
}
