//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::Emitter;
use crate::Outcome;
use crate::diagnostic::{Label, Severity, Side, Span, Witness};
use crate::rules::{RULES, precision};

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

fn rule_descriptor(rule: &crate::rules::Rule) -> Value {
    let mut properties = json!({ "tags": ["concurrency", "correctness"] });
    // Measured on the ledger's held-out `check` set; a rule with no finding
    // there has no measured precision, and claims none.
    let measured = precision::of(rule.code);
    let help = format!(
        "{}\n\n## Measured precision\n\n{}.\n",
        rule.docs.trim_end(),
        measured.describe()
    );
    if let Some(level) = measured.level() {
        properties["precision"] = json!(level.as_str());
        properties["gomaplint/precision"] = json!({
            "set": "check",
            "measured": precision::MEASUREMENT.measured,
            "real": measured.real,
            "unclear": measured.unclear,
            "false": measured.false_alarms,
        });
    }
    json!({
        "id": rule.code,
        "name": rule.name,
        "shortDescription": { "text": rule.summary },
        "fullDescription": { "text": rule.summary },
        "help": { "text": help, "markdown": help },
        "defaultConfiguration": { "level": level(rule.severity) },
        "properties": properties,
    })
}

/// A race's witness as one code flow with a thread flow per side, from where
/// the side's concurrent code starts to its access: code scanning shows the
/// two paths. Code that races with another run of itself has two equal flows.
fn code_flows(witness: &Witness) -> Value {
    let step = |label: &Label| {
        let mut loc = location(&label.span);
        loc["message"] = json!({ "text": label.message });
        json!({ "location": loc })
    };
    let flow = |side: &Side| {
        let mut steps = vec![step(&side.root)];
        steps.extend(side.calls.iter().map(step));
        let mut access = side.access.clone();
        if !side.locks.is_empty() {
            access.message = format!("{} (holding {})", access.message, side.locks.join(", "));
        }
        steps.push(step(&access));
        json!({ "locations": steps })
    };
    let mut flows: Vec<Value> = witness.sides.iter().map(flow).collect();
    if witness.runs_twice {
        flows.extend(witness.sides.iter().map(flow));
    }
    json!([{
        "message": { "text": if witness.runs_twice {
            "the same code, running twice at once"
        } else {
            "two pieces of code that can run at the same time"
        } },
        "threadFlows": flows,
    }])
}

impl Emitter for Sarif {
    fn emit(&self, out: &mut dyn Write, outcome: &Outcome) -> io::Result<()> {
        let fingerprints = crate::fingerprint::fingerprints(outcome);
        let results: Vec<Value> = outcome
            .diagnostics
            .iter()
            .zip(&fingerprints)
            .map(|(d, fingerprint)| {
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
                let mut result = json!({
                    "ruleId": d.code,
                    "ruleIndex": RULES.iter().position(|r| r.code == d.code).unwrap_or(0),
                    "level": level(d.severity),
                    "message": { "text": text },
                    "locations": [location(&d.span)],
                    "relatedLocations": related,
                    "partialFingerprints": { "gomaplint/v1": fingerprint },
                });
                if let Some(witness) = &d.witness {
                    result["codeFlows"] = code_flows(witness);
                }
                result
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
