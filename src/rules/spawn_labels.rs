//! The words rules use for concurrent contexts and accesses, shared so that
//! every rule explains them the same way.

use super::Context;
use crate::diagnostic::{Label, Side, Span, Witness};
use crate::model::access::Access;
use crate::model::races::{Race, Reason};
use crate::model::spawn::{Spawn, SpawnKind};
use crate::syntax::field;

/// The label on the place where concurrent code starts.
pub fn spawn_label(ctx: &Context<'_, '_>, spawn: &Spawn<'_>, self_concurrent: bool) -> Label {
    let pkg = ctx.pkg;
    let site = pkg.text(spawn.file, spawn.label);
    let what = match spawn.kind {
        SpawnKind::Go => "goroutine started here".to_string(),
        SpawnKind::WaitGroupGo | SpawnKind::ErrgroupGo => {
            format!("`{site}` runs this function in a new goroutine")
        }
        SpawnKind::AfterFunc => {
            "`time.AfterFunc` runs this function in its own goroutine".to_string()
        }
        SpawnKind::Wrapper => format!("`{site}` runs this function in a new goroutine"),
        SpawnKind::ParallelWrapper => {
            format!("`{site}` runs this function in many goroutines at once")
        }
        SpawnKind::Handler => "net/http runs this handler for many requests at once".to_string(),
        SpawnKind::GrpcMethod => "gRPC runs this method for many requests at once".to_string(),
        SpawnKind::ParallelSubtest => {
            "this subtest calls `t.Parallel()`: it runs alongside other parallel subtests"
                .to_string()
        }
        SpawnKind::ParallelTest => {
            "this test calls `t.Parallel()`: it runs alongside other parallel tests".to_string()
        }
    };
    let message = if self_concurrent && spawn.in_loop.is_some() && !spawn.always_self_concurrent() {
        format!("{what}, in a loop: one per iteration, all running at once")
    } else {
        what
    };
    Label {
        span: pkg.files[spawn.file].node_span(spawn.label),
        message,
    }
}

/// The span of an access: where it is, even in a function the context calls.
pub fn access_span(ctx: &Context<'_, '_>, access: &Access<'_>) -> Span {
    ctx.pkg.files[access.file].node_span(access.node)
}

/// A label on the call that leads from the context to an access in another function.
pub fn via_label(ctx: &Context<'_, '_>, access: &Access<'_>, what: &str) -> Option<Label> {
    let call = access.via?;
    let file = access.via_file;
    let callee = ctx.pkg.text(
        file,
        call.child_by_field_id(field::FUNCTION).unwrap_or(call),
    );
    Some(Label {
        span: ctx.pkg.files[file].node_span(call),
        message: format!("this call of `{callee}` {what}"),
    })
}

/// A name for a function, for messages.
pub fn function_name(ctx: &Context<'_, '_>, file: usize, func: tree_sitter::Node<'_>) -> String {
    match func.child_by_field_id(field::NAME) {
        Some(name) => format!("`{}`", ctx.pkg.text(file, name)),
        None => "the enclosing function".to_string(),
    }
}

/// Labels for the other side of a race in concurrent code: the other access,
/// and where that code starts when it is not the same spawn.
pub fn other_access_labels(
    ctx: &Context<'_, '_>,
    spawn: &Spawn<'_>,
    other: usize,
    access: &Access<'_>,
    what: &str,
    starts: &str,
) -> Vec<Label> {
    let mut labels = vec![Label {
        span: access_span(ctx, access),
        message: what.into(),
    }];
    let other_spawn = ctx.spawn(other);
    if other_spawn.label.id() != spawn.label.id() {
        let mut started = spawn_label(ctx, other_spawn, false);
        started.message = format!("{starts}: {}", started.message);
        labels.push(started);
    }
    labels
}

/// The label on the starter's access (or on the call in the starter that leads to it).
pub fn starter_access_label(ctx: &Context<'_, '_>, access: &Access<'_>, message: String) -> Label {
    let node = access.via.unwrap_or(access.node);
    let file = if access.via.is_some() {
        access.via_file
    } else {
        access.file
    };
    Label {
        span: ctx.pkg.files[file].node_span(node),
        message,
    }
}

/// One side of a race in concurrent code: its root, the call from the root's
/// body that leads to the access, and the access.
fn side(ctx: &Context<'_, '_>, root: Label, access: &Access<'_>, what: &str) -> Side {
    let locks = if access.write_locked {
        vec!["a lock (`Lock`)".to_string()]
    } else if access.locked {
        vec!["a read lock (`RLock`)".to_string()]
    } else {
        Vec::new()
    };
    Side {
        root,
        calls: via_label(ctx, access, what).into_iter().collect(),
        access: Label {
            span: access_span(ctx, access),
            message: format!("{what} here"),
        },
        locks,
    }
}

/// The evidence of a race the goroutine rules report: the racing access's
/// concurrent code, and the code it overlaps (another goroutine, the code
/// that started it, or another run of itself).
pub fn race_witness(
    ctx: &Context<'_, '_>,
    race: &Race<'_>,
    what: &str,
    other_what: &str,
) -> Witness {
    let spawn = ctx.spawn(race.spawn);
    let self_concurrent = matches!(race.reason, Reason::SelfConcurrent);
    let mut sides = vec![side(
        ctx,
        spawn_label(ctx, spawn, self_concurrent),
        &race.access,
        what,
    )];
    match &race.reason {
        Reason::SelfConcurrent => {}
        Reason::Other {
            spawn: other,
            access,
        } => {
            let root = spawn_label(ctx, ctx.spawn(*other), false);
            sides.push(side(ctx, root, access, other_what));
        }
        Reason::Starter { access } => {
            let starter = spawn
                .starter
                .map_or("the starting function".to_string(), |f| {
                    function_name(ctx, spawn.file, f)
                });
            let root = Label {
                span: ctx.pkg.files[spawn.file].node_span(spawn.label),
                message: format!("{starter} goes on after starting the goroutine here"),
            };
            sides.push(side(ctx, root, access, other_what));
        }
    }
    Witness {
        sides,
        runs_twice: self_concurrent,
    }
}
