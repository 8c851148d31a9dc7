//! GML006 `inconsistent-map-guard`: a struct-field or package-level map that a
//! mutex guards in some places and that is accessed without it in others.

use std::sync::LazyLock;

use super::{Context, Rule};
use crate::diagnostic::{Diagnostic, Label, Severity};
use crate::model::access::AccessKind;
use crate::model::guards::{GuardedAccess, Guards, LockName, owner_levels};
use crate::queries::{CompiledQuery, mentions_any};
use crate::syntax::NodeExt;

pub const RULE: Rule = Rule {
    code: "GML006",
    name: "inconsistent-map-guard",
    summary: "a map guarded by a mutex in some places and accessed without it in others",
    docs: DOCS,
    severity: Severity::Error,
    query: QUERY_SOURCE,
    check,
};

const QUERY_SOURCE: &str = include_str!("../../queries/inconsistent_map_guard.scm");

pub(super) static QUERY: LazyLock<CompiledQuery> = LazyLock::new(|| {
    CompiledQuery::new("inconsistent_map_guard", QUERY_SOURCE).expect("bundled query compiles")
});

const DOCS: &str = r#"## What it does
Infers, across all files of a package, which mutex guards each map that is a
struct field or a package-level variable: the lock held at most of the places
that access it. Then it reports an access made without that lock, or under a
different one, when it shares no lock at all with some other access of the map,
one of the two a write (the lockset test: an outer lock that every access holds
is enough). The lock is the author's own statement that the map is shared, so
this works in library packages that start no goroutine themselves.

Not reported: accesses while the value is being built (in a constructor that
has not yet returned or shared it, in `init` and the helpers only it calls, in
a function documented as running after the concurrent work, such as "Called
after all functions have been compiled", in a test on a value it made itself,
after the goroutines are joined), unexported
code that nothing calls, maps that are never written after set-up (reading them
needs no lock), functions that run with the lock taken by their caller (named
`...Locked`, documented as "must be held", or only ever called with the lock
held), and maps whose lock guards fewer than half of their accesses (then the
lock is not the map's guard: phases or callers keep the map safe).

A constructor may start goroutines before it has filled its value. Only
those handed the value (`go n.run()`, a closure over `n`, also through the
calls that start them) can reach it while it is not yet published (stored
where other code can find it); one started with `n.srv` holds the server, not
`n`. Their code is followed through calls, leaving out branches that a call's
`nil`, `true` or `false` argument rules out (`n.send(nil)` does not run
`if len(entries) > 0 { ... }`).

## Why is this bad?
One unguarded access is enough: a read that overlaps a write under the lock
makes the runtime end the whole process with `fatal error: concurrent map read
and map write` (or `concurrent map writes` for two writes). It is a fatal error,
not a panic, so `recover()` cannot stop it. In merged fixes of map races across
large Go projects this is the most common shape: a method that forgot the lock
its siblings take.

## Example
```go
type Registry struct {
	mu    sync.Mutex
	items map[string]Item
}

func (r *Registry) Add(it Item) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items[it.Name] = it
}

func (r *Registry) Len() int {
	return len(r.items) // no lock: races with Add
}
```

## Use instead
```go
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.items)
}
```
"#;

/// Whether two accesses of a map hold some lock in common, named as their
/// owners name it. A caller's lock that cannot be named may be the same.
fn share_a_lock(a: &GuardedAccess<'_>, b: &GuardedAccess<'_>) -> bool {
    let holds_some = |x: &GuardedAccess<'_>| x.caller_locked || !x.locks.is_empty();
    if !holds_some(a) || !holds_some(b) {
        return false;
    }
    a.caller_locked
        || b.caller_locked
        || a.locks
            .iter()
            .any(|(l, _, _)| !l.is_other() && b.locks.iter().any(|(m, _, _)| m == l))
}

/// An access that holds the guard, to show where it is taken.
fn guarded_example<'g, 'a>(
    guards: &'g Guards<'a>,
    a: &GuardedAccess<'a>,
    lock: &LockName,
) -> Option<&'g GuardedAccess<'a>> {
    let holds = |g: &&GuardedAccess<'a>, taken_here: bool| {
        g.key == a.key
            && !g.setup
            && g.locks
                .iter()
                .any(|(l, _, call)| l == lock && (call.is_some() || !taken_here))
    };
    // Prefer one that takes the lock itself, to show where.
    let accesses = &guards.accesses;
    accesses
        .iter()
        .find(|g| holds(g, true))
        .or_else(|| accesses.iter().find(|g| holds(g, false)))
}

