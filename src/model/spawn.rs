//! Goroutines and ordering: every `go` statement of the package, the code it
//! runs, which outer map a name in that code refers to, and whether the code
//! that started the goroutine waits for it before touching the map again.

use std::collections::HashSet;

use tree_sitter::Node;

use super::scope::{BindKind, DeclId, ParamRole, Resolved};
use super::types::Ty;
use super::{Package, ancestors, contains, enclosing_function, walk};
use crate::queries::SPAWNS_QUERY;

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

/// One `go` statement.
#[derive(Clone, Debug)]
pub struct Spawn<'a> {
    pub file: usize,
    pub go_stmt: Node<'a>,
    /// The innermost function that contains the `go` statement.
    pub starter: Node<'a>,
    pub body: GoroutineBody<'a>,
    /// The call's arguments, evaluated by the starter.
    pub args: Vec<Node<'a>>,
    /// `x` in `go x.m()`.
    pub receiver: Option<Node<'a>>,
    /// The innermost loop, inside the starter, that contains the `go` statement.
    pub in_loop: Option<Node<'a>>,
}

/// Where a map lives, seen from the code that started a goroutine: a variable
/// (a local or parameter of the starter or an enclosing function, or a package
/// variable) and the fields taken from it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MapRef {
    pub root: Root,
    pub path: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Root {
    Decl(DeclId),
    Package(String),
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

fn is_fresh_value(pkg: &Package<'_>, file: usize, expr: Node<'_>) -> bool {
    match expr.kind() {
        "composite_literal" => true,
        "call_expression" => expr.child_by_field_name("function").is_some_and(|f| {
            f.kind() == "identifier" && matches!(pkg.text(file, f), "make" | "new")
        }),
        "unary_expression" => expr
            .child_by_field_name("operand")
            .is_some_and(|o| o.kind() == "composite_literal"),
        _ => false,
    }
}

impl<'a> Package<'a> {
    /// Every `go` statement of the package whose code is visible here.
    pub fn spawns(&self) -> Vec<Spawn<'a>> {
        let q = &*SPAWNS_QUERY;
        let (go_i, fn_i, args_i) = (
            q.capture("go"),
            q.capture("function"),
            q.capture("arguments"),
        );
        let mut spawns = Vec::new();
        for (file, source) in self.files.iter().enumerate() {
            q.for_each_match(source.tree.root_node(), &source.text, |m| {
                let get = |i| m.captures.iter().find(|c| c.index == i).map(|c| c.node);
                let (Some(go_stmt), Some(function), Some(arguments)) =
                    (get(go_i), get(fn_i), get(args_i))
                else {
                    return;
                };
                let Some(starter) = enclosing_function(go_stmt) else {
                    return;
                };
                let mut cursor = arguments.walk();
                let args: Vec<Node<'a>> = arguments.named_children(&mut cursor).collect();
                let Some((body, receiver)) = self.goroutine_body(file, function) else {
                    return;
                };
                let in_loop = ancestors(go_stmt)
                    .take_while(|n| n.id() != starter.id())
                    .find(|n| n.kind() == "for_statement");
                spawns.push(Spawn {
                    file,
                    go_stmt,
                    starter,
                    body,
                    args,
                    receiver,
                    in_loop,
                });
            });
        }
        spawns
    }

    fn goroutine_body(
        &self,
        file: usize,
        function: Node<'a>,
    ) -> Option<(GoroutineBody<'a>, Option<Node<'a>>)> {
        match function.kind() {
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
                while inner.kind() == "parenthesized_expression" {
                    inner = inner.named_child(0)?;
                }
                self.goroutine_body(file, inner)
            }
            "identifier" => match self.resolve(file, function) {
                Resolved::PackageFunc(f, decl) => {
                    Some((GoroutineBody::Function { file: f, decl }, None))
                }
                Resolved::Local(b) => {
                    let BindKind::Var { decl, index } = b.kind else {
                        return None;
                    };
                    let field = if decl.kind() == "short_var_declaration" {
                        "right"
                    } else {
                        "value"
                    };
                    let value = decl.child_by_field_name(field)?.named_child(index)?;
                    (value.kind() == "func_literal")
                        .then_some((GoroutineBody::Literal { file, lit: value }, None))
                }
                _ => None,
            },
            "selector_expression" => {
                let operand = function.child_by_field_name("operand")?;
                let name = self.text(file, function.child_by_field_name("field")?);
                let method = match self.type_of(file, operand) {
                    Ty::Struct(t) => *self.methods.get(&(t, name.to_string()))?,
                    // A value of unknown type: only a method name that is unique in the package.
                    Ty::Unknown
                        if !matches!(self.resolve(file, operand), Resolved::Unknown)
                            || operand.kind() != "identifier" =>
                    {
                        match self.methods_by_name.get(name)?.as_slice() {
                            [only] => *only,
                            _ => return None,
                        }
                    }
                    _ => return None,
                };
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

    /// What the map expression `expr`, inside the goroutine's code, refers to.
    pub fn origin_in_goroutine(&self, spawn: &Spawn<'a>, expr: Node<'a>) -> Origin {
        self.origin_in_goroutine_at(spawn, expr, 0)
    }

    fn origin_in_goroutine_at(&self, spawn: &Spawn<'a>, expr: Node<'a>, depth: usize) -> Origin {
        if depth > MAX_ALIAS_DEPTH {
            return Origin::Unknown;
        }
        let file = spawn.body.file();
        let body = spawn.body.node();
        match expr.kind() {
            "identifier" => match self.resolve(file, expr) {
                Resolved::PackageVar(_) => Origin::Shared(MapRef {
                    root: Root::Package(self.text(file, expr).to_string()),
                    path: Vec::new(),
                }),
                Resolved::Local(b) if !contains(body, b.name) => Origin::Shared(MapRef {
                    root: Root::Decl(b.id()),
                    path: Vec::new(),
                }),
                Resolved::Local(b) => match b.kind {
                    BindKind::Param {
                        func, index, role, ..
                    } if func.id() == body.id() => match role {
                        ParamRole::Param => spawn
                            .args
                            .get(index)
                            .map_or(Origin::Unknown, |arg| self.origin_in_starter(spawn, *arg)),
                        ParamRole::Receiver => spawn
                            .receiver
                            .map_or(Origin::Unknown, |r| self.origin_in_starter(spawn, r)),
                        ParamRole::Variadic | ParamRole::Result => Origin::Unknown,
                    },
                    BindKind::Var { decl, index } => {
                        let field = if decl.kind() == "short_var_declaration" {
                            "right"
                        } else {
                            "value"
                        };
                        match decl
                            .child_by_field_name(field)
                            .and_then(|v| v.named_child(index))
                        {
                            // `var m map[K]V` inside the goroutine.
                            None => Origin::Local,
                            Some(value) if is_fresh_value(self, file, value) => Origin::Local,
                            // `m := s.m`: an alias of whatever the value refers to.
                            Some(value) => self.origin_in_goroutine_at(spawn, value, depth + 1),
                        }
                    }
                    _ => Origin::Unknown,
                },
                _ => Origin::Unknown,
            },
            "selector_expression" => self.extend(
                expr,
                file,
                expr.child_by_field_name("operand")
                    .map_or(Origin::Unknown, |o| {
                        self.origin_in_goroutine_at(spawn, o, depth + 1)
                    }),
            ),
            "parenthesized_expression" | "unary_expression" => {
                self.alias_operand(file, expr).map_or(Origin::Unknown, |o| {
                    self.origin_in_goroutine_at(spawn, o, depth + 1)
                })
            }
            _ => Origin::Unknown,
        }
    }

    /// The operand that `(x)`, `&x` and `*x` alias. Not `<-ch`: a value received
    /// from a channel is handed over by its sender, not shared with the channel.
    fn alias_operand(&self, file: usize, expr: Node<'a>) -> Option<Node<'a>> {
        if expr.kind() == "parenthesized_expression" {
            return expr.named_child(0);
        }
        let op = self.text(file, expr.child_by_field_name("operator")?);
        matches!(op, "&" | "*").then(|| expr.child_by_field_name("operand"))?
    }

    fn extend(&self, selector: Node<'a>, file: usize, base: Origin) -> Origin {
        match base {
            Origin::Shared(mut r) => match selector.child_by_field_name("field") {
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
        match expr.kind() {
            "identifier" => match self.resolve(file, expr) {
                Resolved::PackageVar(_) => Origin::Shared(MapRef {
                    root: Root::Package(self.text(file, expr).to_string()),
                    path: Vec::new(),
                }),
                Resolved::Local(b) => Origin::Shared(MapRef {
                    root: Root::Decl(b.id()),
                    path: Vec::new(),
                }),
                _ => Origin::Unknown,
            },
            "selector_expression" => self.extend(
                expr,
                file,
                expr.child_by_field_name("operand")
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

    /// Names that the goroutine sends on or closes: the channels a receive can wait on.
    fn signalled_channels(&self, spawn: &Spawn<'a>) -> HashSet<String> {
        let file = spawn.body.file();
        let mut names = HashSet::new();
        walk(spawn.body.node(), |n| {
            let channel = match n.kind() {
                "send_statement" => n.child_by_field_name("channel"),
                "call_expression"
                    if n.child_by_field_name("function")
                        .is_some_and(|f| self.text(file, f) == "close") =>
                {
                    n.child_by_field_name("arguments")
                        .and_then(|a| a.named_child(0))
                }
                _ => None,
            };
            if let Some(ch) = channel {
                names.insert(last_name(self.text(file, ch)).to_string());
            }
            true
        });
        // Channels handed to a named function, which sends under another name.
        for arg in &spawn.args {
            names.insert(last_name(self.text(spawn.file, *arg)).to_string());
        }
        names
    }

    /// The first point, between the `go` statement and `until`, where the starter
    /// waits for the goroutine: `x.Wait()`, or a receive from (or `range` over) a
    /// channel that the goroutine sends on or closes.
    pub fn join_between(&self, spawn: &Spawn<'a>, until: usize) -> Option<Node<'a>> {
        let file = spawn.file;
        let from = spawn.go_stmt.end_byte();
        let channels = self.signalled_channels(spawn);
        let mut join = None;
        walk(spawn.starter, |n| {
            if join.is_some()
                || n.end_byte() <= from && n.kind() != "for_statement"
                || n.start_byte() >= until
            {
                return false;
            }
            if n.id() != spawn.starter.id() && matches!(n.kind(), "func_literal" | "go_statement") {
                return false;
            }
            if n.start_byte() < from {
                return true;
            }
            let is_join = match n.kind() {
                "call_expression" => n.child_by_field_name("function").is_some_and(|f| {
                    f.kind() == "selector_expression"
                        && f.child_by_field_name("field")
                            .is_some_and(|m| self.text(file, m) == "Wait")
                }),
                "unary_expression" => {
                    n.child_by_field_name("operator")
                        .is_some_and(|o| self.text(file, o) == "<-")
                        && n.child_by_field_name("operand")
                            .is_some_and(|ch| channels.contains(last_name(self.text(file, ch))))
                }
                "range_clause" => n
                    .child_by_field_name("right")
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

    /// The first place after the `go` statement where the starter itself
    /// refers to `map` (reads, writes, or passes it on), not counting code in
    /// function literals.
    pub fn starter_touch_after(&self, spawn: &Spawn<'a>, map: &MapRef) -> Option<Node<'a>> {
        let file = spawn.file;
        let from = spawn.go_stmt.end_byte();
        let root_name = match &map.root {
            Root::Package(name) => name.clone(),
            Root::Decl(id) if id.file == file => {
                let src = &self.files[file].text;
                let end = src[id.byte..]
                    .iter()
                    .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_' || *b >= 0x80));
                String::from_utf8_lossy(&src[id.byte..id.byte + end.unwrap_or(0)]).into_owned()
            }
            Root::Decl(_) => return None,
        };
        let mut touch = None;
        walk(spawn.starter, |n| {
            if touch.is_some() || n.end_byte() <= from {
                return false;
            }
            if n.id() != spawn.starter.id() && matches!(n.kind(), "func_literal" | "go_statement") {
                return false;
            }
            if n.kind() == "identifier" && n.start_byte() >= from && self.text(file, n) == root_name
            {
                let same_root = match (self.resolve(file, n), &map.root) {
                    (Resolved::PackageVar(_), Root::Package(_)) => true,
                    (Resolved::Local(b), Root::Decl(id)) => b.id() == *id,
                    _ => false,
                };
                if same_root {
                    if let Some(access) = self.selector_path_matches(file, n, &map.path) {
                        touch = Some(access);
                    }
                }
            }
            true
        });
        touch
    }

    /// `ident` followed by `.f1.f2...` equal to `path`: the node naming the map.
    fn selector_path_matches(
        &self,
        file: usize,
        ident: Node<'a>,
        path: &[String],
    ) -> Option<Node<'a>> {
        let mut node = ident;
        for field in path {
            let parent = node.parent()?;
            if parent.kind() != "selector_expression"
                || parent.child_by_field_name("operand")?.id() != node.id()
                || self.text(file, parent.child_by_field_name("field")?) != field
            {
                return None;
            }
            node = parent;
        }
        Some(node)
    }
}

/// `s.done` -> `done`.
fn last_name(expr: &str) -> &str {
    expr.rsplit('.').next().unwrap_or(expr).trim()
}
