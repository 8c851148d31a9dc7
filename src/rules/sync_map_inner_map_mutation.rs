//! GML005 `sync-map-inner-map-mutation`: a plain map taken out of a `sync.Map`
//! (or an `atomic.Value` / `atomic.Pointer`) and then written with no lock.

use std::sync::LazyLock;

use tree_sitter::Node;

use super::unsynchronized_map_write::QUERY as MAP_WRITES;
use super::{Context, Rule};
use crate::diagnostic::{Diagnostic, Label, Severity};
use crate::model::scope::{BindKind, ParamRole, Resolved};
use crate::model::types::Ty;
use crate::model::{Package, enclosing_function};
use crate::queries::{CompiledQuery, mentions_any};
use crate::syntax::{NodeExt, field};

pub const RULE: Rule = Rule {
    code: "GML005",
    name: "sync-map-inner-map-mutation",
    summary: "a plain map loaded from a sync.Map or atomic value and then written without a lock",
    docs: DOCS,
    severity: Severity::Error,
    query: QUERY_SOURCE,
    check,
};

const QUERY_SOURCE: &str = include_str!("../../queries/sync_map_inner_map_mutation.scm");

pub(super) static QUERY: LazyLock<CompiledQuery> = LazyLock::new(|| {
    CompiledQuery::new("sync_map_inner_map_mutation", QUERY_SOURCE).expect("bundled query compiles")
});

const DOCS: &str = r#"## What it does
Finds a plain map that is taken out of a `sync.Map` (`Load`, `LoadOrStore`,
`LoadAndDelete`, `Swap`, a `Range` callback), an `atomic.Value` or an
`atomic.Pointer`, and then written (`inner[k] = v`, `delete(inner, k)`, ...) with
no lock held.

## Why is this bad?
`sync.Map` makes its own operations safe for concurrent use: storing, loading and
deleting entries. The values stored in it are shared, not copied: every goroutine
that loads the same key gets the same inner map, and writing it from two of them
is an ordinary map race. The runtime ends the whole process with
`fatal error: concurrent map writes` (or `concurrent map read and map write`), a
fatal error that `recover()` cannot stop. The same holds for a map published
through an `atomic.Value` or `atomic.Pointer`: the pointer swap is atomic, the
map behind it is not.

The container says the data is shared, so this is reported even where no
goroutine is visible.

## Example
```go
var sessions sync.Map // user -> map[string]string

func set(user, k, v string) {
	m, _ := sessions.LoadOrStore(user, map[string]string{})
	m.(map[string]string)[k] = v // many requests for one user write the same map
}
```

## Use instead
Copy on write, and store the new map:
```go
var mu sync.Mutex // serializes writers; readers never lock

func set(user, k, v string) {
	mu.Lock()
	defer mu.Unlock()
	old, _ := sessions.Load(user)
	next := map[string]string{}
	if old != nil {
		for key, val := range old.(map[string]string) {
			next[key] = val
		}
	}
	next[k] = v
	sessions.Store(user, next)
}
```
or keep a `sync.Mutex` next to each inner map and hold it for every access.
"#;

const MAX_DEPTH: usize = 8;

/// The method names of the query's matches, for `for_each_match_near`.
const LOAD_NAMES: &[&str] = &["Load", "LoadOrStore", "LoadAndDelete", "Swap", "Range"];

