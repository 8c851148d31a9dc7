//! Lock discipline across a package: every access to a struct-field map or a
//! package-level map, with the locks held there (named relative to the value the
//! map belongs to, so `s.mu` in one method and `c.mu` in another are the same
//! lock), whether the function is entered with a lock held, and whether the
//! access is set-up (a constructor building a value it has not shared yet, or `init`).

use std::collections::BTreeMap;

use std::rc::Rc;

use tree_sitter::Node;

use super::access::{AccessKind, AccessQueries, Region};
use super::locks::LockMode;
use super::scope::Resolved;
use super::types::Ty;
use super::{Package, ancestors, enclosing_function, walk};
use crate::syntax::{NodeExt, field};
use rustc_hash::{FxHashMap, FxHashSet};

/// A function's assignment statements in source order, by the text of their
/// first left operand.
pub(crate) type Assignments<'a> = Rc<FxHashMap<String, Vec<Node<'a>>>>;

/// A function declaration: its file and start byte.
type DeclKey = (usize, usize);

/// A map that lives as long as a struct value or the package.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MapKey {
    /// Field `.1` of struct type `.0`.
    Field(String, String),
    /// A package-level variable.
    Global(String),
}

/// A lock, named so that the same mutex has one name at every access,
/// whatever expression reaches it. Locks are compared by this name.
///
/// The order (relative locks first, then package variables' and the others')
/// decides which lock is a map's guard when two are taken equally often.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LockName {
    /// A lock of the value that holds the map, or of a value `up` levels above
    /// it: for the map `a.imports.services`, `Owner { up: 0, path: ".mu" }` is
    /// `a.imports.mu` and `Owner { up: 1, path: ".mu" }` is `a.mu`. An empty
    /// `path` is the value's embedded mutex. A stripe of a lock array chosen by
    /// the map's own index (`s.locks[i]` for `s.shards[i]`) is written `[=]`.
    Owner { up: usize, path: String },
    /// Any other lock, as written: it guards nothing.
    Other(String),
    /// A lock in a package variable: `mu`, `registry.mu`.
    Package(String),
}

impl LockName {
    /// The lock as the code at an access would write it: `.mu` with base `s`
    /// is `s.mu`; a stripe takes the index of the map at `base` (`s.locks[i]`).
    pub fn display(&self, base: Option<&str>) -> String {
        let name = match self {
            LockName::Owner { up, path } => {
                let owner = base.map(|b| strip_selectors(b, *up));
                format!("{}{path}", owner.unwrap_or("the value"))
            }
            LockName::Other(name) | LockName::Package(name) => name.clone(),
        };
        match base.and_then(last_index) {
            Some(index) if name.contains("[=]") => name.replace("[=]", &format!("[{index}]")),
            _ => name,
        }
    }

    /// How many levels above the map's own struct the lock lives, for locks
    /// named relative to the map's owner.
    pub fn level(&self) -> Option<usize> {
        match self {
            LockName::Owner { up, .. } => Some(*up),
            _ => None,
        }
    }

    /// Whether the lock is named only as written: one the model cannot relate
    /// to the map (it guards nothing).
    pub fn is_other(&self) -> bool {
        matches!(self, LockName::Other(_))
    }
}

/// `a.b.c` with one selector stripped is `a.b`; with two, `a`.
fn strip_selectors(expr: &str, up: usize) -> &str {
    let mut owner = expr;
    for _ in 0..up {
        match owner.rfind('.') {
            Some(i) => owner = &owner[..i],
            None => break,
        }
    }
    owner
}

/// The index expression of the last index in an expression: `i` in `s.shards[i]`.
fn last_index(expr: &str) -> Option<&str> {
    let close = expr.rfind(']')?;
    let open = expr[..close].rfind('[')?;
    Some(&expr[open + 1..close])
}

