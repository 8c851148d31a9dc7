//! A package's analysis, published: its findings, the problems the run met
//! (syntax errors, malformed suppressions, a configuration that cannot be
//! used), and empty lists for files that no longer have any.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lsp_types::notification::PublishDiagnostics;
use lsp_types::{DiagnosticSeverity, MessageType, Position, PublishDiagnosticsParams, Range, Url};

use super::handlers::parent;
use super::worker::Done;
use super::{Finding, Server, convert};
use crate::config::ConfigError;
use crate::{Outcome, rules};

impl Server {
    /// Publishes a finished analysis, unless an edit made it stale.
    pub(super) fn finished(&mut self, done: Done) {
        if self.generations.get(&done.dir) != Some(&done.generation) {
            return;
        }
        if !self
            .documents
            .values()
            .any(|d| d.path.parent() == Some(&done.dir))
        {
            return;
        }
        match done.result {
            Err(panic) => self.show(
                MessageType::ERROR,
                format!(
                    "gomaplint: the analysis of `{}` failed: {panic}; this is a bug in gomaplint \
                     (please report it with the file); the server goes on",
                    done.dir.display()
                ),
            ),
            Ok(Err(config_error)) => self.config_error(&done.dir, &config_error),
            Ok(Ok(outcome)) => {
                self.log(
                    MessageType::LOG,
                    format!(
                        "gomaplint: `{}` linted in {:.1} ms: {} findings",
                        done.dir.display(),
                        done.elapsed.as_secs_f64() * 1000.0,
                        outcome.diagnostics.len()
                    ),
                );
                if self.shown_config_error.take().is_some() {
                    self.show(
                        MessageType::INFO,
                        "gomaplint: the configuration is usable again".into(),
                    );
                }
                self.outcome(&done.dir, &outcome);
            }
        }
    }

    fn outcome(&mut self, dir: &Path, outcome: &Outcome) {
        let encoding = self.encoding;
        let docs_folder = self.docs_folder.clone();
        let mut texts: BTreeMap<String, Option<Arc<str>>> = BTreeMap::new();
        let documents = &self.documents;
        let mut text_of = |path: &str| -> Option<Arc<str>> {
            texts
                .entry(path.to_string())
                .or_insert_with(|| {
                    let open = documents
                        .values()
                        .find(|d| d.path.as_os_str() == path)
                        .map(|d| d.text.clone());
                    open.or_else(|| outcome.sources.get(path).map(|s| Arc::from(s.as_str())))
                        .or_else(|| std::fs::read_to_string(path).ok().map(Arc::from))
                })
                .clone()
        };
        // An open file keeps the URI its editor gave, however it spells the path.
        let uri_of = |path: &str| -> Option<Url> {
            documents
                .iter()
                .find(|(_, d)| d.path.as_os_str() == path)
                .map(|(uri, _)| uri.clone())
                .or_else(|| Url::from_file_path(path).ok())
        };
        let mut by_file: BTreeMap<Url, (Vec<lsp_types::Diagnostic>, Vec<Finding>)> =
            BTreeMap::new();
        for d in &outcome.diagnostics {
            let Some(uri) = uri_of(&d.span.path) else {
                continue;
            };
            let lsp = convert::diagnostic(d, &mut text_of, encoding, docs_folder.as_deref());
            let removal =
                text_of(&d.span.path).and_then(|text| defer_recover_removal(&text, d, encoding));
            let entry = by_file.entry(uri).or_default();
            entry.1.push(Finding {
                diagnostic: lsp.clone(),
                code: d.code,
                removal,
            });
            entry.0.push(lsp);
        }
        for warning in &outcome.warnings {
            if let Some((path, line, column, message)) = split_warning(warning) {
                let Some(uri) = uri_of(path) else {
                    continue;
                };
                let start = match text_of(path) {
                    Some(text) => char_position(&text, line, column, encoding),
                    None => Position::new(line.saturating_sub(1) as u32, 0),
                };
                by_file
                    .entry(uri)
                    .or_default()
                    .0
                    .push(lsp_types::Diagnostic {
                        range: Range::new(start, start),
                        severity: Some(DiagnosticSeverity::WARNING),
                        source: Some("gomaplint".into()),
                        message: message.to_string(),
                        ..lsp_types::Diagnostic::default()
                    });
            } else {
                self.log(MessageType::WARNING, format!("gomaplint: {warning}"));
            }
        }
        for error in &outcome.errors {
            self.log(MessageType::ERROR, format!("gomaplint: {error}"));
        }
        // Every open file of the package gets a list, if only an empty one.
        for (uri, doc) in &self.documents {
            if doc.path.parent() == Some(dir) {
                by_file.entry(uri.clone()).or_default();
            }
        }
        let now: HashSet<Url> = by_file.keys().cloned().collect();
        let before = self.published.insert(dir.to_path_buf(), now.clone());
        for uri in before.unwrap_or_default().difference(&now) {
            self.publish(uri.clone(), Vec::new());
        }
        for (uri, (diagnostics, findings)) in by_file {
            self.findings.insert(uri.clone(), findings);
            self.publish(uri, diagnostics);
        }
    }

