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
                let Some((receiver, method, call)) = lock_call(self, file, stmt) else {
                    continue;
                };
                match method {
                    "Lock" | "RLock" => {
                        let mode = if method == "Lock" {
                            LockMode::Write
                        } else {
                            LockMode::Read
                        };
                        set.held.push(HeldLock {
                            receiver: receiver.to_string(),
                            mode,
                            call,
                        });
                    }
                    _ => {
                        let mode = if method == "Unlock" {
                            LockMode::Write
                        } else {
                            LockMode::Read
                        };
                        if let Some(i) = set
                            .held
                            .iter()
                            .rposition(|l| l.receiver == receiver && l.mode == mode)
                        {
                            set.held.remove(i);
                        }
                    }
                }
            }
        }
        set
    }
}
