//! GML004 `map-write-under-rlock`: a map written while only the read lock of a
//! `sync.RWMutex` is held.

use std::sync::LazyLock;

use super::unsynchronized_map_write::QUERY as MAP_WRITES;
use super::{Context, Rule};
use crate::diagnostic::{Diagnostic, Label, Severity};
use crate::model::enclosing_function;
use crate::queries::CompiledQuery;
use crate::syntax::{NodeExt, field};

pub const RULE: Rule = Rule {
    code: "GML004",
    name: "map-write-under-rlock",
    summary: "a map written while only the read lock of a sync.RWMutex is held",
    docs: DOCS,
    severity: Severity::Error,
    query: QUERY_SOURCE,
    check,
};

const QUERY_SOURCE: &str = include_str!("../../queries/map_write_under_rlock.scm");

pub(super) static QUERY: LazyLock<CompiledQuery> = LazyLock::new(|| {
    CompiledQuery::new("map_write_under_rlock", QUERY_SOURCE).expect("bundled query compiles")
});

const DOCS: &str = r#"## What it does
Finds a map mutation (`m[k] = v`, `m[k]++`, `delete(m, k)`, `clear(m)`) made while
the code holds only `RLock` of a `sync.RWMutex`, and no `Lock`.

## Why is this bad?
`RLock` admits any number of goroutines at once: it is meant for readers. Two
goroutines holding the read lock can both write the map, and a writer holding
the read lock races with every reader. The runtime ends the process with
`fatal error: concurrent map writes` or `concurrent map read and map write`; it is
a fatal error, not a panic, so `recover()` cannot stop it.

The lock itself says the map is shared, so this is reported even where no
goroutine is visible: the typical case is the get-or-fill path of a cache,
called from many request handlers. It is reported only for a shared map: one
reached from the read lock's owner, a package variable, a parameter, the
receiver or a value loaded from shared state; a field map only when the read
lock belongs to the map's owner. Filling a map that the function made itself,
and has not shared, is not a shared write whatever lock is held.

## Example
```go
func (c *Cache) Get(k string) string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.m[k]
	if !ok {
		v = load(k)
		c.m[k] = v // written under the read lock
	}
	return v
}
```

## Use instead
Take the write lock to fill, and check again under it:
```go
func (c *Cache) Get(k string) string {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return v
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.m[k]; ok {
		return v
	}
	v = load(k)
	c.m[k] = v
	return v
}
```
"#;

fn check(ctx: &Context<'_, '_>, out: &mut Vec<Diagnostic>) {
    let pkg = ctx.pkg;
    let (rlock_i, access_i, map_i) = (
        QUERY.capture("rlock"),
        MAP_WRITES.capture("access"),
        MAP_WRITES.capture("map"),
    );
    for (file, source) in pkg.files.iter().enumerate() {
        // Each function once, however many RLock calls it has.
        let mut functions = Vec::new();
        pkg.matches_near(&QUERY, file, &["RLock"], |m| {
            let Some(rlock) = m.captures.iter().find(|c| c.index == rlock_i) else {
                return;
            };
            if let Some(func) = enclosing_function(rlock.node) {
                if !functions
                    .iter()
                    .any(|f: &tree_sitter::Node| f.id() == func.id())
                {
                    functions.push(func);
                }
            }
        });
        for func in functions {
            MAP_WRITES.for_each_match(func, &source.text, |m| {
                let get = |i| m.captures.iter().find(|c| c.index == i).map(|c| c.node);
                let (Some(access), Some(map_node)) = (get(access_i), get(map_i)) else { return };
                // Writes in nested function literals are checked with their own function.
                if enclosing_function(access).is_none_or(|f| f.id() != func.id()) {
                    return;
                }
                let locks = pkg.locks_at(file, access, func);
                let Some(rlock) = locks.read_lock().filter(|_| !locks.holds_write_lock()) else { return };
                // Giving a local variable another map writes no map, and the variable is this
                // goroutine's own (a captured one is a field of nobody: GML001 sees it).
                if access.id() == map_node.id()
                    && map_node.kind_name() == "identifier"
                    && matches!(pkg.resolve(file, map_node), crate::model::scope::Resolved::Local(_))
                {
                    return;
                }
                // The read lock of another object says nothing about this map:
                // `t.mu.RLock(); nt.m[k] = v` fills `nt`, not `t`.
                if map_node.kind_name() == "selector_expression" {
                    let base = map_node.child_by_field_id(field::OPERAND).map(|b| pkg.text(file, b));
                    let lock = pkg.lock_name(&rlock.receiver, base);
                    if lock.is_other() {
                        return;
                    }
                }
                // A map the caller passed in (`func (s *S) Fill(h http.Header)`) is
                // the caller's: the read lock of this function's object says
                // nothing about who else writes it.
                if is_parameter_map(pkg, file, map_node) {
                    return;
                }
                // A map (or struct) this function made and has not shared is its own,
                // whatever lock is held: only shared maps race.
                if !pkg.type_of(file, map_node).is_map() || pkg.is_private(file, map_node, access) {
                    return;
                }
                let map = pkg.text(file, map_node);
                out.push(Diagnostic {
                    code: RULE.code,
                    name: RULE.name,
                    severity: RULE.severity,
                    message: format!("map `{map}` is written while only the read lock `{}` is held", rlock.receiver),
                    span: source.node_span(access),
                    label: "written here under a read lock".into(),
                    labels: vec![Label {
                        span: source.node_span(rlock.call),
                        message: "`RLock` admits many goroutines at once: readers and other writers".into(),
                    }],
                    witness: None,
                    help: Some(format!(
                        "take `{}.Lock()` to write the map (check again under it in a get-or-fill path), \
                         or use `sync.Map`",
                        rlock.receiver
                    )),
                });
            });
        }
    }
}

/// Whether the map is reached from a parameter of its function other than
/// the receiver: `h` or `opts.labels` in `func (s *S) f(h http.Header, opts Options)`.
fn is_parameter_map<'a>(
    pkg: &crate::model::Package<'a>,
    file: usize,
    map_node: tree_sitter::Node<'a>,
) -> bool {
    use crate::model::scope::{BindKind, ParamRole, Resolved};
    let Some((root, _)) = crate::model::ownership::access_path(pkg, file, map_node) else {
        return false;
    };
    matches!(
        pkg.resolve(file, root),
        Resolved::Local(b) if matches!(
            b.kind,
            BindKind::Param { role: ParamRole::Param | ParamRole::Variadic, .. }
        )
    )
}