    /// A configuration that cannot be used: shown where it is wrong and as a
    /// message (once), and the package shows no findings until it is fixed.
    fn config_error(&mut self, dir: &Path, e: &ConfigError) {
        let text = e.to_string();
        if self.shown_config_error.as_deref() != Some(text.as_str()) {
            self.show(
                MessageType::ERROR,
                format!(
                    "gomaplint: cannot use the configuration: {text}{}",
                    e.help
                        .as_deref()
                        .map(|h| format!(" (help: {h})"))
                        .unwrap_or_default()
                ),
            );
            self.shown_config_error = Some(text);
        }
        let path = std::path::absolute(&e.path).unwrap_or_else(|_| PathBuf::from(&e.path));
        let mut now = HashSet::new();
        if let Ok(uri) = Url::from_file_path(&path) {
            let range = match &e.span {
                Some(span) => Range::new(
                    convert::position(&e.text, span.start, self.encoding),
                    convert::position(&e.text, span.end, self.encoding),
                ),
                None => Range::default(),
            };
            let diagnostic = lsp_types::Diagnostic {
                range,
                severity: Some(DiagnosticSeverity::ERROR),
                source: Some("gomaplint".into()),
                message: match &e.help {
                    Some(help) => format!("{}\nhelp: {help}", e.message),
                    None => e.message.clone(),
                },
                ..lsp_types::Diagnostic::default()
            };
            now.insert(uri.clone());
            self.publish(uri, vec![diagnostic]);
        }
        let before = self.published.insert(dir.to_path_buf(), now.clone());
        for uri in before.unwrap_or_default().difference(&now) {
            self.publish(uri.clone(), Vec::new());
        }
        let open: Vec<Url> = self
            .documents
            .iter()
            .filter(|(_, d)| parent(&d.path) == dir)
            .map(|(u, _)| u.clone())
            .collect();
        for uri in open {
            self.publish(uri, Vec::new());
        }
    }

    /// Clears what the package in `dir` showed: its last open file closed.
    pub(super) fn clear(&mut self, dir: &Path) {
        for uri in self.published.remove(dir).unwrap_or_default() {
            self.publish(uri, Vec::new());
        }
    }

    fn publish(&mut self, uri: Url, diagnostics: Vec<lsp_types::Diagnostic>) {
        if diagnostics.is_empty() {
            self.findings.remove(&uri);
        }
        let version = self.documents.get(&uri).map(|d| d.version);
        self.notify::<PublishDiagnostics>(PublishDiagnosticsParams {
            uri,
            diagnostics,
            version,
        });
    }
}

/// `path:line:column: message` or `path:line: message`, as the library
/// words its warnings; `None` for a warning without a place.
fn split_warning(warning: &str) -> Option<(&str, usize, usize, &str)> {
    // Paths are absolute here, and may hold `:` themselves: find the line
    // number from the right of the path's end, which `.go:` marks.
    let end = warning.find(".go:")? + 3;
    let (path, rest) = (&warning[..end], &warning[end + 1..]);
    let mut parts = rest.splitn(3, ':');
    let line: usize = parts.next()?.parse().ok()?;
    let second = parts.next()?;
    match second.parse::<usize>() {
        Ok(column) => Some((path, line, column, parts.next()?.trim())),
        Err(_) => {
            let message = rest[rest.find(':')? + 1..].trim();
            Some((path, line, 1, message))
        }
    }
}

