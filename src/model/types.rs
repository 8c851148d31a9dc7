//! Map-ness without a type checker: the types that declarations and expressions
//! make evident in the source. Anything not evident is `Unknown`, and rules stay
//! silent on it.

use rustc_hash::FxHashMap;
use tree_sitter::Node;

use super::Package;
use super::scope::{BindKind, Binding, ParamRole, Resolved};
use crate::syntax::{NodeExt, field};

/// How far inference follows declarations and aliases before giving up.
const MAX_DEPTH: usize = 12;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ty {
    /// A map; the value type where known.
    Map(Box<Ty>),
    /// A slice or array of the element type.
    Slice(Box<Ty>),
    /// A struct type declared in the package (pointers are looked through).
    Struct(String),
    /// `sync.Map`: safe for concurrent use.
    SyncMap,
    /// `atomic.Value` or `atomic.Pointer[T]` (with `T`): swaps whole values atomically.
    Atomic(Box<Ty>),
    /// A named map type of another package (`http.Header`, `url.Values`, see
    /// `library.rs`), whose methods read and write it; its values are slices.
    LibraryMap,
    Unknown,
}

impl Ty {
    pub fn is_map(&self) -> bool {
        matches!(self, Ty::Map(_) | Ty::LibraryMap)
    }
}

impl<'a> Package<'a> {
    fn type_of_type_at(&self, file: usize, node: Node<'a>, depth: usize) -> Ty {
        if depth > MAX_DEPTH {
            return Ty::Unknown;
        }
        match node.kind_name() {
            "map_type" => Ty::Map(Box::new(
                node.child_by_field_id(field::VALUE)
                    .map_or(Ty::Unknown, |v| self.type_of_type_at(file, v, depth + 1)),
            )),
            "slice_type" | "array_type" | "implicit_length_array_type" => Ty::Slice(Box::new(
                node.child_by_field_id(field::ELEMENT)
                    .map_or(Ty::Unknown, |e| self.type_of_type_at(file, e, depth + 1)),
            )),
            "pointer_type" | "parenthesized_type" | "type_elem" => node
                .named_child(0)
                .map_or(Ty::Unknown, |n| self.type_of_type_at(file, n, depth + 1)),
            "generic_type" => match node
                .child_by_field_id(field::TYPE)
                .map_or(Ty::Unknown, |n| self.type_of_type_at(file, n, depth + 1))
            {
                // atomic.Pointer[T]: remember T, which Load returns (as *T).
                Ty::Atomic(_) => Ty::Atomic(Box::new(
                    node.child_by_field_id(field::TYPE_ARGUMENTS)
                        .and_then(|a| a.named_child(0))
                        .map_or(Ty::Unknown, |t| self.type_of_type_at(file, t, depth + 1)),
                )),
                other => other,
            },
            "qualified_type" => {
                let pkg = node
                    .child_by_field_id(field::PACKAGE)
                    .map(|n| self.text(file, n));
                let name = node
                    .child_by_field_id(field::NAME)
                    .map(|n| self.text(file, n));
                match (pkg, name) {
                    (Some("sync"), Some("Map")) => Ty::SyncMap,
                    (Some("atomic"), Some("Value" | "Pointer")) => {
                        Ty::Atomic(Box::new(Ty::Unknown))
                    }
                    (Some(p), Some(n)) if super::library::MAP_TYPES.contains(&(p, n)) => {
                        Ty::LibraryMap
                    }
                    _ => Ty::Unknown,
                }
            }
            "type_identifier" => self.named_type(self.text(file, node), depth),
            _ => Ty::Unknown,
        }
    }

    /// A type declared in the package, by name.
    pub fn named_type(&self, name: &str, depth: usize) -> Ty {
        let Some((file, ty)) = self.type_decl(name) else {
            return Ty::Unknown;
        };
        match ty.kind_name() {
            "struct_type" => Ty::Struct(name.to_string()),
            _ => self.type_of_type_at(file, ty, depth + 1),
        }
    }

