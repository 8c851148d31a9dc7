//! Lexical name resolution for Go: which declaration an identifier refers to.
//! Walks up from the use through blocks, clauses and function signatures to the
//! package, as the Go spec's scoping rules say. Iterative: no recursion on depth.

use std::rc::Rc;

use rustc_hash::FxHashMap;
use tree_sitter::Node;

use super::{Package, ancestors, is_function, walk};
use crate::syntax::{NodeExt, field};

/// A declaration that an identifier resolves to.
#[derive(Clone, Copy, Debug)]
pub struct Binding<'a> {
    pub file: usize,
    /// The declaring identifier.
    pub name: Node<'a>,
    pub kind: BindKind<'a>,
}

#[derive(Clone, Copy, Debug)]
pub enum BindKind<'a> {
    /// A `var_spec` or `short_var_declaration`; `index` is the name's position on the left.
    Var { decl: Node<'a>, index: usize },
    /// A parameter, named result or receiver of `func`.
    Param {
        decl: Node<'a>,
        func: Node<'a>,
        /// Position among the function's parameters (results and receivers: 0).
        index: usize,
        role: ParamRole,
    },
    /// A `for k, v := range x` variable.
    Range { clause: Node<'a>, index: usize },
    /// Constants, type-switch and `select` bindings: never followed.
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamRole {
    Param,
    Variadic,
    Result,
    Receiver,
}

/// Identifies a declaration across the package.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeclId {
    pub file: usize,
    pub byte: usize,
}

impl<'a> Binding<'a> {
    /// The expression a variable is declared with: `v` in `x := v` and
    /// `var x = v`, and for the first name of `x, ok := v` or `a, b := f()`.
    pub fn value(&self) -> Option<Node<'a>> {
        let BindKind::Var { decl, index } = self.kind else {
            return None;
        };
        let field = if decl.kind_name() == "short_var_declaration" {
            "right"
        } else {
            "value"
        };
        let values = decl.child_by_field_name(field)?;
        match values.named_child_count() {
            1 if index == 0 => values.named_child(0),
            1 => None,
            _ => values.named_child(index),
        }
    }

    pub fn id(&self) -> DeclId {
        DeclId {
            file: self.file,
            byte: self.name.start_byte(),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Resolved<'a> {
    /// Declared inside a function.
    Local(Binding<'a>),
    /// A package-level variable.
    PackageVar(Binding<'a>),
    /// A package-level function: (file, function_declaration).
    PackageFunc(usize, Node<'a>),
    /// A type, constant, import, builtin or anything not declared in the package.
    Unknown,
}

impl<'a> Package<'a> {
    /// Resolves the identifier `ident` of file `file`.
    pub fn resolve(&self, file: usize, ident: Node<'a>) -> Resolved<'a> {
        // Every analysis resolves the same names again and again.
        let key = (file, ident.id());
        if let Some(&known) = self.resolved.borrow().get(&key) {
            return known;
        }
        let resolved = self.resolve_uncached(file, ident);
        self.resolved.borrow_mut().insert(key, resolved);
        resolved
    }

    fn resolve_uncached(&self, file: usize, ident: Node<'a>) -> Resolved<'a> {
        let src = &self.files[file].text;
        let Ok(name) = ident.utf8_text(src) else {
            return Resolved::Unknown;
        };
        if name == "_" {
            return Resolved::Unknown;
        }
        let mut child = ident;
        for node in ancestors(ident) {
            let found = match node.kind_name() {
                "statement_list" => self.declared_in_list(file, node, child, name),
                "for_statement" => {
                    declared_in_for(node, child, name, src).map(|b| Binding { file, ..b })
                }
                "if_statement" | "expression_switch_statement" | "type_switch_statement" => {
                    declared_in_initializer(node, child, name, src).map(|b| Binding { file, ..b })
                }
                "communication_case" => {
                    declared_in_select_case(node, child, name, src).map(|b| Binding { file, ..b })
                }
                kind if is_function(kind) => {
                    declared_in_signature(node, name, src).map(|b| Binding { file, ..b })
                }
                _ => None,
            };
            if let Some(binding) = found {
                return Resolved::Local(binding);
            }
            if matches!(
                node.kind_name(),
                "function_declaration" | "method_declaration" | "source_file"
            ) {
                return self.resolve_package_name(name);
            }
            child = node;
        }
        // Nested too deep to see the whole scope chain.
        Resolved::Unknown
    }

    pub fn resolve_package_name(&self, name: &str) -> Resolved<'a> {
        if let Some(binding) = self.var(name) {
            return Resolved::PackageVar(binding);
        }
        if let Some((file, decl)) = self.func(name) {
            return Resolved::PackageFunc(file, decl);
        }
        Resolved::Unknown
    }

    /// Declarations in the statements of a block that come before `child`.
    /// The declarations of a list are found once, by name, so that resolving
    /// every name in it does not read its statements again and again.
    fn declared_in_list(
        &self,
        file: usize,
        list: Node<'a>,
        child: Node<'a>,
        name: &str,
    ) -> Option<Binding<'a>> {
        let key = (file, list.id());
        let known = self.list_decls.borrow().get(&key).cloned();
        let decls = match known {
            Some(decls) => decls,
            None => {
                let decls = Rc::new(self.list_declarations(file, list));
                self.list_decls.borrow_mut().insert(key, decls.clone());
                decls
            }
        };
        let decls = decls.get(name)?;
        let before = decls.partition_point(|&(start, _)| start < child.start_byte());
        before.checked_sub(1).map(|i| decls[i].1)
    }

    /// Every name the statements of `list` declare: for each, the statements
    /// that declare it (start, binding), in order; a statement's first
    /// declaration of a name is the one (`declared_by_statement`).
    fn list_declarations(&self, file: usize, list: Node<'a>) -> ListDecls<'a> {
        let source: &'a crate::source::SourceFile = self.files[file];
        let src: &'a [u8] = &source.text;
        let mut decls: ListDecls<'a> = FxHashMap::default();
        let mut cursor = list.walk();
        for stmt in list.named_children(&mut cursor) {
            let start = stmt.start_byte();
            for (name, b) in declarations_of_statement(stmt, src) {
                let found = decls.entry(name).or_default();
                // A statement's first declaration of a name is the one.
                if found.last().is_none_or(|&(s, _)| s != start) {
                    found.push((start, Binding { file, ..b }));
                }
            }
        }
        decls
    }
}

/// The declarations of each name in a statement list: by name, (statement
/// start, binding), in source order.
pub type ListDecls<'a> = FxHashMap<&'a str, Vec<(usize, Binding<'a>)>>;

fn text<'s>(node: Node<'_>, src: &'s [u8]) -> &'s str {
    node.utf8_text(src).unwrap_or("")
}

fn binding<'a>(name: Node<'a>, kind: BindKind<'a>) -> Binding<'a> {
    Binding {
        file: 0,
        name,
        kind,
    }
}

/// Every name one statement declares, in order: `x := ...`, `var x ...`,
/// `const x = ...`.
fn declarations_of_statement<'a, 's>(
    mut stmt: Node<'a>,
    src: &'s [u8],
) -> Vec<(&'s str, Binding<'a>)> {
    let mut out = Vec::new();
    while stmt.kind_name() == "labeled_statement" {
        match super::labeled_inner(stmt) {
            Some(inner) => stmt = inner,
            None => return out,
        }
    }
    match stmt.kind_name() {
        "short_var_declaration" => {
            if let Some(left) = stmt.child_by_field_id(field::LEFT) {
                let mut cursor = left.walk();
                for (index, n) in left.named_children(&mut cursor).enumerate() {
                    if n.kind_name() == "identifier" {
                        out.push((
                            text(n, src),
                            binding(n, BindKind::Var { decl: stmt, index }),
                        ));
                    }
                }
            }
        }
        "var_declaration" => {
            for spec in var_specs(stmt) {
                let mut cursor = spec.walk();
                for (index, n) in spec.children_by_field_name("name", &mut cursor).enumerate() {
                    out.push((
                        text(n, src),
                        binding(n, BindKind::Var { decl: spec, index }),
                    ));
                }
            }
        }
        "const_declaration" => walk(stmt, |n| {
            if n.kind_name() == "identifier"
                && n.parent().is_some_and(|p| p.kind_name() == "const_spec")
            {
                out.push((text(n, src), binding(n, BindKind::Other)));
            }
            true
        }),
        _ => {}
    }
    out
}

/// The first declaration of `name` in one statement: `x := ...`, `var x
/// ...`, `const x = ...`.
fn declared_by_statement<'a>(stmt: Node<'a>, name: &str, src: &[u8]) -> Option<Binding<'a>> {
    declarations_of_statement(stmt, src)
        .into_iter()
        .find_map(|(n, b)| (n == name).then_some(b))
}

/// The `var_spec`s of a `var_declaration`, grouped or not.
pub fn var_specs(decl: Node<'_>) -> Vec<Node<'_>> {
    let mut specs = Vec::new();
    let mut cursor = decl.walk();
    for child in decl.named_children(&mut cursor) {
        match child.kind_name() {
            "var_spec" => specs.push(child),
            "var_spec_list" => {
                let mut inner = child.walk();
                specs.extend(
                    child
                        .named_children(&mut inner)
                        .filter(|n| n.kind_name() == "var_spec"),
                );
            }
            _ => {}
        }
    }
    specs
}

fn has_token(node: Node<'_>, token: &str) -> bool {
    let mut cursor = node.walk();
    node.children(&mut cursor)
        .any(|c| !c.is_named() && c.kind_name() == token)
}

fn declared_in_for<'a>(
    stmt: Node<'a>,
    child: Node<'a>,
    name: &str,
    src: &[u8],
) -> Option<Binding<'a>> {
    let mut cursor = stmt.walk();
    for clause in stmt.named_children(&mut cursor) {
        if clause.id() == child.id() && clause.kind_name() != "for_clause" {
            // The range expression itself is outside the range variables' scope.
            if clause.kind_name() == "range_clause" {
                return None;
            }
        }
        match clause.kind_name() {
            "range_clause" if has_token(clause, ":=") => {
                let left = clause.child_by_field_id(field::LEFT)?;
                let mut c = left.walk();
                return left
                    .named_children(&mut c)
                    .enumerate()
                    .find(|(_, n)| text(*n, src) == name)
                    .map(|(index, n)| binding(n, BindKind::Range { clause, index }));
            }
            "for_clause" => {
                let init = clause.child_by_field_id(field::INITIALIZER)?;
                return declared_by_statement(init, name, src);
            }
            _ => {}
        }
    }
    None
}

fn declared_in_initializer<'a>(
    stmt: Node<'a>,
    child: Node<'a>,
    name: &str,
    src: &[u8],
) -> Option<Binding<'a>> {
    if let Some(init) = stmt.child_by_field_id(field::INITIALIZER) {
        if init.id() != child.id() {
            if let Some(b) = declared_by_statement(init, name, src) {
                return Some(b);
            }
        }
    }
    if stmt.kind_name() == "type_switch_statement" {
        let alias = stmt.child_by_field_id(field::ALIAS)?;
        let mut cursor = alias.walk();
        return alias
            .named_children(&mut cursor)
            .find(|n| text(*n, src) == name)
            .map(|n| binding(n, BindKind::Other));
    }
    None
}

fn declared_in_select_case<'a>(
    case: Node<'a>,
    child: Node<'a>,
    name: &str,
    src: &[u8],
) -> Option<Binding<'a>> {
    let comm = case.child_by_field_id(field::COMMUNICATION)?;
    if comm.id() == child.id() || comm.kind_name() != "receive_statement" || !has_token(comm, ":=")
    {
        return None;
    }
    let left = comm.child_by_field_id(field::LEFT)?;
    let mut cursor = left.walk();
    left.named_children(&mut cursor)
        .find(|n| text(*n, src) == name)
        .map(|n| binding(n, BindKind::Other))
}

