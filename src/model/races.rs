//! Which map accesses of the package can overlap: writes against writes
//! (GML001) and reads against writes (GML003), with the reason they overlap.

use tree_sitter::Node;

use super::access::{Access, AccessKind, AccessQueries, Region};
use super::spawn::{GoroutineBody, Spawn, SpawnKind};
use super::{Package, ancestors, contains};
use crate::syntax::{NodeExt, field};
use rustc_hash::FxHashSet;

/// Every concurrent context of a package and the map accesses around it.
pub struct Analysis<'a> {
    pub spawns: Vec<Spawn<'a>>,
    /// `go` statements and function literals that run concurrently.
    pub concurrent: FxHashSet<Region>,
    /// The accesses each spawn's code makes.
    pub accesses: Vec<Vec<Access<'a>>>,
    /// The accesses each spawn's starter makes after starting it, while it runs alongside.
    pub after: Vec<Vec<Access<'a>>>,
}

/// Why an access can overlap another.
#[derive(Clone, Debug)]
pub enum Reason<'a> {
    /// The code runs many times at once: a spawn in a loop, a handler.
    SelfConcurrent,
    /// Other concurrent code accesses the map: `access`, in spawn `spawn`.
    Other { spawn: usize, access: Access<'a> },
    /// The starter uses the map after starting the code, without waiting for it.
    Starter { access: Access<'a> },
}

/// An access that can overlap a conflicting access of the same map.
#[derive(Clone, Debug)]
pub struct Race<'a> {
    pub spawn: usize,
    pub access: Access<'a>,
    pub reason: Reason<'a>,
}

impl<'a> Analysis<'a> {
    pub fn new(pkg: &Package<'a>, queries: &AccessQueries<'_>) -> Self {
        let spawns = pkg.spawns();
        let mut skip = FxHashSet::default();
        for s in &spawns {
            if s.kind == SpawnKind::Go {
                skip.insert((s.file, s.site.start_byte(), s.site.end_byte()));
            }
            if let GoroutineBody::Literal { file, lit } = s.body {
                skip.insert((file, lit.start_byte(), lit.end_byte()));
            }
        }
        let mut walks = super::access::Walks::default();
        let accesses = spawns
            .iter()
            .map(|s| pkg.spawn_accesses(s, queries, &skip, &mut walks))
            .collect();
        let after = spawns
            .iter()
            .map(|s| {
                if s.runs_alongside_starter() {
                    pkg.starter_accesses_after(s, queries, &skip, &mut walks)
                } else {
                    Vec::new()
                }
            })
            .collect();
        Analysis {
            spawns,
            concurrent: skip,
            accesses,
            after,
        }
    }

    /// Whether spawn `i` runs at the same time as other runs of itself, for `access`.
    fn self_concurrent(&self, pkg: &Package<'a>, i: usize, access: &Access<'a>) -> bool {
        let s = &self.spawns[i];
        s.always_self_concurrent()
            || s.in_loop.is_some_and(|l| {
                !pkg.is_per_iteration(s, &access.map)
                    && pkg.join_between(s, l.end_byte()).is_none()
                    && !pkg.started_once(s)
            })
    }

    /// Whether spawns `i` and `j` can run at the same time.
    fn overlap(&self, pkg: &Package<'a>, i: usize, j: usize) -> bool {
        let (a, b) = (&self.spawns[i], &self.spawns[j]);
        // A parallel subtest runs after its parent test function has returned.
        let parent_of = |sub: &Spawn<'a>, test: &Spawn<'a>| {
            sub.kind == SpawnKind::ParallelSubtest
                && sub.starter.is_some_and(|s| s.id() == test.body.node().id())
        };
        if parent_of(a, b) || parent_of(b, a) {
            return false;
        }
        let same_starter = a.file == b.file
            && a.starter.is_some()
            && a.starter.map(|n| n.id()) == b.starter.map(|n| n.id());
        // `if !started { started = true; go run() }`: one of them at most.
        if same_starter && pkg.exclusive_by_flag(a, b) {
            return false;
        }
        if !same_starter || a.in_loop.is_some() || b.in_loop.is_some() {
            return true;
        }
        let (first, second) = if a.site.start_byte() <= b.site.start_byte() {
            (a, b)
        } else {
            (b, a)
        };
        !first.runs_alongside_starter()
            || pkg.join_between(first, second.site.start_byte()).is_none()
    }