    /// The position, among the fields of struct type `strukt` in declaration
    /// order, of field `field`, or of the embedded field it is promoted
    /// through: what a positional composite literal `T{a, b, c}` sets.
    pub fn field_position(&self, strukt: &str, field: &str) -> Option<usize> {
        let (file, ty) = self.type_decl(strukt)?;
        if ty.kind_name() != "struct_type" {
            return None;
        }
        let list = ty.named_child(0)?;
        let mut cursor = list.walk();
        let mut position = 0;
        let mut promoted = None;
        for decl in list.named_children(&mut cursor) {
            if decl.kind_name() != "field_declaration" {
                continue;
            }
            let mut names = decl.walk();
            let names: Vec<Node<'a>> = decl.children_by_field_name("name", &mut names).collect();
            if names.is_empty() {
                let inner = decl
                    .child_by_field_id(field::TYPE)
                    .map(|t| self.type_of_type_at(file, t, 1));
                if let Some(Ty::Struct(inner)) = inner {
                    if promoted.is_none() && self.field_type(&inner, field) != Ty::Unknown {
                        promoted = Some(position);
                    }
                }
                position += 1;
                continue;
            }
            for n in names {
                if self.text(file, n) == field {
                    return Some(position);
                }
                position += 1;
            }
        }
        promoted
    }

    /// The name of the embedded field of struct `strukt` through which `field`
    /// is promoted (`common` for `tmpl` in `struct{ *common }`), when it is
    /// not a field of `strukt` itself.
    pub fn promoted_through(&self, strukt: &str, field: &str) -> Option<String> {
        let (file, ty) = self.type_decl(strukt)?;
        if ty.kind_name() != "struct_type" {
            return None;
        }
        let list = ty.named_child(0)?;
        let mut cursor = list.walk();
        let decls: Vec<Node<'a>> = list
            .named_children(&mut cursor)
            .filter(|d| d.kind_name() == "field_declaration")
            .collect();
        for decl in &decls {
            let mut names = decl.walk();
            if decl
                .children_by_field_name("name", &mut names)
                .any(|n| self.text(file, n) == field)
            {
                return None;
            }
        }
        for decl in decls {
            if decl.child_by_field_id(field::NAME).is_some() {
                continue;
            }
            let Some(type_node) = decl.child_by_field_id(field::TYPE) else {
                continue;
            };
            if let Ty::Struct(inner) = self.type_of_type_at(file, type_node, 1) {
                if self.field_type(&inner, field) != Ty::Unknown {
                    let text = self.text(file, type_node);
                    let base = text.trim_start_matches('*');
                    let base = base.rsplit('.').next().unwrap_or(base);
                    return Some(base.split('[').next().unwrap_or(base).to_string());
                }
            }
        }
        None
    }

    /// The type of field `field` of struct type `strukt`, looking into embedded structs.
    /// Whether field `field` of struct type `strukt` holds a struct by value
    /// (`template Meta`, not `*Meta`): reading it copies the struct.
    pub fn field_is_struct_value(&self, strukt: &str, field: &str) -> bool {
        let Some((file, ty)) = self.type_decl(strukt) else {
            return false;
        };
        let Some(list) = ty
            .named_child(0)
            .filter(|_| ty.kind_name() == "struct_type")
        else {
            return false;
        };
        let mut cursor = list.walk();
        for decl in list.named_children(&mut cursor) {
            let Some(type_node) = decl.child_by_field_id(field::TYPE) else {
                continue;
            };
            let mut names = decl.walk();
            if decl
                .children_by_field_name("name", &mut names)
                .any(|n| self.text(file, n) == field)
            {
                return type_node.kind_name() != "pointer_type"
                    && matches!(self.type_of_type_at(file, type_node, 1), Ty::Struct(_));
            }
        }
        false
    }

    pub fn field_type(&self, strukt: &str, field: &str) -> Ty {
        self.field_type_at(strukt, field, 0)
    }

    fn field_type_at(&self, strukt: &str, field: &str, depth: usize) -> Ty {
        if depth > MAX_DEPTH {
            return Ty::Unknown;
        }
        let Some(fields) = self.struct_fields(strukt) else {
            return Ty::Unknown;
        };
        let file = fields.file;
        if let Some(&type_node) = fields.named.get(field) {
            return self.type_of_type_at(file, type_node, depth + 1);
        }
        for &type_node in &fields.embedded {
            if let Ty::Struct(inner) = self.type_of_type_at(file, type_node, depth + 1) {
                let ty = self.field_type_at(&inner, field, depth + 1);
                if ty != Ty::Unknown {
                    return ty;
                }
            }
        }
        Ty::Unknown
    }

