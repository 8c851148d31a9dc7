//! The map accesses that a concurrent context makes, following calls into the
//! package's functions and methods, and the accesses its starter makes after
//! starting it. Each access knows which map it touches (as a `MapRef`, seen from
//! the starter) and whether a lock is held there, by the code or by a caller.

use std::rc::Rc;
use std::sync::LazyLock;

use tree_sitter::Node;

use super::scope::{BindKind, ParamRole, Resolved};
use super::spawn::{MapRef, Origin, Root, Spawn, is_fresh_value};
use super::types::Ty;
use super::{Package, ancestors, contains, walk};
use crate::queries::CompiledQuery;
use crate::syntax::{NodeExt, field};
use rustc_hash::{FxHashMap, FxHashSet};

/// Code that belongs to another context: (file, start byte, end byte) of a
/// `go` statement or of a function literal that runs concurrently.
pub type Region = (usize, usize, usize);

/// How deep calls are followed from a context's body.
const MAX_CALL_DEPTH: usize = 3;
const MAX_ALIAS_DEPTH: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessKind {
    Read,
    Write,
}

#[derive(Clone, Debug)]
pub struct Access<'a> {
    pub kind: AccessKind,
    pub file: usize,
    /// The access: `m[k]`, `delete(m, k)`, `len(m)`, the `range` clause.
    pub node: Node<'a>,
    /// The expression that names the map.
    pub map_node: Node<'a>,
    pub map: MapRef,
    /// A `Lock` is held (here or by a caller), or the access runs in `sync.Once.Do`.
    pub write_locked: bool,
    /// Some lock is held, `RLock` included.
    pub locked: bool,
    /// The call in the context's (or starter's) own body that leads to this access.
    pub via: Option<Node<'a>>,
    /// The file of `via`: the body's or the starter's, which need not be the access's.
    pub via_file: usize,
    /// In a `sync.Once` body: it happens before every return of `Do`, so
    /// before the reads that follow a `Do` call.
    pub in_once: bool,
    /// Fills a map just put in its field, under the lock (copy-on-write):
    /// code that took the map under that lock took it filled.
    pub fills_fresh: bool,
}

impl Access<'_> {
    /// `m = make(...)` or `s.m = nil`: the variable is given another map.
    pub fn is_replacement(&self) -> bool {
        self.node.id() == self.map_node.id()
    }
}

/// The query that finds map accesses (captures `@access` and `@map`): the
/// patterns of `writes` find writes, the rest reads. One query, so that one
/// pass over the code finds both. It states what the access walk
/// (`find_accesses`) looks for; tests check the walk against it, and the
/// lint never compiles it.
pub struct AccessQueries<'q> {
    query: &'q LazyLock<CompiledQuery>,
    writes: &'q LazyLock<CompiledQuery>,
}

impl<'q> AccessQueries<'q> {
    pub fn new(query: &'q LazyLock<CompiledQuery>, writes: &'q LazyLock<CompiledQuery>) -> Self {
        AccessQueries { query, writes }
    }

    /// The query, compiled on first use.
    pub fn query(&self) -> &CompiledQuery {
        self.query
    }

    pub fn kind(&self, pattern: usize) -> AccessKind {
        if pattern < self.writes.query.pattern_count() {
            AccessKind::Write
        } else {
            AccessKind::Read
        }
    }
}

/// One map access the access query found: a write or read, the access node
/// and the expression that names the map.
#[derive(Clone, Copy, Debug)]
pub struct AccessMatch<'a> {
    pub kind: AccessKind,
    pub node: Node<'a>,
    pub map_node: Node<'a>,
}

/// The walks of functions that `collect` keeps for the other concurrent
/// contexts of the same analysis (the same `skip`), by (file, function node
/// id).
#[derive(Default)]
pub struct Walks<'a> {
    /// Each starter's walk, for `starter_accesses_after`.
    starters: FxHashMap<(usize, usize), Rc<FunctionWalk<'a>>>,
    /// The walks of goroutine bodies and of the functions they call, when
    /// the walk does not depend on the arguments of the call (`ruled_out`).
    callees: FxHashMap<(usize, usize), Rc<FunctionWalk<'a>>>,
}

/// A function's own code, walked from its top: the regions that are other
/// code (`go` statements, function literals, skipped regions), the calls
/// to follow, and (for a starter) the map accesses outside those regions.
pub struct FunctionWalk<'a> {
    excluded: Vec<(usize, usize)>,
    calls: Vec<Node<'a>>,
    accesses: Option<Vec<AccessMatch<'a>>>,
}