    /// The first access of the starter after spawn `i` to the same map, not waited for.
    fn starter_conflict(
        &self,
        pkg: &Package<'a>,
        i: usize,
        access: &Access<'a>,
        writes_only: bool,
    ) -> Option<Access<'a>> {
        let s = &self.spawns[i];
        self.after[i]
            .iter()
            .filter(|a| !writes_only || a.kind == AccessKind::Write)
            .filter(|a| pkg.same_map(&a.map, &access.map))
            .find(|a| {
                pkg.join_between(s, a.via.unwrap_or(a.node).start_byte())
                    .is_none()
                    && !released_after(pkg, s, access, a)
            })
            .cloned()
    }

    /// Unsynchronized writes that can overlap another access of the same map:
    /// another write, or (from the starter) any access.
    pub fn write_races(&self, pkg: &Package<'a>) -> Vec<Race<'a>> {
        let mut races: Vec<Race<'a>> = Vec::new();
        for (i, accesses) in self.accesses.iter().enumerate() {
            for w in accesses
                .iter()
                .filter(|a| a.kind == AccessKind::Write && !a.locked)
                .filter(|a| !replaces_frame_local(pkg, a))
            {
                if races
                    .iter()
                    .any(|r| r.access.file == w.file && r.access.node.id() == w.node.id())
                {
                    continue;
                }
                let reason = if self.self_concurrent(pkg, i, w) {
                    Some(Reason::SelfConcurrent)
                } else if let Some((j, other)) =
                    self.other_access(pkg, i, w, |a| a.kind == AccessKind::Write)
                {
                    Some(Reason::Other {
                        spawn: j,
                        access: other,
                    })
                } else {
                    self.starter_conflict(pkg, i, w, false)
                        .map(|access| Reason::Starter { access })
                };
                if let Some(reason) = reason {
                    races.push(Race {
                        spawn: i,
                        access: w.clone(),
                        reason,
                    });
                }
            }
        }
        races
    }

    /// An access of the same map by another spawn that overlaps spawn `i`.
    fn other_access(
        &self,
        pkg: &Package<'a>,
        i: usize,
        access: &Access<'a>,
        wanted: impl Fn(&Access<'a>) -> bool,
    ) -> Option<(usize, Access<'a>)> {
        for (j, others) in self.accesses.iter().enumerate() {
            if j == i {
                continue;
            }
            // The same node counts too: one function started by two spawns.
            let found = others
                .iter()
                .find(|o| wanted(o) && pkg.same_map(&o.map, &access.map));
            if let Some(o) = found {
                if self.overlap(pkg, i, j) {
                    return Some((j, o.clone()));
                }
            }
        }
        None
    }

    /// Unlocked reads that can overlap a write of the same map.
    ///
    /// A read under a lock conflicts only with a write under no lock at all
    /// that has no finding of its own (`write_races`, or GML004's under `RLock`):
    /// otherwise the write's finding already names the bug.
    pub fn read_races(&self, pkg: &Package<'a>, write_races: &[Race<'a>]) -> Vec<Race<'a>> {
        let reported = |w: &Access<'a>| {
            write_races
                .iter()
                .any(|x| x.access.file == w.file && x.access.node.id() == w.node.id())
        };
        let mut races: Vec<Race<'a>> = Vec::new();
        for (i, accesses) in self.accesses.iter().enumerate() {
            for r in accesses.iter().filter(|a| a.kind == AccessKind::Read) {
                if races
                    .iter()
                    .any(|x| x.access.file == r.file && x.access.node.id() == r.node.id())
                {
                    continue;
                }
                // `m[k] = append(m[k], v)`: the write's finding covers the read.
                let covered = write_races.iter().any(|w| {
                    w.access.file == r.file
                        && pkg.same_map(&w.access.map, &r.map)
                        && contains(statement_of(w.access.node), r.node)
                });
                if covered {
                    continue;
                }
                // Safe only when the read holds a lock and the write holds the write lock.
                // A write in a `sync.Once` body is done before any `Do` returns.
                // A copy-on-write fill is done before a reference taken under
                // the lock (`m := s.m` then `range m`) can see the map, and
                // giving the field another map leaves the one taken alone.
                let through_alias = r.map_node.kind_name() == "identifier";
                // Unless the replacement gives the very variable the read names
                // another map (`m = make(...)` while a goroutine reads `m[k]`).
                let alias_kept = |w: &Access<'a>| {
                    through_alias && !(w.is_replacement() && same_variable(pkg, w, r))
                };
                let conflicts = |w: &Access<'a>| {
                    w.kind == AccessKind::Write
                        && !w.in_once
                        && !replaces_frame_local(pkg, w)
                        && !((w.fills_fresh || w.is_replacement()) && alias_kept(w))
                        && (!r.locked || !w.locked && !reported(w))
                };
                let own_write = accesses
                    .iter()
                    .find(|w| conflicts(w) && pkg.same_map(&w.map, &r.map));
                let reason = match own_write {
                    Some(w) if self.self_concurrent(pkg, i, r) => Some(Reason::Other {
                        spawn: i,
                        access: w.clone(),
                    }),
                    _ => self
                        .other_access(pkg, i, r, conflicts)
                        .map(|(j, access)| Reason::Other { spawn: j, access })
                        .or_else(|| {
                            self.starter_conflict(pkg, i, r, true)
                                .filter(|w| conflicts(w))
                                .map(|access| Reason::Starter { access })
                        }),
                };
                if let Some(reason) = reason {
                    races.push(Race {
                        spawn: i,
                        access: r.clone(),
                        reason,
                    });
                }
            }
        }
        // Reads by a starter while its goroutine writes, before it waits. An
        // unlocked write that GML001 reports against the starter covers the pair.
        for (i, after) in self.after.iter().enumerate() {
            let spawn = &self.spawns[i];
            for r in after.iter().filter(|a| a.kind == AccessKind::Read) {
                let at = r.via.unwrap_or(r.node).start_byte();
                if races
                    .iter()
                    .any(|x| x.access.file == r.file && x.access.node.id() == r.node.id())
                    || pkg.join_between(spawn, at).is_some()
                {
                    continue;
                }
                let write = self.accesses[i].iter().find(|w| {
                    // A locked write is never GML001's; an unlocked one may be already.
                    let conflicts = if r.locked {
                        !w.locked && !reported(w)
                    } else {
                        w.locked || !reported(w)
                    };
                    w.kind == AccessKind::Write
                        && !w.in_once
                        && conflicts
                        && pkg.same_map(&w.map, &r.map)
                });
                if let Some(w) = write {
                    races.push(Race {
                        spawn: i,
                        access: r.clone(),
                        reason: Reason::Other {
                            spawn: i,
                            access: w.clone(),
                        },
                    });
                }
            }
        }
        races
    }
}

