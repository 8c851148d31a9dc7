//! gomaplint: finds Go map accesses that can race and crash the process with
//! `fatal error: concurrent map writes`.
//!
//! Data flows one way: discover -> parse (parallel) -> package model -> rules ->
//! suppressions -> sort -> render. Packages are linted one at a time per
//! worker thread and dropped when done, so that memory follows the largest
//! package, not the repository (see `lint_packages`).

pub mod baseline;
pub mod config;
pub mod diagnostic;
pub mod discover;
pub mod fingerprint;
pub mod model;
pub mod output;
pub mod parse;
pub mod prefilter;
pub mod queries;
pub mod rules;
pub mod server;
pub mod source;
pub mod stats;
pub mod suppress;
pub mod syntax;
pub mod trace;

use std::collections::VecDeque;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rayon::prelude::*;

use diagnostic::{Diagnostic, Severity};
use discover::Target;
use source::SourceFile;
use stats::Stats;

/// The result of a run, ready to render.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Sorted by path, line, column, code.
    pub diagnostics: Vec<Diagnostic>,
    /// The text of every file that has a diagnostic, by display path.
    pub sources: BTreeMap<String, String>,
    /// Paths that could not be read: the run went on without them.
    pub errors: Vec<String>,
    /// Problems worth telling that do not stop the run (syntax errors, bad directives).
    pub warnings: Vec<String>,
    pub files_checked: usize,
    /// The display paths of the files checked (those whose findings are reported).
    pub checked_files: Vec<String>,
    /// Findings a baseline hid (see `baseline`).
    pub baseline_hidden: usize,
    /// Counts and time per phase (`--stats`).
    pub stats: Stats,
}

/// How the rules run on one package: which ones, and at what severity.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub selection: rules::Selection,
    /// Severity per rule code, replacing the rule's own.
    pub severity: BTreeMap<&'static str, Severity>,
}

/// The rule choices of the command line, which override the configuration's.
#[derive(Clone, Debug, Default)]
pub struct RuleOverrides {
    /// `--select`: replaces the configuration's `select` and `ignore`.
    pub select: Option<Vec<&'static str>>,
    /// `--ignore`: removed from what the configuration selects.
    pub ignore: Vec<&'static str>,
}

/// What to lint, with each package's settings: discovery and configuration
/// resolved, nothing parsed yet.
#[derive(Debug, Default)]
pub struct Plan {
    /// The files of each package folder, and the settings that apply there.
    pub packages: Vec<(Vec<Target>, Arc<Settings>)>,
    /// Paths that could not be read.
    pub errors: Vec<String>,
    /// Configuration files that cannot be used: the run must not go on.
    pub config_errors: Vec<config::ConfigError>,
    /// `output-format` of the configuration that applies to the first path.
    pub output_format: Option<output::Format>,
    /// How long discovery and configuration took.
    pub discover_time: std::time::Duration,
}

/// Finds the files to lint and the configuration of each package.
pub fn plan(paths: &[String], source: config::Source, overrides: &RuleOverrides) -> Plan {
    let start = Instant::now();
    let discovery = discover::discover(paths);
    let mut plan = Plan {
        errors: discovery.errors,
        ..Plan::default()
    };
    let mut resolver = config::Resolver::new(source);
    let mut config_errors = Vec::new();
    let mut note = |e: config::ConfigError| {
        if !config_errors.contains(&e) {
            config_errors.push(e);
        }
    };
    // Run-wide settings come from the configuration of the first path.
    if let Some(first) = paths.first() {
        let root = Path::new(discover::strip_go_pattern(first));
        let dir = if root.is_file() {
            root.parent().unwrap_or(Path::new(""))
        } else {
            root
        };
        match resolver.for_dir(dir) {
            Ok(config) => plan.output_format = config.and_then(|c| c.output_format),
            Err(e) => note(e),
        }
    }
    let mut by_dir: BTreeMap<PathBuf, Vec<Target>> = BTreeMap::new();
    for target in discovery.targets {
        let dir = target
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        by_dir.entry(dir).or_default().push(target);
    }
    let mut settings: HashMap<Option<PathBuf>, Arc<Settings>> = HashMap::new();
    for (dir, mut targets) in by_dir {
        let config = match resolver.for_dir(&dir) {
            Ok(config) => config,
            Err(e) => {
                note(e);
                continue;
            }
        };
        if let Some(config) = &config {
            let canonical_dir = std::fs::canonicalize(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                &dir
            })
            .unwrap_or_else(|_| dir.clone());
            for t in &mut targets {
                if let Some(name) = t.path.file_name()
                    && config.excludes(&canonical_dir.join(name))
                {
                    t.report = false;
                }
            }
        }
        if !targets.iter().any(|t| t.report) {
            continue;
        }
        let key = config.as_ref().map(|c| c.path.clone());
        let package_settings = settings
            .entry(key)
            .or_insert_with(|| Arc::new(settings_for(config.as_deref(), overrides)))
            .clone();
        plan.packages.push((targets, package_settings));
    }
    plan.config_errors = config_errors;
    plan.discover_time = start.elapsed();
    plan
}

