//! GML007 `map-escapes-lock`: a reference to a guarded map taken while its lock
//! is held and used after the lock is released.

use std::sync::LazyLock;

use tree_sitter::Node;

use super::{Context, Rule};
use crate::diagnostic::{Diagnostic, Label, Severity};
use crate::model::access::AccessKind;
use crate::model::guards::{Guards, LockName, MapKey};
use crate::model::scope::Resolved;
use crate::model::{enclosing_function, walk};
use crate::queries::{CompiledQuery, mentions_any};
use crate::syntax::{NodeExt, field};

pub const RULE: Rule = Rule {
    code: "GML007",
    name: "map-escapes-lock",
    summary: "a guarded map referenced under its lock and used after the lock is released",
    docs: DOCS,
    severity: Severity::Error,
    query: QUERY_SOURCE,
    check,
};

const QUERY_SOURCE: &str = include_str!("../../queries/map_escapes_lock.scm");

pub(super) static QUERY: LazyLock<CompiledQuery> = LazyLock::new(|| {
    CompiledQuery::new("map_escapes_lock", QUERY_SOURCE).expect("bundled query compiles")
});

const DOCS: &str = r#"## What it does
Finds a map that a mutex guards (other code writes it in place under the lock)
whose reference is taken while the lock is held (`m := s.m`, `return s.m`) and
then read, ranged or written after the lock is released.

## Why is this bad?
A Go map is a reference: copying it into a variable, or returning it, does not
copy its contents. Once the lock is released, the code holding the reference
races with every writer that takes the lock. The runtime ends the process with
`fatal error: concurrent map read and map write` or `concurrent map iteration and
map write`; it is a fatal error, not a panic, so `recover()` cannot stop it.

Maps that are never written in place (copy-on-write: writers store a new map
under the lock) can be handed out safely, and are not reported.

## Example
```go
func (c *Cache) Keys() []string {
	c.mu.Lock()
	m := c.entries
	c.mu.Unlock()
	keys := make([]string, 0, len(m))
	for k := range m { // ranges after the lock is released
		keys = append(keys, k)
	}
	return keys
}
```

## Use instead
Keep the lock until the last use, or copy the map under it:
```go
func (c *Cache) Snapshot() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.entries)
}
```
"#;

/// Whether the map is written in place under its guard somewhere.
/// Writes that fill a map the same function has just put in the field are
/// copy-on-write: they build the map before anyone can take it.
fn written_in_place_under<'p, 'a>(
    ctx: &Context<'p, 'a>,
    guards: &Guards<'a>,
    key: &MapKey,
    lock: &LockName,
) -> bool {
    guards.accesses.iter().any(|w| {
        w.key == *key
            && w.kind == AccessKind::Write
            && w.in_place
            && !w.setup
            && w.locks.iter().any(|(l, _, _)| l == lock)
            && !ctx.pkg.fills_fresh_map(w)
    })
}

/// Whether `ident` is used as a map here: indexed, ranged, measured, deleted from or cleared.
fn used_as_map(ctx: &Context<'_, '_>, file: usize, ident: Node<'_>) -> bool {
    let Some(parent) = ident.parent() else {
        return false;
    };
    match parent.kind_name() {
        "index_expression" => parent
            .child_by_field_id(field::OPERAND)
            .is_some_and(|o| o.id() == ident.id()),
        "range_clause" => parent
            .child_by_field_id(field::RIGHT)
            .is_some_and(|r| r.id() == ident.id()),
        "argument_list" => parent.parent().is_some_and(|call| {
            call.child_by_field_id(field::FUNCTION)
                .is_some_and(|f| matches!(ctx.pkg.text(file, f), "len" | "delete" | "clear"))
                && parent.named_child(0).is_some_and(|a| a.id() == ident.id())
        }),
        _ => false,
    }
}

