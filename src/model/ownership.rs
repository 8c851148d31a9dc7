//! Which objects a function owns: maps and structs that it made itself (or
//! that every caller hands it fresh) and has not shared yet. Such an object
//! belongs to the running goroutine, whatever lock is held around it: its
//! accesses cannot race. It becomes shared when it escapes: stored where
//! others can reach it, sent on a channel, captured by a goroutine or a
//! callback, or passed to code that keeps it. Statement order counts: a write
//! before the escape is private, one after it is not.

use std::rc::Rc;

use tree_sitter::Node;

use super::scope::{BindKind, Binding, DeclId, ParamRole, Resolved};
use super::types::Ty;
use super::{Package, ancestors, contains, enclosing_function, walk};
use crate::syntax::{NodeExt, field};
use rustc_hash::{FxHashMap, FxHashSet};

/// How deep ownership follows call sites and callees.
const MAX_DEPTH: usize = 4;

/// How many functions one `published_before` question may look at.
const PUBLISH_BUDGET: usize = 2000;

/// How many locals (`old := n.m`) publishing is followed through.
const MAX_LOCAL_CHAIN: usize = 3;

/// One step from a variable to the object a map expression names.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    Field(String),
    /// Any element of a map, slice or array.
    Index,
}

/// What a use of a variable does to the object it reaches.
#[derive(Clone, Debug)]
enum Event {
    /// `x.p = v`: the object at `path` is replaced, by a fresh value or not.
    Assign {
        at: usize,
        path: Vec<Step>,
        fresh: bool,
    },
    /// The object at `path` (and everything it holds) can be reached by
    /// other code from `at` on. `strong`: by other goroutines at once (a
    /// goroutine or callback captures it, it is sent on a channel, stored in
    /// a package variable, or handed to code of another package); otherwise
    /// only once some goroutine starts (it is stored in another object, or
    /// handed to a function of the package that keeps it).
    Escape {
        at: usize,
        path: Vec<Step>,
        strong: bool,
    },
}

/// How a variable starts out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Start {
    /// Made here (`make`, a literal, `new`, a zero value, a fresh result).
    Fresh,
    /// A copy of a struct (`c := *p`): its own fields, but the maps they hold are shared.
    Copy,
    /// Anything else: some other code may hold it.
    Foreign,
}

/// Standard library packages whose functions read their arguments and keep nothing.
const NON_RETAINING: &[&str] = &[
    "fmt", "strings", "strconv", "errors", "log", "sort", "bytes", "math", "reflect", "unicode",
    "utf8", "json", "xml", "slices", "maps", "hex", "base64", "filepath", "path", "os", "io",
    "time", "cmp", "testing", "require", "assert",
];

/// Builtins that do not keep their arguments.
const BENIGN_BUILTINS: &[&str] = &[
    "len", "cap", "delete", "clear", "copy", "print", "println", "min", "max", "close", "panic",
    "string", "int", "int64", "uint64", "float64", "byte", "rune",
];

/// Methods of the standard library that do not keep their receiver: the sync
/// primitives an object carries, and formatting.
const BENIGN_METHODS: &[&str] = &[
    "Lock",
    "Unlock",
    "RLock",
    "RUnlock",
    "TryLock",
    "Wait",
    "Add",
    "Done",
    "Load",
    "Store",
    "CompareAndSwap",
    "Swap",
    "String",
    "Error",
    "Len",
];

#[derive(Default)]
pub struct OwnershipMemo {
    events: FxHashMap<DeclId, Rc<Vec<Event>>>,
    /// Variables whose events are being found: asking again is a cycle.
    in_progress: FxHashSet<DeclId>,
    /// Whether the answer being built met a cycle, and so must not be kept.
    met_cycle: bool,
    // Keyed by depth too: a result cut short by the depth limit is not the
    // same fact as one computed in full, and must not depend on query order.
    param_escapes: FxHashMap<(usize, usize, usize, usize), bool>,
    /// `param_publishes`: answers, the questions being answered, whether the
    /// answer being built assumed one of those, and how many functions a
    /// `published_before` question may still look at.
    publishes: FxHashMap<(usize, usize, usize, Vec<Step>), bool>,
    publish_in_progress: FxHashSet<(usize, usize, usize, Vec<Step>)>,
    publish_assumed: bool,
    publish_budget: usize,
    /// How many locals deep `local_publishes` is.
    publish_locals: usize,
    returns_fresh: FxHashMap<(usize, usize, usize), bool>,
    spawns: FxHashMap<(usize, usize, usize), bool>,
}

/// Logging and formatting methods: they format their arguments and keep
/// nothing of them.
const LOG_METHODS: &[&str] = &[
    "Print", "Printf", "Println", "Errorf", "Warnf", "Warningf", "Debugf", "Infof", "Noticef",
    "Tracef", "Logf", "Fatalf", "Panicf", "Sprintf",
];

/// Methods that start code running concurrently: `wg.Go`, errgroup's
/// `Go`/`TryGo`, `time.AfterFunc`, and serving HTTP.
const SPAWNING_METHODS: &[&str] = &[
    "Go",
    "TryGo",
    "AfterFunc",
    "HandleFunc",
    "Handle",
    "ListenAndServe",
    "ListenAndServeTLS",
    "Serve",
    "ServeTLS",
];

/// The variable and steps that a map expression is reached through:
/// `s.a.m` -> (`s`, [a, m]); `out[k]` -> (`out`, [index]).
pub fn access_path<'a>(
    pkg: &Package<'a>,
    file: usize,
    expr: Node<'a>,
) -> Option<(Node<'a>, Vec<Step>)> {
    let mut steps = Vec::new();
    let mut node = expr;
    loop {
        match node.kind_name() {
            "identifier" => {
                steps.reverse();
                return Some((node, steps));
            }
            "selector_expression" => {
                steps.push(Step::Field(
                    pkg.text(file, node.child_by_field_id(field::FIELD)?)
                        .to_string(),
                ));
                node = node.child_by_field_id(field::OPERAND)?;
            }
            "index_expression" => {
                steps.push(Step::Index);
                node = node.child_by_field_id(field::OPERAND)?;
            }
            "parenthesized_expression" => node = node.named_child(0)?,
            "unary_expression" => node = pkg.alias_operand(file, node)?,
            _ => return None,
        }
    }
}

