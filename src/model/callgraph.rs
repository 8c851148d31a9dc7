//! Who calls whom inside a package: the calls of a package function or
//! method whose callee is evident, the calls that the standard library makes
//! back into the package (`heap.Push(q, x)` calls `q.Push`), function literals
//! that a package function receives and calls (`withLock(func() { ... })`),
//! and local closures (`check := func() { ... }; check()`).
//!
//! One walk indexes every call and every other use of a name by that name,
//! without resolving anything; the call sites of a function are resolved on
//! first use, from the calls that bear its name.

use std::cell::RefCell;
use std::rc::Rc;

use tree_sitter::Node;

use super::lexical;
use super::scope::{BindKind, ParamRole, Resolved};
use super::types::Ty;
use super::{Package, enclosing_function, walk};
use crate::syntax::{NodeExt, field};
use rustc_hash::{FxHashMap, FxHashSet};

/// A function declaration or literal: its file and start byte.
pub type FuncKey = (usize, usize);

pub fn func_key(file: usize, func: Node<'_>) -> FuncKey {
    (file, func.start_byte())
}

/// One place that calls a function of the package.
#[derive(Clone, Debug)]
pub struct CallSite<'a> {
    pub file: usize,
    /// The call expression (for a function literal passed to a package
    /// function: the call of the parameter inside that function).
    pub call: Node<'a>,
    /// The function (declaration or literal) that contains the call.
    pub caller: Node<'a>,
    /// `x` in `x.m(...)`, or the value `heap.Push(x, v)` calls methods of.
    pub receiver: Option<Node<'a>>,
    /// The arguments, in the callee's parameter order.
    pub args: Vec<Node<'a>>,
    /// For a function literal passed to a package function: the call that
    /// passes it (`withLock(&s.mu, func() { ... })`), in the literal's file.
    pub outer: Option<Node<'a>>,
    /// For a method value passed to a package function that calls it
    /// (`s.wrapChk(s.checkRemoteServers)`): the file of that call, the call,
    /// and the value the method is taken from (`s`).
    pub via_value: Option<(usize, Node<'a>, Node<'a>)>,
}