fn check(ctx: &Context<'_, '_>, out: &mut Vec<Diagnostic>) {
    let pkg = ctx.pkg;
    if !pkg.files.iter().any(|f| mentions_any(&f.text, &["Lock()"])) {
        return;
    }
    let guards = ctx.guards();
    if guards.guard.is_empty() {
        return;
    }
    let (take_i, alias_i, value_i, return_i) = (
        QUERY.capture("take"),
        QUERY.capture("alias"),
        QUERY.capture("value"),
        QUERY.capture("return"),
    );
    let concurrent = &ctx.analysis().concurrent;
    // Only code that names a guarded map can take a reference to one: the
    // query runs near those names.
    let names: Vec<&str> = guards
        .guard
        .keys()
        .map(|k| match k {
            MapKey::Field(_, f) => f.as_str(),
            MapKey::Global(g) => g.as_str(),
        })
        .collect();
    for (file, source) in pkg.files.iter().enumerate() {
        pkg.matches_near(&QUERY, file, &names, |m| {
            let get = |i| m.captures.iter().find(|c| c.index == i).map(|c| c.node);
            let Some(value) = get(value_i) else { return };
            let Some((key, base)) = pkg.map_key(file, value) else { return };
            let Some(lock) = guards.guard.get(&key) else { return };
            if !written_in_place_under(ctx, guards, &key, lock) {
                return;
            }
            let Some(scope) = pkg.lock_scope(file, value, concurrent) else { return };
            let base_text = base.map(|b| pkg.text(file, b));
            let held = |at| {
                pkg.locks_at(file, at, scope)
                    .held
                    .iter()
                    .any(|l| pkg.lock_name(&l.receiver, base_text) == *lock)
            };
            if !held(value) {
                return;
            }
            let guard = lock.display(base_text);
            let map = pkg.text(file, value);
            if let Some(ret) = get(return_i) {
                // A function its callers call with the lock held hands the map back under it.
                let entry = guards.accesses.iter().find(|a| a.file == file && a.func.id() == scope.id());
                if entry.is_some_and(|a| a.caller_locked)
                    || scope.child_by_field_id(field::NAME).is_some_and(|n| pkg.text(file, n).ends_with("Locked"))
                {
                    return;
                }
                out.push(Diagnostic {
                    code: RULE.code,
                    name: RULE.name,
                    severity: RULE.severity,
                    message: format!("map `{map}` is returned while `{guard}` guards it: callers use it after the lock is released"),
                    span: source.node_span(value),
                    label: "the map itself is returned, not a copy".into(),
                    labels: vec![Label {
                        span: source.node_span(ret),
                        message: format!("`{guard}` is released when this function returns"),
                    }],
                    witness: None,
                    help: Some(format!("return a copy made under the lock (`maps.Clone({map})`)")),
                });
                return;
            }
            let (Some(take), Some(alias)) = (get(take_i), get(alias_i)) else { return };
            let target = match pkg.resolve(file, alias) {
                Resolved::Local(b) => Some(b.id()),
                _ => None,
            };
            // For `m := s.m` the alias declares itself; otherwise it names an earlier variable.
            let same = |ident| match (pkg.resolve(file, ident), &target) {
                (Resolved::Local(b), Some(t)) => b.id() == *t,
                (Resolved::Local(b), None) => b.name.id() == alias.id(),
                _ => false,
            };
            let Some(func) = enclosing_function(take) else { return };
            let name = pkg.text(file, alias);
            // `m := t.idle; t.idle = nil` under the lock detaches the map: `m` owns it now.
            let mut detached = false;
            walk(func, |n| {
                if n.start_byte() >= take.end_byte() && held(n) {
                    if n.kind_name() == "assignment_statement" {
                        let target = n.child_by_field_id(field::LEFT).and_then(|l| l.named_child(0));
                        detached |= target.is_some_and(|t| pkg.text(file, t) == map);
                    } else if n.kind_name() == "call_expression" {
                        // `m := s.pending; s.resetLocked()`, which gives `s.pending` a new map.
                        detached |= pkg.replaces_field(file, n, value);
                    }
                }
                !detached
            });
            if detached {
                return;
            }
            let mut escaped = None;
            walk(func, |n| {
                // Skip what ends before the take; look at identifiers after it.
                if escaped.is_some() || n.end_byte() <= take.end_byte() {
                    return false;
                }
                if n.start_byte() >= take.end_byte()
                    && n.kind_name() == "identifier"
                    && pkg.text(file, n) == name
                    && same(n)
                    && used_as_map(ctx, file, n)
                    && !held(n)
                {
                    escaped = Some(n);
                }
                true
            });
            let Some(use_site) = escaped else { return };
            // The indexing, the range clause, or the whole `len(m)` call.
            let mut access = use_site.parent().unwrap_or(use_site);
            if access.kind_name() == "argument_list" {
                access = access.parent().unwrap_or(access);
            }
            out.push(Diagnostic {
                code: RULE.code,
                name: RULE.name,
                severity: RULE.severity,
                message: format!("map `{map}` is used through `{name}` after `{guard}` is released"),
                span: source.node_span(access),
                label: format!("used here without `{guard}`"),
                labels: vec![Label {
                    span: source.node_span(take),
                    message: format!("`{name}` takes the map itself, not a copy, while `{guard}` is held"),
                }],
                witness: None,
                help: Some(format!(
                    "keep `{guard}` until the last use of `{name}`, or copy the map under the lock (`maps.Clone`)"
                )),
            });
        });
    }
}