/// The load (or `Range` call) that the map expression `expr` comes from, if any.
fn loaded_from<'a>(
    pkg: &Package<'a>,
    file: usize,
    expr: Node<'a>,
    loads: &[Node<'a>],
    depth: usize,
) -> Option<Node<'a>> {
    if depth > MAX_DEPTH {
        return None;
    }
    let next = |n: Node<'a>| loaded_from(pkg, file, n, loads, depth + 1);
    match expr.kind_name() {
        "parenthesized_expression" => next(expr.named_child(0)?),
        "unary_expression" if pkg.text(file, expr.child_by_field_id(field::OPERATOR)?) == "*" => {
            next(expr.child_by_field_id(field::OPERAND)?)
        }
        "type_assertion_expression" => next(expr.child_by_field_id(field::OPERAND)?),
        "call_expression" => loads.iter().find(|l| l.id() == expr.id()).copied(),
        "identifier" => {
            let Resolved::Local(b) = pkg.resolve(file, expr) else {
                return None;
            };
            match b.kind {
                BindKind::Var { decl, index } => {
                    let field = if decl.kind_name() == "short_var_declaration" {
                        "right"
                    } else {
                        "value"
                    };
                    let values = decl.child_by_field_name(field)?;
                    // `v, ok := m.Load(k)`: the first name takes the loaded value.
                    let value = if values.named_child_count() == 1 && index == 0 {
                        values.named_child(0)?
                    } else {
                        values.named_child(index)?
                    };
                    next(value)
                }
                // The value parameter of a `Range` callback.
                BindKind::Param {
                    func,
                    index: 1,
                    role: ParamRole::Param,
                    ..
                } => loads
                    .iter()
                    .find(|l| {
                        l.child_by_field_id(field::ARGUMENTS)
                            .and_then(|a| a.named_child(0))
                            .is_some_and(|cb| cb.id() == func.id())
                    })
                    .copied(),
                _ => None,
            }
        }
        _ => None,
    }
}

fn check(ctx: &Context<'_, '_>, out: &mut Vec<Diagnostic>) {
    let pkg = ctx.pkg;
    let (load_i, container_i) = (QUERY.capture("load"), QUERY.capture("container"));
    let (access_i, map_i) = (MAP_WRITES.capture("access"), MAP_WRITES.capture("map"));
    for (file, source) in pkg.files.iter().enumerate() {
        if !mentions_any(
            &source.text,
            &[
                ".Load(",
                ".LoadOrStore(",
                ".LoadAndDelete(",
                ".Swap(",
                ".Range(",
            ],
        ) {
            continue;
        }
        let mut loads = Vec::new();
        pkg.matches_near(&QUERY, file, LOAD_NAMES, |m| {
            let get = |i| m.captures.iter().find(|c| c.index == i).map(|c| c.node);
            let (Some(load), Some(container)) = (get(load_i), get(container_i)) else {
                return;
            };
            if matches!(pkg.type_of(file, container), Ty::SyncMap | Ty::Atomic(_)) {
                loads.push(load);
            }
        });
        let mut functions: Vec<Node<'_>> = Vec::new();
        for load in &loads {
            if let Some(f) = enclosing_function(*load) {
                if !functions.iter().any(|g| g.id() == f.id()) {
                    functions.push(f);
                }
            }
        }
        for func in functions {
            MAP_WRITES.for_each_match(func, &source.text, |m| {
                let get = |i| m.captures.iter().find(|c| c.index == i).map(|c| c.node);
                let (Some(access), Some(map_node)) = (get(access_i), get(map_i)) else { return };
                // `inner = ...` gives the local another map: not a write of the shared one.
                if access.id() == map_node.id() || !pkg.type_of(file, map_node).is_map() {
                    return;
                }
                let Some(load) = loaded_from(pkg, file, map_node, &loads, 0) else { return };
                let scope = enclosing_function(access).unwrap_or(func);
                if !pkg.locks_at(file, access, scope).held.is_empty() {
                    return;
                }
                let container = load
                    .child_by_field_id(field::FUNCTION)
                    .and_then(|f| f.child_by_field_id(field::OPERAND))
                    .map_or("", |c| pkg.text(file, c));
                let what = match load.child_by_field_id(field::FUNCTION).and_then(|f| f.child_by_field_id(field::OPERAND)) {
                    Some(c) if pkg.type_of(file, c) == Ty::SyncMap => "sync.Map",
                    _ => "atomic value",
                };
                let map = pkg.text(file, map_node);
                out.push(Diagnostic {
                    code: RULE.code,
                    name: RULE.name,
                    severity: RULE.severity,
                    message: format!("map `{map}`, loaded from the {what} `{container}`, is written without a lock"),
                    span: source.node_span(access),
                    label: "written here without a lock".into(),
                    labels: vec![Label {
                        span: source.node_span(load),
                        message: format!(
                            "loaded here: the {what} guards its own operations, not the map stored in it, \
                             which every goroutine that loads it shares"
                        ),
                    }],
                    witness: None,
                    help: Some(format!(
                        "copy the map, change the copy and store it back into `{container}` (copy-on-write), \
                         or guard the inner map with a `sync.Mutex`"
                    )),
                });
            });
        }
    }
}
