//! GML003 `concurrent-map-read-write`: a map read or iterated while other
//! concurrent code can write it.

use std::sync::LazyLock;

use super::spawn_labels::{
    access_span, other_access_labels, race_witness, spawn_label, starter_access_label, via_label,
};
use super::{Context, Rule};
use crate::diagnostic::{Diagnostic, Severity};
use crate::model::access::Access;
use crate::model::races::Reason;
use crate::queries::CompiledQuery;

pub const RULE: Rule = Rule {
    code: "GML003",
    name: "concurrent-map-read-write",
    summary: "a map read or iterated without a lock while other concurrent code writes it",
    docs: DOCS,
    severity: Severity::Error,
    query: QUERY_SOURCE,
    check,
};

const QUERY_SOURCE: &str = include_str!("../../queries/concurrent_map_read_write.scm");

pub static QUERY: LazyLock<CompiledQuery> = LazyLock::new(|| {
    CompiledQuery::new("concurrent_map_read_write", QUERY_SOURCE).expect("bundled query compiles")
});

const DOCS: &str = r#"## What it does
Finds a map read (`m[k]`, `v, ok := m[k]`, `len(m)`, `h.Get(k)` on an
`http.Header` or `url.Values`) or iteration (`range m`, and the iteration
hidden in `json.Marshal(m)`, `fmt` and `log` printing, `reflect.DeepEqual`,
`maps.Keys`, `maps.Values`, `maps.Clone`, `maps.Copy`'s source) in
concurrent code (a goroutine, a `wg.Go` or errgroup task, a `time.AfterFunc`
callback, an HTTP handler, a parallel subtest), with no lock held, while other
code that runs at the same time writes the same map: another goroutine, the same
code running many times at once, or the code that started the goroutine before
it waits for it.

## Why is this bad?
A map read that overlaps a write is a data race. When the runtime notices it,
it ends the whole program with `fatal error: concurrent map read and map write`
or `fatal error: concurrent map iteration and map write`. This is a fatal error,
not a panic: `recover()` cannot stop it. Without `-race` the check is
best-effort, so the crash comes under load, in production.

Maps that nobody writes once the goroutines have started are safe to read from
many goroutines, and are not reported.

## Example
```go
go func() {
	for ev := range events {
		seen[ev.ID] = true
	}
}()
http.HandleFunc("/seen", func(w http.ResponseWriter, r *http.Request) {
	fmt.Fprint(w, seen[r.URL.Query().Get("id")]) // read while the goroutine writes
})
```

## Use instead
Guard both sides with one `sync.RWMutex` (`RLock` to read, `Lock` to write), or
use `sync.Map`:
```go
var mu sync.RWMutex
go func() {
	for ev := range events {
		mu.Lock()
		seen[ev.ID] = true
		mu.Unlock()
	}
}()
http.HandleFunc("/seen", func(w http.ResponseWriter, r *http.Request) {
	mu.RLock()
	defer mu.RUnlock()
	fmt.Fprint(w, seen[r.URL.Query().Get("id")])
})
```
"#;
use crate::syntax::{NodeExt, field};

fn check(ctx: &Context<'_, '_>, out: &mut Vec<Diagnostic>) {
    let pkg = ctx.pkg;
    for race in ctx.read_races() {
        let spawn = ctx.spawn(race.spawn);
        let map = pkg.text(race.access.file, race.access.map_node).to_string();
        let iterates = race.access.node.kind_name() == "range_clause";
        // `json.Marshal(m)`, `fmt.Println(m)`, `maps.Keys(m)`: a library call
        // that ranges over the map it is given.
        let iterated_by = hidden_iteration(ctx, &race.access);
        let mut labels = vec![spawn_label(ctx, spawn, false)];
        labels.extend(via_label(ctx, &race.access, "reads the map"));
        match &race.reason {
            Reason::Other {
                spawn: other,
                access,
            } => labels.extend(other_access_labels(
                ctx,
                spawn,
                *other,
                access,
                "concurrent code writes the same map here",
                "the writer starts here",
            )),
            Reason::Starter { access } => labels.push(starter_access_label(
                ctx,
                access,
                "the starting function writes the map here without waiting for the goroutine"
                    .into(),
            )),
            Reason::SelfConcurrent => {}
        }
        let (message, label) = if let Some(by) = iterated_by {
            (
                format!("map `{map}` is iterated by `{by}` while concurrent code may write it"),
                "iterated here without a lock",
            )
        } else if iterates {
            (
                format!("map `{map}` is iterated while concurrent code may write it"),
                "iterated here without a lock",
            )
        } else {
            (
                format!("map `{map}` is read while concurrent code may write it"),
                "read here without a lock",
            )
        };
        out.push(Diagnostic {
            code: RULE.code,
            name: RULE.name,
            severity: RULE.severity,
            message,
            span: access_span(ctx, &race.access),
            label: label.into(),
            labels,
            help: Some(format!(
                "guard every access of `{map}` with one `sync.RWMutex` (`RLock` to read, `Lock` to write), \
                 or use `sync.Map`"
            )),
            witness: Some(race_witness(ctx, race, "reads the map", "writes the map")),
        });
    }
}

/// The library function that iterates the map of a read made by calling it
/// (`json.Marshal` in `json.Marshal(m)`), rather than by a method of the map.
fn hidden_iteration<'p>(ctx: &Context<'p, '_>, access: &Access<'_>) -> Option<&'p str> {
    let function = access.node.child_by_field_id(field::FUNCTION)?;
    let operand = function.child_by_field_id(field::OPERAND)?;
    (access.node.kind_name() == "call_expression"
        && function.kind_name() == "selector_expression"
        && operand.id() != access.map_node.id())
    .then(|| ctx.pkg.text(access.file, function))
}
