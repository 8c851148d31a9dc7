//! Lock discipline across a package: every access to a struct-field map or a
//! package-level map, with the locks held there (named relative to the value the
//! map belongs to, so `s.mu` in one method and `c.mu` in another are the same
//! lock), whether the function is entered with a lock held, and whether the
//! access is set-up (a constructor building a value it has not shared yet, or `init`).

use std::collections::{BTreeMap, HashMap, HashSet};

use tree_sitter::Node;

use super::access::{AccessKind, AccessQueries, Region};
use super::locks::LockMode;
use super::scope::Resolved;
use super::types::Ty;
use super::{Package, ancestors, enclosing_function, receiver_type_name, walk};

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

/// A lock, named relative to the value the map belongs to: `$.mu` is the
/// field `mu` of the struct that holds the map field, `$` its embedded mutex,
/// `$^.mu` the field `mu` of the struct one level up (`a.mu` for the map
/// `a.imports.services`), `pkg:mu` a package variable. Anything else is kept
/// as written, after `other:`, and guards nothing.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LockName(pub String);

impl LockName {
    /// The lock as the code at an access would write it: `$.mu` with base `s` is `s.mu`.
    pub fn display(&self, base: Option<&str>) -> String {
        let name = &self.0;
        if let Some(rest) = name.strip_prefix('$') {
            let up = rest.chars().take_while(|&c| c == '^').count();
            let rest = &rest[up..];
            let owner = base.map(|b| strip_selectors(b, up));
            return format!("{}{rest}", owner.unwrap_or("the value"));
        }
        name.strip_prefix("pkg:")
            .or_else(|| name.strip_prefix("other:"))
            .unwrap_or(name)
            .to_string()
    }

