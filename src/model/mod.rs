//! What the rules share about one Go package (the `.go` files of one folder with
//! one package name): its declarations, name resolution, inferred map types,
//! lock state and goroutines. Built once per package, read by every rule.

pub mod access;
pub mod callgraph;
pub mod entry_locks;
pub mod guards;
pub mod joins;
pub mod lexical;
pub mod library;
pub mod lock_identity;
pub mod locks;
pub mod ownership;
pub mod phases;
pub mod races;
pub mod reach;
pub mod scope;
pub mod spawn;
pub mod testcode;
pub mod types;

use std::cell::RefCell;

use tree_sitter::Node;

use crate::source::SourceFile;
use crate::syntax::{NodeExt, field};
use rustc_hash::{FxHashMap, FxHashSet};
use scope::{BindKind, Binding, var_specs};

/// A method declaration and the name of its receiver's base type.
#[derive(Clone, Copy, Debug)]
pub struct Method<'a> {
    pub file: usize,
    pub decl: Node<'a>,
}

pub struct Package<'a> {
    pub files: Vec<&'a SourceFile>,
    /// What each file declares and mentions, read before parsing: which
    /// files a question about a name needs.
    pub lexicon: lexical::Lexicon<'a>,
    /// The top-level declarations of the files read so far.
    decls: RefCell<Decls<'a>>,
    /// The fields of struct types, by type name, read on first use.
    struct_fields: RefCell<FxHashMap<String, Option<std::rc::Rc<types::StructFields<'a>>>>>,
    /// Memo for `field_shown_as_map`: (file, function, expression) -> shown.
    shown_as_map: RefCell<FxHashMap<(usize, usize, String), bool>>,
    /// Memo for `once_flag`: (file, spawn site id) -> the flag.
    once_flags: RefCell<FxHashMap<(usize, usize), Option<spawn::OnceFlag>>>,
    /// Memo for `join_between`: (file, spawn site id) -> the first join after the spawn.
    first_joins: RefCell<FxHashMap<(usize, usize), Option<Node<'a>>>>,
    /// Memo for `started_once`: (file, spawn site id) -> the answer.
    started_once: RefCell<FxHashMap<(usize, usize), bool>>,
    /// Package constants declared `false` (`const debug = false`): code under
    /// `if debug` never runs.
    pub false_consts: FxHashSet<String>,
    /// The bodies of `if c { ... }` for constants `c` declared `false`, per
    /// file, found on first use.
    dead_branches: Vec<std::cell::OnceCell<Vec<(usize, usize)>>>,
    /// The name in each file's `package` clause.
    package_names: Vec<String>,
    /// The names of map-typed struct fields, computed on first use.
    map_field_names: std::cell::OnceCell<FxHashSet<String>>,
    /// The names of slice-of-maps struct fields, computed on first use.
    slice_of_map_fields: std::cell::OnceCell<FxHashSet<String>>,
    /// The words map types are written with, computed on first use.
    map_words: std::cell::OnceCell<Vec<String>>,
    /// Every call and use of a name, by name, per file, indexed on first use.
    name_index: Vec<std::cell::OnceCell<callgraph::NameIndex<'a>>>,
    /// Call sites and value uses found so far.
    call_graph: callgraph::CallGraphCell<'a>,
    /// What ownership has found out so far.
    ownership: RefCell<ownership::OwnershipMemo>,
    /// The locks each function is entered with, as found so far.
    entry_lock_memo: RefCell<entry_locks::EntryLockMemo>,
    /// Which functions wait for goroutines, as found so far.
    join_memo: RefCell<joins::JoinMemo<'a>>,
    /// The map accesses of each file, from one walk each, on first use.
    access_index: Vec<std::cell::OnceCell<Vec<access::AccessMatch<'a>>>>,
    /// Identifiers resolved so far, by (file, node id).
    resolved: RefCell<FxHashMap<(usize, usize), scope::Resolved<'a>>>,
    /// Expression types found so far, by (file, node id).
    typed: RefCell<FxHashMap<(usize, usize), types::Ty>>,
    /// The locks each function holds on entry, by (file, function node id):
    /// one walk of its body, not one per lock query.
    held_on_entry_memo: RefCell<FxHashMap<(usize, usize), Vec<locks::HeldLock<'a>>>>,
    /// Each function's assignment statements in source order, by the text of
    /// their first left-hand operand, by (file, function node id).
    assignments: RefCell<FxHashMap<(usize, usize), guards::Assignments<'a>>>,
    /// The declarations in a statement list, by (file, list node id).
    list_decls: RefCell<FxHashMap<(usize, usize), std::rc::Rc<scope::ListDecls<'a>>>>,
    /// Whether each function locks under `if p` for a parameter `p`, by (file, function node id).
    conditional_lock_memo: RefCell<FxHashMap<(usize, usize), bool>>,
    /// `locks_at`'s lock sets along statement lists, by (file, function node id, list node id).
    list_lock_memo: RefCell<FxHashMap<(usize, usize, usize), locks::ListLocks<'a>>>,
}

