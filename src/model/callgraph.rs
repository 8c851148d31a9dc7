//! Who calls whom inside a package: every call of a package function or
//! method whose callee is evident, the calls that the standard library makes
//! back into the package (`heap.Push(q, x)` calls `q.Push`), and function
//! literals that a package function receives and calls (`withLock(func() {
//! ... })`). Built once per package, on first use.

use std::collections::{HashMap, HashSet};

use tree_sitter::Node;

use super::scope::{BindKind, ParamRole, Resolved};
use super::types::Ty;
use super::{Package, enclosing_function, walk};

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
}

#[derive(Default)]
pub struct CallGraph<'a> {
    /// The call sites of each function, in source order.
    pub callers: HashMap<FuncKey, Vec<CallSite<'a>>>,
    /// Functions and methods used as values (`f := s.m`, `AfterFunc(d, s.m)`):
    /// they may be called from anywhere, with anything held.
    pub used_as_value: HashSet<FuncKey>,
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

impl<'a> Package<'a> {
    /// The package's call graph.
    pub fn call_graph(&self) -> &CallGraph<'a> {
        self.call_graph.get_or_init(|| self.build_call_graph())
    }

    /// The call sites of a function of the package.
    pub fn call_sites(&self, file: usize, func: Node<'a>) -> &[CallSite<'a>] {
        self.call_graph()
            .callers
            .get(&func_key(file, func))
            .map_or(&[], Vec::as_slice)
    }

    fn build_call_graph(&self) -> CallGraph<'a> {
        let mut graph = CallGraph::default();
        for (file, source) in self.files.iter().enumerate() {
            walk(source.tree.root_node(), |n| {
                match n.kind() {
                    "call_expression" => self.record_call(file, n, &mut graph),
                    "identifier" | "selector_expression" => {
                        self.record_value_use(file, n, &mut graph)
                    }
                    _ => {}
                }
                true
            });
        }
        graph
    }

    fn record_call(&self, file: usize, call: Node<'a>, graph: &mut CallGraph<'a>) {
        let (Some(function), Some(caller)) = (
            call.child_by_field_name("function"),
            enclosing_function(call),
        ) else {
            return;
        };
        let args: Vec<Node<'a>> = call
            .child_by_field_name("arguments")
            .map(|a| {
                let mut c = a.walk();
                a.named_children(&mut c).collect()
            })
            .unwrap_or_default();
        let text = self.text(file, function);
        if let Some((_, methods)) = CALLBACKS.iter().find(|(f, _)| *f == text) {
            let Some(&target) = args.first() else { return };
            if let Ty::Struct(t) = self.type_of(file, target) {
                for m in *methods {
                    if let Some(method) = self.methods.get(&(t.clone(), m.to_string())) {
                        graph
                            .callers
                            .entry(func_key(method.file, method.decl))
                            .or_default()
                            .push(CallSite {
                                file,
                                call,
                                caller,
                                receiver: Some(target),
                                args: Vec::new(),
                                outer: None,
                            });
                    }
                }
            }
            return;
        }
        // `check()` where `check := func() { ... }`: a call of a local function literal.
        if function.kind() == "identifier" {
            if let Resolved::Local(b) = self.resolve(file, function) {
                if let Some(lit) = b.value().filter(|v| v.kind() == "func_literal") {
                    graph
                        .callers
                        .entry(func_key(b.file, lit))
                        .or_default()
                        .push(CallSite {
                            file,
                            call,
                            caller,
                            receiver: None,
                            args,
                            outer: None,
                        });
                }
                return;
            }
        }
        let Some((cfile, decl, receiver)) = self.static_callee_of(file, call) else {
            return;
        };
        // Function literals handed to the callee run where it calls that parameter.
        for (index, arg) in args.iter().enumerate() {
            if arg.kind() == "func_literal" {
                for inner in self.param_calls(cfile, decl, index) {
                    graph
                        .callers
                        .entry(func_key(file, *arg))
                        .or_default()
                        .push(CallSite {
                            file: cfile,
                            call: inner,
                            caller: decl,
                            receiver: None,
                            args: Vec::new(),
                            outer: Some(call),
                        });
                }
            }
        }
        graph
            .callers
            .entry(func_key(cfile, decl))
            .or_default()
            .push(CallSite {
                file,
                call,
                caller,
                receiver,
                args,
                outer: None,
            });
    }

    /// A reference to a package function or method that is not a call of it.
    fn record_value_use(&self, file: usize, n: Node<'a>, graph: &mut CallGraph<'a>) {
        let parent = n.parent();
        let called = parent.is_some_and(|p| {
            p.kind() == "call_expression"
                && p.child_by_field_name("function")
                    .is_some_and(|f| f.id() == n.id())
        });
        if called {
            return;
        }
        let target = match n.kind() {
            "identifier" => {
                // Only names that a package function has: cheap test before resolving.
                if !self.funcs.contains_key(self.text(file, n)) {
                    return;
                }
                // Not the name of the declaration itself.
                if parent.is_some_and(|p| p.kind() == "function_declaration") {
                    return;
                }
                match self.resolve(file, n) {
                    Resolved::PackageFunc(f, decl) => Some((f, decl)),
                    _ => None,
                }
            }
            _ => {
                let Some(field) = n.child_by_field_name("field") else {
                    return;
                };
                if !self.methods_by_name.contains_key(self.text(file, field)) {
                    return;
                }
                n.child_by_field_name("operand")
                    .and_then(|o| self.method_of(file, o, field))
                    .map(|m| (m.file, m.decl))
            }
        };
        if let Some((f, decl)) = target {
            graph.used_as_value.insert(func_key(f, decl));
        }
    }

    /// The calls, inside function `decl`, of its parameter number `index`
    /// (a function value): `fn()` in `func withLock(mu *sync.Mutex, fn func())`.
    fn param_calls(&self, file: usize, decl: Node<'a>, index: usize) -> Vec<Node<'a>> {
        let Some(body) = decl.child_by_field_name("body") else {
            return Vec::new();
        };
        let mut calls = Vec::new();
        walk(body, |n| {
            if n.kind() == "call_expression" {
                let f = n.child_by_field_name("function");
                if let Some(f) = f.filter(|f| f.kind() == "identifier") {
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
        let function = call.child_by_field_name("function")?;
        match function.kind() {
            "identifier" => match self.resolve(file, function) {
                Resolved::PackageFunc(f, decl) => Some((f, decl, None)),
                _ => None,
            },
            "selector_expression" => {
                let field = function.child_by_field_name("field")?;
                if !self.methods_by_name.contains_key(self.text(file, field)) {
                    return None;
                }
                let operand = function.child_by_field_name("operand")?;
                let method = self.method_of(file, operand, field)?;
                Some((method.file, method.decl, Some(operand)))
            }
            _ => None,
        }
    }
}
