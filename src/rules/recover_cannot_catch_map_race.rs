//! GML002 `recover-cannot-catch-map-race`: a deferred `recover()` that is meant to
//! guard code whose map race the runtime reports with a fatal error, which no
//! recover can catch; and `defer recover()`, which recovers nothing at all.

use std::sync::LazyLock;

use tree_sitter::Node;

use super::{Context, Rule};
use crate::diagnostic::{Diagnostic, Label, Severity};
use crate::model::races::Race;
use crate::model::{contains, enclosing_function};
use crate::queries::CompiledQuery;
use crate::syntax::{NodeExt, field};

pub const RULE: Rule = Rule {
    code: "GML002",
    name: "recover-cannot-catch-map-race",
    summary: "a deferred recover() that cannot stop a concurrent map access from crashing the program",
    docs: DOCS,
    severity: Severity::Warning,
    query: QUERY_SOURCE,
    check,
};

const QUERY_SOURCE: &str = include_str!("../../queries/recover_cannot_catch_map_race.scm");

pub(super) static QUERY: LazyLock<CompiledQuery> = LazyLock::new(|| {
    CompiledQuery::new("recover_cannot_catch_map_race", QUERY_SOURCE)
        .expect("bundled query compiles")
});

const DOCS: &str = r#"## What it does
Reports a `recover()` in a function deferred by concurrent code (a goroutine,
a task, a handler) whose map access can race (a GML001 or GML003 finding), or by
the goroutine wrapper that runs such code (`safeGo(fn)`), and every
`defer recover()`.

## Why is this bad?
When the runtime detects a concurrent map access it does not panic: it calls
`fatal` and prints `fatal error: concurrent map writes` (or `concurrent map read
and map write`). A fatal error ends the whole process at once; deferred
functions do not run and `recover()` cannot intercept it. A
`defer func() { recover() }()` next to a racy map write gives false comfort: the
service still dies, and takes every other request with it.

`defer recover()` is wrong for another reason too: `recover` stops a panic only
when it is called directly by a deferred function. `defer recover()` makes
`recover` itself the deferred call, so it returns nil and the panic goes on up
the stack (the Go specification: "If recover is called outside the deferred
function it will not stop a panicking sequence").

## Example
```go
go func() {
	defer func() {
		if r := recover(); r != nil { // cannot catch "concurrent map writes"
			log.Print(r)
		}
	}()
	counts[key]++ // written by many goroutines without a lock
}()
```

## Use instead
Make the map access safe; keep `recover` for real panics:
```go
go func() {
	defer func() {
		if r := recover(); r != nil {
			log.Print(r)
		}
	}()
	mu.Lock()
	counts[key]++
	mu.Unlock()
}()
```
and write `defer func() { recover() }()` instead of `defer recover()`.
"#;

/// How a `recover()` call is deferred.
enum Deferred<'a> {
    /// `defer recover()` in the function `func`.
    Direct { func: Node<'a> },
    /// `defer func() { ... recover() ... }()` in the function `func`.
    InLiteral { func: Node<'a> },
}

fn deferred<'a>(call: Node<'a>) -> Option<Deferred<'a>> {
    let parent = call.parent()?;
    if parent.kind_name() == "defer_statement" {
        return Some(Deferred::Direct {
            func: enclosing_function(parent)?,
        });
    }
    // recover() inside a function literal that a defer statement calls.
    let lit = enclosing_function(call)?;
    let lit_call = lit.parent()?;
    let defer = lit_call.parent()?;
    let deferred_literal = lit.kind_name() == "func_literal"
        && lit_call.kind_name() == "call_expression"
        && lit_call
            .child_by_field_id(field::FUNCTION)
            .is_some_and(|f| f.id() == lit.id())
        && defer.kind_name() == "defer_statement";
    deferred_literal.then(|| enclosing_function(defer).map(|func| Deferred::InLiteral { func }))?
}

/// Whether a recover deferred in `func` (of `file`) is meant to guard the code of
/// `race`'s context: the context's own body, or the goroutine a wrapper starts.
fn guards(ctx: &Context<'_, '_>, race: &Race<'_>, file: usize, func: Node<'_>) -> bool {
    let spawn = ctx.spawn(race.spawn);
    let body = spawn.body;
    (body.file() == file && body.node().id() == func.id())
        || spawn
            .wrapper
            .is_some_and(|(wfile, wdecl)| wfile == file && contains(wdecl, func))
}

fn check(ctx: &Context<'_, '_>, out: &mut Vec<Diagnostic>) {
    let pkg = ctx.pkg;
    let q = &*QUERY;
    let call_i = q.capture("call");
    for (file, source) in pkg.files.iter().enumerate() {
        pkg.matches_near(q, file, &["recover"], |m| {
            let Some(call) = m.captures.iter().find(|c| c.index == call_i).map(|c| c.node) else { return };
            let Some(how) = deferred(call) else { return };
            let func = match how {
                Deferred::Direct { func } | Deferred::InLiteral { func } => func,
            };
            let races: Vec<&Race<'_>> = ctx
                .write_races()
                .iter()
                .chain(ctx.read_races())
                .filter(|r| guards(ctx, r, file, func))
                .collect();
            let direct = matches!(how, Deferred::Direct { .. });
            if races.is_empty() && !direct {
                return;
            }
            let mut labels: Vec<Label> = races
                .iter()
                .take(3)
                .map(|r| Label {
                    span: pkg.files[r.access.file].node_span(r.access.node),
                    message: format!(
                        "this unsynchronized access of `{}` ends the process with a fatal error, not a panic",
                        pkg.text(r.access.file, r.access.map_node)
                    ),
                })
                .collect();
            if direct {
                if let Some(keyword) = call.parent().and_then(|d| d.child(0)) {
                    labels.push(Label {
                        span: source.node_span(keyword),
                        message: "this defers `recover` itself, so a panic here goes on up the stack".into(),
                    });
                }
            }
            labels.sort_by(|a, b| a.span.cmp(&b.span));
            let (message, label, help) = match (direct, races.is_empty()) {
                (true, true) => (
                    "`defer recover()` recovers nothing: `recover` stops a panic only when a deferred function calls it".to_string(),
                    "`recover` is itself the deferred call here",
                    "write `defer func() { recover() }()`, and handle or log the recovered value",
                ),
                (true, false) => (
                    "`defer recover()` recovers nothing, and no `recover()` can catch `fatal error: concurrent map writes`".to_string(),
                    "`recover` is itself the deferred call here",
                    "synchronize the map (a `sync.Mutex`, `sync.Map`, or one goroutine that owns it); \
                     `recover` only works when a deferred function calls it",
                ),
                _ => (
                    "`recover()` cannot catch `fatal error: concurrent map writes`: the runtime ends the whole process".to_string(),
                    "this recover will not run when the map race is detected",
                    "synchronize the map (a `sync.Mutex`, `sync.Map`, or one goroutine that owns it); \
                     recover only handles panics",
                ),
            };
            out.push(Diagnostic {
                code: RULE.code,
                name: RULE.name,
                severity: RULE.severity,
                message,
                span: source.node_span(call),
                label: label.into(),
                labels: std::mem::take(&mut labels),
                witness: None,
                help: Some(help.into()),
            });
        });
    }
}
