//! Renders `gomaplint trace`'s findings: one miette report per crash, in the
//! rules' style, or one JSON object (its shape is documented in the README).

use std::io::{self, Write};

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource, Report,
    Severity,
};

use crate::diagnostic::Span;
use crate::trace::analyze::{AccessReport, CrashReport, FrameReport};
use crate::trace::{Status, Trace};

fn source_span(span: &Span) -> miette::SourceSpan {
    (
        span.start_byte,
        span.end_byte.saturating_sub(span.start_byte),
    )
        .into()
}

fn at(span: &Span) -> String {
    format!("{}:{}:{}", span.path, span.line, span.column)
}

fn frame_line(f: &FrameReport) -> String {
    let build = match (&f.file, f.line) {
        (Some(file), Some(line)) => format!("{file}:{line}"),
        (Some(file), None) => file.clone(),
        _ => "?".into(),
    };
    let inlined = if f.inlined { " (inlined)" } else { "" };
    let local = match (&f.local, &f.problem, f.std) {
        (_, Some(p), _) => format!(" -> {p}"),
        (Some(l), None, _) => format!(" -> {}:{}", l.path, l.line),
        (None, None, true) => String::new(),
        (None, None, false) => " -> not found locally".into(),
    };
    format!("{}{inlined} at {build}{local}", f.function)
}

fn access_label(a: &AccessReport, crashed: Option<u64>) -> String {
    let lock = if a.locks.is_empty() {
        if a.caller_locked {
            "under its callers' lock".to_string()
        } else {
            "without a lock".to_string()
        }
    } else {
        format!("holding {}", a.locks.join(", "))
    };
    let verb = match a.operation {
        "write" | "delete" | "clear" => "written",
        "replace" => "replaced",
        "range" => "ranged over",
        "clone" => "cloned",
        _ => "read",
    };
    if a.crash && a.other_side {
        format!(
            "the crashing goroutine's access: {verb} here {lock}; other goroutines run this line too"
        )
    } else if a.crash {
        format!("the crashing goroutine's access: {verb} here {lock}")
    } else if let Some(g) = a
        .in_stacks_of
        .iter()
        .find(|&&g| a.other_side && Some(g) != crashed)
    {
        format!("the other side: goroutine {g} of the log was here, {lock}")
    } else if a.other_side {
        format!("can be the other side: {verb} here {lock}")
    } else {
        format!("{verb} here {lock}")
    }
}

/// An access, in a few indented lines, for the list under the report.
fn access_note(a: &AccessReport) -> String {
    let locks = if a.locks.is_empty() {
        if a.caller_locked {
            "under its callers' lock".to_string()
        } else {
            "no lock".to_string()
        }
    } else {
        format!("holding {}", a.locks.join(", "))
    };
    let finding = a
        .finding
        .as_ref()
        .map(|f| format!("; {} reports it", f.code))
        .unwrap_or_default();
    let mut s = format!(
        "    {} {} `{}` in `{}`, {locks}{finding}\n",
        at(&a.span),
        a.operation,
        a.text,
        a.function
    );
    let verdict = match (a.crash, a.other_side) {
        (true, true) => format!("crashed here, and can be the other side too: {}", a.why),
        (true, false) => "crashed here".to_string(),
        (false, true) => format!("can be the other side: {}", a.why),
        (false, false) => format!("not the other side: {}", a.why),
    };
    s.push_str(&format!("      {verdict}\n"));
    if !a.in_stacks_of.is_empty() {
        let ids: Vec<String> = a.in_stacks_of.iter().map(|g| g.to_string()).collect();
        s.push_str(&format!(
            "      in the stack of goroutine {} in the log\n",
            ids.join(", ")
        ));
    }
    if a.setup {
        s.push_str("      set-up: runs before the map is shared\n");
    }
    if a.contexts.is_empty() {
        s.push_str("      runs in: no concurrent code that gomaplint sees\n");
    }
    for c in &a.contexts {
        s.push_str(&format!("      runs in: {} ({})\n", c.message, at(&c.span)));
    }
    s
}

