//! Baselines: the findings an existing codebase already has, recorded so that
//! a run reports only new ones (`--write-baseline FILE`, `--baseline FILE`).
//!
//! An entry is matched by its file (relative to the baseline's folder, so the
//! file works from any working folder), its rule and its fingerprint (see
//! [`crate::fingerprint`]), never by line number: a finding stays matched when
//! unrelated lines move above it. The line and message are kept for people
//! reading the file.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Outcome;

/// The format marker and version of the file.
const FORMAT: &str = "gomaplint-baseline/v1";

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    /// Relative to the baseline file's folder, with `/` separators.
    pub path: String,
    pub code: String,
    pub fingerprint: String,
    /// Where the finding was when it was recorded (not used for matching).
    pub line: usize,
    pub message: String,
}

#[derive(Serialize, Deserialize)]
struct File {
    format: String,
    findings: Vec<Entry>,
}

#[derive(Debug)]
pub struct Baseline {
    /// The file, as given.
    pub path: PathBuf,
    pub entries: Vec<Entry>,
}

/// What applying a baseline did.
#[derive(Debug, Default)]
pub struct Applied {
    /// Findings hidden because the baseline has them.
    pub hidden: usize,
    /// Entries for files this run checked that match no finding: fixed, or
    /// changed beyond recognition.
    pub stale: Vec<Entry>,
}

/// Maps display paths to the baseline's relative paths.
struct Paths {
    dir: PathBuf,
    cache: HashMap<String, String>,
}

impl Paths {
    fn new(baseline: &Path) -> Paths {
        let dir = baseline
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Paths {
            dir: std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()),
            cache: HashMap::new(),
        }
    }

    fn relative(&mut self, display: &str) -> String {
        if let Some(rel) = self.cache.get(display) {
            return rel.clone();
        }
        let rel = std::fs::canonicalize(display)
            .ok()
            .and_then(|abs| abs.strip_prefix(&self.dir).ok().map(Path::to_path_buf))
            .map(|rel| {
                rel.components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .unwrap_or_else(|| display.replace('\\', "/"));
        self.cache.insert(display.to_string(), rel.clone());
        rel
    }
}

impl Baseline {
    /// Reads a baseline file written by `--write-baseline`.
    pub fn read(path: &Path) -> Result<Baseline, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "cannot read the baseline `{}`: {}; create it with `--write-baseline {}`",
                path.display(),
                crate::discover::io_reason(&e),
                path.display()
            )
        })?;
        let file: File = serde_json::from_str(&text).map_err(|e| {
            format!(
                "`{}` is not a gomaplint baseline ({e}); write it again with `--write-baseline {}`",
                path.display(),
                path.display()
            )
        })?;
        if file.format != FORMAT {
            return Err(format!(
                "`{}` is a baseline of format `{}`, and this gomaplint reads `{FORMAT}`; write it again with `--write-baseline {}`",
                path.display(),
                file.format,
                path.display()
            ));
        }
        Ok(Baseline {
            path: path.to_path_buf(),
            entries: file.findings,
        })
    }

    /// Removes the findings the baseline records from the outcome.
    pub fn apply(&self, outcome: &mut Outcome) -> Applied {
        let mut paths = Paths::new(&self.path);
        let current = entries_with(outcome, &mut paths);
        let recorded: HashSet<(&str, &str, &str)> = self
            .entries
            .iter()
            .map(|e| (e.path.as_str(), e.code.as_str(), e.fingerprint.as_str()))
            .collect();
        let mut keep = Vec::with_capacity(current.len());
        let mut matched = HashSet::new();
        for e in &current {
            let key = (e.path.as_str(), e.code.as_str(), e.fingerprint.as_str());
            let hidden = recorded.contains(&key);
            if hidden {
                matched.insert(key);
            }
            keep.push(!hidden);
        }
        let before = outcome.diagnostics.len();
        let mut keep = keep.into_iter();
        outcome.diagnostics.retain(|_| keep.next().unwrap_or(true));
        let checked: HashSet<String> = outcome
            .checked_files
            .iter()
            .map(|f| paths.relative(f))
            .collect();
        let stale = self
            .entries
            .iter()
            .filter(|e| checked.contains(&e.path))
            .filter(|e| {
                !matched.contains(&(e.path.as_str(), e.code.as_str(), e.fingerprint.as_str()))
            })
            .cloned()
            .collect();
        Applied {
            hidden: before - outcome.diagnostics.len(),
            stale,
        }
    }
}

fn entries_with(outcome: &Outcome, paths: &mut Paths) -> Vec<Entry> {
    let fingerprints = crate::fingerprint::fingerprints(outcome);
    outcome
        .diagnostics
        .iter()
        .zip(fingerprints)
        .map(|(d, fingerprint)| Entry {
            path: paths.relative(&d.span.path),
            code: d.code.to_string(),
            fingerprint,
            line: d.span.line,
            message: d.message.clone(),
        })
        .collect()
}

/// Writes the outcome's findings as the baseline at `path`. Entries of an
/// existing baseline there for files this run did not check are kept, so a
/// run on part of a repository does not forget the rest. Returns how many
/// entries the file holds.
pub fn write(path: &Path, outcome: &Outcome) -> Result<usize, String> {
    let mut paths = Paths::new(path);
    let mut entries: BTreeSet<Entry> = entries_with(outcome, &mut paths).into_iter().collect();
    if let Ok(old) = Baseline::read(path) {
        let checked: HashSet<String> = outcome
            .checked_files
            .iter()
            .map(|f| paths.relative(f))
            .collect();
        entries.extend(
            old.entries
                .into_iter()
                .filter(|e| !checked.contains(&e.path)),
        );
    }
    let file = File {
        format: FORMAT.to_string(),
        findings: entries.into_iter().collect(),
    };
    let mut text = serde_json::to_string_pretty(&file).expect("plain data serializes");
    text.push('\n');
    std::fs::write(path, text).map_err(|e| {
        format!(
            "cannot write the baseline `{}`: {}",
            path.display(),
            crate::discover::io_reason(&e)
        )
    })?;
    Ok(file.findings.len())
}