    /// A field of a value whose type is not declared in the package: a map
    /// only when the function shows it, by what it does to that very
    /// expression: gives it a new map (`x.f = make(map[K]V)`, a map literal),
    /// deletes from it, reads it in the comma-ok form (`v, ok := x.f[k]`) or
    /// indexes it with a string. A same-named field of another struct says
    /// nothing about this one.
    /// The fields of the package's struct type `strukt`, read once.
    fn struct_fields(&self, strukt: &str) -> Option<std::rc::Rc<StructFields<'a>>> {
        if let Some(known) = self.struct_fields.borrow().get(strukt) {
            return known.clone();
        }
        let fields = self.read_struct_fields(strukt).map(std::rc::Rc::new);
        self.struct_fields
            .borrow_mut()
            .insert(strukt.to_string(), fields.clone());
        fields
    }

    fn read_struct_fields(&self, strukt: &str) -> Option<StructFields<'a>> {
        let (file, ty) = self.type_decl(strukt)?;
        if ty.kind_name() != "struct_type" {
            return None;
        }
        let list = ty.named_child(0)?;
        let source: &'a crate::source::SourceFile = self.files[file];
        let mut fields = StructFields {
            file,
            named: FxHashMap::default(),
            embedded: Vec::new(),
        };
        let mut cursor = list.walk();
        for decl in list.named_children(&mut cursor) {
            if decl.kind_name() != "field_declaration" {
                continue;
            }
            let Some(type_node) = decl.child_by_field_id(field::TYPE) else {
                continue;
            };
            let mut names = decl.walk();
            let mut has_names = false;
            for name in decl.children_by_field_name("name", &mut names) {
                has_names = true;
                // The first field of a name is the one.
                fields
                    .named
                    .entry(source.text_of(name))
                    .or_insert(type_node);
            }
            if !has_names {
                fields.embedded.push(type_node);
            }
        }
        Some(fields)
    }

    fn field_shown_as_map(&self, file: usize, expr: Node<'a>) -> Ty {
        let Some(func) = super::enclosing_function(expr) else {
            return Ty::Unknown;
        };
        let text = self.text(file, expr);
        let key = (file, func.start_byte(), text.to_string());
        if let Some(&known) = self.shown_as_map.borrow().get(&key) {
            return if known {
                Ty::Map(Box::new(Ty::Unknown))
            } else {
                Ty::Unknown
            };
        }
        // Against cycles: not shown while looking.
        self.shown_as_map.borrow_mut().insert(key.clone(), false);
        // The uses of the expression, in source order: where its text is.
        let src = &self.files[file].text;
        let (start, end) = (func.start_byte(), func.end_byte().min(src.len()));
        let mut shown = false;
        // An expression without text is one tree-sitter made up where the
        // code does not parse: nothing shows it.
        let found = if text.is_empty() {
            Vec::new()
        } else {
            memchr::memmem::find_iter(&src[start..end], text.as_bytes()).collect()
        };
        for at in found {
            let at = start + at;
            let Some(n) = func
                .descendant_for_byte_range(at, at + text.len())
                .filter(|n| n.start_byte() == at && n.end_byte() == at + text.len())
                .filter(|n| matches!(n.kind_name(), "identifier" | "selector_expression"))
            else {
                continue;
            };
            if self.shows_map(file, n) {
                shown = true;
                break;
            }
        }
        self.shown_as_map.borrow_mut().insert(key, shown);
        if shown {
            Ty::Map(Box::new(Ty::Unknown))
        } else {
            Ty::Unknown
        }
    }

    /// `make(map[K]V)`, `make(M)` or `M{}` for a map type `M` of the package, `map[K]V{...}`.
    fn makes_map(&self, file: usize, v: Node<'a>) -> bool {
        let type_node = match v.kind_name() {
            "composite_literal" => v.child_by_field_id(field::TYPE),
            "call_expression"
                if v.child_by_field_id(field::FUNCTION)
                    .is_some_and(|f| self.text(file, f) == "make") =>
            {
                v.child_by_field_id(field::ARGUMENTS)
                    .and_then(|a| a.named_child(0))
            }
            _ => None,
        };
        type_node.is_some_and(|t| self.type_of_type_at(file, t, 0).is_map())
    }

    /// Whether the use `e` of an expression shows that it is a map.
    fn shows_map(&self, file: usize, e: Node<'a>) -> bool {
        let Some(parent) = e.parent() else {
            return false;
        };
        match parent.kind_name() {
            // `delete(e, k)`: only maps.
            "argument_list" => {
                parent.named_child(0).is_some_and(|a| a.id() == e.id())
                    && parent
                        .parent()
                        .and_then(|c| c.child_by_field_id(field::FUNCTION))
                        .is_some_and(|f| self.text(file, f) == "delete")
            }
            "index_expression" => {
                let operand = parent.child_by_field_id(field::OPERAND);
                if operand.is_none_or(|o| o.id() != e.id()) {
                    return false;
                }
                // `e["name"]`: a string key.
                let string_key = parent.child_by_field_id(field::INDEX).is_some_and(|i| {
                    matches!(
                        i.kind_name(),
                        "interpreted_string_literal" | "raw_string_literal"
                    )
                });
                // `v, ok := e[k]`: the comma-ok form.
                let comma_ok = parent
                    .parent()
                    .filter(|l| l.kind_name() == "expression_list" && l.named_child_count() == 1)
                    .and_then(|l| l.parent())
                    .is_some_and(|stmt| {
                        matches!(
                            stmt.kind_name(),
                            "short_var_declaration" | "assignment_statement"
                        ) && stmt
                            .child_by_field_id(field::LEFT)
                            .is_some_and(|left| left.named_child_count() == 2)
                            && stmt
                                .child_by_field_id(field::RIGHT)
                                .is_some_and(|r| super::contains(r, parent))
                    });
                string_key || comma_ok
            }
            // `e = make(map[K]V)`, `e = map[K]V{}`.
            "expression_list" => {
                let Some(stmt) = parent.parent() else {
                    return false;
                };
                if stmt.kind_name() != "assignment_statement"
                    || stmt
                        .child_by_field_id(field::LEFT)
                        .is_none_or(|l| l.id() != parent.id())
                    || parent.named_child_count() != 1
                {
                    return false;
                }
                stmt.child_by_field_id(field::RIGHT)
                    .and_then(|r| r.named_child(0))
                    .is_some_and(|v| self.makes_map(file, v))
            }
            _ => false,
        }
    }

    /// The type of an expression.
    pub fn type_of(&self, file: usize, expr: Node<'a>) -> Ty {
        let key = (file, expr.id());
        if let Some(known) = self.typed.borrow().get(&key) {
            return known.clone();
        }
        let ty = self.type_of_at(file, expr, 0);
        self.typed.borrow_mut().insert(key, ty.clone());
        ty
    }

    fn type_of_at(&self, file: usize, expr: Node<'a>, depth: usize) -> Ty {
        if depth > MAX_DEPTH {
            return Ty::Unknown;
        }
        let d = depth + 1;
        match expr.kind_name() {
            "identifier" => match self.resolve(file, expr) {
                Resolved::Local(b) | Resolved::PackageVar(b) => self.type_of_binding(b, d),
                _ => Ty::Unknown,
            },
            "selector_expression" => {
                let (Some(operand), Some(field)) = (
                    expr.child_by_field_id(field::OPERAND),
                    expr.child_by_field_id(field::FIELD),
                ) else {
                    return Ty::Unknown;
                };
                let field = self.text(file, field);
                match self.type_of_at(file, operand, d) {
                    Ty::Struct(name) => self.field_type_at(&name, field, d),
                    // A package name (`http.DefaultClient`) resolves to nothing: not ours.
                    Ty::Unknown
                        if operand.kind_name() == "identifier"
                            && matches!(self.resolve(file, operand), Resolved::Unknown) =>
                    {
                        Ty::Unknown
                    }
                    Ty::Unknown => self.field_shown_as_map(file, expr),
                    _ => Ty::Unknown,
                }
            }
            "index_expression" => match expr
                .child_by_field_id(field::OPERAND)
                .map(|o| self.type_of_at(file, o, d))
            {
                Some(Ty::Map(value)) => *value,
                Some(Ty::LibraryMap) => Ty::Slice(Box::new(Ty::Unknown)),
                Some(Ty::Slice(elem)) => *elem,
                _ => Ty::Unknown,
            },
            "call_expression" => self.type_of_call(file, expr, d),
            "composite_literal" => expr
                .child_by_field_id(field::TYPE)
                .map_or(Ty::Unknown, |t| self.type_of_type_at(file, t, d)),
            "unary_expression" => {
                let op = expr
                    .child_by_field_id(field::OPERATOR)
                    .map(|o| self.text(file, o));
                match (op, expr.child_by_field_id(field::OPERAND)) {
                    (Some("&") | Some("*"), Some(operand)) => self.type_of_at(file, operand, d),
                    _ => Ty::Unknown,
                }
            }
            "type_assertion_expression" => expr
                .child_by_field_id(field::TYPE)
                .map_or(Ty::Unknown, |t| self.type_of_type_at(file, t, d)),
            "parenthesized_expression" => expr
                .named_child(0)
                .map_or(Ty::Unknown, |e| self.type_of_at(file, e, d)),
            _ => Ty::Unknown,
        }
    }

    fn type_of_call(&self, file: usize, call: Node<'a>, depth: usize) -> Ty {
        let Some(function) = call.child_by_field_id(field::FUNCTION) else {
            return Ty::Unknown;
        };
        let first_arg = call
            .child_by_field_id(field::ARGUMENTS)
            .and_then(|args| args.named_child(0));
        match function.kind_name() {
            "identifier" => {
                let name = self.text(file, function);
                match self.resolve(file, function) {
                    Resolved::PackageFunc(f, decl) => self.result_type(f, decl, depth),
                    Resolved::Unknown if name == "make" || name == "new" => {
                        first_arg.map_or(Ty::Unknown, |t| self.type_of_type_at(file, t, depth))
                    }
                    // A conversion to a package type: `Set(m)`.
                    Resolved::Unknown => self.named_type(name, depth),
                    _ => Ty::Unknown,
                }
            }
            "parenthesized_type" | "map_type" => self.type_of_type_at(file, function, depth),
            // p.Load() and p.Swap(v) of an atomic.Pointer[T]: a *T.
            "selector_expression" => {
                let method = function
                    .child_by_field_id(field::FIELD)
                    .map(|f| self.text(file, f));
                let operand = function.child_by_field_id(field::OPERAND);
                match (method, operand.map(|o| self.type_of_at(file, o, depth))) {
                    (Some("Load" | "Swap"), Some(Ty::Atomic(elem))) => *elem,
                    // A method of a package type: its declared result.
                    (Some(name), Some(Ty::Struct(t))) => self
                        .method(&t, name)
                        .map_or(Ty::Unknown, |m| self.result_type(m.file, m.decl, depth)),
                    _ => Ty::Unknown,
                }
            }
            _ => Ty::Unknown,
        }
    }

    /// The single result type of a function declaration.
    fn result_type(&self, file: usize, decl: Node<'a>, depth: usize) -> Ty {
        let Some(result) = decl.child_by_field_id(field::RESULT) else {
            return Ty::Unknown;
        };
        if result.kind_name() != "parameter_list" {
            return self.type_of_type_at(file, result, depth);
        }
        if result.named_child_count() != 1 {
            return Ty::Unknown;
        }
        result
            .named_child(0)
            .and_then(|p| p.child_by_field_id(field::TYPE))
            .map_or(Ty::Unknown, |t| self.type_of_type_at(file, t, depth))
    }

    /// The type of a declared name.
    pub fn type_of_binding(&self, b: Binding<'a>, depth: usize) -> Ty {
        if depth > MAX_DEPTH {
            return Ty::Unknown;
        }
        let d = depth + 1;
        match b.kind {
            BindKind::Var { decl, index } => {
                if let Some(ty) = decl.child_by_field_id(field::TYPE) {
                    return self.type_of_type_at(b.file, ty, d);
                }
                let field = if decl.kind_name() == "short_var_declaration" {
                    "right"
                } else {
                    "value"
                };
                let Some(values) = decl.child_by_field_name(field) else {
                    return Ty::Unknown;
                };
                let count = values.named_child_count();
                let value = if count == 1 && index <= 1 {
                    // `v := e` or the comma-ok forms `v, ok := x.(T)` / `v, ok := m[k]`.
                    let only = values.named_child(0);
                    if index == 1 {
                        return Ty::Unknown;
                    }
                    only
                } else if index < count {
                    values.named_child(index)
                } else {
                    None
                };
                value.map_or(Ty::Unknown, |v| self.type_of_at(b.file, v, d))
            }
            BindKind::Param { decl, role, .. } => {
                let Some(ty) = decl.child_by_field_id(field::TYPE) else {
                    return Ty::Unknown;
                };
                let ty = self.type_of_type_at(b.file, ty, d);
                if role == ParamRole::Variadic {
                    Ty::Slice(Box::new(ty))
                } else {
                    ty
                }
            }
            BindKind::Range { clause, index } => {
                let Some(right) = clause.child_by_field_id(field::RIGHT) else {
                    return Ty::Unknown;
                };
                match (self.type_of_at(b.file, right, d), index) {
                    (Ty::Map(value), 1) => *value,
                    (Ty::LibraryMap, 1) => Ty::Slice(Box::new(Ty::Unknown)),
                    (Ty::Slice(elem), 1) => *elem,
                    _ => Ty::Unknown,
                }
            }
            BindKind::Other => Ty::Unknown,
        }
    }
}

/// A struct type's fields: the type of each named field, and the embedded
/// types in order.
pub struct StructFields<'a> {
    file: usize,
    named: FxHashMap<&'a str, Node<'a>>,
    embedded: Vec<Node<'a>>,
}
