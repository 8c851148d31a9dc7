//! The default output: miette's graphical reports with the source snippet and labels.

use std::collections::BTreeMap;
use std::io::{self, Write};

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource, Report,
    Severity as MietteSeverity,
};

use super::Emitter;
use crate::Outcome;
use crate::config::ConfigError;
use crate::diagnostic::{Diagnostic, Severity, Span};

pub struct Text {
    pub color: bool,
}

fn source_span(span: &Span) -> miette::SourceSpan {
    (
        span.start_byte,
        span.end_byte.saturating_sub(span.start_byte),
    )
        .into()
}

fn render(handler: &GraphicalReportHandler, d: &Diagnostic, source: Option<&String>) -> String {
    let mut labels = vec![LabeledSpan::new_primary_with_span(
        Some(d.label.clone()),
        source_span(&d.span),
    )];
    let mut elsewhere = Vec::new();
    for label in &d.labels {
        if label.span.path == d.span.path {
            labels.push(LabeledSpan::new_with_span(
                Some(label.message.clone()),
                source_span(&label.span),
            ));
        } else {
            elsewhere.push(format!(
                "  note: {}:{}:{}: {}",
                label.span.path, label.span.line, label.span.column, label.message
            ));
        }
    }
    let mut diag = MietteDiagnostic::new(d.message.clone())
        .with_code(format!("{}({})", d.code, d.name))
        .with_severity(match d.severity {
            Severity::Error => MietteSeverity::Error,
            Severity::Warning => MietteSeverity::Warning,
        })
        .with_labels(labels);
    if let Some(help) = &d.help {
        diag = diag.with_help(help.clone());
    }
    let report = Report::new(diag).with_source_code(NamedSource::new(
        &d.span.path,
        source.cloned().unwrap_or_default(),
    ));
    let mut out = String::new();
    if handler.render_report(&mut out, report.as_ref()).is_err() {
        out = format!("{}: {} [{}]\n", d.span.path, d.message, d.code);
    }
    for line in elsewhere {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

impl Emitter for Text {
    fn emit(&self, out: &mut dyn Write, outcome: &Outcome) -> io::Result<()> {
        let hidden = match outcome.baseline_hidden {
            0 => String::new(),
            k => format!("; {k} more hidden by the baseline"),
        };
        if outcome.diagnostics.is_empty() {
            // Quiet when clean; a baseline's hidden findings are worth a line.
            if outcome.baseline_hidden > 0 {
                writeln!(
                    out,
                    "gomaplint: no new findings in {} file{} checked; {} hidden by the baseline",
                    outcome.files_checked,
                    if outcome.files_checked == 1 { "" } else { "s" },
                    outcome.baseline_hidden,
                )?;
            }
            return Ok(());
        }
        let theme = if self.color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_width(100)
            .with_links(false);
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for d in &outcome.diagnostics {
            *counts.entry(d.code).or_default() += 1;
            write!(
                out,
                "{}",
                render(&handler, d, outcome.sources.get(&d.span.path))
            )?;
            writeln!(out)?;
        }
        let n = outcome.diagnostics.len();
        let per_code: Vec<String> = counts
            .iter()
            .map(|(code, k)| format!("{k} × {code}"))
            .collect();
        writeln!(
            out,
            "gomaplint: {n} finding{} ({}) in {} file{} checked{hidden}",
            if n == 1 { "" } else { "s" },
            per_code.join(", "),
            outcome.files_checked,
            if outcome.files_checked == 1 { "" } else { "s" },
        )
    }
}

/// A configuration file that cannot be used, as a miette report pointing
/// into the file.
pub fn config_error(e: &ConfigError, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let mut diag = MietteDiagnostic::new(format!(
        "invalid configuration in `{}`: {}",
        e.path, e.message
    ))
    .with_code("gomaplint::config")
    .with_severity(MietteSeverity::Error);
    if let Some(span) = &e.span {
        diag = diag.with_label(LabeledSpan::new_primary_with_span(
            Some("here".into()),
            (span.start, span.end.saturating_sub(span.start)),
        ));
    }
    if let Some(help) = &e.help {
        diag = diag.with_help(help.clone());
    }
    let report = Report::new(diag).with_source_code(NamedSource::new(&e.path, e.text.clone()));
    let mut out = String::new();
    if handler.render_report(&mut out, report.as_ref()).is_err() {
        out = format!("gomaplint: error: {e}\n");
    }
    out
}
