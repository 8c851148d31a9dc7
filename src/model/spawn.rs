//! Goroutines and ordering: every `go` statement of the package, the code it
//! runs, which outer map a name in that code refers to, and whether the code
//! that started the goroutine waits for it before touching the map again.

use rustc_hash::{FxHashMap, FxHashSet};
use tree_sitter::Node;

use super::scope::{BindKind, DeclId, Resolved};
use super::types::Ty;
use super::{Package, ancestors, enclosing_function, walk};
use crate::queries::{
    CALLS_QUERY, GO_KEYWORD, GO_QUERY, GO_WORDS, SPAWN_CALL_NAMES, SPAWN_CALL_WORDS,
    SPAWN_CALLS_QUERY, mentions_any,
};
use crate::syntax::{NodeExt, field};

/// The code a goroutine runs.
#[derive(Clone, Copy, Debug)]
pub enum GoroutineBody<'a> {
    /// `go func() { ... }()`, or a function literal held in a local and started with `go f()`.
    Literal { file: usize, lit: Node<'a> },
    /// `go f(...)` or `go x.m(...)` on a function or method of the package.
    Function { file: usize, decl: Node<'a> },
}

impl<'a> GoroutineBody<'a> {
    pub fn file(&self) -> usize {
        match *self {
            GoroutineBody::Literal { file, .. } | GoroutineBody::Function { file, .. } => file,
        }
    }

    /// The function node: a `func_literal` or a declaration.
    pub fn node(&self) -> Node<'a> {
        match *self {
            GoroutineBody::Literal { lit, .. } => lit,
            GoroutineBody::Function { decl, .. } => decl,
        }
    }
}

/// How code comes to run concurrently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpawnKind {
    /// `go f()`.
    Go,
    /// `wg.Go(f)` of `sync.WaitGroup` (Go 1.25).
    WaitGroupGo,
    /// `g.Go(f)` or `g.TryGo(f)` of `golang.org/x/sync/errgroup`.
    ErrgroupGo,
    /// `time.AfterFunc(d, f)`.
    AfterFunc,
    /// A call of a function of the package that starts its function argument with `go`.
    Wrapper,
    /// A call of a function of the package that starts its function argument
    /// in a goroutine per loop iteration (`forEachParallel(items, f)`): many
    /// copies run at once.
    ParallelWrapper,
    /// An HTTP handler: net/http calls it for many requests at once.
    Handler,
    /// A method of a gRPC service implementation.
    GrpcMethod,
    /// A `t.Run` subtest that calls `t.Parallel()`.
    ParallelSubtest,
    /// A test function that calls `t.Parallel()`.
    ParallelTest,
}

/// A place where code starts running concurrently with other code.
#[derive(Clone, Debug)]
pub struct Spawn<'a> {
    pub kind: SpawnKind,
    /// The file of the site.
    pub file: usize,
    /// The `go` statement, the call that starts the code, or the declaration.
    pub site: Node<'a>,
    /// What a label points at: the `go` keyword, `wg.Go`, `http.HandleFunc`, a method name.
    pub label: Node<'a>,
    /// The function that contains the site, for sites that are calls.
    pub starter: Option<Node<'a>>,
    pub body: GoroutineBody<'a>,
    /// Arguments bound to the body's parameters, evaluated by the starter.
    pub args: Vec<Node<'a>>,
    /// `x` in `go x.m()` or `http.HandleFunc(p, x.m)`.
    pub receiver: Option<Node<'a>>,
    /// The innermost loop, inside the starter, that contains the site.
    pub in_loop: Option<Node<'a>>,
    /// For a wrapper call: the wrapper's declaration.
    pub wrapper: Option<(usize, Node<'a>)>,
}

impl Spawn<'_> {
    /// Runs at the same time as other runs of itself, loop or not.
    pub fn always_self_concurrent(&self) -> bool {
        matches!(
            self.kind,
            SpawnKind::Handler | SpawnKind::GrpcMethod | SpawnKind::ParallelWrapper
        )
    }

    /// Whether the code that started it goes on running alongside it. Parallel
    /// subtests wait until their parent test returns; handlers run once the
    /// server starts.
    pub fn runs_alongside_starter(&self) -> bool {
        matches!(
            self.kind,
            SpawnKind::Go
                | SpawnKind::WaitGroupGo
                | SpawnKind::ErrgroupGo
                | SpawnKind::AfterFunc
                | SpawnKind::Wrapper
                | SpawnKind::ParallelWrapper
        )
    }

    pub fn is_test(&self) -> bool {
        matches!(
            self.kind,
            SpawnKind::ParallelSubtest | SpawnKind::ParallelTest
        )
    }
}

/// Where a map lives, seen from the code that started a goroutine: a variable
/// (a local or parameter of the starter or an enclosing function, or a package
/// variable) and the fields taken from it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MapRef {
    pub root: Root,
    pub path: Vec<String>,
    /// The struct type of the root's value, where evident: fields of a
    /// concurrently called method's receiver match fields of values of its type.
    pub root_type: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Root {
    Decl(DeclId),
    Package(String),
    /// The receiver of a method that others call concurrently (`ServeHTTP`):
    /// any value of this struct type.
    Receiver(String),
}

impl MapRef {
    pub fn new(root: Root, root_type: Option<String>) -> Self {
        MapRef {
            root,
            path: Vec::new(),
            root_type,
        }
    }
}

/// What a map expression in goroutine code refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A map that outlives the goroutine.
    Shared(MapRef),
    /// Made inside the goroutine, or a fresh map handed to it: nobody else has it.
    Local,
    /// Not evident from the source: rules stay silent.
    Unknown,
}

const MAX_ALIAS_DEPTH: usize = 8;