fn is_prefix(prefix: &[Step], path: &[Step]) -> bool {
    prefix.len() <= path.len() && path[..prefix.len()] == *prefix
}

impl<'a> Package<'a> {
    /// Whether the object `expr` names (a map, or the struct a map lives in) is
    /// private to the running function at `at`: made by it, or handed to it
    /// fresh by every caller, and not shared before `at`.
    pub fn is_private(&self, file: usize, expr: Node<'a>, at: Node<'a>) -> bool {
        self.is_private_at(file, expr, at, 0)
    }

    fn is_private_at(&self, file: usize, expr: Node<'a>, at: Node<'a>, depth: usize) -> bool {
        let Some((root, steps)) = access_path(self, file, expr) else {
            return false;
        };
        let Resolved::Local(b) = self.resolve(file, root) else {
            return false;
        };
        self.binding_private(b, &steps, at, depth)
    }

    fn binding_private(&self, b: Binding<'a>, steps: &[Step], at: Node<'a>, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let (func, start) = match b.kind {
            BindKind::Var { .. } => {
                let Some(func) = enclosing_function(b.name) else {
                    return false;
                };
                let start = match b.value() {
                    None if b.kind_is_plain_var() => Start::Fresh,
                    None => Start::Foreign,
                    Some(v) => self.start_of(b.file, v, depth),
                };
                (func, start)
            }
            // A named result starts as a zero value.
            BindKind::Param {
                func,
                role: ParamRole::Result,
                ..
            } => (func, Start::Fresh),
            BindKind::Param {
                func,
                index,
                role: role @ (ParamRole::Param | ParamRole::Receiver),
                ..
            } => {
                if !self.callers_pass_private(b.file, func, role, index, steps, depth) {
                    return false;
                }
                (func, Start::Fresh)
            }
            _ => return false,
        };
        if !contains(func, at) || !self.runs_in_line(func, at) {
            return false;
        }
        let events = self.events(b, func);
        let decl_end = b.name.end_byte();
        let at_byte = at.start_byte();
        // Code after `at` in a loop around it (and not around the declaration) runs before it too.
        let wrap = ancestors(at)
            .take_while(|n| n.id() != func.id())
            .filter(|n| n.kind_name() == "for_statement" && !contains(*n, b.name))
            .last();
        let before = |pos: usize| {
            pos >= decl_end && pos < at_byte
                || wrap.is_some_and(|l| pos >= at.end_byte() && pos < l.end_byte())
        };
        let escapes = |strong_only: bool| {
            events.iter().any(|e| match e {
                Event::Escape { at, path, strong } => {
                    (*strong || !strong_only) && before(*at) && is_prefix(path, steps)
                }
                Event::Assign { .. } => false,
            })
        };
        // Shared as soon as anything can reach it; or, for an object this
        // function made, once something can reach it while goroutines run:
        // a constructor may hand its value around before it starts any.
        // (A parameter every caller hands over fresh is still being built too.)
        let made_here = start == Start::Fresh;
        let shared = if made_here && escapes(false) {
            escapes(true) || self.concurrency_before(b.file, func, b.name.end_byte(), at)
        } else {
            escapes(false)
        };
        if shared {
            return false;
        }
        // Each object on the way to the map must be this function's own.
        // The composite literal the value comes from: the declaration's own,
        // or the one a constructor call returns (`nt := t.copy(nil)`), whose
        // fields set from the callee's parameters take the call's arguments.
        let literal = b.value().and_then(|v| match literal_of(self, b.file, v) {
            Some(lit) => Some((b.file, lit, None)),
            None if v.kind_name() == "call_expression" => self
                .returned_literal(b.file, v)
                .map(|(f, lit, callee)| (f, lit, Some((b.file, v, callee)))),
            None => None,
        });
        let from_call = b
            .value()
            .is_some_and(|v| v.kind_name() == "call_expression");
        let mut own = start != Start::Foreign;
        for k in 0..=steps.len() {
            let assigns: Vec<bool> = events
                .iter()
                .filter_map(|e| match e {
                    Event::Assign { at, path, fresh } if before(*at) && path == &steps[..k] => {
                        Some(*fresh)
                    }
                    _ => None,
                })
                .collect();
            own = if !assigns.is_empty() {
                assigns.iter().all(|f| *f)
            } else if k == 0 {
                own
            } else if k == 1 && start == Start::Copy {
                // A copy's fields still hold the original's maps.
                false
            } else if k == 1 {
                own && match literal {
                    Some((lfile, lit, call)) => {
                        self.literal_field_fresh(lfile, lit, &steps[0], call, depth)
                    }
                    // A result whose fields the callee may have set from anything.
                    None => !from_call,
                }
            } else {
                own
            };
            if !own {
                return false;
            }
        }
        own
    }