fn render(handler: &GraphicalReportHandler, c: &CrashReport, trace: &Trace) -> String {
    let goroutine = c
        .goroutine
        .map(|g| format!(", goroutine {g}"))
        .unwrap_or_default();
    let title = match (&c.map, c.status) {
        (Some(map), Status::Traced) => format!(
            "`fatal error: {}` (log line {}{goroutine}) on map `{map}`",
            c.kind.message(),
            c.log_line
        ),
        _ => format!(
            "`fatal error: {}` (log line {}{goroutine}) not traced to a map access",
            c.kind.message(),
            c.log_line
        ),
    };
    let crash = c.accesses.iter().find(|a| a.crash);
    let crash_frame = c.crash_frame.map(|i| &c.frames[i]);
    let primary_path = crash.map(|a| a.span.path.clone()).or_else(|| {
        crash_frame
            .and_then(|f| f.local.as_ref())
            .map(|s| s.path.clone())
    });
    let mut labels = Vec::new();
    let mut elsewhere = Vec::new();
    if let Some(path) = &primary_path {
        match crash {
            Some(a) => labels.push(LabeledSpan::new_primary_with_span(
                Some(access_label(a, c.goroutine)),
                source_span(&a.span),
            )),
            None => {
                if let Some(l) = crash_frame.and_then(|f| f.local.as_ref()) {
                    labels.push(LabeledSpan::new_primary_with_span(
                        Some("the log says the crashing goroutine was here".into()),
                        source_span(l),
                    ));
                }
            }
        }
        for a in c.accesses.iter().filter(|a| a.other_side && !a.crash) {
            if &a.span.path == path {
                labels.push(LabeledSpan::new_with_span(
                    Some(access_label(a, c.goroutine)),
                    source_span(&a.span),
                ));
            } else {
                elsewhere.push(format!(
                    "  note: {}: {}",
                    at(&a.span),
                    access_label(a, c.goroutine)
                ));
            }
        }
        if let Some(created) = c.created_by.first().and_then(|f| f.local.as_ref()) {
            let message =
                "the crashing goroutine was started here (`created by` in the log)".to_string();
            if &created.path == path {
                labels.push(LabeledSpan::new_with_span(
                    Some(message),
                    source_span(created),
                ));
            } else {
                elsewhere.push(format!("  note: {}: {message}", at(created)));
            }
        }
    }
    let mut diag = MietteDiagnostic::new(title)
        .with_code("gomaplint::trace")
        .with_severity(Severity::Error)
        .with_labels(labels);
    if !c.help.is_empty() {
        diag = diag.with_help(c.help.clone());
    }
    let source = primary_path
        .as_ref()
        .and_then(|p| trace.sources.get(p))
        .cloned()
        .unwrap_or_default();
    let report = Report::new(diag).with_source_code(NamedSource::new(
        primary_path.as_deref().unwrap_or("<log>"),
        source,
    ));
    let mut out = String::new();
    if handler.render_report(&mut out, report.as_ref()).is_err() {
        out = format!("gomaplint: {}\n", c.kind.message());
    }
    for line in elsewhere {
        out.push_str(&line);
        out.push('\n');
    }
    for note in &c.notes {
        out.push_str(&format!("  note: {note}\n"));
    }
    if !c.findings.is_empty() {
        for f in &c.findings {
            out.push_str(&format!(
                "  lint: gomaplint already reports this map: {}({}) at {}: {}{}\n",
                f.code,
                f.name,
                at(&f.span),
                f.message,
                f.hidden
                    .as_ref()
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default()
            ));
        }
    }
    if let Some(map) = &c.map {
        out.push_str(&format!(
            "  accesses of `{map}` in its package ({}):\n",
            c.accesses.len()
        ));
        for a in &c.accesses {
            out.push_str(&access_note(a));
        }
    }
    out.push_str("  stack of the crashing goroutine:\n");
    for (i, f) in c.frames.iter().enumerate() {
        let mark = if Some(i) == c.crash_frame { "> " } else { "  " };
        out.push_str(&format!("   {mark}{}\n", frame_line(f)));
    }
    for f in &c.created_by {
        out.push_str(&format!("     created by {}\n", frame_line(f)));
    }
    out
}

/// The text report: one miette report per crash, then a summary line.
pub fn text(out: &mut dyn Write, trace: &Trace, color: bool) -> io::Result<()> {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    for c in &trace.crashes {
        write!(out, "{}", render(&handler, c, trace))?;
        writeln!(out)?;
    }
    let n = trace.crashes.len();
    let traced = trace
        .crashes
        .iter()
        .filter(|c| c.status == Status::Traced)
        .count();
    writeln!(
        out,
        "gomaplint: {n} map-race crash{} in the log, {traced} traced to the source",
        if n == 1 { "" } else { "es" }
    )
}

/// `--format json`: `{"crashes": [...]}`.
pub fn json(out: &mut dyn Write, trace: &Trace) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, trace)?;
    writeln!(out)
}