/// Whether the spawned code makes `access` only after receiving from a
/// channel that its starter closes or sends on after `starter_access`:
/// `go func() { <-ready; use(m) }()` with `fill(m); close(ready)`.
fn released_after<'a>(
    pkg: &Package<'a>,
    spawn: &Spawn<'a>,
    access: &Access<'a>,
    starter_access: &Access<'a>,
) -> bool {
    use super::spawn::last_name;
    let Some(starter) = spawn.starter else {
        return false;
    };
    let (body, bfile) = (spawn.body.node(), spawn.body.file());
    let at = access.via.unwrap_or(access.node);
    if access.file != bfile || !contains(body, at) {
        return false;
    }
    let mut received = FxHashSet::default();
    super::walk(body, |n| {
        if n.start_byte() >= at.start_byte()
            || n.kind_name() == "func_literal" && n.id() != body.id()
        {
            return false;
        }
        let receive = n.kind_name() == "unary_expression"
            && n.child_by_field_id(field::OPERATOR)
                .is_some_and(|o| pkg.text(bfile, o) == "<-");
        if receive && let Some(ch) = n.child_by_field_id(field::OPERAND) {
            received.insert(last_name(pkg.text(bfile, ch)).to_string());
        }
        true
    });
    if received.is_empty() || starter_access.file != spawn.file {
        return false;
    }
    let from = starter_access.via.unwrap_or(starter_access.node).end_byte();
    let mut released = false;
    super::walk(starter, |n| {
        if released || n.end_byte() <= from {
            return !released && n.end_byte() > from;
        }
        if n.kind_name() == "func_literal" || n.kind_name() == "go_statement" {
            return false;
        }
        released = pkg
            .signalled_channel(spawn.file, n)
            .is_some_and(|ch| received.contains(last_name(pkg.text(spawn.file, ch))));
        !released
    });
    released
}