    /// The local that `expr` is reached through, when this function made its
    /// value (`s := &Server{...}`): its declaration.
    pub fn made_here(&self, file: usize, expr: Node<'a>) -> Option<Node<'a>> {
        let (root, _) = access_path(self, file, expr)?;
        let Resolved::Local(b) = self.resolve(file, root) else {
            return None;
        };
        if !matches!(b.kind, BindKind::Var { .. }) {
            return None;
        }
        let start = match b.value() {
            None if b.kind_is_plain_var() => Start::Fresh,
            None => Start::Foreign,
            Some(v) => self.start_of(b.file, v, 0),
        };
        (start == Start::Fresh).then_some(b.name)
    }

    /// Whether the object `expr` names, reached through a local that its
    /// function made (`decl`), may have been stored where code other than
    /// the goroutines handed it can find it, before `at`: anything but field
    /// accesses and calls that keep nothing of it (`go` statements hand it
    /// to their goroutine and count only for what that goroutine keeps).
    pub fn published_before(&self, file: usize, expr: Node<'a>, at: Node<'a>) -> bool {
        let Some((root, steps)) = access_path(self, file, expr) else {
            return true;
        };
        let Resolved::Local(b) = self.resolve(file, root) else {
            return true;
        };
        let Some(func) = enclosing_function(b.name) else {
            return true;
        };
        let (decl_end, at_byte) = (b.name.end_byte(), at.start_byte());
        {
            let mut memo = self.ownership.borrow_mut();
            memo.publish_budget = PUBLISH_BUDGET;
            memo.publish_assumed = false;
        }
        self.events_uncached(b, func, false, 0, Some(&steps))
            .iter()
            .any(|e| match e {
                Event::Escape { at, path, .. } => {
                    *at >= decl_end && *at < at_byte && is_prefix(path, &steps)
                }
                Event::Assign { .. } => false,
            })
    }

    /// Whether every value the local that `expr` is reached through was
    /// given before `at` is fresh: `e = shared.Load(k)` makes a value that
    /// was made here no longer this function's own.
    pub fn assigned_fresh_before(&self, file: usize, expr: Node<'a>, at: Node<'a>) -> bool {
        let Some((root, _)) = access_path(self, file, expr) else {
            return false;
        };
        let Resolved::Local(b) = self.resolve(file, root) else {
            return false;
        };
        let Some(func) = enclosing_function(b.name) else {
            return false;
        };
        self.events(b, func).iter().all(|e| match e {
            Event::Assign {
                at: pos,
                path,
                fresh,
            } => !path.is_empty() || *pos >= at.start_byte() || *fresh,
            Event::Escape { .. } => true,
        })
    }

    /// Whether `func` may start concurrent code between byte `from` and `at`:
    /// a `go` statement, a call that starts a task (`g.Go`, `time.AfterFunc`,
    /// `http.HandleFunc`...), or a call of a package function that does.
    fn concurrency_before(&self, file: usize, func: Node<'a>, from: usize, at: Node<'a>) -> bool {
        let until = at.start_byte();
        let mut found = false;
        walk(func, |n| {
            if found || n.end_byte() <= from || n.start_byte() >= until {
                return false;
            }
            match n.kind_name() {
                "go_statement" => found = true,
                "call_expression" => found = self.starts_concurrency(file, n, 0),
                _ => {}
            }
            !found
        });
        found
    }

    /// Whether a call starts concurrent code, itself or in the package
    /// function or method it calls (three calls deep).
    pub fn starts_concurrency(&self, file: usize, call: Node<'a>, depth: usize) -> bool {
        let Some(function) = call.child_by_field_id(field::FUNCTION) else {
            return false;
        };
        if function.kind_name() == "selector_expression" {
            let method = function
                .child_by_field_id(field::FIELD)
                .map_or("", |f| self.text(file, f));
            if SPAWNING_METHODS.contains(&method) {
                return true;
            }
        }
        if depth >= 3 {
            return false;
        }
        let Some((cfile, decl, _)) = self.static_callee_of(file, call) else {
            return false;
        };
        let key = (cfile, decl.start_byte(), depth);
        if let Some(&known) = self.ownership.borrow().spawns.get(&key) {
            return known;
        }
        let mut found = false;
        if let Some(body) = decl.child_by_field_id(field::BODY) {
            walk(body, |n| {
                if found {
                    return false;
                }
                match n.kind_name() {
                    "go_statement" => found = true,
                    "call_expression" => found = self.starts_concurrency(cfile, n, depth + 1),
                    _ => {}
                }
                !found
            });
        }
        self.ownership.borrow_mut().spawns.insert(key, found);
        found
    }

    /// Whether `at` runs in `func`'s own flow: not inside a function literal
    /// that may run later or elsewhere (one called on the spot or deferred is fine).
    fn runs_in_line(&self, func: Node<'a>, at: Node<'a>) -> bool {
        ancestors(at)
            .take_while(|n| n.id() != func.id())
            .filter(|n| n.kind_name() == "func_literal")
            .all(|lit| called_on_the_spot(lit))
    }

    /// Whether every call site of `func` passes, as its receiver or parameter
    /// `index`, an object private to the caller at the call. Exported
    /// functions, functions used as values and functions without callers may
    /// be called with anything.
    fn callers_pass_private(
        &self,
        file: usize,
        func: Node<'a>,
        role: ParamRole,
        index: usize,
        steps: &[Step],
        depth: usize,
    ) -> bool {
        if func.kind_name() == "func_literal" {
            return false;
        }
        let name = func
            .child_by_field_id(field::NAME)
            .map_or("", |n| self.text(file, n));
        if name.is_empty() || self.is_api(file, func) {
            return false;
        }
        if self.used_as_value(file, func) {
            return false;
        }
        let sites = self.call_sites(file, func);
        !sites.is_empty()
            && sites.iter().all(|site| {
                let arg = match role {
                    ParamRole::Receiver => site.receiver,
                    _ => site.args.get(index).copied(),
                };
                let Some(arg) = arg else { return false };
                let Some((root, mut arg_steps)) = access_path(self, site.file, arg) else {
                    return false;
                };
                let Resolved::Local(b) = self.resolve(site.file, root) else {
                    return false;
                };
                arg_steps.extend(steps.iter().cloned());
                self.binding_private(b, &arg_steps, site.call, depth + 1)
            })
    }

    /// How a variable declared with `value` starts out.
    fn start_of(&self, file: usize, value: Node<'a>, depth: usize) -> Start {
        if self.is_fresh(file, value, depth) {
            return Start::Fresh;
        }
        let deref = value.kind_name() == "unary_expression"
            && value
                .child_by_field_id(field::OPERATOR)
                .is_some_and(|o| self.text(file, o) == "*");
        if deref || self.copies_struct_field(file, value) {
            Start::Copy
        } else {
            Start::Foreign
        }
    }

    /// `x.meta` where field `meta` holds a struct by value: the variable
    /// gets a copy (whose map fields are still the original's).
    fn copies_struct_field(&self, file: usize, value: Node<'a>) -> bool {
        if value.kind_name() != "selector_expression" {
            return false;
        }
        let (Some(operand), Some(field)) = (
            value.child_by_field_id(field::OPERAND),
            value.child_by_field_id(field::FIELD),
        ) else {
            return false;
        };
        match self.type_of(file, operand) {
            Ty::Struct(t) => self.field_is_struct_value(&t, self.text(file, field)),
            _ => false,
        }
    }

    /// A value nobody else holds: `make(...)`, `new(T)`, a composite literal
    /// (or its address), `nil`, or the result of a package function that
    /// returns such a value.
    fn is_fresh(&self, file: usize, value: Node<'a>, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match value.kind_name() {
            "composite_literal" | "nil" => true,
            "parenthesized_expression" => value
                .named_child(0)
                .is_some_and(|v| self.is_fresh(file, v, depth)),
            "unary_expression" => {
                value
                    .child_by_field_id(field::OPERATOR)
                    .is_some_and(|o| self.text(file, o) == "&")
                    && value
                        .child_by_field_id(field::OPERAND)
                        .is_some_and(|o| o.kind_name() == "composite_literal")
            }
            "call_expression" => {
                let Some(function) = value.child_by_field_id(field::FUNCTION) else {
                    return false;
                };
                // `maps.Clone(m)`, `h.Clone()` of a library map type: a new map.
                if is_library_clone(self, file, function) {
                    return true;
                }
                // `t.copy(nil)`: a method of the package that returns a new value.
                if function.kind_name() == "selector_expression" {
                    return self
                        .static_callee_of(file, value)
                        .is_some_and(|(f, decl, _)| self.returns_fresh(f, decl, depth + 1));
                }
                if function.kind_name() != "identifier" {
                    return false;
                }
                match self.resolve(file, function) {
                    Resolved::PackageFunc(f, decl) => self.returns_fresh(f, decl, depth + 1),
                    Resolved::Unknown => matches!(self.text(file, function), "make" | "new"),
                    _ => false,
                }
            }
            _ => false,
        }
    }

