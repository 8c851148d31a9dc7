//! Stable fingerprints of findings, shared by SARIF's `partialFingerprints`
//! and the baseline file, so that a finding keeps its identity when unrelated
//! lines move above it.
//!
//! A fingerprint hashes the rule code and the text of the reported line
//! (trimmed), and counts which occurrence of that same text in the file it
//! is. The hash is XXH3-64, a published algorithm, so fingerprints stay the
//! same across gomaplint builds, platforms, runs and thread counts.

use std::collections::HashMap;

use crate::Outcome;

/// The fingerprint of each diagnostic of the outcome, in order.
pub fn fingerprints(outcome: &Outcome) -> Vec<String> {
    let mut seen: HashMap<(&str, &str, &str), usize> = HashMap::new();
    outcome
        .diagnostics
        .iter()
        .map(|d| {
            let line = outcome
                .sources
                .get(&d.span.path)
                .and_then(|s| s.lines().nth(d.span.line.saturating_sub(1)))
                .unwrap_or("")
                .trim();
            let n = seen.entry((&d.span.path, d.code, line)).or_default();
            let occurrence = *n;
            *n += 1;
            of(d.code, line, occurrence)
        })
        .collect()
}

/// The fingerprint of a finding of rule `code` on a line with this text.
pub fn of(code: &str, line_text: &str, occurrence: usize) -> String {
    let mut bytes = Vec::with_capacity(code.len() + line_text.len() + 1);
    bytes.extend_from_slice(code.as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(line_text.trim().as_bytes());
    format!("{:016x}:{occurrence}", xxhash_rust::xxh3::xxh3_64(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_independent_of_indentation() {
        // A published hash: the value never changes between builds (this one
        // is what Python's `xxhash.xxh3_64(b"GML001\0m[k] = v")` gives).
        assert_eq!(
            of("GML001", "m[k] = v", 0),
            of("GML001", "\t\tm[k] = v  ", 0)
        );
        assert_ne!(of("GML001", "m[k] = v", 0), of("GML003", "m[k] = v", 0));
        assert_ne!(of("GML001", "m[k] = v", 0), of("GML001", "m[k] = v", 1));
        assert_eq!(of("GML001", "m[k] = v", 0), "3913d67403e6da09:0");
    }
}
