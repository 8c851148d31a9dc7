//! GML001 `unsynchronized-map-write`: a goroutine writes a map that outlives it,
//! with no lock held, while another goroutine can use the same map.

use std::sync::LazyLock;

use super::spawn_labels::{
    access_span, function_name, other_access_labels, race_witness, spawn_label,
    starter_access_label, via_label,
};
use super::{Context, Rule};
use crate::diagnostic::{Diagnostic, Severity};
use crate::model::races::Reason;
use crate::queries::CompiledQuery;

pub const RULE: Rule = Rule {
    code: "GML001",
    name: "unsynchronized-map-write",
    summary: "a map written in a goroutine without a lock while other goroutines use it",
    docs: DOCS,
    severity: Severity::Error,
    query: QUERY_SOURCE,
    check,
};

const QUERY_SOURCE: &str = include_str!("../../queries/unsynchronized_map_write.scm");

pub static QUERY: LazyLock<CompiledQuery> = LazyLock::new(|| {
    CompiledQuery::new("unsynchronized_map_write", QUERY_SOURCE).expect("bundled query compiles")
});

const DOCS: &str = r#"## What it does
Finds a map mutation (`m[k] = v`, `m[k] += v`, `m[k]++`, `delete(m, k)`, `clear(m)`,
`maps.Copy(m, src)`, `maps.DeleteFunc(m, f)`, and `Set`, `Add` or `Del` on a map
type of another package: `http.Header`, `url.Values`, `textproto.MIMEHeader`,
gRPC's `metadata.MD`), or the replacement of a shared map (`m = make(...)`, `s.cache = nil`), in
concurrent code: a goroutine, a `wg.Go` or errgroup task, a `time.AfterFunc`
callback, an HTTP handler, a gRPC method, a parallel test, or a function of the
package that one of these calls. It reports the write when the map outlives
that code (a captured variable, a package-level variable, a field reached
through a captured value or the receiver, a map passed in as an argument), no
`Lock` is held, and other code can use the same map at the same time: the code
runs many times at once (started in a loop, or a handler), other concurrent
code writes the same map, or the code that started it uses the map again
before it waits for it (`wg.Wait()`, or a receive from a channel the goroutine
sends on or closes).

A `go` statement in a loop runs once at most when the loop returns or breaks
right after it, or when a flag set just before it guards it
(`if !started { started = true; go run() }`); two starts that set the same flag
and check it exclude each other. Giving a parameter or local variable of the
goroutine's own function another map (`m = next`) writes no map: each call has
its own variable.

## Why is this bad?
Go maps are not safe for concurrent use. When the runtime notices a map being
written by two goroutines at once, or read while it is written, it stops the
whole program with `fatal error: concurrent map writes` (or `concurrent map read
and map write`, `concurrent map iteration and map write`). This is a fatal error,
not a panic: deferred functions do not run and no `recover()` can stop it, so one
racing request takes the whole service down. Without `-race` the runtime's check
is best-effort: it only fires when the accesses happen to overlap, so the bug can
pass every test and crash under production load. `go test -race` finds it only
on the paths that the tests happen to run.

`RLock` of a `sync.RWMutex` does not make a write safe: many goroutines can hold
the read lock at once. A lock taken by the code that starts the goroutine does
not protect the goroutine's body either: the goroutine runs after the starter
has moved on.

## Example
```go
m := make(map[int]int)
var wg sync.WaitGroup
for id := 0; id < 2; id++ {
	wg.Add(1)
	go func() {
		defer wg.Done()
		for j := 0; j < 1000; j++ {
			m[id*1000+j] = j // fatal error: concurrent map writes
		}
	}()
}
wg.Wait()
```

## Use instead
Hold one `sync.Mutex` around every access of the map:
```go
var mu sync.Mutex
go func() {
	defer wg.Done()
	for j := 0; j < 1000; j++ {
		mu.Lock()
		m[id*1000+j] = j
		mu.Unlock()
	}
}()
```
or use `sync.Map`, or give the map to one goroutine and send it updates over a
channel.
"#;

fn help(map: &str) -> String {
    format!(
        "hold one `sync.Mutex` around every access of `{map}` (`Lock` for writes), use `sync.Map`, \
         or let a single goroutine own the map and send it updates over a channel"
    )
}

fn check(ctx: &Context<'_, '_>, out: &mut Vec<Diagnostic>) {
    let pkg = ctx.pkg;
    for race in ctx.write_races() {
        let spawn = ctx.spawn(race.spawn);
        let map = pkg.text(race.access.file, race.access.map_node).to_string();
        let self_concurrent = matches!(race.reason, Reason::SelfConcurrent);
        let written = if race.access.is_replacement() {
            "replaced"
        } else {
            "written"
        };
        let mut labels = vec![spawn_label(ctx, spawn, self_concurrent)];
        labels.extend(via_label(ctx, &race.access, "writes the map"));
        let message = match &race.reason {
            Reason::SelfConcurrent => {
                format!("map `{map}` is {written} by concurrent goroutines without a lock")
            }
            Reason::Other {
                spawn: other,
                access,
            } => {
                labels.extend(other_access_labels(
                    ctx,
                    spawn,
                    *other,
                    access,
                    "other concurrent code writes the same map here",
                    "that code starts here",
                ));
                format!("map `{map}` is {written} by concurrent goroutines without a lock")
            }
            Reason::Starter { access } => {
                let starter = spawn
                    .starter
                    .map_or("the starting function".to_string(), |f| {
                        function_name(ctx, spawn.file, f)
                    });
                labels.push(starter_access_label(
                    ctx,
                    access,
                    format!("{starter} uses the map here without waiting for the goroutine"),
                ));
                format!(
                    "map `{map}` is {written} in a goroutine while the code that started it still uses it"
                )
            }
        };
        out.push(Diagnostic {
            code: RULE.code,
            name: RULE.name,
            severity: RULE.severity,
            message,
            span: access_span(ctx, &race.access),
            label: format!("{written} here without a lock"),
            labels,
            help: Some(help(&map)),
            witness: Some(race_witness(ctx, race, "writes the map", "uses the map")),
        });
    }
}
