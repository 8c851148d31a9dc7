//! What a run did and how long each phase took, for `--stats`: one
//! `stats: <key> <value>` line each on stderr, in a fixed order (the README's
//! Performance section lists the keys).

use std::io::{self, Write};
use std::time::Duration;

/// Counts, and time per phase. The times of read, prefilter, parse, model and
/// rules are summed over packages: with several threads they add up to more
/// than the wall time.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub discover: Duration,
    pub read: Duration,
    pub prefilter: Duration,
    pub parse: Duration,
    /// Package grouping, suppression directives and the package model's
    /// declarations; what the model finds lazily counts under `rules`.
    pub model: Duration,
    pub rules: Duration,
    pub render: Duration,
    /// Files read, with the context files of a package named file by file.
    pub files: usize,
    /// Package folders (a folder's `x_test` package counts with it).
    pub packages: usize,
    /// Bytes of the files read.
    pub bytes: u64,
    /// Files read but not parsed: their packages passed no prefilter word.
    pub prefilter_skipped: usize,
    /// Files parsed: the model parses a file when its questions reach it.
    pub files_parsed: usize,
    /// Findings reported, after suppressions (and the baseline, if any).
    pub findings: usize,
}

impl Stats {
    /// Adds another package's counts and times.
    pub fn add(&mut self, other: &Stats) {
        self.discover += other.discover;
        self.read += other.read;
        self.prefilter += other.prefilter;
        self.parse += other.parse;
        self.model += other.model;
        self.rules += other.rules;
        self.render += other.render;
        self.files += other.files;
        self.packages += other.packages;
        self.bytes += other.bytes;
        self.prefilter_skipped += other.prefilter_skipped;
        self.files_parsed += other.files_parsed;
        self.findings += other.findings;
    }

    /// Writes the `stats:` lines; `wall` is the whole run, `threads` the
    /// worker threads.
    pub fn write(&self, out: &mut impl Write, wall: Duration, threads: usize) -> io::Result<()> {
        let phases = [
            ("discover", self.discover),
            ("read", self.read),
            ("prefilter", self.prefilter),
            ("parse", self.parse),
            ("model", self.model),
            ("rules", self.rules),
            ("render", self.render),
        ];
        writeln!(out, "stats: wall {:.3} s", wall.as_secs_f64())?;
        for (name, time) in phases {
            writeln!(out, "stats: time-{name} {:.3} s", time.as_secs_f64())?;
        }
        writeln!(out, "stats: threads {threads}")?;
        writeln!(out, "stats: files {}", self.files)?;
        writeln!(out, "stats: packages {}", self.packages)?;
        writeln!(out, "stats: bytes {}", self.bytes)?;
        writeln!(
            out,
            "stats: prefilter-skipped-files {}",
            self.prefilter_skipped
        )?;
        writeln!(out, "stats: files-parsed {}", self.files_parsed)?;
        writeln!(out, "stats: findings {}", self.findings)?;
        match peak_rss_kb() {
            Some(kb) => writeln!(out, "stats: peak-rss {kb} kB"),
            None => writeln!(out, "stats: peak-rss unknown"),
        }
    }
}

/// The process's peak resident memory so far (`VmHWM`), where Linux tells it.
pub fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()
}