    /// Whether every `return` of package function `decl` hands back a fresh
    /// value (first result): `NewT()` returning `&T{...}` it has not shared.
    pub fn returns_fresh(&self, file: usize, decl: Node<'a>, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let key = (file, decl.start_byte(), depth);
        if let Some(&known) = self.ownership.borrow().returns_fresh.get(&key) {
            return known;
        }
        let Some(body) = decl.child_by_field_id(field::BODY) else {
            return false;
        };
        let mut returns = Vec::new();
        walk(body, |n| {
            if n.kind_name() == "return_statement" {
                returns.push(n);
            }
            n.kind_name() != "func_literal"
        });
        let fresh = !returns.is_empty()
            && returns.iter().all(|ret| {
                match ret.named_child(0).and_then(|list| list.named_child(0)) {
                    Some(value) if value.kind_name() == "identifier" => {
                        match self.resolve(file, value) {
                            Resolved::Local(b) => self.binding_private(b, &[], *ret, depth + 1),
                            _ => false,
                        }
                    }
                    Some(value) => self.is_fresh(file, value, depth + 1),
                    // A bare return of a named result.
                    None => self
                        .named_result(file, decl)
                        .is_some_and(|b| self.binding_private(b, &[], *ret, depth + 1)),
                }
            });
        self.ownership.borrow_mut().returns_fresh.insert(key, fresh);
        fresh
    }

    /// The composite literal the callee of `call` returns, when its body has
    /// a single `return &T{...}` or `return T{...}`: (its file, the literal,
    /// the callee).
    fn returned_literal(&self, file: usize, call: Node<'a>) -> Option<(usize, Node<'a>, Node<'a>)> {
        let (cfile, decl, _) = self.static_callee_of(file, call)?;
        let body = decl.child_by_field_id(field::BODY)?;
        let mut returns = Vec::new();
        walk(body, |n| {
            if n.kind_name() == "return_statement" {
                returns.push(n);
            }
            n.kind_name() != "func_literal"
        });
        let [ret] = returns.as_slice() else {
            return None;
        };
        let value = ret.named_child(0)?.named_child(0)?;
        literal_of(self, cfile, value).map(|lit| (cfile, lit, decl))
    }