pub fn is_function(kind: &str) -> bool {
    matches!(
        kind,
        "function_declaration" | "method_declaration" | "func_literal"
    )
}

/// Visits `node` and its descendants in source order without recursion;
/// `f` returns whether to descend into the node it was given.
pub fn walk<'a>(node: Node<'a>, mut f: impl FnMut(Node<'a>) -> bool) {
    let mut cursor = node.walk();
    loop {
        let current = cursor.node();
        let descend = current.is_named() && f(current);
        if descend && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.node().id() == node.id() {
                return;
            }
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}

/// The statement a `labeled_statement` labels: `done:` may be followed by
/// comments before it.
pub fn labeled_inner(stmt: Node<'_>) -> Option<Node<'_>> {
    let mut cursor = stmt.walk();
    stmt.named_children(&mut cursor)
        .skip(1)
        .find(|c| c.kind_name() != "comment")
}

/// The statements of a `block`: comments may come before its `statement_list`.
pub fn block_statements(block: Node<'_>) -> Option<Node<'_>> {
    let mut cursor = block.walk();
    block
        .named_children(&mut cursor)
        .find(|c| c.kind_name() == "statement_list")
}

/// How many enclosing nodes an upward walk visits: real Go code stays far
/// below this, and past it analysis gives up.
pub const MAX_ANCESTORS: usize = 1000;

/// The nodes enclosing `node`, innermost first, at most `MAX_ANCESTORS` of them.
///
/// tree-sitter keeps no parent links: `Node::parent` descends from the root
/// each time, so walking up with it costs O(depth) per step. This finds the
/// whole chain in one descent, the same one `parent()` makes.
pub fn ancestors(node: Node<'_>) -> impl Iterator<Item = Node<'_>> {
    let root = root_of(node);
    let mut chain = Vec::new();
    if root != node {
        let mut at = root;
        loop {
            chain.push(at);
            match at.child_with_descendant(node) {
                Some(next) if next != node => at = next,
                _ => break,
            }
        }
    }
    chain.into_iter().rev().take(MAX_ANCESTORS)
}

/// The root of the tree that holds `node`.
fn root_of(node: Node<'_>) -> Node<'_> {
    let raw = node.into_raw();
    // SAFETY: `raw.tree` is the tree `node` borrows from, alive for the same
    // lifetime; `ts_tree_root_node` only reads it, as `Node::parent` does.
    unsafe { Node::from_raw(tree_sitter::ffi::ts_tree_root_node(raw.tree)) }
}

/// The innermost function (declaration or literal) that contains `node`.
pub fn enclosing_function(node: Node<'_>) -> Option<Node<'_>> {
    ancestors(node).find(|n| is_function(n.kind_name()))
}

pub fn contains(outer: Node<'_>, inner: Node<'_>) -> bool {
    outer.start_byte() <= inner.start_byte() && inner.end_byte() <= outer.end_byte()
}

/// The base type name of a receiver type: `*Cache[K]` -> `Cache`.
pub(crate) fn receiver_type_name<'s>(decl: Node<'_>, src: &'s [u8]) -> Option<&'s str> {
    let receiver = decl.child_by_field_id(field::RECEIVER)?;
    let param = receiver.named_child(0)?;
    let mut ty = param.child_by_field_id(field::TYPE)?;
    loop {
        match ty.kind_name() {
            "pointer_type" | "parenthesized_type" => ty = ty.named_child(0)?,
            "generic_type" => ty = ty.child_by_field_id(field::TYPE)?,
            "type_identifier" => return ty.utf8_text(src).ok(),
            _ => return None,
        }
    }
}

/// The top-level declarations of the files read so far. A name's entry is
/// final once every file that may declare it (`Lexicon::declaring`) is read:
/// then it is the last declaration in file order, as if all were read.
#[derive(Default)]
struct Decls<'a> {
    read: Vec<bool>,
    /// Names whose declaring files of a kind are all read.
    complete: FxHashSet<(lexical::Kind, String)>,
    /// The types, functions and methods each read file declares.
    file_names: Vec<Vec<(lexical::Kind, String)>>,
    /// Type name -> (file, the type expression of its `type_spec` or `type_alias`).
    types: FxHashMap<String, (usize, Node<'a>)>,
    /// Package-level variables.
    vars: FxHashMap<String, Binding<'a>>,
    /// Package-level functions: name -> (file, function_declaration).
    funcs: FxHashMap<String, (usize, Node<'a>)>,
    /// Methods by (receiver base type, method name).
    methods: FxHashMap<(String, String), Method<'a>>,
    /// Methods by name alone, in file order, for calls on values of unknown type.
    methods_by_name: FxHashMap<String, Vec<Method<'a>>>,
}

/// Inserts `value` unless what is there comes later in file order.
fn keep_last<K: std::hash::Hash + Eq, V>(
    map: &mut FxHashMap<K, V>,
    key: K,
    value: V,
    at: impl Fn(&V) -> (usize, usize),
) {
    match map.get(&key) {
        Some(old) if at(old) > at(&value) => {}
        _ => {
            map.insert(key, value);
        }
    }
}

impl<'a> Package<'a> {
    pub fn new(files: Vec<&'a SourceFile>) -> Self {
        let lexicon = lexical::Lexicon::new(files.iter().map(|f| f.text.as_slice()));
        let n = files.len();
        let mut pkg = Package {
            lexicon,
            decls: RefCell::new(Decls {
                read: vec![false; n],
                file_names: vec![Vec::new(); n],
                ..Decls::default()
            }),
            shown_as_map: RefCell::new(FxHashMap::default()),
            struct_fields: RefCell::new(FxHashMap::default()),
            once_flags: RefCell::new(FxHashMap::default()),
            started_once: RefCell::new(FxHashMap::default()),
            first_joins: RefCell::new(FxHashMap::default()),
            map_field_names: std::cell::OnceCell::new(),
            dead_branches: (0..n).map(|_| std::cell::OnceCell::new()).collect(),
            package_names: Vec::new(),
            slice_of_map_fields: std::cell::OnceCell::new(),
            map_words: std::cell::OnceCell::new(),
            name_index: (0..n).map(|_| std::cell::OnceCell::new()).collect(),
            call_graph: RefCell::new(callgraph::CallGraphMemo::default()),
            ownership: RefCell::new(ownership::OwnershipMemo::default()),
            entry_lock_memo: RefCell::new(entry_locks::EntryLockMemo::default()),
            join_memo: RefCell::new(joins::JoinMemo::default()),
            access_index: (0..n).map(|_| std::cell::OnceCell::new()).collect(),
            resolved: RefCell::new(FxHashMap::default()),
            typed: RefCell::new(FxHashMap::default()),
            held_on_entry_memo: RefCell::new(FxHashMap::default()),
            assignments: RefCell::new(FxHashMap::default()),
            conditional_lock_memo: RefCell::new(FxHashMap::default()),
            list_decls: RefCell::new(FxHashMap::default()),
            list_lock_memo: RefCell::new(FxHashMap::default()),
            false_consts: FxHashSet::default(),
            files,
        };
        pkg.package_names = (0..n)
            .map(|f| match pkg.lexicon.package_names[f] {
                Some(name) => name.to_string(),
                None => Self::package_name_of(pkg.files[f]),
            })
            .collect();
        for file in pkg.lexicon.false_consts.clone() {
            let source = pkg.files[file];
            let root = source.tree().root_node();
            let mut cursor = root.walk();
            for decl in root.named_children(&mut cursor) {
                if decl.kind_name() != "const_declaration" {
                    continue;
                }
                walk(decl, |n| {
                    if n.kind_name() == "const_spec" {
                        let value = n
                            .child_by_field_id(field::VALUE)
                            .and_then(|v| v.named_child(0));
                        if value.is_some_and(|v| v.kind_name() == "false") {
                            let mut c = n.walk();
                            for name in n.children_by_field_name("name", &mut c) {
                                if let Ok(t) = name.utf8_text(&source.text) {
                                    pkg.false_consts.insert(t.to_string());
                                }
                            }
                        }
                        return false;
                    }
                    true
                });
            }
        }
        pkg
    }

    /// Reads the top-level declarations of `file`, parsing it if needed.
    fn read_decls(&self, file: usize) {
        if self.decls.borrow().read[file] {
            return;
        }
        let source = self.files[file];
        let src = &source.text;
        let root = source.tree().root_node();
        let mut decls = self.decls.borrow_mut();
        let decls = &mut *decls;
        decls.read[file] = true;
        let names = &mut decls.file_names[file];
        let mut cursor = root.walk();
        for decl in root.named_children(&mut cursor) {
            match decl.kind_name() {
                "type_declaration" => {
                    let mut c = decl.walk();
                    for spec in decl.named_children(&mut c) {
                        if let (Some(name), Some(ty)) = (
                            spec.child_by_field_id(field::NAME),
                            spec.child_by_field_id(field::TYPE),
                        ) {
                            if let Ok(name) = name.utf8_text(src) {
                                names.push((lexical::Kind::Type, name.to_string()));
                                keep_last(&mut decls.types, name.to_string(), (file, ty), |v| {
                                    (v.0, v.1.start_byte())
                                });
                            }
                        }
                    }
                }
                "var_declaration" => {
                    for spec in var_specs(decl) {
                        let mut c = spec.walk();
                        for (index, name) in spec.children_by_field_name("name", &mut c).enumerate()
                        {
                            if let Ok(text) = name.utf8_text(src) {
                                let kind = BindKind::Var { decl: spec, index };
                                keep_last(
                                    &mut decls.vars,
                                    text.to_string(),
                                    Binding { file, name, kind },
                                    |b| (b.file, b.name.start_byte()),
                                );
                            }
                        }
                    }
                }
                "function_declaration" => {
                    if let Some(Ok(name)) = decl
                        .child_by_field_id(field::NAME)
                        .map(|n| n.utf8_text(src))
                    {
                        names.push((lexical::Kind::Func, name.to_string()));
                        keep_last(&mut decls.funcs, name.to_string(), (file, decl), |v| {
                            (v.0, v.1.start_byte())
                        });
                    }
                }
                "method_declaration" => {
                    let name = decl
                        .child_by_field_id(field::NAME)
                        .and_then(|n| n.utf8_text(src).ok());
                    if let (Some(name), Some(recv)) = (name, receiver_type_name(decl, src)) {
                        names.push((lexical::Kind::Method, name.to_string()));
                        let method = Method { file, decl };
                        let key = (recv.to_string(), name.to_string());
                        keep_last(&mut decls.methods, key, method, |m| {
                            (m.file, m.decl.start_byte())
                        });
                        let list = decls.methods_by_name.entry(name.to_string()).or_default();
                        let i = list.partition_point(|m| {
                            (m.file, m.decl.start_byte()) < (file, decl.start_byte())
                        });
                        list.insert(i, method);
                    }
                }
                _ => {}
            }
        }
    }

    /// Reads every file that may declare a method `name`: its entries are then final.
    fn complete_methods(&self, name: &str) {
        let key = (lexical::Kind::Method, name.to_string());
        if self.decls.borrow().complete.contains(&key) {
            return;
        }
        for file in self.lexicon.declaring(lexical::Kind::Method, name) {
            self.read_decls(file);
        }
        self.decls.borrow_mut().complete.insert(key);
    }

    /// The last declaration of `name` as a `kind` that `get` finds, in file
    /// order: the files that may declare it are read from the last, until
    /// one does. (A package has a name's declarations in several files when
    /// build constraints choose among them, as `syscall` does per system.)
    fn last_decl<T>(
        &self,
        kind: lexical::Kind,
        name: &str,
        get: impl Fn(&Decls<'a>) -> Option<(usize, T)>,
    ) -> Option<T> {
        let key = (kind, name.to_string());
        let complete = self.decls.borrow().complete.contains(&key);
        if !complete {
            let files: Vec<usize> = self.lexicon.declaring(kind, name).collect();
            for &file in files.iter().rev() {
                self.read_decls(file);
                // Every later file is read: nothing can come after this one.
                if let Some((found, value)) = get(&self.decls.borrow()) {
                    if found >= file {
                        return Some(value);
                    }
                }
            }
            self.decls.borrow_mut().complete.insert(key);
        }
        get(&self.decls.borrow()).map(|(_, value)| value)
    }

    /// The package-level type named `name`: (file, its type expression).
    pub fn type_decl(&self, name: &str) -> Option<(usize, Node<'a>)> {
        self.last_decl(lexical::Kind::Type, name, |d| {
            d.types.get(name).map(|&(f, ty)| (f, (f, ty)))
        })
    }

    /// The package-level variable named `name`.
    pub fn var(&self, name: &str) -> Option<Binding<'a>> {
        self.last_decl(lexical::Kind::Var, name, |d| {
            d.vars.get(name).map(|&b| (b.file, b))
        })
    }

    /// The package-level function named `name`: (file, its declaration).
    pub fn func(&self, name: &str) -> Option<(usize, Node<'a>)> {
        self.last_decl(lexical::Kind::Func, name, |d| {
            d.funcs.get(name).map(|&(f, decl)| (f, (f, decl)))
        })
    }

    /// The method `name` of the type named `recv`.
    pub fn method(&self, recv: &str, name: &str) -> Option<Method<'a>> {
        let key = (recv.to_string(), name.to_string());
        self.last_decl(lexical::Kind::Method, name, |d| {
            d.methods.get(&key).map(|&m| (m.file, m))
        })
    }

    /// The methods named `name`, of any type, in file order.
    pub fn methods_named(&self, name: &str) -> Vec<Method<'a>> {
        self.complete_methods(name);
        self.decls
            .borrow()
            .methods_by_name
            .get(name)
            .cloned()
            .unwrap_or_default()
    }

    /// Whether the package declares a method named `name`.
    pub fn has_methods_named(&self, name: &str) -> bool {
        self.lexicon.may_declare(lexical::Kind::Method, name)
            && self
                .last_decl(lexical::Kind::Method, name, |d| {
                    d.methods_by_name.get(name).map(|m| (usize::MAX, m.len()))
                })
                .is_some()
    }

    /// Whether some file may declare a function or method named `name`.
    fn may_declare_function(&self, name: &str) -> bool {
        self.lexicon.may_declare(lexical::Kind::Func, name)
            || self.lexicon.may_declare(lexical::Kind::Method, name)
    }

    /// Whether the package declares a function or method named `name`.
    pub fn declares_function(&self, name: &str) -> bool {
        self.func(name).is_some() || self.has_methods_named(name)
    }

    /// The matches of `query` in `file` near the identifiers `words`
    /// (`CompiledQuery::for_each_match_near`); the file is parsed only if
    /// its code names one of them.
    pub fn matches_near(
        &self,
        query: &crate::queries::CompiledQuery,
        file: usize,
        words: &[&str],
        f: impl FnMut(&tree_sitter::QueryMatch<'_, 'a>),
    ) {
        if words.iter().any(|w| self.lexicon.mentions(file, w)) {
            query.for_each_match_near_file(self.files[file], words, f);
        }
    }

    /// The files whose code may name `word`.
    pub fn files_mentioning(&self, word: &str) -> Vec<usize> {
        self.lexicon.mentioning(word).collect()
    }

    /// The files whose bytes hold `text` anywhere.
    pub fn files_containing(&self, text: &str) -> Vec<usize> {
        (0..self.files.len())
            .filter(|&f| memchr::memmem::find(&self.files[f].text, text.as_bytes()).is_some())
            .collect()
    }

    /// The names of kind `kind` that `files` declare, after reading them.
    fn names_in(&self, files: &[usize], kind: lexical::Kind) -> Vec<String> {
        for &f in files {
            self.read_decls(f);
        }
        let decls = self.decls.borrow();
        let mut names: Vec<String> = files
            .iter()
            .flat_map(|&f| &decls.file_names[f])
            .filter(|(k, _)| *k == kind)
            .map(|(_, name)| name.clone())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The declarations of kind `kind` whose final declaration (`lookup`)
    /// is in one of `files`, as (name, file, node).
    fn decls_in(
        &self,
        files: &[usize],
        kind: lexical::Kind,
        lookup: impl Fn(&str) -> Option<(usize, Node<'a>)>,
    ) -> Vec<(String, usize, Node<'a>)> {
        self.names_in(files, kind)
            .into_iter()
            .filter_map(|name| {
                let (f, node) = lookup(&name)?;
                files.contains(&f).then_some((name, f, node))
            })
            .collect()
    }

    /// The type declarations of `files`: every type of the package whose
    /// (final) declaration is in one of them, as (name, file, type expression).
    pub fn types_in(&self, files: &[usize]) -> Vec<(String, usize, Node<'a>)> {
        self.decls_in(files, lexical::Kind::Type, |name| self.type_decl(name))
    }

    /// The function declarations of `files`, as `types_in`.
    pub fn funcs_in(&self, files: &[usize]) -> Vec<(String, usize, Node<'a>)> {
        self.decls_in(files, lexical::Kind::Func, |name| self.func(name))
    }

    /// The method declarations of `files`, as `types_in`: (receiver type, name, method).
    pub fn methods_in(&self, files: &[usize]) -> Vec<(String, String, Method<'a>)> {
        for name in self.names_in(files, lexical::Kind::Method) {
            self.complete_methods(&name);
        }
        let decls = self.decls.borrow();
        decls
            .methods
            .iter()
            .filter(|(_, m)| files.contains(&m.file))
            .map(|((recv, name), &m)| (recv.clone(), name.clone(), m))
            .collect()
    }

    /// Whether a function or method can be called from other packages: an
    /// exported name outside package `main`. (An exported method of an
    /// unexported type is API too: such methods exist to satisfy interfaces
    /// that others call.)
    pub fn is_api(&self, file: usize, decl: Node<'a>) -> bool {
        // Nothing imports a command.
        self.package_name(file) != "main"
            && decl.child_by_field_id(field::NAME).is_some_and(|n| {
                self.text(file, n)
                    .starts_with(|c: char| c.is_ascii_uppercase())
            })
    }

    /// The name in a file's `package` clause.
    pub fn package_name(&self, file: usize) -> &str {
        &self.package_names[file]
    }

    /// A file's package name, from its tree.
    pub fn package_name_of(file: &SourceFile) -> String {
        let root = file.tree().root_node();
        let mut cursor = root.walk();
        let clause = root
            .named_children(&mut cursor)
            .find(|n| n.kind_name() == "package_clause");
        clause
            .and_then(|c| c.named_child(0))
            .map_or("", |n| file.text_of(n))
            .to_string()
    }

    /// The words that a map type is written with in this package: `map`,
    /// the library's map types (`Header` of `http.Header`), and the
    /// package's types that are maps (`type Set map[string]bool`, and types
    /// declared as those). A struct with a map-typed field names one of them.
    fn map_words(&self) -> &[String] {
        self.map_words.get_or_init(|| {
            let mut words: Vec<String> = std::iter::once("map".to_string())
                .chain(library::MAP_TYPES.iter().map(|(_, name)| name.to_string()))
                .collect();
            let mut read = 0;
            while read < words.len() {
                let files = self.files_mentioning_any(&words[read..]);
                read = words.len();
                for (name, _, _) in self.types_in(&files) {
                    if !words.contains(&name) && self.named_type(&name, 0).is_map() {
                        words.push(name);
                    }
                }
            }
            words
        })
    }

    /// The files whose code may name one of `words`, ascending.
    pub fn files_mentioning_any(&self, words: &[impl AsRef<str>]) -> Vec<usize> {
        let mut files: Vec<usize> = words
            .iter()
            .flat_map(|w| self.lexicon.mentioning(w.as_ref()))
            .collect();
        files.sort_unstable();
        files.dedup();
        files
    }

    /// The struct types that may have a field of a type written with one of
    /// the map words: (name, file, struct type).
    fn structs_with_map_words(&self) -> Vec<(String, usize, Node<'a>)> {
        let structs = self.files_mentioning("struct");
        let files: Vec<usize> = self
            .files_mentioning_any(self.map_words())
            .into_iter()
            .filter(|f| structs.binary_search(f).is_ok())
            .collect();
        self.types_in(&files)
            .into_iter()
            .filter(|(_, _, ty)| ty.kind_name() == "struct_type")
            .collect()
    }

    /// The names of the fields of the package's structs whose type
    /// `is(..)` accepts, over the structs that mention a map word.
    fn struct_field_names_where(&self, is: impl Fn(&types::Ty) -> bool) -> FxHashSet<String> {
        let mut names = FxHashSet::default();
        for (strukt, file, ty) in self.structs_with_map_words() {
            walk(ty, |n| {
                if n.kind_name() == "field_identifier"
                    && n.parent()
                        .is_some_and(|p| p.kind_name() == "field_declaration")
                {
                    let name = self.text(file, n);
                    if is(&self.field_type(&strukt, name)) {
                        names.insert(name.to_string());
                    }
                }
                true
            });
        }
        names
    }

    /// The names of the slice-of-maps fields of the package's structs
    /// (`shards []map[string]int`).
    pub fn slice_of_map_field_names(&self) -> &FxHashSet<String> {
        self.slice_of_map_fields.get_or_init(|| {
            self.struct_field_names_where(|t| matches!(t, types::Ty::Slice(elem) if elem.is_map()))
        })
    }

    /// The names of the map-typed fields of the package's structs.
    pub fn struct_field_names(&self) -> &FxHashSet<String> {
        self.map_field_names
            .get_or_init(|| self.struct_field_names_where(types::Ty::is_map))
    }

    pub fn text(&self, file: usize, node: Node<'_>) -> &str {
        self.files[file].text_of(node)
    }
}