/// Whether two accesses name the map by the same variable: `m` and `m`,
/// declared once.
/// `m = m2` where `m` is a parameter or local variable of the function the
/// assignment is in, and no function literal there uses it: every call has
/// its own `m`, so goroutines running that function give their own variables
/// other maps, and no map is written.
fn replaces_frame_local<'a>(pkg: &Package<'a>, a: &Access<'a>) -> bool {
    use super::scope::{BindKind, Resolved};
    if !a.is_replacement() || a.map_node.kind_name() != "identifier" {
        return false;
    }
    let Some(func) = super::enclosing_function(a.node) else {
        return false;
    };
    let Resolved::Local(b) = pkg.resolve(a.file, a.map_node) else {
        return false;
    };
    let declared_here = match b.kind {
        BindKind::Param { func: f, .. } => f.id() == func.id(),
        BindKind::Var { .. } | BindKind::Range { .. } => {
            super::enclosing_function(b.name).is_some_and(|f| f.id() == func.id())
        }
        BindKind::Other => false,
    };
    if !declared_here {
        return false;
    }
    let name = pkg.text(a.file, a.map_node);
    let mut captured = false;
    super::walk(func, |n| {
        if captured {
            return false;
        }
        if n.kind_name() == "func_literal" && n.id() != func.id() {
            super::walk(n, |m| {
                captured |= m.kind_name() == "identifier"
                    && pkg.text(a.file, m) == name
                    && matches!(pkg.resolve(a.file, m), Resolved::Local(u) if u.id() == b.id());
                !captured
            });
            return false;
        }
        true
    });
    !captured
}

fn same_variable<'a>(pkg: &Package<'a>, a: &Access<'a>, b: &Access<'a>) -> bool {
    use super::scope::Resolved;
    if a.map_node.kind_name() != "identifier" || b.map_node.kind_name() != "identifier" {
        return false;
    }
    match (
        pkg.resolve(a.file, a.map_node),
        pkg.resolve(b.file, b.map_node),
    ) {
        (Resolved::Local(x), Resolved::Local(y)) => x.id() == y.id(),
        (Resolved::PackageVar(x), Resolved::PackageVar(y)) => x.id() == y.id(),
        _ => false,
    }
}

/// The statement that contains `node`: its outermost ancestor below a statement list.
fn statement_of(node: Node<'_>) -> Node<'_> {
    let mut stmt = node;
    for parent in ancestors(node) {
        if matches!(parent.kind_name(), "statement_list" | "block") {
            break;
        }
        stmt = parent;
    }
    stmt
}