/// Every call and every other use of a name, by name: `f(...)` under `f`,
/// `x.m(...)` under `m`, `heap.Push(...)` under `heap.Push`.
#[derive(Default)]
pub struct NameIndex<'a> {
    /// With whether the call counts only if the name is one of the
    /// package's functions or methods (`x.m(...)`; `f(...)` always counts).
    calls: FxHashMap<String, Vec<(usize, Node<'a>, bool)>>,
    values: FxHashMap<String, Vec<(usize, Node<'a>)>>,
}

#[derive(Default)]
pub struct CallGraphMemo<'a> {
    sites: FxHashMap<FuncKey, Rc<[CallSite<'a>]>>,
    used_as_value: FxHashMap<FuncKey, bool>,
}

/// Standard library functions that call methods of their first argument:
/// the interfaces of `container/heap` and `sort`.
const CALLBACKS: &[(&str, &[&str])] = &[
    ("heap.Push", &["Push", "Len", "Less", "Swap"]),
    ("heap.Pop", &["Pop", "Len", "Less", "Swap"]),
    ("heap.Remove", &["Pop", "Len", "Less", "Swap"]),
    ("heap.Fix", &["Len", "Less", "Swap"]),
    ("heap.Init", &["Len", "Less", "Swap"]),
    ("sort.Sort", &["Len", "Less", "Swap"]),
    ("sort.Stable", &["Len", "Less", "Swap"]),
];

fn args_of(call: Node<'_>) -> Vec<Node<'_>> {
    call.child_by_field_id(field::ARGUMENTS)
        .map(|a| {
            let mut c = a.walk();
            a.named_children(&mut c)
                .filter(|n| n.kind_name() != "comment")
                .collect()
        })
        .unwrap_or_default()
}

impl<'a> Package<'a> {
    /// The calls and uses of names in one file. Before the package's
    /// declarations are read, a name counts if some file may declare it;
    /// `calls_named` and `values_named` keep what the declarations bear out.
    fn name_index(&self, file: usize) -> &NameIndex<'a> {
        self.name_index[file].get_or_init(|| {
            let mut index = NameIndex::default();
            let source = self.files[file];
            let mut called = FxHashSet::default();
            let mut cursor = source.tree().walk();
            loop {
                let n = cursor.node();
                let field = if matches!(n.kind_name(), "identifier" | "field_identifier") {
                    cursor.field_name()
                } else {
                    None
                };
                self.index_name(file, n, field, &mut index, &mut called);
                if cursor.goto_first_child() {
                    continue;
                }
                while !cursor.goto_next_sibling() {
                    if !cursor.goto_parent() {
                        break;
                    }
                }
                if cursor.node().id() == source.tree().root_node().id() {
                    break;
                }
            }
            index
        })
    }

    /// The calls of `name` in the package, in file and source order: `f`
    /// for `f(...)`, `m` for `x.m(...)` when the package has a function or
    /// method `m`, `heap.Push` for `heap.Push(...)`.
    fn calls_named(&self, name: &str) -> Vec<(usize, Node<'a>)> {
        let word = name.rsplit('.').next().unwrap_or(name);
        let mut declared = None;
        let mut out = Vec::new();
        for file in self.lexicon.mentioning(word) {
            for &(cfile, call, only_declared) in
                self.name_index(file).calls.get(name).into_iter().flatten()
            {
                if !only_declared || *declared.get_or_insert_with(|| self.declares_function(name)) {
                    out.push((cfile, call));
                }
            }
        }
        out
    }

    /// The other uses of `name`, a function or method of the package, in file
    /// and source order; a file is parsed when the iteration reaches it.
    fn values_named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = (usize, Node<'a>)> + 's {
        let declared = self.declares_function(name);
        self.lexicon
            .mentioning(name)
            .filter(move |&file| {
                declared && lexical::has_use_other_than_call(&self.files[file].text, name)
            })
            .flat_map(move |file| {
                self.name_index(file)
                    .values
                    .get(name)
                    .into_iter()
                    .flatten()
                    .copied()
            })
    }

    /// Adds node `n` of `file` to the name index, if it is a call or a use of
    /// the name of one of the package's functions or methods. `field` is the
    /// node's field in its parent. `called` holds the method names that are
    /// the function of a call (`x.m` in `x.m(...)`): a walk in source order
    /// sees the call before them.
    fn index_name(
        &self,
        file: usize,
        n: Node<'a>,
        field: Option<&str>,
        index: &mut NameIndex<'a>,
        called: &mut FxHashSet<usize>,
    ) {
        match n.kind_name() {
            "call_expression" => {
                if let Some(f) = n.child_by_field_id(field::FUNCTION) {
                    let name = match f.kind_name() {
                        "identifier" => Some((self.text(file, f), false)),
                        "selector_expression" => {
                            let method = f.child_by_field_id(field::FIELD);
                            if let Some(m) = method {
                                called.insert(m.id());
                            }
                            let text = self.text(file, f);
                            if CALLBACKS.iter().any(|(c, _)| *c == text) {
                                Some((text, false))
                            } else {
                                // Looked up by the names of the package's
                                // functions and methods only.
                                method
                                    .map(|m| self.text(file, m))
                                    .filter(|m| self.may_declare_function(m))
                                    .map(|m| (m, true))
                            }
                        }
                        _ => None,
                    };
                    if let Some((name, only_declared)) = name {
                        index.calls.entry(name.to_string()).or_default().push((
                            file,
                            n,
                            only_declared,
                        ));
                    }
                }
            }
            "identifier" | "field_identifier" if field != Some("function") => {
                let name = self.text(file, n);
                // Only names of the package's functions and methods matter.
                if self.may_declare_function(name)
                    && !(n.kind_name() == "field_identifier" && called.contains(&n.id()))
                {
                    index
                        .values
                        .entry(name.to_string())
                        .or_default()
                        .push((file, n));
                }
            }
            _ => {}
        }
    }

    /// The call sites of a function of the package (a declaration, or a
    /// function literal that is called where it can be seen).
    pub fn call_sites(&self, file: usize, func: Node<'a>) -> Rc<[CallSite<'a>]> {
        let key = func_key(file, func);
        if let Some(sites) = self.call_graph.borrow().sites.get(&key) {
            return sites.clone();
        }
        let sites: Rc<[CallSite<'a>]> = self.find_call_sites(file, func).into();
        self.call_graph
            .borrow_mut()
            .sites
            .insert(key, sites.clone());
        sites
    }

    fn find_call_sites(&self, file: usize, func: Node<'a>) -> Vec<CallSite<'a>> {
        if func.kind_name() == "func_literal" {
            return self.literal_call_sites(file, func);
        }
        let Some(name) = func
            .child_by_field_id(field::NAME)
            .map(|n| self.text(file, n))
        else {
            return Vec::new();
        };
        let mut sites = Vec::new();
        for (cfile, call) in self.calls_named(name) {
            // A call in a package variable's initialiser: the declaration is its caller.
            let Some(caller) = enclosing_function(call)
                .or_else(|| super::ancestors(call).find(|n| n.kind_name() == "var_declaration"))
            else {
                continue;
            };
            let Some((f, decl, receiver)) = self.static_callee_of(cfile, call) else {
                continue;
            };
            if f == file && decl.id() == func.id() {
                sites.push(CallSite {
                    file: cfile,
                    call,
                    caller,
                    receiver,
                    args: args_of(call),
                    outer: None,
                    via_value: None,
                });
            }
        }
        // `s.wrapChk(s.check)`: a method value handed to a package function
        // that calls it, where that function calls its parameter.
        for (vfile, value) in self.values_named(name) {
            let Some((outer, position, operand)) = self.handed_method(vfile, value, file, func)
            else {
                continue;
            };
            let Some((pfile, pdecl, _)) = self.static_callee_of(vfile, outer) else {
                continue;
            };
            for inner in self.param_calls(pfile, pdecl, position) {
                sites.push(CallSite {
                    file: pfile,
                    call: inner,
                    caller: enclosing_function(inner).unwrap_or(pdecl),
                    receiver: None,
                    args: Vec::new(),
                    outer: None,
                    via_value: Some((vfile, outer, operand)),
                });
            }
        }
        // `heap.Push(q, x)` calls `q.Push`, `q.Len`, `q.Less` and `q.Swap`.
        if func.kind_name() == "method_declaration" {
            for (callback, methods) in CALLBACKS {
                if !methods.contains(&name) {
                    continue;
                }
                for (cfile, call) in self.calls_named(callback) {
                    let (Some(caller), Some(&target)) =
                        (enclosing_function(call), args_of(call).first())
                    else {
                        continue;
                    };
                    let Ty::Struct(t) = self.type_of(cfile, target) else {
                        continue;
                    };
                    let same = self
                        .method(&t, name)
                        .is_some_and(|m| m.file == file && m.decl.id() == func.id());
                    if same {
                        sites.push(CallSite {
                            file: cfile,
                            call,
                            caller,
                            receiver: Some(target),
                            args: Vec::new(),
                            outer: None,
                            via_value: None,
                        });
                    }
                }
            }
        }
        sites
    }

    /// The call sites of a function literal: the calls of the local variable
    /// it is bound to, or the calls of the parameter of the package function
    /// it is passed to.
    fn literal_call_sites(&self, file: usize, lit: Node<'a>) -> Vec<CallSite<'a>> {
        let Some(parent) = lit.parent() else {
            return Vec::new();
        };
        if parent.kind_name() == "argument_list" {
            let Some(outer) = parent
                .parent()
                .filter(|c| c.kind_name() == "call_expression")
            else {
                return Vec::new();
            };
            let Some(index) = args_of(outer).iter().position(|a| a.id() == lit.id()) else {
                return Vec::new();
            };
            let Some((cfile, decl, _)) = self.static_callee_of(file, outer) else {
                return Vec::new();
            };
            return self
                .param_calls(cfile, decl, index)
                .into_iter()
                .map(|inner| CallSite {
                    file: cfile,
                    call: inner,
                    caller: enclosing_function(inner).unwrap_or(decl),
                    receiver: None,
                    args: Vec::new(),
                    outer: Some(outer),
                    via_value: None,
                })
                .collect();
        }
        // `check := func() { ... }`, then `check()`.
        let Some(name) = local_name_of(lit) else {
            return Vec::new();
        };
        let mut sites = Vec::new();
        for (cfile, call) in self.calls_named(self.text(file, name)) {
            if cfile != file || !super::contains(enclosing_function(lit).unwrap_or(lit), call) {
                continue;
            }
            let Some(function) = call.child_by_field_id(field::FUNCTION) else {
                continue;
            };
            let Resolved::Local(b) = self.resolve(file, function) else {
                continue;
            };
            if b.name.id() != name.id() {
                continue;
            }
            if let Some(caller) = enclosing_function(call) {
                sites.push(CallSite {
                    file,
                    call,
                    caller,
                    receiver: None,
                    args: args_of(call),
                    outer: None,
                    via_value: None,
                });
            }
        }
        sites
    }

    /// A use `x.m` of method `func` handed as argument `position` to a call
    /// of a package function that only calls that parameter: (the call,
    /// the position, `x`).
    fn handed_method(
        &self,
        vfile: usize,
        value: Node<'a>,
        file: usize,
        func: Node<'a>,
    ) -> Option<(Node<'a>, usize, Node<'a>)> {
        if func.kind_name() != "method_declaration" || value.kind_name() != "field_identifier" {
            return None;
        }
        let selector = value
            .parent()
            .filter(|p| p.kind_name() == "selector_expression")?;
        let args = selector
            .parent()
            .filter(|p| p.kind_name() == "argument_list")?;
        let outer = args
            .parent()
            .filter(|c| c.kind_name() == "call_expression")?;
        let operand = selector.child_by_field_id(field::OPERAND)?;
        let method = self.method_of(vfile, operand, value)?;
        if method.file != file || method.decl.id() != func.id() {
            return None;
        }
        let position = args_of(outer)
            .iter()
            .position(|a| a.id() == selector.id())?;
        let (pfile, pdecl, _) = self.static_callee_of(vfile, outer)?;
        self.param_only_called(pfile, pdecl, position)
            .then_some((outer, position, operand))
    }

    /// Whether parameter `index` of `decl` is only ever called, not kept or passed on.
    fn param_only_called(&self, file: usize, decl: Node<'a>, index: usize) -> bool {
        let Some(params) = decl.child_by_field_id(field::PARAMETERS) else {
            return false;
        };
        let mut names = Vec::new();
        let mut cursor = params.walk();
        for p in params.named_children(&mut cursor) {
            let mut c = p.walk();
            let ns: Vec<Node<'a>> = p.children_by_field_name("name", &mut c).collect();
            if ns.is_empty() {
                names.push(None);
            }
            names.extend(ns.into_iter().map(Some));
        }
        let Some(Some(name)) = names.get(index).copied() else {
            return false;
        };
        let text = self.text(file, name);
        let Some(body) = decl.child_by_field_id(field::BODY) else {
            return false;
        };
        let mut only_called = true;
        walk(body, |n| {
            if only_called && n.kind_name() == "identifier" && self.text(file, n) == text {
                let called = n.parent().is_some_and(|c| {
                    c.kind_name() == "call_expression"
                        && c.child_by_field_id(field::FUNCTION)
                            .is_some_and(|f| f.id() == n.id())
                        && c.parent().is_none_or(|g| g.kind_name() != "go_statement")
                });
                only_called = called;
            }
            only_called
        });
        only_called && !self.param_calls(file, decl, index).is_empty()
    }

    /// Whether an unexported function or method is dead code: nothing in the
    /// package (tests included) calls it or takes it as a value, and no
    /// interface of the package names it (an unexported method can satisfy
    /// only those). `init`, `main` and tests run anyway.
    pub fn is_dead(&self, file: usize, decl: Node<'a>) -> bool {
        let Some(name) = decl
            .child_by_field_id(field::NAME)
            .map(|n| self.text(file, n))
        else {
            return false;
        };
        if name.starts_with(|c: char| c.is_ascii_uppercase())
            || matches!(name, "init" | "main" | "_")
            || self.used_as_value(file, decl)
            || !self.call_sites(file, decl).is_empty()
        {
            return false;
        }
        if decl.kind_name() == "method_declaration" {
            let interfaces = self.types_in(&self.files_mentioning("interface"));
            let in_interface = interfaces.iter().any(|&(_, f, ty)| {
                ty.kind_name() == "interface_type" && {
                    let mut named = false;
                    walk(ty, |n| {
                        if matches!(n.kind_name(), "method_elem" | "method_spec") {
                            named |= n
                                .child_by_field_id(field::NAME)
                                .is_some_and(|m| self.text(f, m) == name);
                            return false;
                        }
                        !named
                    });
                    named
                }
            });
            if in_interface {
                return false;
            }
        }
        true
    }

    /// Whether a function or method of the package is used as a value
    /// (`f := s.m`, `AfterFunc(d, s.m)`): it may be called from anywhere,
    /// with anything held. For a function literal bound to a local variable:
    /// whether the variable is used other than called.
    pub fn used_as_value(&self, file: usize, func: Node<'a>) -> bool {
        let key = func_key(file, func);
        if let Some(&known) = self.call_graph.borrow().used_as_value.get(&key) {
            return known;
        }
        let used = self.find_value_use(file, func);
        self.call_graph.borrow_mut().used_as_value.insert(key, used);
        used
    }

    fn find_value_use(&self, file: usize, func: Node<'a>) -> bool {
        let name_node = if func.kind_name() == "func_literal" {
            local_name_of(func)
        } else {
            func.child_by_field_id(field::NAME)
        };
        // A literal passed straight to a call is that call's to run.
        let Some(name_node) = name_node else {
            return false;
        };
        let name = self.text(file, name_node);
        // Stops at the first: the files after it need not be parsed.
        self.values_named(name).any(|(ufile, n)| {
            if n.id() == name_node.id() {
                return false;
            }
            match n.kind_name() {
                "identifier" => match self.resolve(ufile, n) {
                    Resolved::PackageFunc(f, decl) => f == file && decl.id() == func.id(),
                    Resolved::Local(b) => {
                        func.kind_name() == "func_literal" && b.name.id() == name_node.id()
                    }
                    _ => false,
                },
                _ if self.handed_method(ufile, n, file, func).is_some() => false,
                _ => {
                    // A method value `x.m`, not called.
                    let Some(sel) = n
                        .parent()
                        .filter(|p| p.kind_name() == "selector_expression")
                    else {
                        return false;
                    };
                    let Some(operand) = sel.child_by_field_id(field::OPERAND) else {
                        return false;
                    };
                    self.method_of(ufile, operand, n)
                        .is_some_and(|m| m.file == file && m.decl.id() == func.id())
                }
            }
        })
    }

    /// The calls, inside function `decl`, of its parameter number `index`
    /// (a function value): `fn()` in `func withLock(mu *sync.Mutex, fn func())`.
    fn param_calls(&self, file: usize, decl: Node<'a>, index: usize) -> Vec<Node<'a>> {
        let Some(body) = decl.child_by_field_id(field::BODY) else {
            return Vec::new();
        };
        let mut calls = Vec::new();
        walk(body, |n| {
            if n.kind_name() == "call_expression" {
                let f = n.child_by_field_id(field::FUNCTION);
                if let Some(f) = f.filter(|f| f.kind_name() == "identifier") {
                    if let Resolved::Local(b) = self.resolve(file, f) {
                        if let BindKind::Param {
                            func,
                            index: i,
                            role: ParamRole::Param,
                            ..
                        } = b.kind
                        {
                            if func.id() == decl.id() && i == index {
                                calls.push(n);
                            }
                        }
                    }
                }
            }
            true
        });
        calls
    }

    /// The package function or method `call` calls, when evident: (file,
    /// declaration, receiver expression).
    pub fn static_callee_of(
        &self,
        file: usize,
        call: Node<'a>,
    ) -> Option<(usize, Node<'a>, Option<Node<'a>>)> {
        let function = call.child_by_field_id(field::FUNCTION)?;
        match function.kind_name() {
            "identifier" => {
                // Cheap first: only names of package functions.
                self.func(self.text(file, function))?;
                match self.resolve(file, function) {
                    Resolved::PackageFunc(f, decl) => Some((f, decl, None)),
                    _ => None,
                }
            }
            "selector_expression" => {
                let field = function.child_by_field_id(field::FIELD)?;
                if !self.has_methods_named(self.text(file, field)) {
                    return None;
                }
                let operand = function.child_by_field_id(field::OPERAND)?;
                let method = self.method_of(file, operand, field)?;
                Some((method.file, method.decl, Some(operand)))
            }
            _ => None,
        }
    }
}

/// The name a function literal is bound to: `check` in `check := func() {...}`.
fn local_name_of(lit: Node<'_>) -> Option<Node<'_>> {
    let list = lit
        .parent()
        .filter(|p| p.kind_name() == "expression_list")?;
    let decl = list
        .parent()
        .filter(|d| matches!(d.kind_name(), "short_var_declaration" | "var_spec"))?;
    if decl.kind_name() == "var_spec" {
        return decl.child_by_field_id(field::NAME);
    }
    let left = decl.child_by_field_id(field::LEFT)?;
    (left.named_child_count() == 1)
        .then(|| left.named_child(0))
        .flatten()
        .filter(|n| n.kind_name() == "identifier")
}

/// Memo storage for the call graph, owned by the package.
pub type CallGraphCell<'a> = RefCell<CallGraphMemo<'a>>;