/// A configuration's settings with the command line's on top.
fn settings_for(config: Option<&config::Config>, overrides: &RuleOverrides) -> Settings {
    let mut layers: Vec<(Option<&[&'static str]>, &[&'static str])> = Vec::new();
    if let Some(c) = config {
        layers.push((c.select.as_deref(), &c.ignore));
    }
    layers.push((overrides.select.as_deref(), &overrides.ignore));
    Settings {
        selection: rules::Selection::layered(&layers),
        severity: config.map(|c| c.severity.clone()).unwrap_or_default(),
    }
}

/// Lints what a plan found.
pub fn lint_plan(plan: Plan, options: Options) -> Outcome {
    let mut outcome = lint_packages(plan.packages, options);
    outcome.errors.splice(0..0, plan.errors);
    outcome.stats.discover = plan.discover_time;
    outcome
}

/// Lints the given paths (files, folders, `./...` patterns) with every rule.
pub fn lint(paths: &[String]) -> Outcome {
    lint_with(paths, &rules::Selection::default())
}

/// How a run goes, besides which rules run.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Skip parsing packages in which no rule can report anything (see
    /// `prefilter`). The findings are the same either way.
    pub prefilter: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { prefilter: true }
    }
}

/// Lints the given paths with the selected rules.
pub fn lint_with(paths: &[String], selection: &rules::Selection) -> Outcome {
    lint_with_options(paths, selection, Options::default())
}

/// Lints the given paths with the selected rules and options.
pub fn lint_with_options(
    paths: &[String],
    selection: &rules::Selection,
    options: Options,
) -> Outcome {
    let start = Instant::now();
    let discovery = discover::discover(paths);
    let discover_time = start.elapsed();
    let mut outcome = lint_targets_with(discovery.targets, selection, options);
    outcome.errors.splice(0..0, discovery.errors);
    outcome.stats.discover = discover_time;
    outcome
}

/// A package folder's files and the settings that apply there.
type PackageFiles = (Vec<Target>, Arc<Settings>);

struct PackageResult {
    diagnostics: Vec<Diagnostic>,
    sources: Vec<(String, String)>,
    errors: Vec<String>,
    warnings: Vec<String>,
    files: usize,
    checked: Vec<String>,
    stats: Stats,
}

/// Lints the files, one Go package (folder) per task.
pub fn lint_targets(targets: Vec<Target>, selection: &rules::Selection) -> Outcome {
    lint_targets_with(targets, selection, Options::default())
}

/// Lints the files with the given options, one Go package (folder) per task.
pub fn lint_targets_with(
    targets: Vec<Target>,
    selection: &rules::Selection,
    options: Options,
) -> Outcome {
    let mut by_dir: BTreeMap<PathBuf, Vec<Target>> = BTreeMap::new();
    for target in targets {
        let dir = target
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        by_dir.entry(dir).or_default().push(target);
    }
    let settings = Arc::new(Settings {
        selection: selection.clone(),
        severity: BTreeMap::new(),
    });
    let packages = by_dir
        .into_values()
        .map(|files| (files, settings.clone()))
        .collect();
    lint_packages(packages, options)
}