fn declared_in_signature<'a>(func: Node<'a>, name: &str, src: &[u8]) -> Option<Binding<'a>> {
    for (field, role) in [
        ("receiver", ParamRole::Receiver),
        ("parameters", ParamRole::Param),
        ("result", ParamRole::Result),
    ] {
        let Some(list) = func.child_by_field_name(field) else {
            continue;
        };
        if list.kind_name() != "parameter_list" {
            continue;
        }
        let mut index = 0;
        let mut cursor = list.walk();
        for decl in list.named_children(&mut cursor) {
            let variadic = decl.kind_name() == "variadic_parameter_declaration";
            let mut names = decl.walk();
            let decl_names: Vec<Node<'a>> =
                decl.children_by_field_name("name", &mut names).collect();
            if decl_names.is_empty() {
                index += 1;
            }
            for n in decl_names {
                if text(n, src) == name {
                    let role = match role {
                        ParamRole::Param if variadic => ParamRole::Variadic,
                        r => r,
                    };
                    let index = if role == ParamRole::Param || role == ParamRole::Variadic {
                        index
                    } else {
                        0
                    };
                    return Some(binding(
                        n,
                        BindKind::Param {
                            decl,
                            func,
                            index,
                            role,
                        },
                    ));
                }
                index += 1;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::Resolved;
    use crate::model::Package;
    use crate::source::SourceFile;
    use crate::syntax::NodeExt;

    /// How every `x` in function `f` of `text` resolves: (local?, line of the
    /// declaring name, counted from the line of `func f`).
    fn resolutions(text: &str) -> Vec<(bool, usize)> {
        let tree = crate::parse::parse(text.as_bytes()).expect("parses");
        let source = SourceFile::new("t.go".into(), "t.go".into(), text.as_bytes().to_vec(), tree);
        let pkg = Package::new(vec![&source]);
        let (_, f) = pkg.func("f").unwrap();
        let first = f.start_position().row;
        let mut found = Vec::new();
        crate::model::walk(f, |n| {
            if n.kind_name() == "identifier" && pkg.text(0, n) == "x" {
                found.push(match pkg.resolve(0, n) {
                    Resolved::Local(b) => (true, b.name.start_position().row - first),
                    Resolved::PackageVar(b) => (false, b.name.start_position().row),
                    _ => (false, usize::MAX),
                });
            }
            true
        });
        found
    }

    /// A long statement list finds declarations through its index; a short
    /// one by scanning: both resolve every name alike.
    #[test]
    fn long_lists_resolve_names_as_short_ones() {
        let body = "\tuse(x)\n\tx := 1\n\tuse(x)\n\t{\n\t\tuse(x)\n\t\tx := 2\n\t\tuse(x)\n\t}\n\
                    \tx, y := 3, 4\n\tuse(x, y)\n\tvar x2 = x\n\tuse(x2)\n";
        let package = "package p\n\nvar x = 0\n\nfunc use(...int) {}\n\n";
        let short = format!("{package}func f() {{\n{body}}}\n");
        // The same statements after 40 others, on one line so that lines agree.
        let padding = "_ = 0; ".repeat(40);
        let long = format!("{package}func f() {{ {padding}\n{body}}}\n");
        let (short, long) = (resolutions(&short), resolutions(&long));
        assert_eq!(short, long);
        assert!(
            short.contains(&(false, 2)),
            "the first use is the package's x"
        );
        assert!(short.iter().filter(|(local, _)| *local).count() >= 6);
    }
}