/// The position of a 1-based line and 1-based character column.
fn char_position(text: &str, line: usize, column: usize, encoding: convert::Encoding) -> Position {
    let line_start = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum::<usize>();
    let line_text = text[line_start..].split('\n').next().unwrap_or("");
    let byte = line_text
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(line_text.len(), |(i, _)| i);
    convert::position(text, line_start + byte, encoding)
}

/// For a `defer recover()` finding (GML002), the range that removes the
/// statement: its whole line when it stands alone there.
fn defer_recover_removal(
    text: &str,
    d: &crate::diagnostic::Diagnostic,
    encoding: convert::Encoding,
) -> Option<Range> {
    if d.code != rules::recover_cannot_catch_map_race::RULE.code {
        return None;
    }
    let (start, end) = (d.span.start_byte, d.span.end_byte);
    let call: String = text
        .get(start..end)?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if call != "recover()" {
        return None;
    }
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..start];
    let defer_at = line_start + before.trim_end().strip_suffix("defer")?.len();
    let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
    let after = text[end..line_end].trim();
    // A comment after it is about it, and goes with it.
    let alone =
        before.trim() == "defer" && (after.is_empty() || after == ";" || after.starts_with("//"));
    let (from, to) = if alone {
        (line_start, line_end)
    } else {
        (defer_at, end)
    };
    Some(Range::new(
        convert::position(text, from, encoding),
        convert::position(text, to, encoding),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_split_into_place_and_message() {
        assert_eq!(
            split_warning("/a/b.go:3:7: syntax error (or newer Go)"),
            Some(("/a/b.go", 3, 7, "syntax error (or newer Go)"))
        );
        assert_eq!(
            split_warning("/a:b/c.go:12: malformed suppression: write `x`"),
            Some(("/a:b/c.go", 12, 1, "malformed suppression: write `x`"))
        );
        assert_eq!(split_warning("no place here"), None);
    }

    #[test]
    fn character_columns_become_positions() {
        let text = "a\n\té😀x\n";
        // Column 4 of line 2 is `x`, after a tab, `é` and `😀`.
        assert_eq!(
            char_position(text, 2, 4, convert::Encoding::Utf16),
            Position::new(1, 4)
        );
        assert_eq!(
            char_position(text, 2, 4, convert::Encoding::Utf8),
            Position::new(1, 7)
        );
    }

    fn removal(text: &str) -> Option<String> {
        let start = text.find("recover()").unwrap();
        let d = crate::diagnostic::Diagnostic {
            code: "GML002",
            name: "recover-cannot-catch-map-race",
            severity: crate::diagnostic::Severity::Warning,
            message: String::new(),
            span: crate::diagnostic::Span {
                path: "a.go".into(),
                line: 1,
                column: 1,
                end_line: 1,
                end_column: 1,
                start_byte: start,
                end_byte: start + "recover()".len(),
            },
            label: String::new(),
            labels: Vec::new(),
            witness: None,
            help: None,
        };
        let range = defer_recover_removal(text, &d, convert::Encoding::Utf8)?;
        let from = convert::offset(text, range.start, convert::Encoding::Utf8);
        let to = convert::offset(text, range.end, convert::Encoding::Utf8);
        let mut out = text.to_string();
        out.replace_range(from..to, "");
        Some(out)
    }

    #[test]
    fn defer_recover_goes_with_its_line_when_alone() {
        assert_eq!(
            removal("\tx()\n\tdefer recover() // no\n\ty()\n").as_deref(),
            Some("\tx()\n\ty()\n")
        );
        assert_eq!(
            removal("\tx(); defer recover(); y()\n").as_deref(),
            Some("\tx(); ; y()\n")
        );
        // Not deferred: nothing to remove.
        assert_eq!(removal("\tr := recover()\n"), None);
    }
}