/// Lints packages (the files of one folder each), each with its settings.
///
/// Each worker thread takes one package at a time, reads, parses, models and
/// checks it, and keeps only its diagnostics and the text of files that have
/// one; the trees are dropped before the next package. Packages start largest
/// first, so that the biggest does not start last and leave the other threads
/// idle, and a package starts only while the packages in flight stay within a
/// budget of source bytes (see `Scheduler`). The output does not depend on the
/// number of threads: results are put together in the packages' order.
pub fn lint_packages(packages: Vec<PackageFiles>, options: Options) -> Outcome {
    let sizes: Vec<u64> = packages
        .iter()
        .map(|(files, _)| {
            files
                .iter()
                .map(|t| std::fs::metadata(&t.path).map_or(0, |m| m.len()))
                .sum()
        })
        .collect();
    let scheduler = Scheduler::new(&sizes);
    let inputs: Vec<Mutex<Option<PackageFiles>>> =
        packages.into_iter().map(|p| Mutex::new(Some(p))).collect();
    let results: Vec<Mutex<Option<PackageResult>>> =
        inputs.iter().map(|_| Mutex::new(None)).collect();
    rayon::broadcast(|_| {
        while let Some(i) = scheduler.next() {
            let taken = inputs[i].lock().expect("no worker panics").take();
            if let Some((files, settings)) = taken {
                let r = lint_folder(files, &settings, options, &Overlay::new(), None);
                *results[i].lock().expect("no worker panics") = Some(r);
            }
            // Before a large package's weight is free for the next one.
            if sizes[i] >= RELEASE_AFTER {
                parse::release_freed_memory();
            }
            scheduler.done(i);
        }
    });
    let mut outcome = Outcome::default();
    for r in results {
        let Some(r) = r.into_inner().expect("no worker panics") else {
            continue;
        };
        outcome.diagnostics.extend(r.diagnostics);
        outcome.sources.extend(r.sources);
        outcome.errors.extend(r.errors);
        outcome.warnings.extend(r.warnings);
        outcome.files_checked += r.files;
        outcome.checked_files.extend(r.checked);
        outcome.stats.add(&r.stats);
    }
    outcome.checked_files.sort();
    outcome
        .diagnostics
        .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    outcome.diagnostics.dedup();
    outcome.stats.findings = outcome.diagnostics.len();
    outcome
}

/// Source bytes in flight that any set of packages may use together. A
/// parsed file takes about 30 times its source in memory (tree-sitter's
/// trees, mostly); the model parses only the files it needs, which in the
/// largest packages is far from all, so a package counts at most this much.
const BYTES_IN_FLIGHT: u64 = 4_000_000;

/// Packages of this many source bytes or more give their freed memory back
/// when they are done (`parse::release_freed_memory`).
const RELEASE_AFTER: u64 = 2_000_000;

/// Source bytes that may run beside a package of `BYTES_IN_FLIGHT` or more:
/// while one thread models it, the others take small packages instead of
/// waiting.
const BESIDE_LARGEST: u64 = 250_000;

/// Hands packages to worker threads: largest first, and only while the
/// source bytes of the packages in flight, each counted at most
/// `BYTES_IN_FLIGHT`, stay within `BYTES_IN_FLIGHT + BESIDE_LARGEST`: two
/// large packages never run at once.
struct Scheduler<'s> {
    sizes: &'s [u64],
    budget: u64,
    /// Packages not started, largest first, and the bytes in flight.
    state: Mutex<(VecDeque<usize>, u64)>,
}