impl<'a> Package<'a> {
    /// Every map access of the package, per file, in source order: one walk
    /// per file, shared by every rule and every concurrent context. It finds
    /// what the access query (`queries/unsynchronized_map_write.scm` then
    /// `queries/concurrent_map_read_write.scm`) matches, at the cost of a
    /// plain tree walk; a test keeps the two in step. Reads that are the
    /// targets of writes (`m[k] = v`) are left out.
    pub fn access_matches(&self, _q: &AccessQueries<'_>, file: usize) -> &[AccessMatch<'a>] {
        self.access_index[file].get_or_init(|| {
            let (all, targets) = self.find_accesses_and_targets(file);
            let mut found: Vec<AccessMatch<'a>> = all
                .into_iter()
                .filter(|a| a.kind == AccessKind::Write || !targets.contains(&a.node.id()))
                .filter(|a| self.is_library_access(file, a))
                // `if debug { ... }` with `const debug = false` never runs.
                .filter(|a| self.false_consts.is_empty() || !self.in_dead_branch(file, a.node))
                .collect();
            found.sort_by_key(|a| a.node.start_byte());
            found
        })
    }

    /// The matches of the access query in one file, found by walking its tree:
    /// writes (`m[k] = v`, `m[k] op= v`, `m[k]++`, `delete`, `clear`, and
    /// assignments to a name or field, which may replace a map), then reads
    /// (`m[k]`, `range m`, `len(m)`), each in source order.
    pub fn find_accesses(&self, file: usize) -> Vec<AccessMatch<'a>> {
        self.find_accesses_and_targets(file).0
    }

    /// `find_accesses`, and the ids of the nodes that are written rather than
    /// read: the operands of `++` and `--`, and the left-hand expressions of
    /// assignments, short variable declarations and range clauses.
    fn find_accesses_and_targets(&self, file: usize) -> (Vec<AccessMatch<'a>>, FxHashSet<usize>) {
        let kinds = &*KINDS;
        let source = self.files[file];
        let mut writes = Vec::new();
        let mut reads = Vec::new();
        let mut targets = FxHashSet::default();
        // Only operands that the walk could take for reads need keeping.
        let read_kind =
            |t: Node<'a>| (t.kind_id() == kinds.index || t.kind_id() == kinds.call).then(|| t.id());
        let mut cursor = source.tree().walk();
        loop {
            let n = cursor.node();
            let k = n.kind_id();
            if k == kinds.assignment || k == kinds.short_var || k == kinds.range {
                if let Some(left) = n.child_by_field_id(field::LEFT)
                    && left.kind_id() == kinds.expression_list
                {
                    let mut c = left.walk();
                    targets.extend(left.named_children(&mut c).filter_map(read_kind));
                }
            } else if k == kinds.inc || k == kinds.dec {
                let mut c = n.walk();
                targets.extend(n.named_children(&mut c).filter_map(read_kind));
            }
            if k == kinds.assignment {
                if let Some(left) = n.child_by_field_id(field::LEFT) {
                    let mut c = left.walk();
                    for target in left.named_children(&mut c) {
                        let t = target.kind_id();
                        if t == kinds.index {
                            if let Some(map) = target.child_by_field_id(field::OPERAND) {
                                writes.push(AccessMatch {
                                    kind: AccessKind::Write,
                                    node: target,
                                    map_node: map,
                                });
                            }
                        } else if t == kinds.identifier || t == kinds.selector {
                            writes.push(AccessMatch {
                                kind: AccessKind::Write,
                                node: target,
                                map_node: target,
                            });
                        }
                    }
                }
            } else if k == kinds.inc || k == kinds.dec {
                if let Some(target) = n.named_child(0).filter(|t| t.kind_id() == kinds.index) {
                    if let Some(map) = target.child_by_field_id(field::OPERAND) {
                        writes.push(AccessMatch {
                            kind: AccessKind::Write,
                            node: target,
                            map_node: map,
                        });
                    }
                }
            } else if k == kinds.call {
                let function = n.child_by_field_id(field::FUNCTION);
                let args = n.child_by_field_id(field::ARGUMENTS);
                if let (Some(function), Some(args)) = (function, args)
                    && function.kind_id() == kinds.selector
                {
                    library_accesses(source, n, function, args, &mut writes, &mut reads);
                }
                let function = function.filter(|f| f.kind_id() == kinds.identifier);
                if let (Some(function), Some(args)) = (function, args) {
                    let name = source.text_of(function);
                    if let Some(first) = args.named_child(0) {
                        if name == "delete" || name == "clear" {
                            writes.push(AccessMatch {
                                kind: AccessKind::Write,
                                node: n,
                                map_node: first,
                            });
                        } else if name == "len" && args.named_child_count() == 1 {
                            reads.push(AccessMatch {
                                kind: AccessKind::Read,
                                node: n,
                                map_node: first,
                            });
                        }
                    }
                }
            } else if k == kinds.index {
                if let Some(map) = n.child_by_field_id(field::OPERAND) {
                    reads.push(AccessMatch {
                        kind: AccessKind::Read,
                        node: n,
                        map_node: map,
                    });
                }
            } else if k == kinds.range {
                if let Some(map) = n.child_by_field_id(field::RIGHT) {
                    reads.push(AccessMatch {
                        kind: AccessKind::Read,
                        node: n,
                        map_node: map,
                    });
                }
            }
            if cursor.goto_first_child() {
                continue;
            }
            loop {
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    writes.extend(reads);
                    return (writes, targets);
                }
            }
        }
    }

    /// Whether a library access the walk found is one: a method call whose
    /// receiver is of a library map type (`h.Set(k, v)` on an `http.Header`),
    /// or a package function (`json.Marshal(m)`) whose package name is not a
    /// variable of ours. Whether the argument is a map is decided later, as for
    /// every access.
    fn is_library_access(&self, file: usize, a: &AccessMatch<'a>) -> bool {
        let Some(function) = a
            .node
            .child_by_field_id(field::FUNCTION)
            .filter(|f| a.node.kind_id() == KINDS.call && f.kind_id() == KINDS.selector)
        else {
            return true;
        };
        let Some(operand) = function.child_by_field_id(field::OPERAND) else {
            return false;
        };
        if operand.id() == a.map_node.id() {
            self.type_of(file, operand) == super::types::Ty::LibraryMap
        } else {
            matches!(self.resolve(file, operand), Resolved::Unknown)
        }
    }

    /// The map accesses inside `node` of `file` that start at or after byte `from`.
    pub fn access_matches_in(
        &self,
        q: &AccessQueries<'_>,
        file: usize,
        node: Node<'a>,
        from: usize,
    ) -> &[AccessMatch<'a>] {
        let all = self.access_matches(q, file);
        let start = from.max(node.start_byte());
        let lo = all.partition_point(|a| a.node.start_byte() < start);
        let hi = all.partition_point(|a| a.node.start_byte() < node.end_byte());
        &all[lo..hi.max(lo)]
    }
}