pub(crate) fn is_fresh_value(pkg: &Package<'_>, file: usize, expr: Node<'_>) -> bool {
    match expr.kind_name() {
        "composite_literal" => true,
        "call_expression" => expr.child_by_field_id(field::FUNCTION).is_some_and(|f| {
            f.kind_name() == "identifier" && matches!(pkg.text(file, f), "make" | "new")
        }),
        "unary_expression" => expr
            .child_by_field_id(field::OPERAND)
            .is_some_and(|o| o.kind_name() == "composite_literal"),
        _ => false,
    }
}

impl<'a> Package<'a> {
    /// The import paths of a file.
    pub fn imports(&self, file: usize) -> Vec<&str> {
        let mut paths = Vec::new();
        let root = self.files[file].tree().root_node();
        let mut cursor = root.walk();
        for decl in root
            .named_children(&mut cursor)
            .filter(|n| n.kind_name() == "import_declaration")
        {
            walk(decl, |n| {
                if n.kind_name() == "interpreted_string_literal" {
                    paths.push(self.text(file, n).trim_matches('"'));
                }
                true
            });
        }
        paths
    }

    /// Package functions that start one of their function parameters with `go`,
    /// directly or from a function literal: name -> parameter index.
    /// The package functions that start a function parameter with `go`: by
    /// name, the parameter's position, and whether they start it once per loop
    /// iteration.
    fn wrappers(&self) -> FxHashMap<String, (usize, bool)> {
        let mut wrappers = FxHashMap::default();
        // A wrapper's signature holds a function type, and its body a `go` statement.
        let files: Vec<usize> = self
            .files_mentioning("go")
            .into_iter()
            .filter(|f| self.lexicon.func_typed_params.binary_search(f).is_ok())
            .collect();
        for (name, file, decl) in self.funcs_in(&files) {
            let Some(params) = decl.child_by_field_id(field::PARAMETERS) else {
                continue;
            };
            let mut index = 0;
            let mut func_params = Vec::new();
            let mut cursor = params.walk();
            for p in params.named_children(&mut cursor) {
                let mut c = p.walk();
                let names: Vec<Node<'a>> = p.children_by_field_name("name", &mut c).collect();
                let is_func = p
                    .child_by_field_id(field::TYPE)
                    .is_some_and(|t| t.kind_name() == "function_type");
                for n in &names {
                    if is_func {
                        func_params.push((self.text(file, *n), index));
                    }
                    index += 1;
                }
                if names.is_empty() {
                    index += 1;
                }
            }
            if func_params.is_empty() {
                continue;
            }
            let Some(body) = decl.child_by_field_id(field::BODY) else {
                continue;
            };
            walk(body, |n| {
                if n.kind_name() != "go_statement" {
                    return true;
                }
                let in_loop = ancestors(n)
                    .take_while(|a| a.id() != body.id())
                    .any(|a| a.kind_name() == "for_statement");
                walk(n, |c| {
                    if c.kind_name() == "call_expression" {
                        if let Some(f) = c.child_by_field_id(field::FUNCTION) {
                            if let Some(&(_, i)) =
                                func_params.iter().find(|(p, _)| *p == self.text(file, f))
                            {
                                let many = wrappers.get(&name).is_some_and(|&(_, m)| m);
                                wrappers.insert(name.clone(), (i, in_loop || many));
                            }
                        }
                    }
                    true
                });
                false
            });
        }
        wrappers
    }