impl<'s> Scheduler<'s> {
    fn new(sizes: &'s [u64]) -> Self {
        let mut order: Vec<usize> = (0..sizes.len()).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(sizes[i]), i));
        Scheduler {
            sizes,
            budget: BYTES_IN_FLIGHT + BESIDE_LARGEST,
            state: Mutex::new((order.into(), 0)),
        }
    }

    /// What a package counts against the budget.
    fn weight(&self, package: usize) -> u64 {
        self.sizes[package].min(BYTES_IN_FLIGHT)
    }

    /// The next package to lint, or `None` when all have started.
    fn next(&self) -> Option<usize> {
        loop {
            {
                let mut state = self.state.lock().expect("no worker panics");
                let (pending, in_flight) = &mut *state;
                let &smallest = pending.back()?;
                let room = self.budget.saturating_sub(*in_flight);
                if *in_flight == 0 || self.weight(smallest) <= room {
                    // The largest package that fits: sizes fall along `pending`.
                    let at = if *in_flight == 0 {
                        0
                    } else {
                        pending.make_contiguous();
                        pending
                            .as_slices()
                            .0
                            .partition_point(|&p| self.weight(p) > room)
                    };
                    let package = pending.remove(at).expect("a package fits");
                    *in_flight += self.weight(package);
                    return Some(package);
                }
            }
            if rayon::yield_now() != Some(rayon::Yield::Executed) {
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
        }
    }

    fn done(&self, package: usize) {
        let mut state = self.state.lock().expect("no worker panics");
        state.1 -= self.weight(package);
    }
}

/// A file's text, read, with whether its findings are reported.
struct Read {
    target: Target,
    text: Vec<u8>,
    report: bool,
}

/// Texts that replace files on disk, by path: an editor's unsaved buffers.
pub type Overlay = HashMap<PathBuf, Vec<u8>>;

fn read(target: Target, overlay: &Overlay) -> Result<Read, String> {
    let text = match overlay.get(&target.path) {
        Some(text) => Ok(text.clone()),
        None => std::fs::read(&target.path),
    };
    match text {
        Ok(text) => {
            // Generated code is part of its package's model, but nobody edits it to fix a finding.
            let report = target.report && !discover::is_generated(&text);
            Ok(Read {
                target,
                text,
                report,
            })
        }
        Err(e) => Err(format!(
            "cannot read `{}`: {}; the rest of the run goes on without it",
            target.display,
            discover::io_reason(&e)
        )),
    }
}

enum Loaded {
    /// A parsed file, and whether its findings are reported.
    File(SourceFile, bool),
    Error(String),
}

fn parse_file(file: Read) -> Loaded {
    match parse::parse(&file.text) {
        Some(tree) => Loaded::File(
            SourceFile::new(file.target.path, file.target.display, file.text, tree),
            file.report,
        ),
        None => Loaded::Error(format!(
            "cannot parse `{}`: the parser gave up",
            file.target.display
        )),
    }
}

fn package_name(file: &SourceFile) -> String {
    match model::lexical::package_clause(&file.text) {
        Some(name) => name.to_string(),
        None => model::Package::package_name_of(file),
    }
}

/// Syntax trees kept from one run to the next (`gomaplint server`): a file
/// whose text has not changed is not parsed again. It holds the trees of the
/// last few package folders linted.
#[derive(Default)]
pub struct TreeCache {
    /// Most recently used last: per folder, per file, its text's hash and tree.
    folders: Vec<(PathBuf, FolderTrees)>,
}

/// Per file of a folder: the hash of the text it was parsed from, and its tree.
type FolderTrees = HashMap<PathBuf, (u64, tree_sitter::Tree)>;

impl TreeCache {
    /// Package folders whose trees are kept: about 30 times their source
    /// in memory (45 MB for `net/http`).
    const FOLDERS: usize = 4;

    fn get(&self, path: &Path, text: &[u8]) -> Option<tree_sitter::Tree> {
        let dir = path.parent()?;
        let (_, files) = self.folders.iter().find(|(d, _)| d == dir)?;
        let (hash, tree) = files.get(path)?;
        (*hash == xxhash_rust::xxh3::xxh3_64(text)).then(|| tree.clone())
    }

    /// Keeps the trees of a folder's parsed files, in place of what it held.
    fn keep(&mut self, dir: PathBuf, files: &[SourceFile]) {
        self.folders.retain(|(d, _)| *d != dir);
        if self.folders.len() >= Self::FOLDERS {
            self.folders.remove(0);
        }
        let trees = files
            .iter()
            .filter(|f| f.is_parsed())
            .map(|f| {
                let hash = xxhash_rust::xxh3::xxh3_64(&f.text);
                (f.path.clone(), (hash, f.tree().clone()))
            })
            .collect();
        self.folders.push((dir, trees));
    }
}