/// The accesses of a call `x.f(args)` to what the standard library does with
/// maps (`library.rs`): a method that writes or reads a library map type,
/// with `x` as the map, or a package function that iterates or writes its
/// map arguments. The model keeps only those whose types bear them out.
fn library_accesses<'a>(
    source: &crate::source::SourceFile,
    call: Node<'a>,
    function: Node<'a>,
    args: Node<'a>,
    writes: &mut Vec<AccessMatch<'a>>,
    reads: &mut Vec<AccessMatch<'a>>,
) {
    use super::library::{ArgUse, READ_METHODS, WRITE_METHODS, package_call};
    let (Some(operand), Some(field)) = (
        function.child_by_field_id(field::OPERAND),
        function.child_by_field_id(field::FIELD),
    ) else {
        return;
    };
    let name = source.text_of(field);
    let access = |kind, map_node| AccessMatch {
        kind,
        node: call,
        map_node,
    };
    if WRITE_METHODS.contains(&name) {
        writes.push(access(AccessKind::Write, operand));
    } else if READ_METHODS.contains(&name) {
        reads.push(access(AccessKind::Read, operand));
    }
    if operand.kind_id() != KINDS.identifier {
        return;
    }
    let Some(uses) = package_call(source.text_of(operand), name) else {
        return;
    };
    let mut cursor = args.walk();
    for (i, arg) in args
        .named_children(&mut cursor)
        .filter(|a| a.kind_name() != "comment")
        .enumerate()
    {
        match (uses, i) {
            (ArgUse::WriteFirst | ArgUse::WriteFirstReadRest, 0) => {
                writes.push(access(AccessKind::Write, arg));
            }
            (ArgUse::ReadAll | ArgUse::WriteFirstReadRest, _) => {
                reads.push(access(AccessKind::Read, arg));
            }
            (ArgUse::WriteFirst, _) => {}
        }
    }
}

/// A literal index: `0`, `"name"`, `'x'`.
fn is_constant_key(kind: &str) -> bool {
    matches!(
        kind,
        "int_literal" | "interpreted_string_literal" | "raw_string_literal" | "rune_literal"
    )
}

/// The node kinds the access walk looks for, as the grammar numbers them.
struct Kinds {
    assignment: u16,
    short_var: u16,
    expression_list: u16,
    inc: u16,
    dec: u16,
    call: u16,
    index: u16,
    range: u16,
    identifier: u16,
    selector: u16,
}

static KINDS: std::sync::LazyLock<Kinds> = std::sync::LazyLock::new(|| {
    let language = crate::parse::language();
    let id = |kind: &str| language.id_for_node_kind(kind, true);
    Kinds {
        assignment: id("assignment_statement"),
        short_var: id("short_var_declaration"),
        expression_list: id("expression_list"),
        inc: id("inc_statement"),
        dec: id("dec_statement"),
        call: id("call_expression"),
        index: id("index_expression"),
        range: id("range_clause"),
        identifier: id("identifier"),
        selector: id("selector_expression"),
    }
});

#[derive(Clone)]
enum Binding<'a> {
    /// The body a spawn runs: parameters take the spawn's arguments.
    Spawn,
    /// The starter's own body: its names are the starter's variables.
    Starter,
    /// A function called from frame `caller`.
    Call {
        caller: usize,
        args: Vec<Node<'a>>,
        receiver: Option<Node<'a>>,
    },
}

#[derive(Clone)]
struct Frame<'a> {
    file: usize,
    func: Node<'a>,
    binding: Binding<'a>,
    write_locked: bool,
    locked: bool,
    depth: usize,
    via: Option<Node<'a>>,
    /// The file of `via`.
    via_file: usize,
    /// Declarations on the call stack, against cycles.
    stack: Vec<(usize, usize)>,
}