    /// Every place of the package where code starts running concurrently.
    pub fn spawns(&self) -> Vec<Spawn<'a>> {
        // Both halves of spawns.scm have the same captures.
        let q = &*GO_QUERY;
        let cap = |name| q.capture(name);
        let (go_i, fn_i, args_i, call_i) =
            (cap("go"), cap("function"), cap("arguments"), cap("call"));
        let (starter_i, method_i, task_i) = (cap("starter"), cap("method"), cap("task"));
        let (handler_i, subtest_i) = (cap("handler"), cap("subtest"));
        let wrappers = self.wrappers();
        let mut spawns = Vec::new();
        for (file, source) in self.files.iter().enumerate() {
            let imports = std::cell::OnceCell::new();
            let imports_any = |paths: &[&str]| {
                imports
                    .get_or_init(|| self.imports(file))
                    .iter()
                    .any(|i| paths.contains(i))
            };
            let mut handle = |m: &tree_sitter::QueryMatch<'_, 'a>| {
                let get = |i| m.captures.iter().find(|c| c.index == i).map(|c| c.node);
                let Some(call) = get(call_i) else { return };
                let Some(starter) = enclosing_function(call) else {
                    return;
                };
                let in_loop = ancestors(call)
                    .take_while(|n| n.id() != starter.id())
                    .find(|n| n.kind_name() == "for_statement");
                let mut spawn = |kind,
                                 site: Node<'a>,
                                 label: Node<'a>,
                                 function: Node<'a>,
                                 args: Vec<Node<'a>>,
                                 wrapper| {
                    if let Some((body, receiver)) = self.goroutine_body(file, function) {
                        spawns.push(Spawn {
                            kind,
                            file,
                            site,
                            label,
                            starter: Some(starter),
                            body,
                            args,
                            receiver,
                            in_loop,
                            wrapper,
                        });
                    }
                };
                if let (Some(go_stmt), Some(function), Some(arguments)) =
                    (get(go_i), get(fn_i), get(args_i))
                {
                    let mut cursor = arguments.walk();
                    let args = arguments.named_children(&mut cursor).collect();
                    let keyword = go_stmt.child(0).unwrap_or(go_stmt);
                    spawn(SpawnKind::Go, go_stmt, keyword, function, args, None);
                } else if let (Some(task), Some(starter_node), Some(method)) =
                    (get(task_i), get(starter_i), get(method_i))
                {
                    let kind = match self.text(file, method) {
                        "AfterFunc" => SpawnKind::AfterFunc,
                        _ if imports_any(&["golang.org/x/sync/errgroup"])
                            && (self.text(file, method) == "TryGo" || !imports_any(&["sync"])) =>
                        {
                            SpawnKind::ErrgroupGo
                        }
                        "Go" if imports_any(&["sync"]) => SpawnKind::WaitGroupGo,
                        _ => return,
                    };
                    spawn(kind, call, starter_node, task, Vec::new(), None);
                } else if let (Some(handler), Some(starter_node)) = (get(handler_i), get(starter_i))
                {
                    if imports_any(&["net/http"]) {
                        spawn(
                            SpawnKind::Handler,
                            call,
                            starter_node,
                            handler,
                            Vec::new(),
                            None,
                        );
                    }
                } else if let (Some(lit), Some(starter_node)) = (get(subtest_i), get(starter_i)) {
                    if calls_parallel(self, file, lit) {
                        spawn(
                            SpawnKind::ParallelSubtest,
                            call,
                            starter_node,
                            lit,
                            Vec::new(),
                            None,
                        );
                    }
                }
            };
            for (query, words, keywords) in [
                (&*GO_QUERY, GO_WORDS, GO_KEYWORD),
                (&*SPAWN_CALLS_QUERY, SPAWN_CALL_WORDS, SPAWN_CALL_NAMES),
            ] {
                // The keyword or method names are in the code, not only in comments.
                if mentions_any(&source.text, words)
                    && keywords.iter().any(|k| self.lexicon.mentions(file, k))
                {
                    let root = source.tree().root_node();
                    query.for_each_match_near(root, &source.text, keywords, &mut handle);
                }
            }
        }
        self.wrapper_spawns(&wrappers, &mut spawns);
        self.declared_spawns(&mut spawns);
        spawns
    }

    /// Calls of the package's goroutine wrappers: `safeGo(func() { ... })`.
    fn wrapper_spawns(
        &self,
        wrappers: &FxHashMap<String, (usize, bool)>,
        spawns: &mut Vec<Spawn<'a>>,
    ) {
        if wrappers.is_empty() {
            return;
        }
        let names: Vec<&str> = wrappers.keys().map(String::as_str).collect();
        let q = &*CALLS_QUERY;
        let (call_i, callee_i, args_i) = (
            q.capture("call"),
            q.capture("callee"),
            q.capture("arguments"),
        );
        for (file, source) in self.files.iter().enumerate() {
            if !mentions_any(&source.text, &names) {
                continue;
            }
            self.matches_near(q, file, &names, |m| {
                let get = |i| m.captures.iter().find(|c| c.index == i).map(|c| c.node);
                let (Some(call), Some(callee), Some(arguments)) =
                    (get(call_i), get(callee_i), get(args_i))
                else {
                    return;
                };
                let Some(&(index, many)) = wrappers.get(self.text(file, callee)) else {
                    return;
                };
                let Resolved::PackageFunc(wfile, wdecl) = self.resolve(file, callee) else {
                    return;
                };
                let (Some(task), Some(starter)) =
                    (arguments.named_child(index), enclosing_function(call))
                else {
                    return;
                };
                let Some((body, receiver)) = self.goroutine_body(file, task) else {
                    return;
                };
                let in_loop = ancestors(call)
                    .take_while(|n| n.id() != starter.id())
                    .find(|n| n.kind_name() == "for_statement");
                spawns.push(Spawn {
                    kind: if many {
                        SpawnKind::ParallelWrapper
                    } else {
                        SpawnKind::Wrapper
                    },
                    file,
                    site: call,
                    label: callee,
                    starter: Some(starter),
                    body,
                    args: Vec::new(),
                    receiver,
                    in_loop,
                    wrapper: Some((wfile, wdecl)),
                });
            });
        }
    }

    /// Functions that others call concurrently by contract: `ServeHTTP`
    /// methods, gRPC service methods, and parallel tests.
    fn declared_spawns(&self, spawns: &mut Vec<Spawn<'a>>) {
        // Types that embed a generated `UnimplementedXxxServer`, with the
        // service interface `XxxServer` when the package declares it.
        let mut grpc_types: Vec<(String, Option<String>)> = Vec::new();
        for (name, file, ty) in self.types_in(&self.files_containing("Unimplemented")) {
            if ty.kind_name() == "struct_type" {
                let mut service = None;
                walk(ty, |n| {
                    if n.kind_name() == "field_declaration"
                        && n.child_by_field_id(field::NAME).is_none()
                    {
                        let t = n
                            .child_by_field_id(field::TYPE)
                            .map_or("", |t| self.text(file, t));
                        let base = t.rsplit('.').next().unwrap_or(t);
                        if let Some(s) = base.strip_prefix("Unimplemented") {
                            if s.ends_with("Server") {
                                service = Some(s.to_string());
                            }
                        }
                    }
                    service.is_none()
                });
                if let Some(service) = service {
                    grpc_types.push((name, Some(service)));
                }
            }
        }
        // Only `ServeHTTP` and the methods of those types can be spawns: read
        // the files that name them.
        let mut files = self.files_mentioning("ServeHTTP");
        for (t, _) in &grpc_types {
            files.extend(self.files_mentioning(t));
        }
        files.sort_unstable();
        files.dedup();
        let mut methods = self.methods_in(&files);
        methods.sort_by_key(|(_, _, m)| (m.file, m.decl.start_byte()));
        for (recv, name, method) in &methods {
            let (recv, name, method) = (recv.as_str(), name.as_str(), method);
            let params = method
                .decl
                .child_by_field_id(field::PARAMETERS)
                .map_or(0, |p| p.named_child_count());
            let kind = if name == "ServeHTTP" && params == 2 && self.may_be_served(recv) {
                SpawnKind::Handler
            } else if grpc_types.iter().any(|(t, service)| {
                *t == recv
                    && self.is_grpc_handler(method.file, method.decl, name, service.as_deref())
            }) {
                SpawnKind::GrpcMethod
            } else {
                continue;
            };
            let label = method
                .decl
                .child_by_field_id(field::NAME)
                .unwrap_or(method.decl);
            spawns.push(self.declared(kind, method.file, method.decl, label));
        }
        // A parallel test calls `t.Parallel()`.
        let mut funcs = self.funcs_in(&self.files_mentioning("Parallel"));
        funcs.sort_by_key(|&(_, file, decl)| (file, decl.start_byte()));
        for (_, file, decl) in funcs {
            let is_test_file = self.files[file].display.ends_with("_test.go");
            let name = decl
                .child_by_field_id(field::NAME)
                .map_or("", |n| self.text(file, n));
            if is_test_file && name.starts_with("Test") && calls_parallel(self, file, decl) {
                let label = decl.child_by_field_id(field::NAME).unwrap_or(decl);
                spawns.push(self.declared(SpawnKind::ParallelTest, file, decl, label));
            }
        }
    }

    /// Whether the `ServeHTTP` of type `recv` may be served: net/http then
    /// runs it for many requests at once. An exported type of a library is
    /// served by its users; otherwise something in the package must serve
    /// handlers (`http.Handle`, a mux, `http.Server{Handler: ...}`,
    /// `httptest.NewServer`, `ListenAndServe`). A handler only ever called
    /// directly (`h.ServeHTTP(rec, req)` in a test) runs like any method.
    fn may_be_served(&self, recv: &str) -> bool {
        let library = self.files.iter().any(|f| {
            let root = f.tree().root_node();
            let mut c = root.walk();
            root.named_children(&mut c)
                .find(|n| n.kind_name() == "package_clause")
                .and_then(|p| p.named_child(0))
                .is_some_and(|n| f.text_of(n) != "main")
        });
        if library && recv.starts_with(|c: char| c.is_ascii_uppercase()) {
            return true;
        }
        self.files.iter().any(|f| {
            super::super::queries::mentions_any(
                &f.text,
                &[
                    "Handle(",
                    "Handler:",
                    "NewServer(",
                    "NewTLSServer(",
                    "Serve(",
                    "ListenAndServe",
                    "Handler(",
                    "HandleFunc(",
                ],
            )
        })
    }

    /// Whether method `name` of a gRPC service implementation is one that
    /// gRPC calls per request: in the method set of the service interface
    /// `XxxServer` when the package declares it, otherwise one of the handler
    /// shapes `(ctx context.Context, req *Req) (*Resp, error)` and
    /// `([req *Req,] stream Xxx_YyyServer) error`. Other methods (set-up,
    /// configuration) are ordinary methods.
    fn is_grpc_handler(
        &self,
        file: usize,
        decl: Node<'a>,
        name: &str,
        service: Option<&str>,
    ) -> bool {
        if !name.starts_with(|c: char| c.is_ascii_uppercase()) {
            return false;
        }
        if let Some((ifile, iface)) = service.and_then(|s| self.type_decl(s)) {
            if iface.kind_name() == "interface_type" {
                let mut declared = false;
                walk(iface, |n| {
                    if n.kind_name() == "method_elem" || n.kind_name() == "method_spec" {
                        declared |= n
                            .child_by_field_id(field::NAME)
                            .is_some_and(|m| self.text(ifile, m) == name);
                        return false;
                    }
                    !declared
                });
                return declared;
            }
        }
        let params: Vec<String> = decl
            .child_by_field_id(field::PARAMETERS)
            .map(|p| {
                let mut c = p.walk();
                p.named_children(&mut c)
                    .filter(|d| d.kind_name() == "parameter_declaration")
                    .flat_map(|d| {
                        let ty = d
                            .child_by_field_id(field::TYPE)
                            .map_or(String::new(), |t| self.text(file, t).replace(' ', ""));
                        let mut names = d.walk();
                        let count = d.children_by_field_name("name", &mut names).count().max(1);
                        std::iter::repeat_n(ty, count)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let result = decl
            .child_by_field_id(field::RESULT)
            .map_or(String::new(), |r| self.text(file, r).replace(' ', ""));
        let unary = params.len() == 2
            && params[0].ends_with("context.Context")
            && params[1].starts_with('*')
            && result.ends_with(",error)");
        let streaming = matches!(params.len(), 1 | 2)
            && params.last().is_some_and(|p| p.ends_with("Server"))
            && result == "error";
        unary || streaming
    }

    fn declared(&self, kind: SpawnKind, file: usize, decl: Node<'a>, label: Node<'a>) -> Spawn<'a> {
        Spawn {
            kind,
            file,
            site: decl,
            label,
            starter: None,
            body: GoroutineBody::Function { file, decl },
            args: Vec::new(),
            receiver: None,
            in_loop: None,
            wrapper: None,
        }
    }

    /// The method value a local variable holds, when it is one: `s.record` in
    /// `f := s.record`.
    pub(crate) fn method_value_of(&self, file: usize, ident: Node<'a>) -> Option<Node<'a>> {
        let Resolved::Local(b) = self.resolve(file, ident) else {
            return None;
        };
        let value = b.value()?;
        let operand = value.child_by_field_id(field::OPERAND)?;
        let name = value.child_by_field_id(field::FIELD)?;
        (value.kind_name() == "selector_expression"
            && self.method_of(b.file, operand, name).is_some())
        .then_some(value)
    }

    pub(crate) fn goroutine_body(
        &self,
        file: usize,
        function: Node<'a>,
    ) -> Option<(GoroutineBody<'a>, Option<Node<'a>>)> {
        match function.kind_name() {
            "func_literal" => Some((
                GoroutineBody::Literal {
                    file,
                    lit: function,
                },
                None,
            )),
            // `go (f)()`: unwrap iteratively, however deep.
            "parenthesized_expression" => {
                let mut inner = function;
                while inner.kind_name() == "parenthesized_expression" {
                    inner = inner.named_child(0)?;
                }
                self.goroutine_body(file, inner)
            }
            "identifier" => match self.resolve(file, function) {
                Resolved::PackageFunc(f, decl) => {
                    Some((GoroutineBody::Function { file: f, decl }, None))
                }
                Resolved::Local(b) => {
                    let value = b.value()?;
                    match value.kind_name() {
                        "func_literal" => Some((GoroutineBody::Literal { file, lit: value }, None)),
                        // A method value: `f := s.record; go f(k)`.
                        "selector_expression" => self.goroutine_body(file, value),
                        _ => None,
                    }
                }
                _ => None,
            },
            "selector_expression" => {
                let operand = function.child_by_field_id(field::OPERAND)?;
                let method =
                    self.method_of(file, operand, function.child_by_field_id(field::FIELD)?)?;
                Some((
                    GoroutineBody::Function {
                        file: method.file,
                        decl: method.decl,
                    },
                    Some(operand),
                ))
            }
            _ => None,
        }
    }

    /// The method `x.name` of the package, when `x`'s type is evident, or when
    /// `x` is a variable of unknown type and only one method has this name.
    pub fn method_of(
        &self,
        file: usize,
        operand: Node<'a>,
        name: Node<'a>,
    ) -> Option<super::Method<'a>> {
        let name = self.text(file, name);
        match self.type_of(file, operand) {
            Ty::Struct(t) => self.method(&t, name),
            Ty::Unknown
                if operand.kind_name() != "identifier"
                    || !matches!(self.resolve(file, operand), Resolved::Unknown) =>
            {
                match self.methods_named(name).as_slice() {
                    [only] => Some(*only),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The operand that `(x)`, `&x` and `*x` alias. Not `<-ch`: a value received
    /// from a channel is handed over by its sender, not shared with the channel.
    pub(crate) fn alias_operand(&self, file: usize, expr: Node<'a>) -> Option<Node<'a>> {
        if expr.kind_name() == "parenthesized_expression" {
            return expr.named_child(0);
        }
        let op = self.text(file, expr.child_by_field_id(field::OPERATOR)?);
        matches!(op, "&" | "*").then(|| expr.child_by_field_id(field::OPERAND))?
    }

    pub(crate) fn extend(&self, selector: Node<'a>, file: usize, base: Origin) -> Origin {
        match base {
            Origin::Shared(mut r) => match selector.child_by_field_id(field::FIELD) {
                Some(field) => {
                    r.path.push(self.text(file, field).to_string());
                    Origin::Shared(r)
                }
                None => Origin::Unknown,
            },
            other => other,
        }
    }

    /// What an expression evaluated by the starter (an argument or receiver of the `go` call) refers to.
    pub fn origin_in_starter(&self, spawn: &Spawn<'a>, expr: Node<'a>) -> Origin {
        self.origin_in_starter_at(spawn, expr, 0)
    }

    fn origin_in_starter_at(&self, spawn: &Spawn<'a>, expr: Node<'a>, depth: usize) -> Origin {
        if depth > MAX_ALIAS_DEPTH {
            return Origin::Unknown;
        }
        let file = spawn.file;
        if is_fresh_value(self, file, expr) {
            return Origin::Local;
        }
        match expr.kind_name() {
            "identifier" => match self.resolve(file, expr) {
                Resolved::PackageVar(b) => Origin::Shared(
                    self.var_ref(Root::Package(self.text(file, expr).to_string()), b),
                ),
                Resolved::Local(b) => Origin::Shared(self.var_ref(Root::Decl(b.id()), b)),
                _ => Origin::Unknown,
            },
            "selector_expression" => self.extend(
                expr,
                file,
                expr.child_by_field_id(field::OPERAND)
                    .map_or(Origin::Unknown, |o| {
                        self.origin_in_starter_at(spawn, o, depth + 1)
                    }),
            ),
            "parenthesized_expression" | "unary_expression" => {
                self.alias_operand(file, expr).map_or(Origin::Unknown, |o| {
                    self.origin_in_starter_at(spawn, o, depth + 1)
                })
            }
            _ => Origin::Unknown,
        }
    }

    /// Whether a map of the starter's loop is made afresh in every iteration
    /// (declared inside the loop), so each goroutine of the loop gets its own.
    pub fn is_per_iteration(&self, spawn: &Spawn<'a>, map: &MapRef) -> bool {
        let (Some(loop_node), Root::Decl(id)) = (spawn.in_loop, &map.root) else {
            return false;
        };
        id.file == spawn.file && loop_node.start_byte() <= id.byte && id.byte < loop_node.end_byte()
    }

    /// The groups a spawn reports to, by last name: `wg` for `wg.Go(f)`,
    /// `g.Go(f)` or a body that calls `wg.Done()`. Empty when none is seen:
    /// then any wait may be the one.
    fn reported_groups(&self, spawn: &Spawn<'a>) -> FxHashSet<String> {
        let mut groups = FxHashSet::default();
        if matches!(spawn.kind, SpawnKind::WaitGroupGo | SpawnKind::ErrgroupGo) {
            if let Some(g) = spawn
                .site
                .child_by_field_id(field::FUNCTION)
                .and_then(|f| f.child_by_field_id(field::OPERAND))
            {
                groups.insert(last_name(self.text(spawn.file, g)).to_string());
            }
        }
        let file = spawn.body.file();
        walk(spawn.body.node(), |n| {
            if n.kind_name() == "call_expression" {
                if let Some(f) = n
                    .child_by_field_id(field::FUNCTION)
                    .filter(|f| f.kind_name() == "selector_expression")
                {
                    let method = f
                        .child_by_field_id(field::FIELD)
                        .map(|m| self.text(file, m));
                    if method == Some("Done") {
                        if let Some(g) = f.child_by_field_id(field::OPERAND) {
                            groups.insert(last_name(self.text(file, g)).to_string());
                        }
                    }
                }
            }
            true
        });
        groups
    }

    /// The channel that `node` sends on (`ch <- v`) or closes (`close(ch)`).
    pub(crate) fn signalled_channel(&self, file: usize, node: Node<'a>) -> Option<Node<'a>> {
        match node.kind_name() {
            "send_statement" => node.child_by_field_id(field::CHANNEL),
            "call_expression"
                if node
                    .child_by_field_id(field::FUNCTION)
                    .is_some_and(|f| self.text(file, f) == "close") =>
            {
                node.child_by_field_id(field::ARGUMENTS)
                    .and_then(|a| a.named_child(0))
            }
            _ => None,
        }
    }

    /// The channels the code a spawn runs sends on or closes itself, by last name.
    fn own_signalled_channels(&self, spawn: &Spawn<'a>) -> FxHashSet<String> {
        let file = spawn.body.file();
        let mut names = FxHashSet::default();
        walk(spawn.body.node(), |n| {
            if let Some(ch) = self.signalled_channel(file, n) {
                names.insert(last_name(self.text(file, ch)).to_string());
            }
            true
        });
        names
    }

    /// Names that the goroutine sends on or closes: the channels a receive can wait on.
    fn signalled_channels(&self, spawn: &Spawn<'a>) -> FxHashSet<String> {
        let file = spawn.body.file();
        let mut names = self.own_signalled_channels(spawn);
        // Channels handed to a named function, which sends under another name.
        for arg in &spawn.args {
            names.insert(last_name(self.text(spawn.file, *arg)).to_string());
        }
        // A goroutine that reports to a WaitGroup (`wg.Done()`) is done when
        // another goroutine of its starter, which waits for that group,
        // closes or sends on a channel: `go func() { wg.Wait(); close(done) }()`.
        if let Some(starter) = spawn.starter {
            let mut reports = false;
            walk(spawn.body.node(), |n| {
                reports |= n.kind_name() == "call_expression"
                    && n.child_by_field_id(field::FUNCTION)
                        .is_some_and(|f| self.text(file, f).ends_with(".Done"));
                !reports
            });
            if reports {
                names.extend(self.waiter_channels(spawn.file, starter));
            }
        }
        names
    }

    /// The channels that goroutines started in `starter` close or send on
    /// after they `Wait()`: `go func() { wg.Wait(); close(done) }()`.
    fn waiter_channels(&self, file: usize, starter: Node<'a>) -> Vec<String> {
        let mut channels = Vec::new();
        walk(starter, |n| {
            if n.kind_name() != "go_statement" {
                return true;
            }
            let mut waited = false;
            walk(n, |m| {
                match m.kind_name() {
                    "call_expression" => {
                        let f = m
                            .child_by_field_id(field::FUNCTION)
                            .map_or("", |f| self.text(file, f));
                        if f.ends_with(".Wait") {
                            waited = true;
                        } else if f == "close" && waited {
                            if let Some(ch) = m
                                .child_by_field_id(field::ARGUMENTS)
                                .and_then(|a| a.named_child(0))
                            {
                                channels.push(last_name(self.text(file, ch)).to_string());
                            }
                        }
                    }
                    "send_statement" if waited => {
                        if let Some(ch) = m.child_by_field_id(field::CHANNEL) {
                            channels.push(last_name(self.text(file, ch)).to_string());
                        }
                    }
                    _ => {}
                }
                true
            });
            false
        });
        channels
    }

    /// The first point, between the spawn and `until`, where the starter waits
    /// for the spawned code: `x.Wait()`, or a receive from (or `range` over) a
    /// channel that the spawned code sends on or closes.
    pub fn join_between(&self, spawn: &Spawn<'a>, until: usize) -> Option<Node<'a>> {
        // `forEachParallel(items, f)` that waits for what it starts: the
        // code after the call runs after every run of `f`.
        if matches!(spawn.kind, SpawnKind::Wrapper | SpawnKind::ParallelWrapper)
            && spawn.site.end_byte() <= until
            && self.call_waits(spawn.file, spawn.site, 0)
        {
            return Some(spawn.site);
        }
        // The walk visits nodes in the order they start: the first join
        // before `until` is the first join of all, if it starts before
        // `until`. Found once per spawn, not once per access after it.
        let key = (spawn.file, spawn.site.id());
        let known = self.first_joins.borrow().get(&key).copied();
        let first = match known {
            Some(first) => first,
            None => {
                let first = self.first_join(spawn);
                self.first_joins.borrow_mut().insert(key, first);
                first
            }
        };
        first.filter(|j| j.start_byte() < until)
    }

    /// The first point after the spawn where the starter waits for the
    /// spawned code (see `join_between`).
    fn first_join(&self, spawn: &Spawn<'a>) -> Option<Node<'a>> {
        let until = usize::MAX;
        let starter = spawn.starter?;
        let file = spawn.file;
        let from = spawn.site.end_byte();
        let channels = self.signalled_channels(spawn);
        let groups = self.reported_groups(spawn);
        let signals = !self.own_signalled_channels(spawn).is_empty();
        let mut join = None;
        walk(starter, |n| {
            if join.is_some() || n.end_byte() <= from || n.start_byte() >= until {
                return false;
            }
            if n.id() != starter.id() && matches!(n.kind_name(), "func_literal" | "go_statement") {
                return false;
            }
            if n.start_byte() < from {
                return true;
            }
            let is_join = match n.kind_name() {
                // `wg.Wait()` joins the goroutines that report to `wg`; a wait
                // on another group (`other.Wait()`) joins only those.
                // A goroutine that reports to no group but signals a channel
                // (`close(done)`) is joined by that channel, not by a wait.
                "call_expression" => n.child_by_field_id(field::FUNCTION).is_some_and(|f| {
                    f.kind_name() == "selector_expression"
                        && f.child_by_field_id(field::FIELD)
                            .is_some_and(|m| self.text(file, m).ends_with("Wait"))
                        && f.child_by_field_id(field::OPERAND).is_none_or(|g| {
                            groups.is_empty() && !signals
                                || groups.contains(last_name(self.text(file, g)))
                        })
                }),
                "unary_expression" => {
                    n.child_by_field_id(field::OPERATOR)
                        .is_some_and(|o| self.text(file, o) == "<-")
                        && n.child_by_field_id(field::OPERAND)
                            .is_some_and(|ch| channels.contains(last_name(self.text(file, ch))))
                }
                "range_clause" => n
                    .child_by_field_id(field::RIGHT)
                    .is_some_and(|ch| channels.contains(last_name(self.text(file, ch)))),
                _ => false,
            };
            if is_join {
                join = Some(n);
            }
            true
        });
        join
    }

    /// A reference to the variable `b` under `root`, with its struct type.
    pub fn var_ref(&self, root: Root, b: super::scope::Binding<'a>) -> MapRef {
        let ty = match self.type_of_binding(b, 0) {
            Ty::Struct(t) => Some(t),
            _ => None,
        };
        MapRef::new(root, ty)
    }

    /// Whether two references name the same map: the same variable and fields,
    /// or a field of a concurrently called method's receiver and the same field
    /// of another value of that type.
    pub fn same_map(&self, a: &MapRef, b: &MapRef) -> bool {
        if a.path != b.path {
            return false;
        }
        if a.root == b.root {
            return true;
        }
        let receiver = matches!(a.root, Root::Receiver(_)) || matches!(b.root, Root::Receiver(_));
        receiver && !a.path.is_empty() && a.root_type.is_some() && a.root_type == b.root_type
    }
}

/// Whether a test function or subtest literal calls `t.Parallel()` on its
/// `*testing.T` parameter (not from a nested function literal).
pub fn calls_parallel(pkg: &Package<'_>, file: usize, func: Node<'_>) -> bool {
    let Some(param) = func
        .child_by_field_id(field::PARAMETERS)
        .and_then(|p| p.named_child(0))
    else {
        return false;
    };
    let is_testing_t = param
        .child_by_field_id(field::TYPE)
        .is_some_and(|t| pkg.text(file, t).replace(' ', "") == "*testing.T");
    let Some(name) = param
        .child_by_field_id(field::NAME)
        .map(|n| pkg.text(file, n))
    else {
        return false;
    };
    let Some(body) = func.child_by_field_id(field::BODY) else {
        return false;
    };
    let mut found = false;
    walk(body, |n| {
        if found || n.kind_name() == "func_literal" {
            return false;
        }
        if n.kind_name() == "call_expression" {
            found = n
                .child_by_field_id(field::FUNCTION)
                .is_some_and(|f| pkg.text(file, f) == format!("{name}.Parallel"));
        }
        !found
    });
    is_testing_t && found
}

/// `s.done` -> `done`.
pub(crate) fn last_name(expr: &str) -> &str {
    expr.rsplit('.').next().unwrap_or(expr).trim()
}

/// A spawn that sets a local flag just before it starts (`started = true;
/// go run()`): at most one run per flag when every other run is guarded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnceFlag {
    /// The flag's name, a local variable of the starter.
    pub name: String,
    /// Whether the spawn is under `if !flag { ... }` (the flag not yet set).
    pub guarded: bool,
}

impl<'a> Package<'a> {
    /// The flag that spawn `s` sets to `true` in the statement just before
    /// it: a local `bool` of the starter that is never given another value
    /// than `true` after its declaration. Found once per spawn.
    pub fn once_flag(&self, s: &Spawn<'a>) -> Option<OnceFlag> {
        let key = (s.file, s.site.id());
        if let Some(known) = self.once_flags.borrow().get(&key) {
            return known.clone();
        }
        let found = self.find_once_flag(s);
        self.once_flags.borrow_mut().insert(key, found.clone());
        found
    }

    fn find_once_flag(&self, s: &Spawn<'a>) -> Option<OnceFlag> {
        let starter = s.starter?;
        let file = s.file;
        // The statement the site is in, and the list it belongs to.
        let mut stmt = s.site;
        while stmt
            .parent()
            .is_some_and(|p| p.kind_name() != "statement_list")
        {
            stmt = stmt.parent()?;
            if stmt.id() == starter.id() || super::is_function(stmt.kind_name()) {
                return None;
            }
        }
        // The statement just before it (comments aside) sets the flag.
        let mut prev = stmt.prev_named_sibling();
        while prev.is_some_and(|p| p.kind_name() == "comment") {
            prev = prev.and_then(|p| p.prev_named_sibling());
        }
        let flag = self.sets_true(file, prev?)?;
        let name = self.text(file, flag).to_string();
        // A local of the starter that starts `false`, and is set to nothing
        // but `true` after.
        let Resolved::Local(b) = self.resolve(file, flag) else {
            return None;
        };
        let local = matches!(b.kind, BindKind::Var { .. })
            && enclosing_function(b.name).is_some_and(|f| f.id() == starter.id())
            && b.value().is_none_or(|v| self.text(file, v) == "false");
        if !local {
            return None;
        }
        let mut only_true = true;
        walk(starter, |n| {
            if n.kind_name() == "assignment_statement"
                && self.sets_true(file, n).is_none()
                && n.child_by_field_id(field::LEFT).is_some_and(|l| {
                    let mut c = l.walk();
                    l.named_children(&mut c).any(|t| {
                        t.kind_name() == "identifier"
                            && self.text(file, t) == name
                            && matches!(self.resolve(file, t), Resolved::Local(u) if u.id() == b.id())
                    })
                })
            {
                only_true = false;
            }
            only_true
        });
        if !only_true {
            return None;
        }
        let guarded = ancestors(stmt)
            .take_while(|n| n.id() != starter.id() && !super::is_function(n.kind_name()))
            .any(|n| {
                n.kind_name() == "if_statement"
                    && n.child_by_field_id(field::CONSEQUENCE)
                        .is_some_and(|c| super::contains(c, stmt))
                    && n.child_by_field_id(field::CONDITION)
                        .is_some_and(|c| self.requires_unset(file, c, &name))
            });
        Some(OnceFlag { name, guarded })
    }

    /// `x = true` for an identifier `x`: the identifier.
    fn sets_true(&self, file: usize, stmt: Node<'a>) -> Option<Node<'a>> {
        if stmt.kind_name() != "assignment_statement"
            || stmt
                .child_by_field_id(field::OPERATOR)
                .is_some_and(|o| self.text(file, o) != "=")
        {
            return None;
        }
        let left = stmt.child_by_field_id(field::LEFT)?;
        let right = stmt.child_by_field_id(field::RIGHT)?;
        let (l, r) = (left.named_child(0)?, right.named_child(0)?);
        (left.named_child_count() == 1
            && l.kind_name() == "identifier"
            && self.text(file, r) == "true")
            .then_some(l)
    }

    /// Whether condition `cond` holds only while `name` is false: `!name`, or
    /// a `&&` with such a side.
    fn requires_unset(&self, file: usize, cond: Node<'a>, name: &str) -> bool {
        match cond.kind_name() {
            "parenthesized_expression" => cond
                .named_child(0)
                .is_some_and(|c| self.requires_unset(file, c, name)),
            "unary_expression" => {
                cond.child_by_field_id(field::OPERATOR)
                    .is_some_and(|o| self.text(file, o) == "!")
                    && cond.child_by_field_id(field::OPERAND).is_some_and(|o| {
                        o.kind_name() == "identifier" && self.text(file, o) == name
                    })
            }
            "binary_expression" => {
                cond.child_by_field_id(field::OPERATOR)
                    .is_some_and(|o| self.text(file, o) == "&&")
                    && [
                        cond.child_by_field_id(field::LEFT),
                        cond.child_by_field_id(field::RIGHT),
                    ]
                    .into_iter()
                    .flatten()
                    .any(|side| self.requires_unset(file, side, name))
            }
            _ => false,
        }
    }

    /// Whether spawn `s` runs at most once per run of its starter, though it
    /// is in a loop: `if !started { started = true; go run() }`.
    pub fn started_once(&self, s: &Spawn<'a>) -> bool {
        let key = (s.file, s.site.id());
        if let Some(&known) = self.started_once.borrow().get(&key) {
            return known;
        }
        let once = self.once_flag(s).is_some_and(|f| f.guarded) || self.loop_ends_after(s);
        self.started_once.borrow_mut().insert(key, once);
        once
    }

    /// Whether the loop around spawn `s` is left right after the spawn:
    /// a `return` or `break` follows it in the loop's body, and nothing in
    /// the body goes on to the next iteration (`continue`). Then one
    /// iteration at most starts it: `for _, c := range cs { go watch(c); return }`.
    fn loop_ends_after(&self, s: &Spawn<'a>) -> bool {
        let Some(l) = s.in_loop else {
            return false;
        };
        let Some(list) = l
            .child_by_field_id(field::BODY)
            .and_then(super::block_statements)
        else {
            return false;
        };
        // The statement of the body that holds the spawn.
        let Some(stmt) = std::iter::once(s.site)
            .chain(ancestors(s.site))
            .take_while(|n| n.id() != l.id())
            .find(|n| n.parent().is_some_and(|p| p.id() == list.id()))
        else {
            return false;
        };
        let mut continues = false;
        walk(list, |n| {
            if n.kind_name() == "continue_statement" {
                continues = true;
            }
            // A nested loop's own `continue` and `break` stay inside it.
            !continues && !matches!(n.kind_name(), "for_statement" | "func_literal")
        });
        if continues {
            return false;
        }
        let mut after = stmt.next_named_sibling();
        while let Some(n) = after {
            match n.kind_name() {
                "return_statement" => return true,
                "break_statement" => return n.named_child_count() == 0,
                _ => after = n.next_named_sibling(),
            }
        }
        false
    }

    /// Whether spawns `a` and `b` of one starter exclude each other through
    /// a flag that both set before they start: the later one (in the
    /// source) runs only while the flag is unset, and the earlier one runs
    /// at most once.
    pub fn exclusive_by_flag(&self, a: &Spawn<'a>, b: &Spawn<'a>) -> bool {
        let (first, second) = if a.site.start_byte() <= b.site.start_byte() {
            (a, b)
        } else {
            (b, a)
        };
        let (Some(f1), Some(f2)) = (self.once_flag(first), self.once_flag(second)) else {
            return false;
        };
        f1.name == f2.name && f2.guarded && (first.in_loop.is_none() || f1.guarded)
    }
}