fn lint_folder(
    targets: Vec<Target>,
    settings: &Settings,
    options: Options,
    overlay: &Overlay,
    trees: Option<&mut TreeCache>,
) -> PackageResult {
    let mut result = PackageResult {
        diagnostics: Vec::new(),
        sources: Vec::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
        files: 0,
        checked: Vec::new(),
        stats: Stats {
            packages: 1,
            ..Stats::default()
        },
    };
    let mut clock = Instant::now();
    let mut lap = || {
        let now = Instant::now();
        std::mem::replace(&mut clock, now).elapsed()
    };
    let mut texts = Vec::new();
    for r in targets.into_iter().map(|t| read(t, overlay)) {
        match r {
            Ok(r) => texts.push(r),
            Err(e) => result.errors.push(e),
        }
    }
    result.stats.files = texts.len();
    result.stats.bytes = texts.iter().map(|r| r.text.len() as u64).sum();
    result.checked = texts
        .iter()
        .filter(|r| r.report)
        .map(|r| r.target.display.clone())
        .collect();
    result.stats.read = lap();
    let mut left_out = 0;
    if options.prefilter {
        let bytes: Vec<&[u8]> = texts.iter().map(|r| r.text.as_slice()).collect();
        match prefilter::decide(&bytes) {
            prefilter::Decision::All => {}
            prefilter::Decision::Skip => {
                result.files = result.checked.len();
                result.stats.prefilter_skipped = texts.len();
                result.stats.prefilter = lap();
                return result;
            }
            prefilter::Decision::Only(keep) => {
                // The files left out still count as checked: nothing can be reported in them.
                result.stats.prefilter_skipped = texts.len() - keep.len();
                let mut i = 0;
                texts.retain(|r| {
                    i += 1;
                    let kept = keep.contains(&(i - 1));
                    left_out += usize::from(!kept && r.report);
                    kept
                });
            }
        }
    }
    result.stats.prefilter = lap();
    let mut files = Vec::new();
    let mut reported = Vec::new();
    if options.prefilter {
        // Parsed when the model first needs them: its questions reach few
        // files of most packages.
        for r in texts {
            let (path, display, text) = (r.target.path, r.target.display, r.text);
            files.push(match trees.as_deref().and_then(|c| c.get(&path, &text)) {
                Some(tree) => SourceFile::new(path, display, text, tree),
                None => SourceFile::unparsed(path, display, text),
            });
            reported.push(r.report);
        }
    } else {
        let loaded: Vec<Loaded> = texts.into_par_iter().map(parse_file).collect();
        for l in loaded {
            match l {
                Loaded::File(f, report) => {
                    files.push(f);
                    reported.push(report);
                }
                Loaded::Error(e) => result.errors.push(e),
            }
        }
    }
    result.stats.parse = lap();
    result.files = reported.iter().filter(|&&r| r).count() + left_out;
    let directives: Vec<suppress::Directives> = files.iter().map(suppress::directives).collect();
    // A folder can hold a package and its external test package (`x_test`).
    let mut packages: BTreeMap<String, Vec<&SourceFile>> = BTreeMap::new();
    for f in &files {
        packages.entry(package_name(f)).or_default().push(f);
    }
    // Files parsed on demand count under parse, not under the phase that asked.
    let mut split = |phase: &mut std::time::Duration, parse: &mut std::time::Duration| {
        let parsing = parse::take_lazy_parse_time();
        *phase += lap().saturating_sub(parsing);
        *parse += parsing;
    };
    split(&mut result.stats.model, &mut result.stats.parse);
    for (_, members) in packages {
        let pkg = model::Package::new(members);
        split(&mut result.stats.model, &mut result.stats.parse);
        for mut d in rules::check_package(&pkg, &settings.selection) {
            let Some(i) = files.iter().position(|f| f.display == d.span.path) else {
                continue;
            };
            if reported[i] && !directives[i].suppresses(d.code, d.span.line) {
                if let Some(&severity) = settings.severity.get(d.code) {
                    d.severity = severity;
                }
                result.diagnostics.push(d);
            }
        }
        split(&mut result.stats.rules, &mut result.stats.parse);
    }
    // Syntax errors matter in the files the model read; the others were
    // not needed for any finding.
    for (i, f) in files.iter().enumerate().filter(|&(i, _)| reported[i]) {
        if f.is_parsed() {
            if let Some((line, column)) = f.first_syntax_error() {
                result.warnings.push(format!(
                    "{}:{line}:{column}: syntax error (or Go syntax newer than gomaplint's grammar); \
                     the file is checked as far as it parses, so findings may be missing",
                    f.display
                ));
            }
        }
        result
            .warnings
            .extend(directives[i].problems.iter().cloned());
    }
    result.stats.files_parsed = files.iter().filter(|f| f.is_parsed()).count();
    if let (Some(cache), Some(dir)) = (trees, files.first()) {
        cache.keep(parent_dir(&dir.path), &files);
    }
    for f in &files {
        if result.diagnostics.iter().any(|d| d.span.path == f.display) {
            let text = String::from_utf8_lossy(&f.text).into_owned();
            if text.len() != f.text.len() {
                for d in &mut result.diagnostics {
                    remap_to_lossy(f, d);
                }
            }
            result.sources.push((f.display.clone(), text));
        }
    }
    result.stats.rules += lap();
    result
}