    fn named_result(&self, file: usize, decl: Node<'a>) -> Option<Binding<'a>> {
        let result = decl.child_by_field_id(field::RESULT)?;
        if result.kind_name() != "parameter_list" {
            return None;
        }
        let name = result.named_child(0)?.child_by_field_id(field::NAME)?;
        match self.resolve(file, name) {
            Resolved::Local(b) => Some(b),
            _ => None,
        }
    }

    /// Whether the field that `step` names is fresh in a composite literal:
    /// not set, or set to a fresh value.
    fn literal_field_fresh(
        &self,
        file: usize,
        lit: Node<'a>,
        step: &Step,
        call: Option<(usize, Node<'a>, Node<'a>)>,
        depth: usize,
    ) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let Step::Field(name) = step else {
            return false;
        };
        // A promoted field is set through the embedded field it comes from.
        let promoted = match self.type_of(file, lit) {
            Ty::Struct(t) => self.promoted_through(&t, name),
            _ => None,
        };
        let name = promoted.as_ref().unwrap_or(name);
        // A value the literal took from a parameter of the constructor is the
        // call's argument: `copy(nil)` leaves the field empty.
        let depth = depth + 1;
        let fresh = |v: Node<'a>| -> bool {
            if is_scalar_literal(v)
                || self.is_fresh(file, v, depth)
                || self.handed_over(file, v, depth)
            {
                return true;
            }
            let Some((cfile, call, callee)) = call else {
                return false;
            };
            if v.kind_name() != "identifier" {
                return false;
            }
            let Resolved::Local(b) = self.resolve(file, v) else {
                return false;
            };
            let BindKind::Param {
                func,
                index,
                role: ParamRole::Param,
                ..
            } = b.kind
            else {
                return false;
            };
            func.id() == callee.id()
                && call
                    .child_by_field_id(field::ARGUMENTS)
                    .and_then(|a| a.named_child(index))
                    .is_some_and(|arg| {
                        self.is_fresh(cfile, arg, depth) || self.handed_over(cfile, arg, depth)
                    })
        };
        let Some(body) = lit.child_by_field_id(field::BODY) else {
            return true;
        };
        let mut cursor = body.walk();
        for element in body.named_children(&mut cursor) {
            match element.kind_name() {
                "keyed_element" => {
                    let key = element.named_child(0);
                    let key_text = key.map(|k| self.text(file, k).trim());
                    if key_text == Some(name.as_str()) {
                        return element
                            .named_child(1)
                            .and_then(|v| {
                                if v.kind_name() == "literal_element" {
                                    v.named_child(0)
                                } else {
                                    Some(v)
                                }
                            })
                            .is_some_and(fresh);
                    }
                }
                // Positional fields: the struct's declaration says which is which.
                "literal_element" => {
                    let position = match self.type_of(file, lit) {
                        Ty::Struct(t) => self.field_position(&t, name),
                        _ => None,
                    };
                    let Some(position) = position else {
                        // Unknown: any field may hold a shared object.
                        if element.named_child(0).is_some_and(|v| !fresh(v)) {
                            return false;
                        }
                        continue;
                    };
                    let mut c = body.walk();
                    let value = body
                        .named_children(&mut c)
                        .filter(|e| e.kind_name() != "comment")
                        .nth(position)
                        .and_then(|e| e.named_child(0));
                    return value.is_none_or(fresh);
                }
                _ => {}
            }
        }
        true
    }

    /// A local this function made and has not shared, handed over to a new
    /// object: `ret := &Template{..., ns}` with `ns := &nameSpace{...}`.
    fn handed_over(&self, file: usize, v: Node<'a>, depth: usize) -> bool {
        v.kind_name() == "identifier"
            && matches!(self.resolve(file, v), Resolved::Local(b)
                if matches!(b.kind, BindKind::Var { .. }) && self.binding_private(b, &[], v, depth + 1))
    }

    /// Whether parameter `index` (or the receiver, `None`) of function `decl`
    /// can be kept by it: stored, sent, captured by a goroutine or callback,
    /// returned, or passed on to code that keeps it. With `publish` (the
    /// steps to an object inside the parameter), whether that object can be
    /// published: see [`Package::published_before`].
    pub fn param_escapes(
        &self,
        file: usize,
        decl: Node<'a>,
        index: Option<usize>,
        depth: usize,
        publish: Option<&[Step]>,
    ) -> bool {
        if let Some(target) = publish {
            return self.param_publishes(file, decl, index, target);
        }
        if depth > MAX_DEPTH {
            return true;
        }
        let key = (file, decl.start_byte(), index.unwrap_or(usize::MAX), depth);
        if let Some(&known) = self.ownership.borrow().param_escapes.get(&key) {
            return known;
        }
        let escapes = match self.param_binding(file, decl, index) {
            Some(b) => self
                .events_uncached(b, decl, true, depth + 1, None)
                .iter()
                .any(|e| matches!(e, Event::Escape { .. })),
            // An unnamed parameter is never used; a missing one is unknown.
            None => !self.param_unnamed(decl, index),
        };
        self.ownership
            .borrow_mut()
            .param_escapes
            .insert(key, escapes);
        escapes
    }

    /// Whether function `decl` can publish the object at `target` inside its
    /// parameter `index` (or receiver). Call chains are followed to the end:
    /// a call back into a function being answered assumes it does not
    /// publish (the greatest fixed point), and an answer that rests on such
    /// an assumption is not remembered. Past a budget of functions looked
    /// at, the answer is the cautious one.
    fn param_publishes(
        &self,
        file: usize,
        decl: Node<'a>,
        index: Option<usize>,
        target: &[Step],
    ) -> bool {
        let key = (
            file,
            decl.start_byte(),
            index.unwrap_or(usize::MAX),
            target.to_vec(),
        );
        {
            let mut memo = self.ownership.borrow_mut();
            if let Some(&known) = memo.publishes.get(&key) {
                return known;
            }
            if memo.publish_in_progress.contains(&key) {
                memo.publish_assumed = true;
                return false;
            }
            if memo.publish_budget == 0 {
                memo.publish_assumed = true;
                return true;
            }
            memo.publish_budget -= 1;
            memo.publish_in_progress.insert(key.clone());
        }
        let outer = std::mem::replace(&mut self.ownership.borrow_mut().publish_assumed, false);
        let publishes = match self.param_binding(file, decl, index) {
            Some(b) => self
                .events_uncached(b, decl, true, 1, Some(target))
                .iter()
                .any(|e| match e {
                    Event::Escape { path, .. } => is_prefix(path, target),
                    Event::Assign { .. } => false,
                }),
            None => !self.param_unnamed(decl, index),
        };
        let mut memo = self.ownership.borrow_mut();
        memo.publish_in_progress.remove(&key);
        if !memo.publish_assumed {
            memo.publishes.insert(key, publishes);
        }
        memo.publish_assumed |= outer;
        publishes
    }

    /// The local variable that the left operand `ident` of an assignment or
    /// `:=` names (a `:=` declares it, so it is found from its later uses).
    fn local_assigned(&self, file: usize, ident: Node<'a>) -> Option<Binding<'a>> {
        if let Resolved::Local(b) = self.resolve(file, ident) {
            return matches!(b.kind, BindKind::Var { .. }).then_some(b);
        }
        let func = enclosing_function(ident)?;
        let name = self.text(file, ident);
        let mut found = None;
        walk(func, |n| {
            if found.is_some() {
                return false;
            }
            if n.kind_name() == "identifier"
                && n.start_byte() > ident.end_byte()
                && self.text(file, n) == name
                && let Resolved::Local(b) = self.resolve(file, n)
                && b.name.id() == ident.id()
            {
                found = Some(b);
            }
            true
        });
        found.filter(|b| matches!(b.kind, BindKind::Var { .. }))
    }

    /// Whether the local `b` (in `func`) can publish the object at `target`
    /// inside it; followed through at most a few locals, then cautious.
    fn local_publishes(&self, b: Binding<'a>, func: Node<'a>, target: &[Step]) -> bool {
        {
            let mut memo = self.ownership.borrow_mut();
            if memo.publish_locals >= MAX_LOCAL_CHAIN {
                // A cautious answer cut short here is not a fact to remember.
                memo.publish_assumed = true;
                return true;
            }
            memo.publish_locals += 1;
        }
        let publishes = self
            .events_uncached(b, func, true, 1, Some(target))
            .iter()
            .any(|e| match e {
                Event::Escape { path, .. } => is_prefix(path, target),
                Event::Assign { .. } => false,
            });
        self.ownership.borrow_mut().publish_locals -= 1;
        publishes
    }

    fn param_unnamed(&self, decl: Node<'a>, index: Option<usize>) -> bool {
        let field = if index.is_none() {
            "receiver"
        } else {
            "parameters"
        };
        let Some(list) = decl.child_by_field_name(field) else {
            return false;
        };
        let mut cursor = list.walk();
        let decls: Vec<Node<'a>> = list.named_children(&mut cursor).collect();
        let all_unnamed = decls
            .iter()
            .all(|d| d.child_by_field_id(field::NAME).is_none());
        all_unnamed && index.is_none_or(|i| i < decls.len())
    }

    /// The binding of parameter `index` (or the receiver) of `decl`.
    pub(crate) fn param_binding(
        &self,
        file: usize,
        decl: Node<'a>,
        index: Option<usize>,
    ) -> Option<Binding<'a>> {
        let field = if index.is_none() {
            "receiver"
        } else {
            "parameters"
        };
        let list = decl.child_by_field_name(field)?;
        let mut position = 0;
        let mut cursor = list.walk();
        for p in list.named_children(&mut cursor) {
            let mut names = p.walk();
            let names: Vec<Node<'a>> = p.children_by_field_name("name", &mut names).collect();
            if names.is_empty() {
                position += 1;
                continue;
            }
            for n in names {
                let variadic_tail = p.kind_name() == "variadic_parameter_declaration"
                    && index.is_some_and(|i| i >= position);
                if index.is_none() || index == Some(position) || variadic_tail {
                    return match self.resolve(file, n) {
                        Resolved::Local(b) => Some(b),
                        _ => None,
                    };
                }
                position += 1;
            }
        }
        None
    }

    /// What the uses of `b` do. A question that comes back to `b` while its
    /// events are being found gets the cautious answer (shared from its
    /// declaration on), and whatever depended on that is not remembered, so
    /// that every answer is the same whatever was asked first.
    fn events(&self, b: Binding<'a>, func: Node<'a>) -> Rc<Vec<Event>> {
        let id = b.id();
        if let Some(e) = self.ownership.borrow().events.get(&id) {
            return e.clone();
        }
        // A cycle, or a chain of questions too long to follow.
        let nested = self.ownership.borrow().in_progress.len();
        if nested >= 32 || self.ownership.borrow().in_progress.contains(&id) {
            self.ownership.borrow_mut().met_cycle = true;
            return Rc::new(vec![Event::Escape {
                at: b.name.end_byte(),
                path: Vec::new(),
                strong: true,
            }]);
        }
        let outer = {
            let mut memo = self.ownership.borrow_mut();
            memo.in_progress.insert(id.clone());
            std::mem::replace(&mut memo.met_cycle, false)
        };
        let events = Rc::new(self.events_uncached(b, func, false, 0, None));
        let mut memo = self.ownership.borrow_mut();
        memo.in_progress.remove(&id);
        if !memo.met_cycle {
            memo.events.insert(id, events.clone());
        }
        memo.met_cycle |= outer;
        events
    }

    /// What each use of variable `b` in `func` does to the objects it reaches.
    fn events_uncached(
        &self,
        b: Binding<'a>,
        func: Node<'a>,
        returns_escape: bool,
        depth: usize,
        publish: Option<&[Step]>,
    ) -> Vec<Event> {
        let file = b.file;
        let name = self.text(file, b.name);
        let id = b.id();
        let mut uses = Vec::new();
        walk(func, |n| {
            if n.kind_name() == "identifier" && n.id() != b.name.id() && self.text(file, n) == name
            {
                uses.push(n);
            }
            true
        });
        let mut events = Vec::new();
        for ident in uses {
            if !matches!(self.resolve(file, ident), Resolved::Local(u) if u.id() == id) {
                continue;
            }
            // Captured by a function literal that runs later or elsewhere, or
            // by a `go` statement: shared from there on.
            let mut captured = None;
            for n in ancestors(ident).take_while(|n| n.id() != func.id()) {
                if n.kind_name() == "go_statement"
                    || n.kind_name() == "func_literal" && !called_on_the_spot(n)
                {
                    captured = Some(n);
                }
            }
            // Publishing: a `go` statement hands the value to the goroutine it
            // starts, like a call; only what that goroutine does with it counts.
            let handed_to_goroutine = publish.is_some()
                && captured.is_some_and(|c| {
                    c.kind_name() == "go_statement"
                        && !ancestors(ident)
                            .take_while(|n| n.id() != c.id())
                            .any(|n| n.kind_name() == "func_literal")
                });
            if let Some(c) = captured.filter(|_| !handed_to_goroutine) {
                // A callback handed straight to a call (`db.View(func() {...})`)
                // runs while that call runs, unless the call starts tasks.
                let callback = c.kind_name() == "func_literal"
                    && c.parent().is_some_and(|p| p.kind_name() == "argument_list")
                    && !self.is_spawned_literal(file, c);
                events.push(Event::Escape {
                    at: c.start_byte(),
                    path: Vec::new(),
                    strong: !callback,
                });
                continue;
            }
            events.extend(self.use_event(file, ident, returns_escape, depth, publish));
        }
        events
    }

    /// The event of one use of a variable, from the expression around it.
    fn use_event(
        &self,
        file: usize,
        ident: Node<'a>,
        returns_escape: bool,
        depth: usize,
        publish: Option<&[Step]>,
    ) -> Option<Event> {
        let at = ident.start_byte();
        let mut path = Vec::new();
        let mut expr = ident;
        // Climb to the whole expression that names an object through the variable.
        while let Some(parent) = expr.parent() {
            match parent.kind_name() {
                "selector_expression"
                    if parent
                        .child_by_field_id(field::OPERAND)
                        .is_some_and(|o| o.id() == expr.id()) =>
                {
                    let method_call = parent.parent().is_some_and(|c| {
                        c.kind_name() == "call_expression"
                            && c.child_by_field_id(field::FUNCTION)
                                .is_some_and(|f| f.id() == parent.id())
                    });
                    if method_call {
                        // Publishing `x.t`: a method of an object that does not hold it cannot.
                        let publish = match publish {
                            Some(t) if !is_prefix(&path, t) => return None,
                            Some(t) => Some(&t[path.len()..]),
                            None => None,
                        };
                        return self.method_call_event(file, parent, &path, at, depth, publish);
                    }
                    let field = parent.child_by_field_id(field::FIELD)?;
                    path.push(Step::Field(self.text(file, field).to_string()));
                    expr = parent;
                }
                "index_expression"
                    if parent
                        .child_by_field_id(field::OPERAND)
                        .is_some_and(|o| o.id() == expr.id()) =>
                {
                    path.push(Step::Index);
                    expr = parent;
                }
                "parenthesized_expression" => expr = parent,
                // `f(xs...)` passes `xs` as the variadic parameter.
                "variadic_argument" if publish.is_some() => expr = parent,
                "unary_expression" if self.alias_operand(file, parent).is_some() => expr = parent,
                _ => break,
            }
        }
        let parent = expr.parent()?;
        let escape = Some(Event::Escape {
            at,
            path: path.clone(),
            strong: false,
        });
        match parent.kind_name() {
            "expression_list" => {
                let stmt = parent.parent()?;
                let is_left = stmt
                    .child_by_field_id(field::LEFT)
                    .is_some_and(|l| l.id() == parent.id());
                match stmt.kind_name() {
                    "assignment_statement" | "short_var_declaration" if is_left => {
                        let position = position_in(parent, expr)?;
                        let right = stmt.child_by_field_id(field::RIGHT)?;
                        let fresh = if right.named_child_count() == parent.named_child_count() {
                            right
                                .named_child(position)
                                .is_some_and(|v| self.is_fresh(file, v, depth))
                        } else {
                            false
                        };
                        let compound = stmt.child_by_field_id(field::OPERATOR).is_some_and(|o| {
                            let op = self.text(file, o);
                            op != "=" && op != ":="
                        });
                        if compound {
                            return None;
                        }
                        Some(Event::Assign { at, path, fresh })
                    }
                    "assignment_statement" | "short_var_declaration" => {
                        // `_ = x` keeps nothing.
                        let left = stmt.child_by_field_id(field::LEFT)?;
                        let position = position_in(parent, expr)?;
                        let target = left.named_child(position);
                        if target.is_some_and(|t| self.text(file, t) == "_") {
                            return None;
                        }
                        // Publishing: copied into a local (`old := n.m`), it is
                        // published if that local is.
                        if let Some(t) = publish
                            && is_prefix(&path, t)
                            && let Some(local) = target.filter(|t| t.kind_name() == "identifier")
                            && let Some(lb) = self.local_assigned(file, local)
                            && let Some(func) = enclosing_function(lb.name)
                        {
                            let rest = &t[path.len()..];
                            return self
                                .local_publishes(lb, func, rest)
                                .then_some(Event::Escape {
                                    at,
                                    path,
                                    strong: false,
                                });
                        }
                        // Stored in a package variable: every goroutine can reach it.
                        let global = target.and_then(|t| access_path(self, file, t)).is_some_and(
                            |(root, _)| matches!(self.resolve(file, root), Resolved::PackageVar(_)),
                        );
                        Some(Event::Escape {
                            at,
                            path,
                            strong: global,
                        })
                    }
                    "return_statement" if !returns_escape => None,
                    "expression_switch_statement" | "for_clause" => None,
                    _ => escape,
                }
            }
            "return_statement" if !returns_escape => None,
            "argument_list" => {
                let publish = match publish {
                    Some(t) if !is_prefix(&path, t) => return None,
                    Some(t) => Some(&t[path.len()..]),
                    None => None,
                };
                self.argument_event(file, parent, expr, path, at, depth, publish)
            }
            "send_statement" => Some(Event::Escape {
                at,
                path,
                strong: true,
            }),
            "binary_expression"
            | "inc_statement"
            | "dec_statement"
            | "if_statement"
            | "for_statement"
            | "expression_statement"
            | "expression_switch_statement"
            | "range_clause"
            | "slice_expression"
            | "type_assertion_expression"
            | "type_switch_statement"
            | "expression_case" => None,
            "index_expression" => None, // used as an index: `y[x.id]`
            "unary_expression" => None, // `!x.ok`, `-x.n`, `<-x.ch`
            "selector_expression" => None,
            _ => escape,
        }
    }

    /// A method call on an object reached through the variable: `x.p.m(...)`.
    fn method_call_event(
        &self,
        file: usize,
        selector: Node<'a>,
        path: &[Step],
        at: usize,
        depth: usize,
        publish: Option<&[Step]>,
    ) -> Option<Event> {
        let weak = Some(Event::Escape {
            at,
            path: path.to_vec(),
            strong: false,
        });
        let strong = Some(Event::Escape {
            at,
            path: path.to_vec(),
            strong: true,
        });
        let operand = selector.child_by_field_id(field::OPERAND)?;
        let field = selector.child_by_field_id(field::FIELD)?;
        let method = self.text(file, field);
        let method_decl = self.method_of(file, operand, field).or_else(|| {
            let t = self.made_type_name(file, operand)?;
            self.method(&t, method)
        });
        if let Some(m) = method_decl {
            return if self.param_escapes(m.file, m.decl, None, depth + 1, publish) {
                weak
            } else {
                None
            };
        }
        // Methods of other packages on a field (`s.mu.Lock()`, `s.wg.Add(1)`)
        // keep the field at most, and well-known ones nothing.
        if BENIGN_METHODS.contains(&method) {
            return None;
        }
        strong
    }

    /// The package type a local was made as: `make(T, n)`, `T{...}`, `&T{...}`,
    /// `T(x)`; for named map and slice types, which carry methods too.
    fn made_type_name(&self, file: usize, operand: Node<'a>) -> Option<String> {
        if operand.kind_name() != "identifier" {
            return None;
        }
        let Resolved::Local(b) = self.resolve(file, operand) else {
            return None;
        };
        let value = b.value()?;
        let value = literal_of(self, file, value).unwrap_or(value);
        let type_node = match value.kind_name() {
            "composite_literal" => value.child_by_field_id(field::TYPE)?,
            "call_expression" => {
                let function = value.child_by_field_id(field::FUNCTION)?;
                match self.text(file, function) {
                    "make" | "new" => value.child_by_field_id(field::ARGUMENTS)?.named_child(0)?,
                    _ => function,
                }
            }
            _ => return None,
        };
        let name = self.text(file, type_node);
        self.type_decl(name).is_some().then(|| name.to_string())
    }

    /// A use as a call argument: kept only if the callee keeps it.
    #[allow(clippy::too_many_arguments)]
    fn argument_event(
        &self,
        file: usize,
        args: Node<'a>,
        expr: Node<'a>,
        path: Vec<Step>,
        at: usize,
        depth: usize,
        publish: Option<&[Step]>,
    ) -> Option<Event> {
        let weak = Some(Event::Escape {
            at,
            path: path.clone(),
            strong: false,
        });
        let escape = Some(Event::Escape {
            at,
            path: path.clone(),
            strong: true,
        });
        let call = args.parent()?;
        if call.kind_name() != "call_expression" {
            return escape;
        }
        let function = call.child_by_field_id(field::FUNCTION)?;
        let position = position_in(args, expr)?;
        match function.kind_name() {
            "identifier" => {
                let name = self.text(file, function);
                match self.resolve(file, function) {
                    Resolved::PackageFunc(f, decl) => {
                        if self.param_escapes(f, decl, Some(position), depth + 1, publish) {
                            weak
                        } else {
                            None
                        }
                    }
                    Resolved::Unknown if BENIGN_BUILTINS.contains(&name) => None,
                    // `x.items = append(x.items, v)`: the slice, not the object, moves.
                    Resolved::Unknown if name == "append" && position == 0 => None,
                    _ => escape,
                }
            }
            "selector_expression" => {
                let operand = function.child_by_field_id(field::OPERAND)?;
                let field = function.child_by_field_id(field::FIELD)?;
                // Loggers format their arguments and keep nothing of them.
                if publish.is_some() && LOG_METHODS.contains(&self.text(file, field)) {
                    return None;
                }
                if let Some(m) = self.method_of(file, operand, field) {
                    return if self.param_escapes(m.file, m.decl, Some(position), depth + 1, publish)
                    {
                        weak
                    } else {
                        None
                    };
                }
                // `fmt.Sprintf(...)`, `t.Errorf(...)`: a package (or test helper) that keeps nothing.
                let package = operand.kind_name() == "identifier"
                    && matches!(self.resolve(file, operand), Resolved::Unknown)
                    && NON_RETAINING.contains(&self.text(file, operand));
                let test_helper = operand.kind_name() == "identifier"
                    && matches!(self.text(file, operand), "t" | "b" | "tb" | "f");
                if package || test_helper { None } else { escape }
            }
            _ => escape,
        }
    }
}

