//! GML001 `unsynchronized-map-write`: a goroutine writes a map that outlives it,
//! with no lock held, while another goroutine can use the same map.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use tree_sitter::Node;

use super::{Context, Rule};
use crate::diagnostic::{Diagnostic, Label, Severity, Span};
use crate::model::ancestors;
use crate::model::spawn::{GoroutineBody, MapRef, Origin, Spawn};
use crate::queries::CompiledQuery;
use crate::source::SourceFile;

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
Finds a map mutation (`m[k] = v`, `m[k] += v`, `m[k]++`, `delete(m, k)`, `clear(m)`)
inside a goroutine, on a map that outlives the goroutine (a captured variable, a
package-level variable, a field reached through a captured value or the receiver,
or a map passed in as an argument), when no `Lock` is held and another goroutine
can use the same map at the same time: the `go` statement is in a loop, another
goroutine writes the same map, or the code that started the goroutine uses the
map again before it waits for it (`wg.Wait()`, or a receive from a channel the
goroutine sends on or closes).

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

/// Why a goroutine write can overlap another access of the same map.
#[derive(Clone, Debug)]
pub enum Reason<'a> {
    /// The `go` statement is in a loop: many goroutines run the write at once.
    Loop,
    /// Another goroutine writes the same map.
    OtherGoroutine {
        spawn: usize,
        file: usize,
        access: Node<'a>,
    },
    /// The starter uses the map after the `go` statement without waiting first.
    StarterTouch { touch: Node<'a> },
}

/// An unsynchronized write of a shared map by a goroutine.
#[derive(Clone, Debug)]
pub struct Race<'a> {
    /// Index into `Context::spawns`.
    pub spawn: usize,
    pub file: usize,
    pub access: Node<'a>,
    /// The map expression as written, e.g. `s.cache`.
    pub map_text: String,
    pub reason: Reason<'a>,
}

struct Write<'a> {
    spawn: usize,
    file: usize,
    access: Node<'a>,
    map_text: String,
    map: MapRef,
}

/// Whether `access`, inside the goroutine body, belongs to a nested `go` statement.
fn in_nested_goroutine(access: Node<'_>, body: Node<'_>) -> bool {
    ancestors(access)
        .take_while(|n| n.id() != body.id())
        .any(|n| n.kind() == "go_statement")
}

fn unlocked_shared_writes<'a>(ctx: &Context<'_, 'a>) -> Vec<Write<'a>> {
    let pkg = ctx.pkg;
    let q = &*QUERY;
    let (access_i, map_i) = (q.capture("access"), q.capture("map"));
    let mut writes = Vec::new();
    for (index, spawn) in ctx.spawns.iter().enumerate() {
        let file = spawn.body.file();
        let body = spawn.body.node();
        q.for_each_match(body, &pkg.files[file].text, |m| {
            let get = |i| m.captures.iter().find(|c| c.index == i).map(|c| c.node);
            let (Some(access), Some(map_node)) = (get(access_i), get(map_i)) else {
                return;
            };
            if in_nested_goroutine(access, body) || !pkg.type_of(file, map_node).is_map() {
                return;
            }
            let Origin::Shared(map) = pkg.origin_in_goroutine(spawn, map_node) else {
                return;
            };
            let locks = pkg.locks_at(file, access, body);
            // Under `RLock` only, GML004 reports the write: one finding per line.
            if locks.holds_write_lock() || locks.read_lock().is_some() {
                return;
            }
            writes.push(Write {
                spawn: index,
                file,
                access,
                map_text: pkg.text(file, map_node).to_string(),
                map,
            });
        });
    }
    writes
}

/// Whether two spawns can run at the same time: not when both are in the same
/// function and the first is waited for before the second starts.
fn overlap<'a>(ctx: &Context<'_, 'a>, a: &Spawn<'a>, b: &Spawn<'a>) -> bool {
    if a.file != b.file
        || a.starter.id() != b.starter.id()
        || a.in_loop.is_some()
        || b.in_loop.is_some()
    {
        return true;
    }
    let (first, second) = if a.go_stmt.start_byte() <= b.go_stmt.start_byte() {
        (a, b)
    } else {
        (b, a)
    };
    ctx.pkg
        .join_between(first, second.go_stmt.start_byte())
        .is_none()
}