/// Lints the package in one folder (not below it) as an editor sees it: the
/// texts of `overlay` replace the files on disk, and a file of `overlay` that
/// is not on disk yet is part of the package too. Files are shown by their
/// path as given. The configuration is looked up from `dir` as on the command
/// line; a configuration that cannot be used is the error.
pub fn lint_folder_overlay(
    dir: &Path,
    overlay: &Overlay,
    source: config::Source,
    trees: Option<&mut TreeCache>,
) -> Result<Outcome, config::ConfigError> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| !e.file_type().is_ok_and(|t| t.is_dir()))
                .filter(|e| discover::is_go_file(&e.file_name().to_string_lossy()))
                .map(|e| dir.join(e.file_name()))
                .collect()
        })
        .unwrap_or_default();
    paths.extend(
        overlay
            .keys()
            .filter(|p| p.parent() == Some(dir) && !paths.contains(p))
            .cloned()
            .collect::<Vec<_>>(),
    );
    paths.sort();
    let config = config::Resolver::new(source).for_dir(dir)?;
    let canonical_dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let targets = paths
        .into_iter()
        .map(|path| Target {
            display: path.to_string_lossy().into_owned(),
            report: !config.as_ref().is_some_and(|c| {
                path.file_name()
                    .is_some_and(|name| c.excludes(&canonical_dir.join(name)))
            }),
            path,
        })
        .collect();
    let settings = settings_for(config.as_deref(), &RuleOverrides::default());
    let r = lint_folder(targets, &settings, Options::default(), overlay, trees);
    let mut outcome = Outcome {
        diagnostics: r.diagnostics,
        sources: r.sources.into_iter().collect(),
        errors: r.errors,
        warnings: r.warnings,
        files_checked: r.files,
        checked_files: r.checked,
        baseline_hidden: 0,
        stats: r.stats,
    };
    outcome
        .diagnostics
        .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    outcome.diagnostics.dedup();
    Ok(outcome)
}

/// Renderers show the lossy UTF-8 text of a file; where invalid bytes were
/// replaced, byte offsets into it differ from offsets into the raw bytes.
fn remap_to_lossy(file: &SourceFile, d: &mut Diagnostic) {
    let remap = |span: &mut diagnostic::Span| {
        if span.path == file.display {
            span.start_byte = String::from_utf8_lossy(&file.text[..span.start_byte]).len();
            span.end_byte = String::from_utf8_lossy(&file.text[..span.end_byte]).len();
        }
    };
    remap(&mut d.span);
    for label in &mut d.labels {
        remap(&mut label.span);
    }
}

fn parent_dir(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}