fn check(ctx: &Context<'_, '_>, out: &mut Vec<Diagnostic>) {
    let pkg = ctx.pkg;
    if !pkg.files.iter().any(|f| mentions_any(&f.text, &["Lock()"])) {
        return;
    }
    // The query confirms that some code takes a lock at all.
    let lock_i = QUERY.capture("lock");
    let mut any_lock = false;
    for file in 0..pkg.files.len() {
        pkg.matches_near(&QUERY, file, &["Lock", "RLock"], |m| {
            any_lock |= m.captures.iter().any(|c| c.index == lock_i)
        });
        if any_lock {
            break;
        }
    }
    if !any_lock {
        return;
    }
    let guards = ctx.guards();
    // Map accesses proper: reads and in-place writes. Replacing the map is a
    // write of the pointer, not a map race.
    let relevant = |a: &&GuardedAccess<'_>| !a.setup && (a.kind == AccessKind::Read || a.in_place);
    for a in guards.accesses.iter().filter(relevant) {
        let Some(lock) = guards.guard.get(&a.key) else {
            continue;
        };
        let same: Vec<&GuardedAccess<'_>> = guards
            .accesses
            .iter()
            .filter(relevant)
            .filter(|b| b.key == a.key)
            .collect();
        // Never written in place after set-up: reading it needs no lock.
        if !same.iter().any(|w| w.kind == AccessKind::Write) {
            continue;
        }
        // The lock must guard most of the map's accesses: that is the
        // author's statement that it guards the map. Where it guards only a
        // few, the map is kept safe by other means (phases, callers' locks
        // that cannot be seen, such as a lock taken through an interface).
        let guarded = same.iter().filter(|b| b.holds(lock)).count();
        if guarded * 2 < same.len() {
            continue;
        }
        // Lockset: two accesses can race only when no lock is held at both.
        // Report an access only when some other access, one of the two a
        // write, shares no lock with it (an outer lock that every access
        // holds is enough); the guard names the fix.
        if !same.iter().any(|b| {
            b.node.id() != a.node.id()
                && (a.kind == AccessKind::Write || b.kind == AccessKind::Write)
                && !share_a_lock(a, b)
        }) {
            continue;
        }
        // A lock above the map's own struct (`a.mu` for `a.imports.services`)
        // cannot be named from an access through a shorter chain (`imp.services`):
        // which object it belongs to is not known there.
        let base_text = a.base.map_or("", |b| pkg.text(a.file, b));
        if lock.level().is_some_and(|up| up > owner_levels(base_text)) {
            continue;
        }
        // A map reached through a call's result (`a.Clone().m`): which
        // object it is, and so which lock, is not known here.
        if a.base.is_some_and(|b| {
            let mut through_call = false;
            crate::model::walk(b, |n| {
                through_call |= n.kind_name() == "call_expression";
                !through_call
            });
            through_call
        }) {
            continue;
        }
        // A write under the guard's read lock is GML004's finding.
        if a.holds(lock) || ctx.reported_elsewhere(a.file, a.node) {
            continue;
        }
        let Some(example) = guarded_example(guards, a, lock) else {
            continue;
        };
        let base = a.base.map(|b| pkg.text(a.file, b));
        let map = pkg.text(a.file, a.map_node);
        let guard = lock.display(base);
        let verb = match (a.kind, a.in_place) {
            (AccessKind::Read, _) => "read",
            (AccessKind::Write, true) => "written",
            (AccessKind::Write, false) => "replaced",
        };
        let (message, label) = match a.locks.first() {
            Some((other, _, _)) => (
                format!(
                    "map `{map}` is {verb} under `{}`, but `{guard}` guards it elsewhere",
                    other.display(base)
                ),
                format!("{verb} here under the wrong lock"),
            ),
            None => (
                format!("map `{map}` is {verb} without `{guard}`, which guards it elsewhere"),
                format!("{verb} here without `{guard}`"),
            ),
        };
        let example_base = example.base.map(|b| pkg.text(example.file, b));
        let mut labels = Vec::new();
        if let Some((_, _, Some(call))) = example.locks.iter().find(|(l, _, _)| l == lock) {
            labels.push(Label {
                span: pkg.files[example.file].node_span(*call),
                message: format!("`{}` is taken here", lock.display(example_base)),
            });
        }
        labels.push(Label {
            span: pkg.files[example.file].node_span(example.node),
            message: format!(
                "the same map is accessed here under `{}`",
                lock.display(example_base)
            ),
        });
        out.push(Diagnostic {
            code: RULE.code,
            name: RULE.name,
            severity: RULE.severity,
            message,
            span: pkg.files[a.file].node_span(a.node),
            label,
            labels,
            witness: None,
            help: Some(format!(
                "take `{guard}` around this access as the other accesses do; if the caller already holds it, \
                 name the function `...Locked` or say so in its doc comment"
            )),
        });
    }
}
