//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{self, Write};

use serde_json::{Value, json};

use super::Emitter;
use crate::Outcome;
use crate::diagnostic::{Diagnostic, Severity, Span};
use crate::rules::RULES;

pub struct Sarif;

/// A relative path as a URI reference (forward slashes, reserved bytes
/// percent-encoded); an absolute path as a `file://` URI.
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut out = String::new();
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    if path.starts_with('/') {
        format!("file://{out}")
    } else {
        out
    }
}

/// The folder relative paths start from: the working folder, as a `file://` URI ending in `/`.
fn srcroot() -> String {
    let cwd = std::env::current_dir()
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "/".into());
    let mut root = uri(&cwd);
    if !root.ends_with('/') {
        root.push('/');
    }
    root
}

fn location(span: &Span) -> Value {
    let mut artifact = json!({ "uri": uri(&span.path) });
    if !span.path.starts_with('/') {
        artifact["uriBaseId"] = json!("%SRCROOT%");
    }
    json!({
        "physicalLocation": {
            "artifactLocation": artifact,
            "region": {
                "startLine": span.line,
                "startColumn": span.column,
                "endLine": span.end_line,
                "endColumn": span.end_column,
            }
        }
    })
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// A fingerprint that survives edits elsewhere in the file: the rule, the
/// path, the text of the reported line, and which occurrence of that same
/// text it is. Stable across runs and thread counts.
fn fingerprint(d: &Diagnostic, line_text: &str, occurrence: usize) -> String {
    let mut h = DefaultHasher::new();
    (d.code, &d.span.path, line_text.trim(), occurrence).hash(&mut h);
    format!("{:016x}:{occurrence}", h.finish())
}

fn rule_descriptor(rule: &crate::rules::Rule) -> Value {
    json!({
        "id": rule.code,
        "name": rule.name,
        "shortDescription": { "text": rule.summary },
        "fullDescription": { "text": rule.summary },
        "help": { "text": rule.docs, "markdown": rule.docs },
        "defaultConfiguration": { "level": level(rule.severity) },
        "properties": { "tags": ["concurrency", "correctness"], "precision": "high" },
    })
}

impl Emitter for Sarif {
    fn emit(&self, out: &mut dyn Write, outcome: &Outcome) -> io::Result<()> {
        let mut seen: HashMap<(String, &str, String), usize> = HashMap::new();
        let results: Vec<Value> = outcome
            .diagnostics
            .iter()
            .map(|d| {
                let line_text = outcome
                    .sources
                    .get(&d.span.path)
                    .and_then(|s| s.lines().nth(d.span.line - 1))
                    .unwrap_or("")
                    .to_string();
                let n = seen.entry((d.span.path.clone(), d.code, line_text.trim().to_string())).or_default();
                let occurrence = *n;
                *n += 1;
                let related: Vec<Value> = d
                    .labels
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        let mut loc = location(&l.span);
                        loc["id"] = json!(i + 1);
                        loc["message"] = json!({ "text": l.message });
                        loc
                    })
                    .collect();
                let text = match &d.help {
                    Some(help) => format!("{}. {} (help: {help})", d.message, d.label),
                    None => format!("{}. {}", d.message, d.label),
                };
                json!({
                    "ruleId": d.code,
                    "ruleIndex": RULES.iter().position(|r| r.code == d.code).unwrap_or(0),
                    "level": level(d.severity),
                    "message": { "text": text },
                    "locations": [location(&d.span)],
                    "relatedLocations": related,
                    "partialFingerprints": { "gomaplint/v1": fingerprint(d, &line_text, occurrence) },
                })
            })
            .collect();
        let mut driver = json!({
            "name": "gomaplint",
            "version": env!("CARGO_PKG_VERSION"),
            "semanticVersion": env!("CARGO_PKG_VERSION"),
            "rules": RULES.iter().map(rule_descriptor).collect::<Vec<_>>(),
        });
        // The project's home, once Cargo.toml names one.
        if let Some(home) = option_env!("CARGO_PKG_REPOSITORY").filter(|r| !r.is_empty()) {
            driver["informationUri"] = json!(home);
        }
        let log = json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": { "driver": driver },
                "columnKind": "unicodeCodePoints",
                "originalUriBaseIds": { "%SRCROOT%": { "uri": srcroot() } },
                "results": results,
            }]
        });
        serde_json::to_writer_pretty(&mut *out, &log)?;
        writeln!(out)
    }
}