/// `once.Do(f)`, `sync.OnceFunc(f)`, `sync.OnceValue(f)`, `sync.OnceValues(f)`:
/// calls that run `f` once, with every caller seeing its effects.
pub(crate) fn is_once_call(pkg: &Package<'_>, file: usize, call: Node<'_>) -> bool {
    call.child_by_field_id(field::FUNCTION).is_some_and(|f| {
        f.kind_name() == "selector_expression"
            && f.child_by_field_id(field::FIELD).is_some_and(|m| {
                let m = pkg.text(file, m);
                m == "Do"
                    || matches!(m, "OnceFunc" | "OnceValue" | "OnceValues")
                        && pkg.text(file, f).starts_with("sync.")
            })
    })
}

/// Whether `node` runs inside a function literal that a once-call runs.
pub(crate) fn in_once(pkg: &Package<'_>, file: usize, node: Node<'_>) -> bool {
    ancestors(node).any(|n| {
        n.kind_name() == "func_literal"
            && n.parent()
                .and_then(|args| args.parent())
                .is_some_and(|call| {
                    call.kind_name() == "call_expression" && is_once_call(pkg, file, call)
                })
    })
}

impl<'a> Package<'a> {
    /// The map accesses made by the code `spawn` runs. `skip` holds the nodes
    /// (function literals, `go` statements) that are other contexts: their code
    /// is not this one's.
    pub fn spawn_accesses(
        &self,
        spawn: &Spawn<'a>,
        q: &AccessQueries<'_>,
        skip: &FxHashSet<Region>,
        walks: &mut Walks<'a>,
    ) -> Vec<Access<'a>> {
        let root = Frame {
            file: spawn.body.file(),
            func: spawn.body.node(),
            binding: Binding::Spawn,
            write_locked: false,
            locked: false,
            depth: 0,
            via: None,
            via_file: spawn.body.file(),
            stack: vec![(spawn.body.file(), spawn.body.node().start_byte())],
        };
        self.collect(spawn, root, 0, q, skip, walks)
    }

    /// The accesses the starter makes after starting `spawn` (not in function
    /// literals). `walks` keeps each starter's walk for its other spawns: give
    /// the same one for the same `skip`.
    pub fn starter_accesses_after(
        &self,
        spawn: &Spawn<'a>,
        q: &AccessQueries<'_>,
        skip: &FxHashSet<Region>,
        walks: &mut Walks<'a>,
    ) -> Vec<Access<'a>> {
        let Some(starter) = spawn.starter else {
            return Vec::new();
        };
        let root = Frame {
            file: spawn.file,
            func: starter,
            binding: Binding::Starter,
            write_locked: false,
            locked: false,
            depth: 0,
            via: None,
            via_file: spawn.file,
            stack: vec![(spawn.file, starter.start_byte())],
        };
        let mut accesses = self.collect(spawn, root, spawn.site.end_byte(), q, skip, walks);
        // The starter runs with the locks its own callers hold (`trackPending`,
        // "Lock should be held", starts a timer): they guard its accesses too.
        if accesses.iter().any(|a| !a.write_locked) {
            let entry =
                self.entry_locks(spawn.file, self.static_lock_scope(spawn.file, spawn.site));
            for a in &mut accesses {
                a.locked |= entry.held();
                a.write_locked |= entry.write_held();
            }
        }
        accesses
    }

    fn collect(
        &self,
        spawn: &Spawn<'a>,
        root: Frame<'a>,
        from: usize,
        q: &AccessQueries<'_>,
        skip: &FxHashSet<Region>,
        walks: &mut Walks<'a>,
    ) -> Vec<Access<'a>> {
        let mut frames = vec![root];
        let mut out = Vec::new();
        let mut next = 0;
        while next < frames.len() {
            let frame = frames[next].clone();
            let idx = next;
            next += 1;
            // Nodes of the root frame before `from` belong to the starter before the spawn.
            let from = if idx == 0 { from } else { 0 };
            // One walk: the regions that are other code, and the calls to follow.
            let starter = matches!(frame.binding, Binding::Starter);
            let walk_from = |from: usize| {
                let mut excluded: Vec<(usize, usize)> = Vec::new();
                let mut calls = Vec::new();
                walk(frame.func, |n| {
                    if n.id() == frame.func.id() {
                        return true;
                    }
                    if n.end_byte() <= from {
                        return false;
                    }
                    let region = (frame.file, n.start_byte(), n.end_byte());
                    if n.kind_name() == "go_statement"
                        || starter && n.kind_name() == "func_literal"
                        || skip.contains(&region)
                        || self.ruled_out(&frames, idx, n)
                    {
                        excluded.push((n.start_byte(), n.end_byte()));
                        return false;
                    }
                    if n.kind_name() == "call_expression" && n.start_byte() >= from {
                        calls.push(n);
                    }
                    true
                });
                (excluded, calls)
            };
            // A starter's own walk is the same for each of its spawns but for
            // where it starts: walked once from its top, and cut at `from`.
            // Regions before `from` hold no node that counts (`owned` wants
            // nodes from `from` on), so only the calls need cutting.
            // The walk does not descend into an excluded node: the regions are
            // disjoint and in order, so only the last one starting at or before
            // a node can hold it (a zero-width node may sit where two meet).
            let outside = |excluded: &[(usize, usize)], n: Node<'a>| {
                let (start, end) = (n.start_byte(), n.end_byte());
                let within = |&(s, e): &(usize, usize)| s <= start && end <= e;
                let before = excluded.partition_point(|&(s, _)| s <= start);
                !if start == end {
                    excluded.iter().any(within)
                } else {
                    before > 0 && within(&excluded[before - 1])
                }
            };
            // Without arguments to rule out branches, a callee's walk (or a
            // goroutine body's, walked whole) is the same for every context.
            let by_arguments =
                matches!(&frame.binding, Binding::Call { args, .. } if !args.is_empty());
            let key = (frame.file, frame.func.id());
            let walked = if starter && idx == 0 {
                walks
                    .starters
                    .entry(key)
                    .or_insert_with(|| {
                        // Only calls of the package's own code are followed,
                        // and only accesses outside the excluded regions count.
                        let (excluded, mut calls) = walk_from(0);
                        calls.retain(|&c| self.callee(frame.file, c).is_some());
                        let accesses = self
                            .access_matches_in(q, frame.file, frame.func, 0)
                            .iter()
                            .filter(|a| outside(&excluded, a.node))
                            .copied()
                            .collect();
                        Rc::new(FunctionWalk {
                            excluded,
                            calls,
                            accesses: Some(accesses),
                        })
                    })
                    .clone()
            } else if from == 0 && !by_arguments {
                walks
                    .callees
                    .entry(key)
                    .or_insert_with(|| {
                        let (excluded, calls) = walk_from(0);
                        Rc::new(FunctionWalk {
                            excluded,
                            calls,
                            accesses: None,
                        })
                    })
                    .clone()
            } else {
                let (excluded, calls) = walk_from(from);
                Rc::new(FunctionWalk {
                    excluded,
                    calls,
                    accesses: None,
                })
            };
            let excluded = &walked.excluded;
            let calls = &walked.calls[walked.calls.partition_point(|c| c.start_byte() < from)..];
            let owned = |n: Node<'a>| n.start_byte() >= from && outside(excluded, n);
            let accesses = match &walked.accesses {
                Some(all) => &all[all.partition_point(|a| a.node.start_byte() < from)..],
                None => self.access_matches_in(q, frame.file, frame.func, from),
            };
            for &AccessMatch {
                kind,
                node,
                map_node,
            } in accesses
            {
                (|| {
                    if !owned(node) {
                        return;
                    }
                    if !self.type_of(frame.file, map_node).is_map() {
                        return;
                    }
                    let Origin::Shared(map) = self.origin(spawn, &frames, idx, map_node, 0) else {
                        return;
                    };
                    // An object this code made and has not shared (a struct copy
                    // given a map of its own) is nobody else's. Replacing a map
                    // writes the field, so the struct holding it must be private.
                    let holder = if node.id() == map_node.id() {
                        map_node.child_by_field_id(field::OPERAND)
                    } else {
                        Some(map_node)
                    };
                    if !starter && holder.is_some_and(|h| self.is_private(frame.file, h, node)) {
                        return;
                    }
                    let locks = self.frame_locks_at(&frames, idx, node);
                    let once = in_once(self, frame.file, node);
                    let fills_fresh = kind == AccessKind::Write && {
                        let calls: Vec<Node<'a>> = locks
                            .held
                            .iter()
                            .filter(|l| l.mode == super::locks::LockMode::Write)
                            .map(|l| l.call)
                            .collect();
                        self.fills_fresh_map_at(frame.file, frame.func, node, map_node, &calls)
                    };
                    out.push(Access {
                        kind,
                        file: frame.file,
                        node,
                        map_node,
                        map,
                        write_locked: frame.write_locked || locks.holds_write_lock() || once,
                        locked: frame.locked || !locks.held.is_empty() || once,
                        via: frame.via,
                        via_file: if frame.via.is_some() {
                            frame.via_file
                        } else {
                            frame.file
                        },
                        in_once: once,
                        fills_fresh,
                    });
                })();
            }
            if frame.depth >= MAX_CALL_DEPTH {
                continue;
            }
            for &call in calls.iter().filter(|c| owned(**c)) {
                let Some((file, decl, receiver)) = self.callee(frame.file, call) else {
                    continue;
                };
                let key = (file, decl.start_byte());
                if frame.stack.contains(&key) {
                    continue;
                }
                let locks = self.frame_locks_at(&frames, idx, call);
                let args = call
                    .child_by_field_id(field::ARGUMENTS)
                    .map(|a| {
                        let mut c = a.walk();
                        a.named_children(&mut c).collect()
                    })
                    .unwrap_or_default();
                let mut stack = frame.stack.clone();
                stack.push(key);
                // A callee that releases a lock it did not take (`unlockAndFinish`)
                // ends its caller's critical section: its own lock state says
                // what it holds, from its entry to that Unlock.
                let inherits = self.held_on_entry(file, decl).is_empty();
                frames.push(Frame {
                    file,
                    func: decl,
                    binding: Binding::Call {
                        caller: idx,
                        args,
                        receiver,
                    },
                    write_locked: inherits && (frame.write_locked || locks.holds_write_lock()),
                    locked: inherits && (frame.locked || !locks.held.is_empty()),
                    depth: frame.depth + 1,
                    via: frame.via.or(Some(call)),
                    via_file: if frame.via.is_some() {
                        frame.via_file
                    } else {
                        frame.file
                    },
                    stack,
                });
            }
        }
        out
    }

    /// Whether the arguments of the call into frame `idx` rule out the branch
    /// `node`: the body of `if p` when `false` is passed for `p`, or a case of
    /// `switch f := frame.(type)` that is not the type of the value passed
    /// (`handleFrame(&wire.ConnectionCloseFrame{...})`).
    fn ruled_out(&self, frames: &[Frame<'a>], idx: usize, node: Node<'a>) -> bool {
        if !matches!(node.kind_name(), "block" | "type_case" | "if_statement") {
            return false;
        }
        let frame = &frames[idx];
        let Binding::Call { caller, args, .. } = &frame.binding else {
            return false;
        };
        if args.is_empty() {
            return false;
        }
        let args_file = frames[*caller].file;
        let Some(parent) = node.parent() else {
            return false;
        };
        match parent.kind_name() {
            "if_statement" => {
                let cond = |c| self.known_condition(frame.file, frame.func, args, args_file, c);
                super::entry_locks::ruled_out_branch(node, &cond)
            }
            "type_switch_statement" if node.kind_name() == "type_case" => {
                let Some(passed) = self.passed_type(frame, parent, args, args_file) else {
                    return false;
                };
                // Ruled out when another case names the type passed.
                let names = |case: Node<'a>| {
                    let mut c = case.walk();
                    case.children_by_field_name("type", &mut c)
                        .map(|t| self.text(frame.file, t).replace(' ', ""))
                        .collect::<Vec<_>>()
                };
                let mut cursor = parent.walk();
                let matched = parent
                    .named_children(&mut cursor)
                    .filter(|c| c.kind_name() == "type_case")
                    .any(|c| names(c).contains(&passed));
                matched && !names(node).contains(&passed)
            }
            _ => false,
        }
    }

    /// The type of the composite literal passed for the parameter that a
    /// type switch switches on: `*wire.ConnectionCloseFrame` for
    /// `&wire.ConnectionCloseFrame{...}`.
    fn passed_type(
        &self,
        frame: &Frame<'a>,
        switch: Node<'a>,
        args: &[Node<'a>],
        args_file: usize,
    ) -> Option<String> {
        let value = switch.child_by_field_id(field::VALUE)?;
        let operand = value.child_by_field_id(field::OPERAND).unwrap_or(value);
        if operand.kind_name() != "identifier" {
            return None;
        }
        let Resolved::Local(b) = self.resolve(frame.file, operand) else {
            return None;
        };
        let BindKind::Param {
            func,
            index,
            role: ParamRole::Param,
            ..
        } = b.kind
        else {
            return None;
        };
        if func.id() != frame.func.id() {
            return None;
        }
        let mut arg = *args.get(index)?;
        // `ccf := &wire.ConnectionCloseFrame{...}; handleFrame(ccf)`.
        if arg.kind_name() == "identifier" {
            if let Resolved::Local(b) = self.resolve(args_file, arg) {
                arg = b.value()?;
            }
        }
        let (pointer, lit) = match arg.kind_name() {
            "composite_literal" => (false, arg),
            "unary_expression" => (
                true,
                self.alias_operand(args_file, arg)
                    .filter(|o| o.kind_name() == "composite_literal")?,
            ),
            _ => return None,
        };
        let ty = self
            .text(args_file, lit.child_by_field_id(field::TYPE)?)
            .replace(' ', "");
        Some(if pointer { format!("*{ty}") } else { ty })
    }

    /// The locks held at `node` in frame `idx`: `if doLock { mu.Lock() }` is
    /// decided by the argument the call into this frame passes.
    fn frame_locks_at(
        &self,
        frames: &[Frame<'a>],
        idx: usize,
        node: Node<'a>,
    ) -> super::locks::LockSet<'a> {
        let frame = &frames[idx];
        match &frame.binding {
            Binding::Call { caller, args, .. } => {
                let args_file = frames[*caller].file;
                let cond =
                    |c: Node<'a>| self.known_condition(frame.file, frame.func, args, args_file, c);
                self.locks_at_with(frame.file, node, frame.func, &cond)
            }
            _ => self.locks_at(frame.file, node, frame.func),
        }
    }

    /// The function or method of the package that `call` calls, when evident.
    fn callee(&self, file: usize, call: Node<'a>) -> Option<(usize, Node<'a>, Option<Node<'a>>)> {
        let function = call.child_by_field_id(field::FUNCTION)?;
        match function.kind_name() {
            "identifier" => match self.resolve(file, function) {
                Resolved::PackageFunc(f, decl) => Some((f, decl, None)),
                // A method value: `f := s.record; f(k)` calls `s.record(k)`.
                Resolved::Local(_) => {
                    let value = self.method_value_of(file, function)?;
                    let operand = value.child_by_field_id(field::OPERAND)?;
                    let method =
                        self.method_of(file, operand, value.child_by_field_id(field::FIELD)?)?;
                    Some((method.file, method.decl, Some(operand)))
                }
                _ => None,
            },
            "selector_expression" => {
                let operand = function.child_by_field_id(field::OPERAND)?;
                let Ty::Struct(t) = self.type_of(file, operand) else {
                    return None;
                };
                let name = self.text(file, function.child_by_field_id(field::FIELD)?);
                let method = self.method(&t, name)?;
                Some((method.file, method.decl, Some(operand)))
            }
            _ => None,
        }
    }

    /// What `expr`, in frame `idx`, refers to.
    fn origin(
        &self,
        spawn: &Spawn<'a>,
        frames: &[Frame<'a>],
        idx: usize,
        expr: Node<'a>,
        depth: usize,
    ) -> Origin {
        if depth > MAX_ALIAS_DEPTH {
            return Origin::Unknown;
        }
        let frame = &frames[idx];
        let file = frame.file;
        match expr.kind_name() {
            "identifier" => match self.resolve(file, expr) {
                Resolved::PackageVar(b) => {
                    Origin::Shared(self.var_ref(Root::Package(self.text(file, expr).into()), b))
                }
                Resolved::Local(b) => {
                    if matches!(frame.binding, Binding::Starter) {
                        return Origin::Shared(self.var_ref(Root::Decl(b.id()), b));
                    }
                    if !contains(frame.func, b.name) {
                        // Captured by a function literal: a variable of the code around it.
                        return match frame.binding {
                            Binding::Spawn => Origin::Shared(self.var_ref(Root::Decl(b.id()), b)),
                            _ => Origin::Unknown,
                        };
                    }
                    match b.kind {
                        BindKind::Param {
                            func, index, role, ..
                        } if func.id() == frame.func.id() => {
                            self.param_origin(spawn, frames, idx, index, role, depth)
                        }
                        BindKind::Var { decl, index } => {
                            let field = if decl.kind_name() == "short_var_declaration" {
                                "right"
                            } else {
                                "value"
                            };
                            match decl
                                .child_by_field_name(field)
                                .and_then(|v| v.named_child(index))
                            {
                                None => Origin::Local,
                                Some(value) if is_fresh_value(self, file, value) => Origin::Local,
                                // `subs := c.subs; c.subs = make(...)`: the old map is this code's alone.
                                Some(value)
                                    if self.detached(file, frame.func, b.name, value, expr) =>
                                {
                                    Origin::Local
                                }
                                Some(value) => self.origin(spawn, frames, idx, value, depth + 1),
                            }
                        }
                        _ => Origin::Unknown,
                    }
                }
                _ => Origin::Unknown,
            },
            "selector_expression" => {
                let base = expr
                    .child_by_field_id(field::OPERAND)
                    .map_or(Origin::Unknown, |o| {
                        self.origin(spawn, frames, idx, o, depth + 1)
                    });
                self.extend(expr, file, base)
            }
            // A map kept in a map: `m[0]` in `len(m[0])` or `m[0][k] = v`. Only a
            // constant key names one inner map on both sides; with a variable
            // key each side may have its own, so nothing is said.
            "index_expression" => {
                let Some(key) = expr
                    .child_by_field_id(field::INDEX)
                    .filter(|k| is_constant_key(k.kind_name()))
                else {
                    return Origin::Unknown;
                };
                let base = expr
                    .child_by_field_id(field::OPERAND)
                    .map_or(Origin::Unknown, |o| {
                        self.origin(spawn, frames, idx, o, depth + 1)
                    });
                match base {
                    Origin::Shared(mut r) => {
                        r.path.push(format!("[{}]", self.text(file, key)));
                        Origin::Shared(r)
                    }
                    _ => Origin::Unknown,
                }
            }
            "parenthesized_expression" | "unary_expression" => {
                self.alias_operand(file, expr).map_or(Origin::Unknown, |o| {
                    self.origin(spawn, frames, idx, o, depth + 1)
                })
            }
            // `Current()` returning the package variable `shared`.
            "call_expression" => match self.returned_package_var(file, expr) {
                Some(name) => match self.var(&name) {
                    Some(b) => Origin::Shared(self.var_ref(Root::Package(name.clone()), b)),
                    None => Origin::Unknown,
                },
                None => Origin::Unknown,
            },
            _ => Origin::Unknown,
        }
    }

    /// The package variable a call of a package function returns, when every
    /// `return` of it returns that variable.
    fn returned_package_var(&self, file: usize, call: Node<'a>) -> Option<String> {
        let (cfile, decl, _) = self.static_callee_of(file, call)?;
        let body = decl.child_by_field_id(field::BODY)?;
        let mut names = Vec::new();
        let mut other = false;
        walk(body, |n| {
            if n.kind_name() == "func_literal" {
                return false;
            }
            if n.kind_name() == "return_statement" {
                match n.named_child(0).and_then(|l| l.named_child(0)) {
                    Some(v)
                        if v.kind_name() == "identifier"
                            && matches!(self.resolve(cfile, v), Resolved::PackageVar(_)) =>
                    {
                        names.push(self.text(cfile, v).to_string())
                    }
                    _ => other = true,
                }
            }
            true
        });
        names.dedup();
        (!other && names.len() == 1).then(|| names.remove(0))
    }

    /// Whether the field a local took its map from (`subs := c.subs`) is given
    /// a fresh map (`c.subs = make(...)`) between the declaration `decl` and
    /// `at`: the local then holds the old map, which nobody else can reach.
    pub(crate) fn detached(
        &self,
        file: usize,
        func: Node<'a>,
        decl: Node<'a>,
        value: Node<'a>,
        at: Node<'a>,
    ) -> bool {
        if value.kind_name() != "selector_expression" {
            return false;
        }
        let text = self.text(file, value);
        let mut found = false;
        walk(func, |n| {
            if found || n.end_byte() <= decl.end_byte() {
                return n.end_byte() > decl.end_byte() && !found;
            }
            if n.start_byte() >= at.start_byte() {
                return false;
            }
            if n.kind_name() == "assignment_statement" {
                let left = n
                    .child_by_field_id(field::LEFT)
                    .and_then(|l| l.named_child(0));
                let right = n
                    .child_by_field_id(field::RIGHT)
                    .and_then(|r| r.named_child(0));
                found = left.is_some_and(|l| self.text(file, l) == text)
                    && right.is_some_and(|r| is_fresh_value(self, file, r));
            } else if n.kind_name() == "call_expression" {
                // `b.resetLocked()`, which gives the field a new map.
                found = self.replaces_field(file, n, value);
            }
            !found
        });
        found
    }

    /// Whether `call` is a call, on the value the map field `value` (`s.f`)
    /// is taken from, of a method of the package that gives that field
    /// another map (`s.f = make(...)`, `s.f = nil`).
    pub fn replaces_field(&self, file: usize, call: Node<'a>, value: Node<'a>) -> bool {
        let (Some(owner), Some(field)) = (
            value.child_by_field_id(field::OPERAND),
            value.child_by_field_id(field::FIELD),
        ) else {
            return false;
        };
        let field = self.text(file, field);
        let Some((cfile, decl, Some(receiver))) = self.static_callee_of(file, call) else {
            return false;
        };
        if self.text(file, receiver) != self.text(file, owner) {
            return false;
        }
        let Some(recv_name) = decl
            .child_by_field_id(field::RECEIVER)
            .and_then(|r| r.named_child(0))
            .and_then(|p| p.child_by_field_id(field::NAME))
            .map(|n| self.text(cfile, n))
        else {
            return false;
        };
        let target = format!("{recv_name}.{field}");
        let mut replaces = false;
        walk(decl, |n| {
            if n.kind_name() == "assignment_statement" {
                let left = n
                    .child_by_field_id(field::LEFT)
                    .and_then(|l| l.named_child(0));
                let right = n
                    .child_by_field_id(field::RIGHT)
                    .and_then(|r| r.named_child(0));
                replaces |= left.is_some_and(|l| self.text(cfile, l) == target)
                    && right
                        .is_some_and(|r| r.kind_name() == "nil" || is_fresh_value(self, cfile, r));
            }
            !replaces
        });
        replaces
    }

    fn param_origin(
        &self,
        spawn: &Spawn<'a>,
        frames: &[Frame<'a>],
        idx: usize,
        index: usize,
        role: ParamRole,
        depth: usize,
    ) -> Origin {
        match (&frames[idx].binding, role) {
            (Binding::Spawn, ParamRole::Param) => spawn
                .args
                .get(index)
                .map_or(Origin::Unknown, |arg| self.origin_in_starter(spawn, *arg)),
            (Binding::Spawn, ParamRole::Receiver) => match spawn.receiver {
                Some(r) => self.origin_in_starter(spawn, r),
                // A method that net/http, gRPC or a test runner calls: any value of its type.
                None => match super::receiver_type_name(
                    frames[idx].func,
                    &self.files[frames[idx].file].text,
                ) {
                    Some(t) => Origin::Shared(MapRef::new(
                        Root::Receiver(t.to_string()),
                        Some(t.to_string()),
                    )),
                    None => Origin::Unknown,
                },
            },
            (Binding::Call { caller, args, .. }, ParamRole::Param) => {
                args.get(index).map_or(Origin::Unknown, |arg| {
                    self.origin(spawn, frames, *caller, *arg, depth + 1)
                })
            }
            (
                Binding::Call {
                    caller,
                    receiver: Some(r),
                    ..
                },
                ParamRole::Receiver,
            ) => self.origin(spawn, frames, *caller, *r, depth + 1),
            _ => Origin::Unknown,
        }
    }
}