/// The composite literal a variable is declared with (`T{...}` or `&T{...}`).
fn literal_of<'a>(pkg: &Package<'a>, file: usize, value: Node<'a>) -> Option<Node<'a>> {
    match value.kind_name() {
        "composite_literal" => Some(value),
        "unary_expression" => pkg
            .alias_operand(file, value)
            .filter(|o| o.kind_name() == "composite_literal"),
        _ => None,
    }
}

fn is_scalar_literal(v: Node<'_>) -> bool {
    matches!(
        v.kind_name(),
        "int_literal"
            | "float_literal"
            | "interpreted_string_literal"
            | "raw_string_literal"
            | "rune_literal"
            | "true"
            | "false"
            | "nil"
            | "imaginary_literal"
    )
}

/// A function literal that runs where it stands: `func() { ... }()` or
/// `defer func() { ... }()`, not `go func() { ... }()`.
pub fn called_on_the_spot(lit: Node<'_>) -> bool {
    lit.parent().is_some_and(|call| {
        call.kind_name() == "call_expression"
            && call
                .child_by_field_id(field::FUNCTION)
                .is_some_and(|f| f.id() == lit.id())
            && call
                .parent()
                .is_none_or(|p| p.kind_name() != "go_statement")
    })
}

/// The position of `child` among the named children of `list`.
fn position_in(list: Node<'_>, child: Node<'_>) -> Option<usize> {
    let mut cursor = list.walk();
    list.named_children(&mut cursor)
        .filter(|c| c.kind_name() != "comment")
        .position(|c| c.id() == child.id())
}

impl<'a> Binding<'a> {
    /// Whether this is a variable declared without a value (`var x T`).
    fn kind_is_plain_var(&self) -> bool {
        matches!(self.kind, BindKind::Var { decl, .. } if decl.kind_name() == "var_spec" && decl.child_by_field_id(field::VALUE).is_none())
    }
}

/// A call that returns a new map: `maps.Clone(m)`, `maps.Collect(seq)`, or
/// `Clone()` on a map type of another package (`h.Clone()` of an `http.Header`).
fn is_library_clone<'a>(pkg: &Package<'a>, file: usize, function: Node<'a>) -> bool {
    let (Some(operand), Some(field)) = (
        function.child_by_field_id(field::OPERAND),
        function.child_by_field_id(field::FIELD),
    ) else {
        return false;
    };
    let name = pkg.text(file, field);
    if operand.kind_name() == "identifier"
        && pkg.text(file, operand) == "maps"
        && matches!(pkg.resolve(file, operand), Resolved::Unknown)
    {
        return matches!(name, "Clone" | "Collect");
    }
    name == "Clone" && pkg.type_of(file, operand) == Ty::LibraryMap
}