pub fn find_races<'a>(ctx: &Context<'_, 'a>) -> Vec<Race<'a>> {
    let pkg = ctx.pkg;
    let writes = unlocked_shared_writes(ctx);
    let mut by_map: BTreeMap<&MapRef, Vec<usize>> = BTreeMap::new();
    for (i, w) in writes.iter().enumerate() {
        by_map.entry(&w.map).or_default().push(i);
    }
    let mut races: Vec<Race<'a>> = Vec::new();
    for w in &writes {
        let spawn = &ctx.spawns[w.spawn];
        let loop_races = spawn.in_loop.is_some_and(|l| {
            !pkg.is_per_iteration(spawn, &w.map) && pkg.join_between(spawn, l.end_byte()).is_none()
        });
        let reason = if loop_races {
            Some(Reason::Loop)
        } else if let Some(other) = by_map[&w.map]
            .iter()
            .map(|&i| &writes[i])
            .find(|o| o.spawn != w.spawn && overlap(ctx, spawn, &ctx.spawns[o.spawn]))
        {
            Some(Reason::OtherGoroutine {
                spawn: other.spawn,
                file: other.file,
                access: other.access,
            })
        } else {
            pkg.starter_touch_after(spawn, &w.map)
                .filter(|touch| pkg.join_between(spawn, touch.start_byte()).is_none())
                .map(|touch| Reason::StarterTouch { touch })
        };
        let Some(reason) = reason else { continue };
        // A function started by several `go` statements: one finding per write.
        if races
            .iter()
            .any(|r| r.file == w.file && r.access.id() == w.access.id())
        {
            continue;
        }
        races.push(Race {
            spawn: w.spawn,
            file: w.file,
            access: w.access,
            map_text: w.map_text.clone(),
            reason,
        });
    }
    races
}

/// A name for the function that started a goroutine, for messages.
pub fn function_name(ctx: &Context<'_, '_>, file: usize, func: Node<'_>) -> String {
    match func.child_by_field_name("name") {
        Some(name) => format!("`{}`", ctx.pkg.text(file, name)),
        None => "the enclosing function".to_string(),
    }
}

/// The span of a statement's first token (`go` of a `go` statement): a short label.
fn keyword_span(file: &SourceFile, stmt: Node<'_>) -> Span {
    let first = stmt.child(0).unwrap_or(stmt);
    file.node_span(first)
}

fn help(map: &str) -> String {
    format!(
        "hold one `sync.Mutex` around every access of `{map}` (`Lock` for writes), use `sync.Map`, \
         or let a single goroutine own the map and send it updates over a channel"
    )
}

fn check(ctx: &Context<'_, '_>, out: &mut Vec<Diagnostic>) {
    let pkg = ctx.pkg;
    for race in ctx.races() {
        let spawn = &ctx.spawns[race.spawn];
        let source = pkg.files[race.file];
        let go_file = pkg.files[spawn.file];
        let go_label = |message: String| Label {
            span: keyword_span(go_file, spawn.go_stmt),
            message,
        };
        let mut labels = Vec::new();
        let message = match &race.reason {
            Reason::Loop => {
                labels.push(go_label(
                    "started here in a loop: one goroutine per iteration, all running at once"
                        .into(),
                ));
                format!(
                    "map `{}` is written by concurrent goroutines without a lock",
                    race.map_text
                )
            }
            Reason::OtherGoroutine {
                spawn: other,
                file,
                access,
            } => {
                labels.push(go_label("goroutine started here".into()));
                labels.push(Label {
                    span: pkg.files[*file].node_span(*access),
                    message: "another goroutine writes the same map here".into(),
                });
                let other = &ctx.spawns[*other];
                if other.go_stmt.id() != spawn.go_stmt.id() {
                    labels.push(Label {
                        span: keyword_span(pkg.files[other.file], other.go_stmt),
                        message: "that goroutine is started here".into(),
                    });
                }
                format!(
                    "map `{}` is written by concurrent goroutines without a lock",
                    race.map_text
                )
            }
            Reason::StarterTouch { touch } => {
                let starter = function_name(ctx, spawn.file, spawn.starter);
                labels.push(go_label("goroutine started here".into()));
                labels.push(Label {
                    span: go_file.node_span(*touch),
                    message: format!(
                        "{starter} uses the map here without waiting for the goroutine"
                    ),
                });
                format!(
                    "map `{}` is written in a goroutine while the code that started it still uses it",
                    race.map_text
                )
            }
        };
        let label = match spawn.body {
            GoroutineBody::Literal { .. } => "written here without a lock",
            GoroutineBody::Function { .. } => {
                "written here, in a function run as a goroutine, without a lock"
            }
        };
        out.push(Diagnostic {
            code: RULE.code,
            name: RULE.name,
            severity: RULE.severity,
            message,
            span: source.node_span(race.access),
            label: label.into(),
            labels,
            help: Some(help(&race.map_text)),
        });
    }
}

/// Whether `func` (a function node of `file`) is the goroutine body in which `race` writes.
pub fn race_in_function(
    ctx: &Context<'_, '_>,
    race: &Race<'_>,
    file: usize,
    func: Node<'_>,
) -> bool {
    let body = ctx.spawns[race.spawn].body;
    body.file() == file && body.node().id() == func.id()
}