    /// How many levels above the map's own struct the lock lives (`$^.mu`: 1),
    /// for locks named relative to the map's owner.
    pub fn level(&self) -> Option<usize> {
        let rest = self.0.strip_prefix('$')?;
        Some(rest.chars().take_while(|&c| c == '^').count())
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
    pub locks: Vec<(LockName, LockMode, Node<'a>)>,
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

/// A doc comment that says the caller must hold a lock, or that the function
/// must not run concurrently with others ("must not be called concurrent with
/// any Import/Export method").
fn says_lock_held(doc: &str) -> bool {
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
    ]
    .iter()
    .any(|p| doc.contains(p))
        || doc.contains(" held")
            && (doc.contains("mu ") || doc.contains("lock") || doc.contains("mutex"))
}

impl<'a> Package<'a> {
    /// The map key that `expr` names, and the base it is taken from.
    pub fn map_key(&self, file: usize, expr: Node<'a>) -> Option<(MapKey, Option<Node<'a>>)> {
        match expr.kind() {
            "selector_expression" => {
                let operand = expr.child_by_field_name("operand")?;
                let field = self.text(file, expr.child_by_field_name("field")?);
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
            "identifier" if !self.vars.contains_key(self.text(file, expr)) => None,
            "identifier" => match self.resolve(file, expr) {
                Resolved::PackageVar(b) if self.type_of_binding(b, 0).is_map() => {
                    Some((MapKey::Global(self.text(file, expr).to_string()), None))
                }
                _ => None,
            },
            "parenthesized_expression" => self.map_key(file, expr.named_child(0)?),
            _ => None,
        }
    }

    pub fn lock_name(&self, receiver: &str, base: Option<&str>) -> LockName {
        if let Some(base) = base {
            // The map's own struct first, then each struct above it.
            let mut owner = base;
            let mut up = String::new();
            loop {
                if receiver == owner {
                    return LockName(format!("${up}"));
                }
                if let Some(rest) = receiver.strip_prefix(owner).filter(|r| r.starts_with('.')) {
                    return LockName(format!("${up}{rest}"));
                }
                match owner.rfind('.') {
                    Some(i) => owner = &owner[..i],
                    None => break,
                }
                up.push('^');
            }
        }
        let root = receiver.split('.').next().unwrap_or(receiver);
        if self.vars.contains_key(root) {
            return LockName(format!("pkg:{receiver}"));
        }
        LockName(format!("other:{receiver}"))
    }

    /// The scope in which locks count for `node`: its function, or for a
    /// function literal that does not run concurrently (a callback, a deferred
    /// function), the function around it.
    pub fn lock_scope(
        &self,
        file: usize,
        node: Node<'a>,
        concurrent: &HashSet<Region>,
    ) -> Option<Node<'a>> {
        let mut func = enclosing_function(node)?;
        while func.kind() == "func_literal" {
            if concurrent.contains(&(file, func.start_byte(), func.end_byte())) {
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
        once: &HashSet<(usize, usize)>,
    ) -> bool {
        if super::access::in_once(self, file, node) {
            return true;
        }
        if ancestors(node)
            .filter(|n| matches!(n.kind(), "function_declaration" | "method_declaration"))
            .any(|d| once.contains(&(file, d.start_byte())))
        {
            return true;
        }
        let top = ancestors(func)
            .filter(|n| matches!(n.kind(), "function_declaration" | "method_declaration"))
            .last()
            .unwrap_or(func);
        if top.kind() == "function_declaration"
            && top
                .child_by_field_name("name")
                .is_some_and(|n| self.text(file, n) == "init")
        {
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

    /// Inside `if debug { ... }` where `debug` is a package constant `false`.
    fn in_dead_branch(&self, file: usize, node: Node<'a>) -> bool {
        ancestors(node).any(|n| {
            n.kind() == "if_statement"
                && n.child_by_field_name("condition").is_some_and(|c| {
                    c.kind() == "identifier" && self.false_consts.contains(self.text(file, c))
                })
                && n.child_by_field_name("consequence")
                    .is_some_and(|b| super::contains(b, node))
        })
    }

    /// After the function that contains `node` has started goroutines and then
    /// waited for them (`wg.Wait()`), with no goroutine started since.
    fn after_join(&self, file: usize, node: Node<'a>) -> bool {
        let Some(func) = enclosing_function(node) else {
            return false;
        };
        let (mut spawned, mut joined) = (false, false);
        walk(func, |n| {
            if n.start_byte() >= node.start_byte() {
                return false;
            }
            if n.id() != func.id() && n.kind() == "func_literal" && !super::contains(n, node) {
                return false;
            }
            match n.kind() {
                "go_statement" => {
                    spawned = true;
                    joined = false;
                    return false;
                }
                "call_expression" => {
                    let f = n
                        .child_by_field_name("function")
                        .map_or("", |f| self.text(file, f));
                    if f.ends_with(".Go") || f.ends_with(".TryGo") {
                        spawned = true;
                        joined = false;
                    } else if f.ends_with(".Wait") && spawned && n.end_byte() <= node.start_byte() {
                        joined = true;
                    }
                }
                _ => {}
            }
            true
        });
        joined
    }

    /// Whether function `decl` runs with a lock its callers hold: named
    /// `...Locked`, documented so, or only ever called (outside tests) with a
    /// lock held or from such functions. Computed on demand, with a memo.
    fn is_caller_locked(
        &self,
        file: usize,
        decl: Node<'a>,
        concurrent: &HashSet<Region>,
        memo: &mut HashMap<(usize, usize), bool>,
        depth: usize,
    ) -> bool {
        let key = (file, decl.start_byte());
        if let Some(&known) = memo.get(&key) {
            return known;
        }
        let name = decl
            .child_by_field_name("name")
            .map_or("", |n| self.text(file, n));
        // The doc comment as plain words: `//` and `/* */` markers dropped, lines joined.
        let mut lines = Vec::new();
        let mut prev = decl.prev_named_sibling();
        while let Some(c) = prev.filter(|c| c.kind() == "comment") {
            let text = self.text(file, c);
            let text = text
                .strip_prefix("//")
                .or_else(|| text.strip_prefix("/*"))
                .unwrap_or(text);
            lines.push(text.strip_suffix("*/").unwrap_or(text).to_string());
            prev = c.prev_named_sibling();
        }
        lines.reverse();
        let doc = lines
            .join(" ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if name.ends_with("Locked") || name.ends_with("_locked") || says_lock_held(&doc) {
            memo.insert(key, true);
            return true;
        }
        memo.insert(key, false);
        if depth >= 3 || name.is_empty() {
            return false;
        }
        let receiver = receiver_type_name(decl, &self.files[file].text);
        // Call sites by name first (cheap), confirmed by the callee's declaration.
        let mut sites = Vec::new();
        for (cfile, source) in self.files.iter().enumerate() {
            if !crate::queries::mentions_any(&source.text, &[name]) {
                continue;
            }
            walk(source.tree.root_node(), |n| {
                if n.kind() != "call_expression" {
                    return true;
                }
                let Some(function) = n.child_by_field_name("function") else {
                    return true;
                };
                let called = match function.kind() {
                    "identifier" => self.text(cfile, function),
                    "selector_expression" => function
                        .child_by_field_name("field")
                        .map_or("", |f| self.text(cfile, f)),
                    _ => "",
                };
                if called == name {
                    // Build-tagged variants declare the same function more than once: match by name.
                    let same = self.static_callee(cfile, n).is_some_and(|(f, d)| {
                        receiver_type_name(d, &self.files[f].text) == receiver
                    });
                    if same {
                        sites.push((cfile, n));
                    }
                }
                true
            });
        }
        // Tests that call internals directly run alone: they do not count.
        let non_test: Vec<_> = sites
            .iter()
            .filter(|(f, _)| !self.files[*f].display.ends_with("_test.go"))
            .copied()
            .collect();
        let sites = if non_test.is_empty() { sites } else { non_test };
        let all = !sites.is_empty()
            && sites.iter().all(|&(cfile, call)| {
                let held = self
                    .lock_scope(cfile, call, concurrent)
                    .is_some_and(|s| !self.locks_at(cfile, call, s).held.is_empty());
                held || ancestors(call)
                    .filter(|n| matches!(n.kind(), "function_declaration" | "method_declaration"))
                    .last()
                    .is_some_and(|caller| {
                        self.is_caller_locked(cfile, caller, concurrent, memo, depth + 1)
                    })
            });
        memo.insert(key, all);
        all
    }

    /// A call's callee among the package's functions and methods of evident receiver type.
    fn static_callee(&self, file: usize, call: Node<'a>) -> Option<(usize, Node<'a>)> {
        let function = call.child_by_field_name("function")?;
        match function.kind() {
            "identifier" => match self.resolve(file, function) {
                Resolved::PackageFunc(f, decl) => Some((f, decl)),
                _ => None,
            },
            "selector_expression" => {
                let Ty::Struct(t) = self.type_of(file, function.child_by_field_name("operand")?)
                else {
                    return None;
                };
                let name = self.text(file, function.child_by_field_name("field")?);
                self.methods
                    .get(&(t, name.to_string()))
                    .map(|m| (m.file, m.decl))
            }
            _ => None,
        }
    }

    /// Functions run through `sync.Once` (`once.Do(f)`, `sync.OnceFunc(f)`), and
    /// lock wrappers: functions that lock a parameter and call a function
    /// parameter (`withLock(mu, fn)`), with the lock parameter's index.
    fn once_functions_and_lock_wrappers(&self) -> (HashSet<DeclKey>, HashMap<DeclKey, usize>) {
        let mut once = HashSet::new();
        for (file, source) in self.files.iter().enumerate() {
            if !crate::queries::mentions_any(&source.text, &["Do(", "Once"]) {
                continue;
            }
            walk(source.tree.root_node(), |n| {
                if n.kind() == "call_expression" && super::access::is_once_call(self, file, n) {
                    if let Some(arg) = n
                        .child_by_field_name("arguments")
                        .and_then(|a| a.named_child(0))
                    {
                        let target = match arg.kind() {
                            "identifier" => match self.resolve(file, arg) {
                                Resolved::PackageFunc(f, d) => Some((f, d)),
                                _ => None,
                            },
                            "selector_expression" => arg
                                .child_by_field_name("operand")
                                .zip(arg.child_by_field_name("field"))
                                .and_then(|(o, f)| self.method_of(file, o, f))
                                .map(|m| (m.file, m.decl)),
                            _ => None,
                        };
                        if let Some((f, d)) = target {
                            once.insert((f, d.start_byte()));
                        }
                    }
                }
                true
            });
        }
        let mut wrappers = HashMap::new();
        for &(file, decl) in self.funcs.values() {
            let Some(params) = decl.child_by_field_name("parameters") else {
                continue;
            };
            let mut names = Vec::new();
            let mut cursor = params.walk();
            for p in params.named_children(&mut cursor) {
                let mut c = p.walk();
                let is_func = p
                    .child_by_field_name("type")
                    .is_some_and(|t| t.kind() == "function_type");
                for n in p.children_by_field_name("name", &mut c) {
                    names.push((self.text(file, n).to_string(), is_func));
                }
            }
            let Some(body) = decl.child_by_field_name("body") else {
                continue;
            };
            let (mut locked, mut calls_fn) = (None, false);
            walk(body, |n| {
                if n.kind() == "call_expression" {
                    let f = n
                        .child_by_field_name("function")
                        .map_or("", |f| self.text(file, f));
                    if let Some(recv) = f.strip_suffix(".Lock") {
                        locked =
                            locked.or(names.iter().position(|(p, is_func)| !is_func && p == recv));
                    } else if names.iter().any(|(p, is_func)| *is_func && p == f) {
                        calls_fn = true;
                    }
                }
                true
            });
            if let (Some(index), true) = (locked, calls_fn) {
                wrappers.insert((file, decl.start_byte()), index);
            }
        }
        (once, wrappers)
    }

    /// The package's guarded-map inventory, from the map write and read queries.
    /// `concurrent` holds the function literals that run concurrently (spawn bodies).
    pub fn guards(&self, q: &AccessQueries<'_>, concurrent: &HashSet<Region>) -> Guards<'a> {
        let (once, lock_wrappers) = self.once_functions_and_lock_wrappers();
        let mut accesses = Vec::new();
        for (file, source) in self.files.iter().enumerate() {
            {
                let query = q.query;
                let (access_i, map_i) = (query.capture("access"), query.capture("map"));
                query.for_each_match(source.tree.root_node(), &source.text, |m| {
                    let kind = q.kind(m.pattern_index);
                    let get = |i| m.captures.iter().find(|c| c.index == i).map(|c| c.node);
                    let (Some(node), Some(map_node)) = (get(access_i), get(map_i)) else {
                        return;
                    };
                    if kind == AccessKind::Read && super::access::is_write_target(node) {
                        return;
                    }
                    let Some((key, base)) = self.map_key(file, map_node) else {
                        return;
                    };
                    let Some(func) = enclosing_function(node) else {
                        return;
                    };
                    let scope = self.lock_scope(file, node, concurrent).unwrap_or(func);
                    let base_text = base.map(|b| self.text(file, b));
                    let mut locks: Vec<(LockName, LockMode, Node<'a>)> = self
                        .locks_at(file, node, scope)
                        .held
                        .into_iter()
                        .map(|l| (self.lock_name(&l.receiver, base_text), l.mode, l.call))
                        .collect();
                    // withLock(mu, func() { ... }): the wrapper holds `mu` for the literal.
                    for lit in ancestors(node).filter(|n| n.kind() == "func_literal") {
                        let Some(call) = lit
                            .parent()
                            .and_then(|a| a.parent())
                            .filter(|c| c.kind() == "call_expression")
                        else {
                            continue;
                        };
                        let Some((wfile, wdecl)) = self.static_callee(file, call) else {
                            continue;
                        };
                        let Some(&lock_index) = lock_wrappers.get(&(wfile, wdecl.start_byte()))
                        else {
                            continue;
                        };
                        if let Some(arg) = call
                            .child_by_field_name("arguments")
                            .and_then(|a| a.named_child(lock_index))
                        {
                            locks.push((
                                self.lock_name(self.text(file, arg), base_text),
                                LockMode::Write,
                                call,
                            ));
                        }
                    }
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
                        caller_locked: false,
                        setup: self.is_setup(file, node, map_node, func, &once),
                    });
                });
            }
        }
        // The guard of each map: the lock held at most of its guarded accesses.
        let mut counts: BTreeMap<MapKey, BTreeMap<LockName, usize>> = BTreeMap::new();
        for a in accesses.iter().filter(|a| !a.setup) {
            // Only a lock of the map's owner, or of the package, can guard it.
            for (lock, _, _) in a.locks.iter().filter(|(l, _, _)| !l.0.starts_with("other:")) {
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
        // Only accesses that the guard does not cover need to know about their callers.
        let mut memo = HashMap::new();
        for a in &mut accesses {
            let uncovered = guard
                .get(&a.key)
                .is_some_and(|l: &LockName| !a.locks.iter().any(|(x, _, _)| x == l));
            if !uncovered || a.setup {
                continue;
            }
            // The costlier set-up checks, only where they can matter.
            if self.in_dead_branch(a.file, a.node) || self.after_join(a.file, a.node) {
                a.setup = true;
                continue;
            }
            let scope = self
                .lock_scope(a.file, a.node, concurrent)
                .unwrap_or(a.func);
            if scope.kind() == "func_literal" {
                continue;
            }
            if let Some(entry) = ancestors(a.node)
                .filter(|n| matches!(n.kind(), "function_declaration" | "method_declaration"))
                .last()
            {
                a.caller_locked = self.is_caller_locked(a.file, entry, concurrent, &mut memo, 0);
            }
        }
        Guards { accesses, guard }
    }
}