/// `ps[i].x` as `ps[*].x`: any element.
fn any_index(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut depth = 0;
    for c in expr.chars() {
        match c {
            '[' => {
                if depth == 0 {
                    out.push_str("[*]");
                }
                depth += 1;
            }
            ']' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// How many owners a base expression names above itself: `a.b.c` has 2 (`a.b`, `a`).
pub fn owner_levels(base: &str) -> usize {
    base.matches('.').count()
}

#[derive(Clone, Debug)]
pub struct GuardedAccess<'a> {
    pub key: MapKey,
    pub kind: AccessKind,
    /// For writes: `m[k] = v`, `delete`, `clear` (true) rather than replacing the map.
    pub in_place: bool,
    pub file: usize,
    pub node: Node<'a>,
    pub map_node: Node<'a>,
    /// The expression the field is taken from: `s` in `s.m`.
    pub base: Option<Node<'a>>,
    /// The innermost function.
    pub func: Node<'a>,
    pub locks: Vec<(LockName, LockMode, Option<Node<'a>>)>,
    /// The function runs with a lock taken by its caller.
    pub caller_locked: bool,
    /// Before the value is shared: a constructor, `init`, a test's own value.
    pub setup: bool,
}

impl GuardedAccess<'_> {
    pub fn holds(&self, lock: &LockName) -> bool {
        self.caller_locked || self.locks.iter().any(|(l, _, _)| l == lock)
    }
}

/// What a package says about how its maps are guarded.
pub struct Guards<'a> {
    pub accesses: Vec<GuardedAccess<'a>>,
    /// The lock that guards each map: the one held at most of its guarded accesses.
    pub guard: BTreeMap<MapKey, LockName>,
}

impl<'a> Package<'a> {
    /// The map key that `expr` names, and the base it is taken from.
    pub fn map_key(&self, file: usize, expr: Node<'a>) -> Option<(MapKey, Option<Node<'a>>)> {
        match expr.kind_name() {
            "selector_expression" => {
                let operand = expr.child_by_field_id(field::OPERAND)?;
                let field = self.text(file, expr.child_by_field_id(field::FIELD)?);
                // Cheap first: only names that some struct of the package declares.
                if !self.struct_field_names().contains(field) {
                    return None;
                }
                let Ty::Struct(t) = self.type_of(file, operand) else {
                    return None;
                };
                self.field_type(&t, field)
                    .is_map()
                    .then(|| (MapKey::Field(t, field.to_string()), Some(operand)))
            }
            "identifier" if self.var(self.text(file, expr)).is_none() => None,
            "identifier" => match self.resolve(file, expr) {
                Resolved::PackageVar(b) if self.type_of_binding(b, 0).is_map() => {
                    Some((MapKey::Global(self.text(file, expr).to_string()), None))
                }
                _ => None,
            },
            "parenthesized_expression" => self.map_key(file, expr.named_child(0)?),
            // A shard of an array or slice of maps: `s.shards[i]`, whose lock may
            // be the stripe `s.locks[i]` chosen by the same index.
            "index_expression" => {
                let operand = expr.child_by_field_id(field::OPERAND)?;
                if operand.kind_name() != "selector_expression" {
                    return None;
                }
                let owner = operand.child_by_field_id(field::OPERAND)?;
                let field = self.text(file, operand.child_by_field_id(field::FIELD)?);
                if !self.slice_of_map_field_names().contains(field) {
                    return None;
                }
                let Ty::Struct(t) = self.type_of(file, owner) else {
                    return None;
                };
                match self.field_type(&t, field) {
                    Ty::Slice(elem) if elem.is_map() => {
                        Some((MapKey::Field(t, format!("{field}[]")), Some(expr)))
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    pub fn lock_name(&self, receiver: &str, base: Option<&str>) -> LockName {
        // `(*c).mux` is `c.mux`.
        let (receiver, base) = (strip_derefs(receiver), base.map(strip_derefs));
        let (receiver, base) = (receiver.as_str(), base.as_deref());
        // A lock of every element (`ps[*].mu`) is the lock of any one (`ps[i].mu`).
        let indexed;
        let base = if receiver.contains("[*]") {
            indexed = base.map(any_index);
            indexed.as_deref()
        } else {
            base
        };
        // Striped locks: `s.locks[i]` guards `s.shards[i]`, the stripe chosen
        // by the same index expression.
        let striped;
        let receiver = match base.and_then(last_index) {
            Some(index) if index != "*" && receiver.contains(&format!("[{index}]")) => {
                striped = receiver.replace(&format!("[{index}]"), "[=]");
                striped.as_str()
            }
            _ => receiver,
        };
        if let Some(base) = base {
            // The map's own struct first, then each struct above it.
            let mut owner = base;
            let mut up = 0;
            loop {
                if receiver == owner {
                    return LockName::Owner {
                        up,
                        path: String::new(),
                    };
                }
                if let Some(rest) = receiver.strip_prefix(owner).filter(|r| r.starts_with('.')) {
                    return LockName::Owner {
                        up,
                        path: rest.to_string(),
                    };
                }
                match owner.rfind('.') {
                    Some(i) => owner = &owner[..i],
                    None => break,
                }
                up += 1;
            }
        }
        let root = receiver.split('.').next().unwrap_or(receiver);
        if self.var(root).is_some() {
            return LockName::Package(receiver.to_string());
        }
        LockName::Other(receiver.to_string())
    }

    /// The scope in which locks count for `node`: its function, or for a
    /// function literal that does not run concurrently (a callback, a deferred
    /// function), the function around it.
    pub fn lock_scope(
        &self,
        file: usize,
        node: Node<'a>,
        concurrent: &FxHashSet<Region>,
    ) -> Option<Node<'a>> {
        let mut func = enclosing_function(node)?;
        while func.kind_name() == "func_literal" {
            // A goroutine's body; or a literal with call sites of its own
            // (a local closure, a callback of a package function) runs where
            // those are, with their locks.
            if concurrent.contains(&(file, func.start_byte(), func.end_byte()))
                || self.is_spawned_literal(file, func)
                || !self.call_sites(file, func).is_empty()
            {
                break;
            }
            match enclosing_function(func) {
                Some(outer) => func = outer,
                None => break,
            }
        }
        Some(func)
    }

    /// Whether the access is set-up: in `init` or code run once (`sync.Once`),
    /// on a value that this function made itself (`s := &T{...}`) and so has
    /// not shared yet, or, in a test that starts no goroutine, on a value the
    /// test holds in a local variable.
    fn is_setup(
        &self,
        file: usize,
        node: Node<'a>,
        map_node: Node<'a>,
        func: Node<'a>,
        once: &FxHashSet<(usize, usize)>,
    ) -> bool {
        if super::access::in_once(self, file, node) {
            return true;
        }
        if ancestors(node)
            .filter(|n| matches!(n.kind_name(), "function_declaration" | "method_declaration"))
            .any(|d| once.contains(&(file, d.start_byte())))
        {
            return true;
        }
        let top = ancestors(func)
            .filter(|n| matches!(n.kind_name(), "function_declaration" | "method_declaration"))
            .last()
            .unwrap_or(func);
        // `init`, and the helpers only set-up code calls. Dead code never runs.
        if self.is_setup_function(file, top) || self.is_dead(file, top) {
            return true;
        }
        // A value this function made (or every caller hands it fresh) and has not shared yet.
        if self.is_private(file, map_node, node) {
            return true;
        }
        // A test (or a helper only tests call) inspecting objects while no
        // goroutine of its own runs.
        self.in_lone_test(file, node)
    }

    /// A read in the one goroutine that writes the map (`go s.loop()`, and the
    /// functions only it calls): it reads its own writes. Readers elsewhere
    /// still need the lock. `writers` keeps, per map, the one goroutine
    /// that makes all of its in-place writes (found once per map, not once
    /// per read).
    fn owner_reads_own_writes(
        &self,
        accesses: &[GuardedAccess<'a>],
        a: &GuardedAccess<'a>,
        concurrent: &FxHashSet<Region>,
        writers: &mut FxHashMap<MapKey, Option<(usize, usize)>>,
    ) -> bool {
        if a.kind != AccessKind::Read {
            return false;
        }
        let owner_of = |g: &GuardedAccess<'a>| {
            let scope = self.lock_scope(g.file, g.node, concurrent)?;
            self.single_owner(g.file, scope).map(|(f, go)| (f, go.id()))
        };
        let Some(owner) = owner_of(a) else {
            return false;
        };
        let writer = *writers.entry(a.key.clone()).or_insert_with(|| {
            let mut writes = accesses.iter().filter(|w| {
                w.key == a.key && w.kind == AccessKind::Write && w.in_place && !w.setup
            });
            let first = owner_of(writes.next()?)?;
            writes.all(|w| owner_of(w) == Some(first)).then_some(first)
        });
        writer == Some(owner)
    }

    /// An access in the function that made the map's owner (a constructor),
    /// where the goroutines it has started so far run no code that touches
    /// the same map: they may hold the value, but not use this map.
    fn constructing_alone(
        &self,
        accesses: &[GuardedAccess<'a>],
        a: &GuardedAccess<'a>,
        concurrent: &FxHashSet<Region>,
    ) -> bool {
        let Some(decl) = self.made_here(a.file, a.map_node) else {
            return false;
        };
        let Some(func) = self.lock_scope(a.file, a.node, concurrent) else {
            return false;
        };
        if !super::contains(func, decl) || !self.assigned_fresh_before(a.file, a.map_node, a.node) {
            return false;
        }
        // While the value is not published, only goroutines handed it can reach it.
        let object =
            (!self.published_before(a.file, a.map_node, a.node)).then(|| self.text(a.file, decl));
        let Some(code) =
            self.concurrent_code(a.file, func, decl.end_byte(), a.node.start_byte(), object)
        else {
            return false;
        };
        !accesses
            .iter()
            .any(|other| other.key == a.key && self.reaches(&code, other.file, other.node))
    }

    /// `x.f...` where `x := &T{f: y}` (or `T{f: y}`) and nothing gave `x.f`
    /// another value before `at`: the same object as `y...`.
    fn literal_alias(&self, file: usize, base: Node<'a>, at: Node<'a>) -> Option<String> {
        let text = self.text(file, base);
        let mut root = base;
        let mut first_field = None;
        while root.kind_name() == "selector_expression" {
            first_field = root.child_by_field_id(field::FIELD);
            root = root.child_by_field_id(field::OPERAND)?;
        }
        let field = self.text(file, first_field?);
        if root.kind_name() != "identifier" {
            return None;
        }
        let Resolved::Local(b) = self.resolve(file, root) else {
            return None;
        };
        let value = b.value()?;
        let lit = match value.kind_name() {
            "composite_literal" => value,
            "unary_expression" => self.alias_operand(file, value)?,
            _ => return None,
        };
        let body = lit.child_by_field_id(field::BODY)?;
        let mut cursor = body.walk();
        let target = body
            .named_children(&mut cursor)
            .filter(|e| e.kind_name() == "keyed_element")
            .find(|e| {
                e.named_child(0)
                    .is_some_and(|k| self.text(file, k).trim() == field)
            })
            .and_then(|e| e.named_child(1))
            .map(|v| {
                if v.kind_name() == "literal_element" {
                    v.named_child(0).unwrap_or(v)
                } else {
                    v
                }
            })
            .filter(|v| v.kind_name() == "identifier")?;
        // Not reassigned between the declaration and `at`.
        let name = self.text(file, root);
        let prefix = format!("{name}.{field}");
        let func = enclosing_function(at)?;
        let mut reassigned = false;
        walk(func, |n| {
            if reassigned || n.start_byte() >= at.start_byte() {
                return false;
            }
            if n.kind_name() == "assignment_statement" && n.start_byte() > b.name.end_byte() {
                let mut c = n.walk();
                reassigned = n.child_by_field_id(field::LEFT).is_some_and(|l| {
                    l.named_children(&mut c)
                        .any(|t| self.text(file, t) == prefix || self.text(file, t) == name)
                });
            }
            true
        });
        if reassigned {
            return None;
        }
        let rest = text.strip_prefix(&prefix)?;
        Some(format!("{}{rest}", self.text(file, target)))
    }

    /// Whether an in-place write fills a map that its function gave the field
    /// afresh just before (`a.m = map[K]V{}; for ... { a.m[k] = v }`): the
    /// map is built, then published, and not written after that.
    pub fn fills_fresh_map(&self, a: &GuardedAccess<'a>) -> bool {
        if a.kind != AccessKind::Write || !a.in_place {
            return false;
        }
        let calls: Vec<Node<'a>> = a
            .locks
            .iter()
            .filter(|(_, mode, _)| *mode == LockMode::Write)
            .filter_map(|(_, _, call)| *call)
            .collect();
        self.fills_fresh_map_at(a.file, a.func, a.node, a.map_node, &calls)
    }

    /// Whether the write `node` of `map_node`, in `func` and under the lock
    /// calls `locks`, fills a map that `func` gave that expression afresh,
    /// in a statement every path to the write passes and under one of the
    /// same locks: the map is built before anyone can take it.
    pub fn fills_fresh_map_at(
        &self,
        file: usize,
        func: Node<'a>,
        node: Node<'a>,
        map_node: Node<'a>,
        locks: &[Node<'a>],
    ) -> bool {
        if locks.is_empty() || node.id() == map_node.id() {
            return false;
        }
        let text = self.text(file, map_node);
        // The assignments that start before `node`, whose left operand is the map's expression.
        let candidates: Vec<Node<'a>> = self
            .assignments_of(file, func)
            .get(text)
            .map(|all| {
                all.iter()
                    .copied()
                    .take_while(|n| n.start_byte() < node.start_byte())
                    .collect()
            })
            .unwrap_or_default();
        candidates.into_iter().any(|n| {
            let Some(right) = n
                .child_by_field_id(field::RIGHT)
                .and_then(|r| r.named_child(0))
            else {
                return false;
            };
            let dominates = n.parent().is_some_and(|list| {
                list.kind_name() == "statement_list" && super::contains(list, node)
            });
            let same_lock = || {
                let at_assign = self.locks_at(file, n, func);
                at_assign.held.iter().any(|h| {
                    h.mode == LockMode::Write && locks.iter().any(|c| c.id() == h.call.id())
                })
            };
            dominates && super::spawn::is_fresh_value(self, file, right) && same_lock()
        })
    }

    /// `func`'s assignment statements with a left and a right side, in
    /// source order, by the text of their first left operand; found once.
    fn assignments_of(&self, file: usize, func: Node<'a>) -> Assignments<'a> {
        let key = (file, func.id());
        if let Some(found) = self.assignments.borrow().get(&key) {
            return found.clone();
        }
        let mut found: FxHashMap<String, Vec<Node<'a>>> = FxHashMap::default();
        walk(func, |n| {
            if n.kind_name() == "assignment_statement"
                && n.child_by_field_id(field::RIGHT)
                    .and_then(|r| r.named_child(0))
                    .is_some()
                && let Some(left) = n
                    .child_by_field_id(field::LEFT)
                    .and_then(|l| l.named_child(0))
            {
                found
                    .entry(self.text(file, left).to_string())
                    .or_default()
                    .push(n);
            }
            true
        });
        let found = Rc::new(found);
        self.assignments.borrow_mut().insert(key, found.clone());
        found
    }

    /// Inside `if debug { ... }` where `debug` is a package constant `false`.
    pub(crate) fn in_dead_branch(&self, file: usize, node: Node<'a>) -> bool {
        if self.false_consts.is_empty() {
            return false;
        }
        self.dead_branches[file]
            .get_or_init(|| self.dead_branches_of(file))
            .iter()
            .any(|&(start, end)| start <= node.start_byte() && node.end_byte() <= end)
    }

    /// The byte ranges of the bodies of `if c { ... }` in a file, for the
    /// package's constants `c` declared `false`. Each condition is found
    /// where the constant's name is written, not by a walk of the tree.
    fn dead_branches_of(&self, file: usize) -> Vec<(usize, usize)> {
        let source = self.files[file];
        let root = source.tree().root_node();
        let text = &source.text;
        let mut ranges = Vec::new();
        for name in &self.false_consts {
            for at in memchr::memmem::find_iter(text, name.as_bytes()) {
                let Some(ident) = root
                    .named_descendant_for_byte_range(at, at + name.len())
                    .filter(|n| {
                        n.kind_name() == "identifier"
                            && n.start_byte() == at
                            && n.end_byte() == at + name.len()
                    })
                else {
                    continue;
                };
                let Some(stmt) = ident.parent().filter(|p| p.kind_name() == "if_statement") else {
                    continue;
                };
                if stmt
                    .child_by_field_id(field::CONDITION)
                    .is_some_and(|c| c.id() == ident.id())
                {
                    if let Some(body) = stmt.child_by_field_id(field::CONSEQUENCE) {
                        ranges.push((body.start_byte(), body.end_byte()));
                    }
                }
            }
        }
        ranges
    }

    /// After the function around `node` has started goroutines and then
    /// waited for them, with none started since; or in a function that only
    /// runs after its callers have.
    fn after_join(&self, file: usize, node: Node<'a>, concurrent: &FxHashSet<Region>) -> bool {
        // A callback (`db.View(func() { ... })`) runs in the function around it.
        let Some(func) = self.lock_scope(file, node, concurrent) else {
            return false;
        };
        if self.joined_at(file, func, node) || self.runs_after_join(file, func, 0) {
            return true;
        }
        // A goroutine started after the join runs after it too.
        func.kind_name() == "func_literal" && self.after_join(file, func, concurrent)
    }

    /// Functions run through `sync.Once` (`once.Do(f)`, `sync.OnceFunc(f)`).
    fn once_functions(&self) -> FxHashSet<DeclKey> {
        let mut once = FxHashSet::default();
        for (file, call) in self.once_calls() {
            let Some(arg) = call
                .child_by_field_id(field::ARGUMENTS)
                .and_then(|a| a.named_child(0))
            else {
                continue;
            };
            let target = match arg.kind_name() {
                "identifier" => match self.resolve(file, arg) {
                    Resolved::PackageFunc(f, d) => Some((f, d)),
                    _ => None,
                },
                "selector_expression" => arg
                    .child_by_field_id(field::OPERAND)
                    .zip(arg.child_by_field_id(field::FIELD))
                    .and_then(|(o, f)| self.method_of(file, o, f))
                    .map(|m| (m.file, m.decl)),
                _ => None,
            };
            if let Some((f, d)) = target {
                once.insert((f, d.start_byte()));
            }
        }
        once
    }

    /// The once-calls of the package (`access::is_once_call`). Their method
    /// name is a word of the code (`Do`, `OnceFunc`, ...): only the files
    /// that name one are parsed, and only around its occurrences.
    fn once_calls(&self) -> Vec<(usize, Node<'a>)> {
        const NAMES: [&str; 4] = ["Do", "OnceFunc", "OnceValue", "OnceValues"];
        let mut calls = Vec::new();
        for file in self.files_mentioning_any(&NAMES) {
            let source = self.files[file];
            let root = source.tree().root_node();
            for word in NAMES {
                for at in crate::queries::word_occurrences(&source.text, 0, source.text.len(), word)
                {
                    // `x.Do` in `x.Do(f)`: the selector's field, the call's function.
                    let Some(call) = root
                        .descendant_for_byte_range(at, at + word.len())
                        .filter(|n| n.kind_name() == "field_identifier")
                        .and_then(|n| n.parent())
                        .filter(|sel| sel.kind_name() == "selector_expression")
                        .and_then(|sel| sel.parent())
                        .filter(|c| c.kind_name() == "call_expression")
                    else {
                        continue;
                    };
                    if super::access::is_once_call(self, file, call) {
                        calls.push((file, call));
                    }
                }
            }
        }
        calls
    }

    /// The files whose map accesses can have a `map_key`: those that name a
    /// map-typed or slice-of-maps field of the package's structs, or a
    /// package variable that holds a map. The others need not be parsed.
    fn files_naming_guardable_maps(&self) -> Vec<usize> {
        let Some(vars) = self.lexicon.var_names() else {
            return (0..self.files.len()).collect();
        };
        let mut words: Vec<String> = self.struct_field_names().iter().cloned().collect();
        words.extend(self.slice_of_map_field_names().iter().cloned());
        for &name in vars {
            if self
                .var(name)
                .is_some_and(|b| self.type_of_binding(b, 0).is_map())
            {
                words.push(name.to_string());
            }
        }
        self.files_mentioning_any(&words)
    }

    /// The package's guarded-map inventory, from the map write and read queries.
    /// `concurrent` holds the function literals that run concurrently (spawn bodies).
    pub fn guards(&self, q: &AccessQueries<'_>, concurrent: &FxHashSet<Region>) -> Guards<'a> {
        let once = self.once_functions();
        let mut accesses = Vec::new();
        for file in self.files_naming_guardable_maps() {
            for &super::access::AccessMatch {
                kind,
                node,
                map_node,
            } in self.access_matches(q, file)
            {
                (|| {
                    let Some((key, base)) = self.map_key(file, map_node) else {
                        return;
                    };
                    let Some(func) = enclosing_function(node) else {
                        return;
                    };
                    let scope = self.lock_scope(file, node, concurrent).unwrap_or(func);
                    let base_text = base.map(|b| self.text(file, b));
                    // `d := &Dir{parent: parent}`: `d.parent.mu` is `parent.mu`.
                    let aliased = base.and_then(|b| self.literal_alias(file, b, node));
                    let base_text = aliased.as_deref().or(base_text);
                    // The locks held here and by every caller, and the calls that take the local ones.
                    let local = self.locks_at(file, node, scope);
                    let (held, caller_locked) = self.locks_with_callers(file, node, scope);
                    let locks: Vec<(LockName, LockMode, Option<Node<'a>>)> = held
                        .into_iter()
                        .map(|(receiver, mode)| {
                            let call = local
                                .held
                                .iter()
                                .find(|l| l.receiver == receiver && l.mode == mode)
                                .map(|l| l.call);
                            (self.lock_name(&receiver, base_text), mode, call)
                        })
                        .collect();
                    accesses.push(GuardedAccess {
                        key,
                        kind,
                        in_place: node.id() != map_node.id(),
                        file,
                        node,
                        map_node,
                        base,
                        func,
                        locks,
                        caller_locked,
                        setup: self.is_setup(file, node, map_node, func, &once),
                    });
                })();
            }
        }
        // The guard of each map: the lock held at most of its guarded accesses.
        let mut counts: BTreeMap<MapKey, BTreeMap<LockName, usize>> = BTreeMap::new();
        for a in accesses.iter().filter(|a| !a.setup) {
            // Only a lock of the map's owner, or of the package, can guard it.
            for (lock, _, _) in a.locks.iter().filter(|(l, _, _)| !l.is_other()) {
                *counts
                    .entry(a.key.clone())
                    .or_default()
                    .entry(lock.clone())
                    .or_default() += 1;
            }
        }
        let guard: BTreeMap<MapKey, LockName> = counts
            .into_iter()
            .filter_map(|(key, locks)| {
                let best = locks
                    .into_iter()
                    .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))?;
                Some((key, best.0))
            })
            .collect();
        // Filling a map the same function has just put in the field builds
        // it before anyone takes it (copy-on-write): not a write of a shared map.
        for a in &mut accesses {
            if !a.setup && self.fills_fresh_map(a) {
                a.setup = true;
            }
        }
        // The costlier set-up checks, only where they can matter.
        let mut alone = Vec::new();
        let mut writers = FxHashMap::default();
        for (i, a) in accesses.iter().enumerate() {
            let uncovered = guard
                .get(&a.key)
                .is_some_and(|l: &LockName| !a.locks.iter().any(|(x, _, _)| x == l));
            if uncovered
                && !a.setup
                && (self.in_dead_branch(a.file, a.node)
                    || self.after_join(a.file, a.node, concurrent)
                    || self.constructing_alone(&accesses, a, concurrent)
                    || self.owner_reads_own_writes(&accesses, a, concurrent, &mut writers))
            {
                alone.push(i);
            }
        }
        for i in alone {
            accesses[i].setup = true;
        }
        Guards { accesses, guard }
    }
}

/// An expression's text with explicit dereferences of names dropped:
/// `(*c).mux` -> `c.mux`, `(*c)` -> `c`. Go selects through pointers by
/// itself, so both name the same field.
fn strip_derefs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("(*") {
        let after = &rest[at + 2..];
        let name_len = after
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if name_len > 0 && after[name_len..].starts_with(')') {
            out.push_str(&rest[..at]);
            out.push_str(&after[..name_len]);
            rest = &after[name_len + 1..];
        } else {
            out.push_str(&rest[..at + 2]);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::strip_derefs;

    #[test]
    fn explicit_dereferences_name_the_same_field() {
        assert_eq!(strip_derefs("(*c).mux"), "c.mux");
        assert_eq!(strip_derefs("(*c)"), "c");
        assert_eq!(strip_derefs("(*c).a.(*b)"), "c.a.b");
        assert_eq!(strip_derefs("(*c.p).mu"), "(*c.p).mu");
        assert_eq!(strip_derefs("s.mu"), "s.mu");
    }
}
