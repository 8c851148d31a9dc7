//! From a parsed crash to the map and its accesses: maps each frame to the
//! local source, finds the map access at the crashing frame's line, lints its
//! package with the normal model and lists every access of that map with its
//! lock state and concurrent context, and which ones can be the other side.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;
use tree_sitter::Node;

use super::locate::{Locator, is_std};
use super::parse::{Crash, CrashKind, Frame, FuncName};
use crate::diagnostic::Span;
use crate::model::access::{Access, AccessKind, AccessMatch};
use crate::model::guards::LockName;
use crate::model::locks::LockMode;
use crate::model::scope::Resolved;
use crate::model::spawn::MapRef;
use crate::model::{Package, ancestors};
use crate::rules::{self, Context, Selection, spawn_labels};
use crate::source::SourceFile;
use crate::{parse, suppress};

/// What `gomaplint trace` found in a log.
#[derive(Debug, Default, Serialize)]
pub struct Trace {
    pub crashes: Vec<CrashReport>,
    /// The text of every local file that a report points into, by display path.
    #[serde(skip)]
    pub sources: BTreeMap<String, String>,
}

impl Trace {
    /// Every crash was mapped to a map access in the local source.
    pub fn all_traced(&self) -> bool {
        !self.crashes.is_empty() && self.crashes.iter().all(|c| c.status == Status::Traced)
    }
}

/// How far a crash could be followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The crashing access and its map were found in the local source.
    Traced,
    /// The log holds no stack for the crashing goroutine.
    NoStack,
    /// Every frame of the crashing goroutine is Go's own code.
    NoUserFrame,
    /// The crashing frame's file is not under the paths given.
    FileNotFound,
    /// The crashing frame's line holds no map access (the source changed since the build?).
    NoMapAccess,
}

/// One crash of the log, explained.
#[derive(Debug, Serialize)]
pub struct CrashReport {
    /// The runtime's message: `concurrent map writes`, ...
    pub kind: CrashKind,
    pub log_line: usize,
    pub status: Status,
    /// The goroutine that crashed.
    pub goroutine: Option<u64>,
    /// The log was cut short inside this crash.
    pub truncated: bool,
    /// The crashing goroutine's frames, innermost first.
    pub frames: Vec<FrameReport>,
    /// Where the crashing goroutine was started, then where its starter was,
    /// as far as the log shows.
    pub created_by: Vec<FrameReport>,
    /// Index into `frames` of the crashing access's frame.
    pub crash_frame: Option<usize>,
    /// The map, as the crashing line names it: `c.items`.
    pub map: Option<String>,
    /// Every access of that map in its package, in source order.
    pub accesses: Vec<AccessReport>,
    /// Findings of gomaplint's rules on these accesses.
    pub findings: Vec<FindingRef>,
    /// Why the crash could not be followed further, and what to check.
    pub notes: Vec<String>,
    pub help: String,
}

/// A frame of the log and where it is locally.
#[derive(Debug, Clone, Serialize)]
pub struct FrameReport {
    pub function: String,
    /// As the log has it: the build machine's path.
    pub file: Option<String>,
    pub line: Option<usize>,
    pub inlined: bool,
    /// Go's own code (the runtime, `sync`, `net/http`).
    pub std: bool,
    /// The local file and line, when found.
    pub local: Option<Span>,
    /// Why the local file or line is not what the log says.
    pub problem: Option<String>,
}

/// One access of the crashing map.
#[derive(Debug, Clone, Serialize)]
pub struct AccessReport {
    #[serde(flatten)]
    pub span: Span,
    /// `write`, `delete`, `clear`, `replace`, `read`, `range`, `len`.
    pub operation: &'static str,
    /// The access as written.
    pub text: String,
    /// The function it is in.
    pub function: String,
    /// Locks held there (by the code or, as the model sees, by every caller):
    /// `c.mu` or `c.mu (RLock)`.
    pub locks: Vec<String>,
    /// The function runs with a lock its callers take.
    pub caller_locked: bool,
    /// Where it runs concurrently, as the model sees it.
    pub contexts: Vec<ContextRef>,
    /// The access that crashed.
    pub crash: bool,
    /// Can be the other side of the crash.
    pub other_side: bool,
    /// Why it can or cannot be the other side.
    pub why: String,
    /// The goroutines of the log whose stacks pass through this line.
    pub in_stacks_of: Vec<u64>,
    /// A gomaplint finding on this line.
    pub finding: Option<FindingRef>,
    /// Before the value is shared (a constructor, `init`, ...), as the model sees it.
    pub setup: bool,
}

/// A concurrent context: where it starts and what it is.
#[derive(Debug, Clone, Serialize)]
pub struct ContextRef {
    #[serde(flatten)]
    pub span: Span,
    pub message: String,
}

/// A finding of the lint on the crashing map.
#[derive(Debug, Clone, Serialize)]
pub struct FindingRef {
    pub code: &'static str,
    pub name: &'static str,
    pub message: String,
    #[serde(flatten)]
    pub span: Span,
    /// Why a plain `gomaplint` run does not show it: a suppression directive,
    /// or a configuration file that turns the rule off.
    pub hidden: Option<String>,
}

/// Maps each crash of the log to the local source under `paths`.
pub fn analyze(crashes: &[Crash], paths: &[String]) -> Trace {
    let roots: Vec<PathBuf> = paths
        .iter()
        .map(|p| PathBuf::from(crate::discover::strip_go_pattern(p)))
        .collect();
    let locator = Locator::new(&roots);
    let mut trace = Trace::default();
    let mut loaded: HashMap<PathBuf, Option<Loaded>> = HashMap::new();
    for crash in crashes {
        let report = analyze_crash(crash, &locator, &mut loaded, &mut trace.sources);
        trace.crashes.push(report);
    }
    trace
}

/// The files of a package folder, parsed.
struct Loaded {
    files: Vec<SourceFile>,
}

fn display(path: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    let shown = cwd
        .as_deref()
        .and_then(|c| path.strip_prefix(c).ok())
        .unwrap_or(path);
    shown.to_string_lossy().into_owned()
}

fn load_dir(dir: &Path) -> Option<Loaded> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".go") || name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        let Ok(text) = std::fs::read(&path) else {
            continue;
        };
        let Some(tree) = parse::parse(&text) else {
            continue;
        };
        let path = super::locate::normalize(&path);
        let shown = display(&path);
        files.push(SourceFile::new(path, shown, text, tree));
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Some(Loaded { files })
}

fn frame_report(frame: &Frame, locator: &Locator) -> (FrameReport, Option<PathBuf>) {
    let name = FuncName::parse(&frame.function);
    let package = name.as_ref().map(|n| n.package.as_str()).unwrap_or("");
    let std = name.is_none() || is_std(package, locator);
    let mut report = FrameReport {
        function: frame.function.clone(),
        file: frame.file.clone(),
        line: frame.line,
        inlined: frame.inlined,
        std,
        local: None,
        problem: None,
    };
    if std {
        return (report, None);
    }
    let Some(file) = &frame.file else {
        report.problem = Some("the log lost this frame's file and line".into());
        return (report, None);
    };
    match locator.find(package, file) {
        Some(path) => (report, Some(path)),
        None => {
            report.problem = Some(format!(
                "`{file}` (package `{package}`) is not under the paths given{}",
                if locator.modules.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (modules found: {})",
                        locator
                            .modules
                            .iter()
                            .map(|m| format!("`{}`", m.path))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            ));
            (report, None)
        }
    }
}

/// The span of a whole line of a file (without its indentation), for frames.
fn line_span(file: &SourceFile, line: usize) -> Option<Span> {
    let text = &file.text;
    let mut start = 0;
    for _ in 1..line {
        start += memchr::memchr(b'\n', &text[start..])? + 1;
    }
    let end = memchr::memchr(b'\n', &text[start..]).map_or(text.len(), |e| start + e);
    let indent = text[start..end]
        .iter()
        .take_while(|b| b.is_ascii_whitespace())
        .count();
    Some(file.span(start + indent, end))
}

fn operation(pkg: &Package<'_>, file: usize, m: &AccessMatch<'_>) -> &'static str {
    match m.node.kind() {
        _ if m.node.id() == m.map_node.id() => "replace",
        "call_expression" => {
            let f = m.node.child_by_field_name("function");
            match f.map(|f| pkg.text(file, f)) {
                Some("delete" | "maps.DeleteFunc") => "delete",
                Some("clear") => "clear",
                Some("maps.Clone") => "clone",
                Some("maps.Keys" | "maps.Values" | "maps.All") => "range",
                Some("maps.Copy" | "maps.Insert") if m.kind == AccessKind::Write => "write",
                Some("len") => "len",
                _ => "read",
            }
        }
        "range_clause" => "range",
        _ if m.kind == AccessKind::Write => "write",
        _ => "read",
    }
}

/// The declaration a node is in, as the traceback names it: (receiver type, name).
fn enclosing_decl<'a>(
    pkg: &Package<'a>,
    file: usize,
    node: Node<'a>,
) -> Option<(Node<'a>, Option<String>, String)> {
    let decl = ancestors(node)
        .find(|n| matches!(n.kind(), "function_declaration" | "method_declaration"))?;
    let name = pkg
        .text(file, decl.child_by_field_name("name")?)
        .to_string();
    let receiver = decl.child_by_field_name("receiver").and_then(|r| {
        let mut out = None;
        crate::model::walk(r, |n| {
            if out.is_none() && n.kind() == "type_identifier" {
                out = Some(pkg.text(file, n).to_string());
            }
            out.is_none()
        });
        out
    });
    Some((decl, receiver, name))
}

fn function_label<'a>(pkg: &Package<'a>, file: usize, node: Node<'a>) -> String {
    match enclosing_decl(pkg, file, node) {
        Some((_, Some(r), name)) => format!("(*{r}).{name}"),
        Some((_, None, name)) => name,
        None => "package initialiser".into(),
    }
}

/// Whether a traceback name can be checked against a declaration's (closures of
/// package variables are named `glob..func1` or `func1`).
fn checkable(name: &FuncName) -> bool {
    !(name.receiver.is_none()
        && (name.name == "glob" || name.name == "init" || name.name.starts_with("func")))
}

fn matches_decl(name: &FuncName, receiver: &Option<String>, decl_name: &str) -> bool {
    name.name == decl_name && name.receiver.as_deref() == receiver.as_deref()
}

/// Whether a write of this kind can be the other side of this crash.
fn wants(kind: CrashKind, m: &AccessMatch<'_>, crash_side: bool) -> bool {
    let replacement = m.node.id() == m.map_node.id();
    if crash_side {
        if kind.crasher_writes() {
            m.kind == AccessKind::Write && !replacement
        } else {
            m.kind == AccessKind::Read
        }
    } else {
        m.kind == AccessKind::Write && !replacement
    }
}

struct Held {
    /// Each lock: its name relative to the map's owner (what identifies it), as written, its mode.
    names: Vec<(LockName, String, LockMode)>,
    caller_locked: bool,
}

fn analyze_crash(
    crash: &Crash,
    locator: &Locator,
    loaded: &mut HashMap<PathBuf, Option<Loaded>>,
    sources: &mut BTreeMap<String, String>,
) -> CrashReport {
    let mut report = CrashReport {
        kind: crash.kind,
        log_line: crash.log_line,
        status: Status::NoStack,
        goroutine: crash.goroutines.first().map(|g| g.id),
        truncated: crash.truncated,
        frames: Vec::new(),
        created_by: Vec::new(),
        crash_frame: None,
        map: None,
        accesses: Vec::new(),
        findings: Vec::new(),
        notes: Vec::new(),
        help: String::new(),
    };
    if crash.truncated {
        report
            .notes
            .push("the log is cut short in this crash's stack: frames may be missing".to_string());
    }
    let Some(crasher) = crash.goroutines.first() else {
        report.notes.push(
            "the log has no goroutine stack after the fatal error: look for the lines \
             that follow it in the raw output, or set GOTRACEBACK=all"
                .into(),
        );
        report.help = help(crash.kind, None, false);
        return report;
    };
    let mut local_paths = Vec::new();
    for frame in &crasher.frames {
        let (f, path) = frame_report(frame, locator);
        report.frames.push(f);
        local_paths.push(path);
    }
    // The `created by` chain, through the goroutines the log shows.
    let mut chain = Vec::new();
    let mut g = Some(crasher);
    let mut seen = Vec::new();
    while let Some(cur) = g {
        if seen.contains(&cur.id) {
            break;
        }
        seen.push(cur.id);
        let Some(created) = &cur.created_by else {
            break;
        };
        let (f, path) = frame_report(created, locator);
        chain.push((f, path));
        g = cur
            .created_in
            .and_then(|id| crash.goroutines.iter().find(|x| x.id == id));
    }
    let crash_frame = report.frames.iter().position(|f| !f.std);
    report.crash_frame = crash_frame;
    let Some(ci) = crash_frame else {
        report.status = Status::NoUserFrame;
        report.notes.push(if crash.truncated {
            "the log ends before the crashing goroutine's first frame outside Go's own \
             packages: find the rest of the crash output (the lines after the fatal error)"
                .into()
        } else {
            "every frame of the crashing goroutine is in Go's own packages: the map belongs \
             to code the log does not show"
                .into()
        });
        fill_created(&mut report, chain, loaded, sources);
        report.help = help(crash.kind, None, false);
        return report;
    };
    let Some(path) = local_paths[ci].clone() else {
        report.status = Status::FileNotFound;
        let f = &report.frames[ci];
        report.notes.push(format!(
            "the crashing frame `{}` is at `{}:{}`, which is not found under the paths given: \
             run `gomaplint trace` from the module's root, or pass it as PATH",
            f.function,
            f.file.as_deref().unwrap_or("?"),
            f.line.map(|l| l.to_string()).unwrap_or("?".into())
        ));
        fill_created(&mut report, chain, loaded, sources);
        report.help = help(crash.kind, None, false);
        return report;
    };
    // The other local frames, with their lines.
    for (i, p) in local_paths.iter().enumerate() {
        if let Some(p) = p {
            set_local(&mut report.frames[i], p, loaded, sources);
        }
    }
    let created_path = fill_created(&mut report, chain, loaded, sources);
    // Where the log says the crashing goroutine started, as a concurrent context.
    let log_start = report.created_by.first().and_then(|f| {
        let span = f.local.clone()?;
        let in_loop = created_path
            .as_deref()
            .is_some_and(|p| in_loop_at(loaded, p, &span));
        Some((
            ContextRef {
                span,
                message: format!(
                    "the log's goroutine {} was started here{}",
                    report.goroutine.unwrap_or(0),
                    if in_loop {
                        ", in a loop: one per iteration, all running at once"
                    } else {
                        ""
                    }
                ),
            },
            in_loop,
        ))
    });
    let dir = parent_dir(&path);
    let entry = loaded.entry(dir.clone()).or_insert_with(|| load_dir(&dir));
    let Some(pkg_files) = entry.as_ref() else {
        report.status = Status::FileNotFound;
        report
            .notes
            .push(format!("cannot read the folder `{}`", dir.display()));
        report.help = help(crash.kind, None, false);
        return report;
    };
    explain(
        crash,
        &mut report,
        &path,
        ci,
        pkg_files,
        locator,
        sources,
        log_start,
    );
    report
}

fn set_local(
    f: &mut FrameReport,
    path: &Path,
    loaded: &mut HashMap<PathBuf, Option<Loaded>>,
    sources: &mut BTreeMap<String, String>,
) {
    let dir = parent_dir(path);
    let entry = loaded.entry(dir.clone()).or_insert_with(|| load_dir(&dir));
    let Some(file) = entry
        .as_ref()
        .and_then(|l| l.files.iter().find(|s| s.path == path))
    else {
        f.problem = Some(format!("cannot read `{}`", display(path)));
        return;
    };
    match f.line.and_then(|l| line_span(file, l)) {
        Some(span) => {
            sources
                .entry(file.display.clone())
                .or_insert_with(|| String::from_utf8_lossy(&file.text).into_owned());
            f.local = Some(span);
        }
        None => {
            f.problem = Some(format!(
                "`{}` has no line {}: the source changed since the build",
                file.display,
                f.line.unwrap_or(0)
            ));
            f.local = Some(file.span(0, 0));
        }
    }
}

fn fill_created(
    report: &mut CrashReport,
    chain: Vec<(FrameReport, Option<PathBuf>)>,
    loaded: &mut HashMap<PathBuf, Option<Loaded>>,
    sources: &mut BTreeMap<String, String>,
) -> Option<PathBuf> {
    let mut first = None;
    for (i, (mut f, path)) in chain.into_iter().enumerate() {
        if let Some(p) = &path {
            set_local(&mut f, p, loaded, sources);
        }
        if i == 0 {
            first = path;
        }
        report.created_by.push(f);
    }
    first
}

/// The folder of a file, `.` for a bare name.
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Whether the code at a line of a loaded file is inside a loop of its function:
/// a `go` statement there starts one goroutine per iteration.
fn in_loop_at(loaded: &HashMap<PathBuf, Option<Loaded>>, path: &Path, span: &Span) -> bool {
    let Some(file) = loaded
        .get(&parent_dir(path))
        .and_then(|l| l.as_ref())
        .and_then(|l| l.files.iter().find(|f| f.path == path))
    else {
        return false;
    };
    let node = file
        .tree()
        .root_node()
        .descendant_for_byte_range(span.start_byte, span.start_byte);
    node.into_iter()
        .flat_map(ancestors)
        .take_while(|n| {
            !matches!(
                n.kind(),
                "func_literal" | "function_declaration" | "method_declaration"
            )
        })
        .any(|n| n.kind() == "for_statement")
}

/// The identity of the crashing map, in the model's terms.
struct MapIdentity<'a> {
    key: Option<crate::model::guards::MapKey>,
    refs: Vec<MapRef>,
    binding: Option<crate::model::scope::DeclId>,
    file: usize,
    node: Node<'a>,
    map_node: Node<'a>,
}

#[allow(clippy::too_many_arguments)]
fn explain<'a>(
    crash: &Crash,
    report: &mut CrashReport,
    path: &Path,
    ci: usize,
    loaded: &'a Loaded,
    locator: &Locator,
    sources: &mut BTreeMap<String, String>,
    log_start: Option<(ContextRef, bool)>,
) {
    // The package the file belongs to (a folder may hold `x` and `x_test`).
    let Some(target) = loaded.files.iter().find(|f| f.path == path) else {
        report.status = Status::FileNotFound;
        report
            .notes
            .push(format!("cannot parse `{}`", display(path)));
        report.help = help(crash.kind, None, false);
        return;
    };
    let package_of = |f: &SourceFile| {
        let root = f.tree().root_node();
        let mut c = root.walk();
        let name = root
            .named_children(&mut c)
            .find(|n| n.kind() == "package_clause")
            .and_then(|p| p.named_child(0))
            .map(|n| f.text_of(n).to_string());
        name.unwrap_or_default()
    };
    let name = package_of(target);
    let members: Vec<&'a SourceFile> = loaded
        .files
        .iter()
        .filter(|f| package_of(f) == name)
        .collect();
    let Some(fi) = members.iter().position(|f| f.path == path) else {
        return;
    };
    let pkg = Package::new(members.clone());
    let selection = Selection::default();
    let ctx = Context::new(&pkg, &selection);
    let frame = report.frames[ci].clone();
    let line = frame.line.unwrap_or(0);
    let fname = FuncName::parse(&frame.function);
    // The model's accesses, with the standard library's map functions
    // (`maps.Clone(m)`, `json.Marshal(m)`, `h.Set(k, v)`) whose frames the
    // runtime's check shows below the user's line; write targets left out.
    let access_queries = crate::rules::access_queries();
    let all: Vec<AccessMatch<'_>> = pkg.access_matches(&access_queries, fi).to_vec();
    let on_line = |line: usize| -> Vec<AccessMatch<'_>> {
        all.iter()
            .filter(|m| {
                let (s, e) = (
                    m.node.start_position().row + 1,
                    m.node.end_position().row + 1,
                );
                s <= line && line <= e && wants(crash.kind, m, true)
            })
            .copied()
            .collect()
    };
    let is_map = |m: &AccessMatch<'a>| {
        pkg.map_key(fi, m.map_node).is_some() || pkg.type_of(fi, m.map_node).is_map()
    };
    let mut here: Vec<AccessMatch<'_>> = on_line(line);
    if here.iter().any(is_map) {
        here.retain(is_map);
    }
    // The line must still be in the function the log names.
    let decl_ok = |m: &AccessMatch<'a>| match (&fname, enclosing_decl(&pkg, fi, m.node)) {
        (Some(n), Some((_, recv, dname))) if checkable(n) => matches_decl(n, &recv, &dname),
        _ => true,
    };
    let what = if crash.kind.crasher_writes() {
        "map write"
    } else {
        "map read"
    };
    let mut chosen = here.iter().find(|m| decl_ok(m)).copied();
    if chosen.is_none() {
        // The source changed since the build: look for the access in the function the log names.
        let moved = fname.as_ref().filter(|n| checkable(n)).map(|n| {
            let in_decl: Vec<AccessMatch<'a>> = all
                .iter()
                .filter(|m| wants(crash.kind, m, true) && is_map(m))
                .filter(|m| {
                    enclosing_decl(&pkg, fi, m.node)
                        .is_some_and(|(_, recv, dname)| matches_decl(n, &recv, &dname))
                })
                .copied()
                .collect();
            // `main.main.func1`: the first function literal of `main`.
            let decl = in_decl
                .first()
                .and_then(|m| enclosing_decl(&pkg, fi, m.node))
                .map(|d| d.0);
            match decl.and_then(|d| closure_of(d, &n.closures)) {
                Some(lit) => in_decl
                    .into_iter()
                    .filter(|m| crate::model::contains(lit, m.node))
                    .collect(),
                None => in_decl,
            }
        });
        let file_name = &members[fi].display;
        let now = if here.is_empty() {
            format!("line {line} of `{file_name}` holds no {what} now")
        } else {
            format!(
                "line {line} of `{file_name}` is in `{}` now, not in `{}`",
                function_label(&pkg, fi, here[0].node),
                frame.function
            )
        };
        match moved.as_deref() {
            Some([one]) => {
                let (l, _) = members[fi].line_col(one.node.start_byte());
                report.notes.push(format!(
                    "{now}: the source changed since the build; the {what} of `{}` is at line \
                     {l} now, and this report assumes it is the one that crashed",
                    frame.function
                ));
                report.frames[ci].problem =
                    Some(format!("{now}: the source changed since the build"));
                chosen = Some(*one);
            }
            Some(many) if !many.is_empty() => {
                let lines: Vec<String> = many
                    .iter()
                    .map(|m| members[fi].line_col(m.node.start_byte()).0.to_string())
                    .collect();
                report.status = Status::NoMapAccess;
                report.notes.push(format!(
                    "{now}: the source changed since the build; `{}` has {what}s at lines {}: \
                     rebuild from this source, or check out the commit the binary was built from",
                    frame.function,
                    lines.join(", ")
                ));
            }
            _ => {
                report.status = Status::NoMapAccess;
                report.notes.push(format!(
                    "{now}, and gomaplint finds none in `{}`: the source changed since the \
                     build, or the map access is in a call on that line (`maps.Copy`, a \
                     method of another package); check out the commit the binary was built from",
                    frame.function
                ));
            }
        }
        if chosen.is_none() {
            report.frames[ci].problem = Some(format!("{now}: the source changed since the build?"));
            report.help = help(crash.kind, None, false);
            return;
        }
    }
    let chosen = chosen.expect("set above");
    let map_text = pkg.text(fi, chosen.map_node).to_string();
    report.map = Some(map_text.clone());
    if !is_map(&chosen) {
        report.notes.push(format!(
            "gomaplint does not see from the source that `{map_text}` is a map: the list of \
             its accesses goes by name"
        ));
    }

    // Who this map is: the model's key for fields and package variables, the
    // references its concurrent contexts use, the variable it names.
    let analysis = ctx.analysis();
    let same_node =
        |a: &Access<'_>, file: usize, node: Node<'_>| a.file == file && a.node.id() == node.id();
    let mut refs: Vec<MapRef> = Vec::new();
    for a in analysis.accesses.iter().chain(&analysis.after).flatten() {
        if same_node(a, fi, chosen.node) && !refs.contains(&a.map) {
            refs.push(a.map.clone());
        }
    }
    let root_ident = |file: usize, mut n: Node<'a>| {
        while n.kind() == "parenthesized_expression" {
            match n.named_child(0) {
                Some(c) => n = c,
                None => break,
            }
        }
        (n.kind() == "identifier").then(|| match pkg.resolve(file, n) {
            Resolved::Local(b) | Resolved::PackageVar(b) => Some(b.id()),
            _ => None,
        })?
    };
    // `used := q.used`: the local names the field's map.
    let alias_key = |file: usize, n: Node<'a>| {
        let mut n = n;
        for _ in 0..8 {
            if let Some((k, _)) = pkg.map_key(file, n) {
                return Some(k);
            }
            if n.kind() != "identifier" {
                return None;
            }
            let Resolved::Local(b) = pkg.resolve(file, n) else {
                return None;
            };
            n = b.value()?;
        }
        None
    };
    let identity = MapIdentity {
        key: alias_key(fi, chosen.map_node),
        refs,
        binding: root_ident(fi, chosen.map_node),
        file: fi,
        node: chosen.node,
        map_node: chosen.map_node,
    };
    let mut sites: Vec<(usize, AccessMatch<'_>)> = Vec::new();
    for file in 0..pkg.files.len() {
        for &m in pkg.access_matches(&crate::rules::access_queries(), file) {
            let same = (file == identity.file
                && m.node.id() == identity.node.id()
                && m.map_node.id() == identity.map_node.id())
                || identity
                    .key
                    .as_ref()
                    .is_some_and(|k| alias_key(file, m.map_node).is_some_and(|x| &x == k))
                || identity.binding.is_some() && root_ident(file, m.map_node) == identity.binding
                || analysis
                    .accesses
                    .iter()
                    .chain(&analysis.after)
                    .flatten()
                    .any(|a| {
                        same_node(a, file, m.node)
                            && identity.refs.iter().any(|r| pkg.same_map(r, &a.map))
                    })
                || identity.key.is_none()
                    && identity.binding.is_none()
                    && identity.refs.is_empty()
                    && pkg.text(file, m.map_node) == map_text;
            if same {
                sites.push((file, m));
            }
        }
    }
    sites.sort_by_key(|(f, m)| (*f, m.node.start_byte()));
    sites.dedup_by_key(|(f, m)| (*f, m.node.id(), m.map_node.id()));

    // Every rule's findings on the package; those a directive suppresses or the
    // configuration turns off are kept, and say so: the crash proves them right.
    let directives: Vec<suppress::Directives> =
        members.iter().map(|f| suppress::directives(f)).collect();
    let config =
        crate::config::Resolver::new(crate::config::Source::Discover).for_dir(&parent_dir(path));
    let configured = match &config {
        Ok(Some(c)) => Some((
            Selection::layered(&[(c.select.as_deref(), &c.ignore)]),
            display(&c.path),
        )),
        _ => None,
    };
    let findings: Vec<(crate::diagnostic::Diagnostic, Option<String>)> =
        rules::check_package(&pkg, &selection)
            .into_iter()
            .filter_map(|d| {
                let i = members.iter().position(|f| f.display == d.span.path)?;
                let hidden = if directives[i].suppresses(d.code, d.span.line) {
                    Some(format!(
                        "suppressed by a directive in `{}`: the crash shows the finding is real",
                        d.span.path
                    ))
                } else {
                    configured
                        .as_ref()
                        .filter(|(sel, _)| !sel.contains(d.code))
                        .map(|(_, file)| format!("`{file}` turns {} off", d.code))
                };
                Some((d, hidden))
            })
            .collect();

    // Lock state and contexts of each site.
    let guards = ctx.guards();
    let stack_lines: Vec<(u64, String, usize)> = crash
        .goroutines
        .iter()
        .flat_map(|g| {
            g.frames
                .iter()
                .filter_map(move |f| Some((g.id, f.file.clone()?, f.line?)))
        })
        .collect();
    let held_at = |file: usize, m: &AccessMatch<'a>| -> Held {
        let scope = crate::model::enclosing_function(m.node);
        let (names, caller_locked) = match scope {
            Some(scope) => {
                let scope = pkg
                    .lock_scope(file, m.node, &analysis.concurrent)
                    .unwrap_or(scope);
                let (held, caller) = pkg.locks_with_callers(file, m.node, scope);
                // Named relative to the map's owner, where the model knows the map's key.
                let base = guards
                    .accesses
                    .iter()
                    .find(|g| g.file == file && g.node.id() == m.node.id())
                    .and_then(|g| g.base)
                    .map(|b| pkg.text(file, b));
                let names = held
                    .into_iter()
                    .map(|(r, mode)| {
                        let n = pkg.lock_name(&r, base);
                        (n.clone(), n.display(base), mode)
                    })
                    .collect();
                (names, caller)
            }
            None => (Vec::new(), false),
        };
        Held {
            names,
            caller_locked,
        }
    };
    let crash_held = held_at(fi, &chosen);
    let crash_spawns: Vec<usize> = (0..analysis.spawns.len())
        .filter(|&i| {
            analysis.accesses[i]
                .iter()
                .any(|a| same_node(a, fi, chosen.node))
        })
        .collect();
    // The `go` statement the log says started the crashing goroutine.
    let created_line = report
        .created_by
        .first()
        .and_then(|f| f.local.as_ref())
        .map(|l| (l.path.clone(), l.line));
    let started_in_loop = analysis.spawns.iter().any(|s| {
        s.in_loop.is_some()
            && created_line.as_ref().is_some_and(|(p, l)| {
                let f = members[s.file];
                &f.display == p && f.line_col(s.site.start_byte()).0 == *l
            })
    });
    let crash_self_concurrent = crash_spawns.len() > 1
        || started_in_loop
        || log_start.as_ref().is_some_and(|(_, in_loop)| *in_loop)
        || crash_spawns.iter().any(|&i| {
            let s = &analysis.spawns[i];
            s.always_self_concurrent() || s.in_loop.is_some()
        })
        || crash.goroutines.iter().skip(1).any(|g| {
            // Another goroutine of the log is at the same line.
            g.frames
                .iter()
                .any(|f| f.line == frame.line && f.file == frame.file)
        });
    for (file, m) in &sites {
        let (file, m) = (*file, *m);
        let src = members[file];
        let span = src.node_span(m.node);
        sources
            .entry(src.display.clone())
            .or_insert_with(|| String::from_utf8_lossy(&src.text).into_owned());
        let is_crash = file == fi
            && m.node.id() == chosen.node.id()
            && m.map_node.id() == chosen.map_node.id();
        let held = if is_crash {
            Held {
                names: crash_held.names.clone(),
                caller_locked: crash_held.caller_locked,
            }
        } else {
            held_at(file, &m)
        };
        let mut contexts = Vec::new();
        for (i, s) in analysis.spawns.iter().enumerate() {
            let inside = analysis.accesses[i]
                .iter()
                .any(|a| same_node(a, file, m.node));
            let after = analysis.after[i].iter().any(|a| same_node(a, file, m.node));
            if inside {
                let self_concurrent = s.always_self_concurrent() || s.in_loop.is_some();
                let label = spawn_labels::spawn_label(&ctx, s, self_concurrent);
                contexts.push(ContextRef {
                    span: label.span,
                    message: label.message,
                });
            } else if after {
                let label = spawn_labels::spawn_label(&ctx, s, false);
                contexts.push(ContextRef {
                    message: format!(
                        "the code that starts this goroutine, while it runs ({})",
                        label.message
                    ),
                    span: label.span,
                });
            }
        }
        if is_crash
            && let Some((start, _)) = &log_start
            && !contexts
                .iter()
                .any(|c| c.span.path == start.span.path && c.span.line == start.span.line)
        {
            contexts.push(start.clone());
        }
        let setup = guards
            .accesses
            .iter()
            .find(|g| g.file == file && g.node.id() == m.node.id())
            .is_some_and(|g| g.setup);
        let (line, _) = src.line_col(m.node.start_byte());
        let abs = std::fs::canonicalize(&src.path).ok();
        let in_stacks_of: Vec<u64> = stack_lines
            .iter()
            .filter(|(_, f, l)| {
                *l == line && {
                    let base = Path::new(f).file_name();
                    base == src.path.file_name()
                        && locator_matches(locator, &frame_package(crash, f), f, abs.as_deref())
                }
            })
            .map(|(g, _, _)| *g)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let finding = findings
            .iter()
            .find(|(d, _)| d.span.path == src.display && d.span.line == line)
            .map(|(d, hidden)| FindingRef {
                code: d.code,
                name: d.name,
                message: d.message.clone(),
                span: d.span.clone(),
                hidden: hidden.clone(),
            });
        let shares_lock = held.names.iter().any(|(n, _, mode)| {
            crash_held.names.iter().any(|(c, _, cmode)| {
                c == n && !(*mode == LockMode::Read && *cmode == LockMode::Read)
            })
        }) || held.caller_locked && crash_held.caller_locked;
        let writes = wants(crash.kind, &m, false);
        let confirmed = in_stacks_of.iter().any(|g| Some(*g) != report.goroutine);
        let (other_side, why) = if is_crash {
            if crash.kind.crasher_writes() && crash_self_concurrent {
                (
                    true,
                    "this code runs in several goroutines at once: another goroutine at \
                     this same line can be the other side"
                        .to_string(),
                )
            } else {
                (false, "the crashing access".to_string())
            }
        } else if !writes {
            (
                false,
                "a read: only a write can be the other side".to_string(),
            )
        } else if confirmed {
            (
                true,
                "another goroutine's stack in the log is at this line".to_string(),
            )
        } else if shares_lock {
            (
                false,
                "holds a lock that the crashing access holds too".to_string(),
            )
        } else if setup {
            (
                false,
                "set-up, before the map is shared (as the model sees it)".to_string(),
            )
        } else if held.names.is_empty() && !held.caller_locked {
            (true, "writes without a lock".to_string())
        } else if crash_held.names.is_empty() && !crash_held.caller_locked {
            (
                true,
                "writes under a lock that the crashing access does not take".to_string(),
            )
        } else {
            (
                true,
                "writes under another lock than the crashing access's".to_string(),
            )
        };
        let mut locks: Vec<String> = held
            .names
            .iter()
            .map(|(_, n, mode)| match mode {
                LockMode::Read => format!("{n} (RLock)"),
                _ => n.clone(),
            })
            .collect();
        locks.dedup();
        report.accesses.push(AccessReport {
            span,
            operation: operation(&pkg, file, &m),
            text: pkg.text(file, m.node).to_string(),
            function: function_label(&pkg, file, m.node),
            locks,
            caller_locked: held.caller_locked,
            contexts,
            crash: is_crash,
            other_side,
            why,
            in_stacks_of,
            finding,
            setup,
        });
    }
    // A write crash whose map has no other write here: the other side runs the same line.
    if crash.kind.crasher_writes() && !report.accesses.iter().any(|a| a.other_side) {
        if let Some(a) = report.accesses.iter_mut().find(|a| a.crash) {
            a.other_side = true;
            a.why = "the crashing write, the only write of this map that can be the other \
                     side here: another goroutine running this same line (or code outside \
                     the package) wrote the map at the same time"
                .to_string();
        }
    }
    let mut seen = Vec::new();
    for a in &report.accesses {
        if let Some(f) = &a.finding
            && !seen.contains(&(f.code, f.span.line, f.span.path.clone()))
        {
            seen.push((f.code, f.span.line, f.span.path.clone()));
            report.findings.push(f.clone());
        }
    }
    if report.findings.is_empty() {
        report.notes.push(format!(
            "no rule reports this map: please report this case (a false negative worth a \
             fixture) at gomaplint's issue tracker, with the log and `{}`",
            members[fi].display
        ));
    }
    if !report.accesses.iter().any(|a| a.other_side) {
        report.notes.push(
            "no write of this map in the package can be the other side as the model sees \
             it: the other side is in another package, or reaches the map through a value \
             gomaplint cannot follow"
                .into(),
        );
    }
    report.status = Status::Traced;
    report.help = help(crash.kind, Some(&map_text), !crash_held.names.is_empty());
    // The lock that guards the map elsewhere, named as the crashing code would write it.
    let crash_base = guards
        .accesses
        .iter()
        .find(|g| g.file == fi && g.node.id() == chosen.node.id())
        .and_then(|g| g.base)
        .map(|b| pkg.text(fi, b));
    let guard = identity
        .key
        .as_ref()
        .and_then(|k| guards.guard.get(k))
        .map(|l| l.display(crash_base));
    let unguarded = |a: &AccessReport, guard: &str| {
        !a.caller_locked
            && !a
                .locks
                .iter()
                .any(|l| l == guard || *l == format!("{guard} (RLock)"))
    };
    let writes_under_rlock: Vec<String> = report
        .accesses
        .iter()
        .filter(|a| {
            (a.crash || a.other_side) && matches!(a.operation, "write" | "delete" | "clear")
        })
        .filter(|a| !a.locks.is_empty() && a.locks.iter().all(|l| l.ends_with(" (RLock)")))
        .map(|a| format!("`{}`", a.function))
        .collect();
    if !writes_under_rlock.is_empty() {
        report.help = format!(
            "`{map_text}` is written in {} while only a read lock is held, and `RLock` lets \
             many goroutines in at once: take the write lock (`Lock`) for every write of it \
             (re-check the map after taking it), or use `sync.Map`",
            writes_under_rlock.join(" and ")
        );
    } else if let Some(guard) = guard {
        let mut functions: Vec<&str> = report
            .accesses
            .iter()
            .filter(|a| (a.crash || a.other_side) && !a.setup && unguarded(a, &guard))
            .map(|a| a.function.as_str())
            .collect();
        functions.dedup();
        if !functions.is_empty() {
            let list: Vec<String> = functions.iter().map(|f| format!("`{f}`")).collect();
            report.help = format!(
                "`{guard}` guards `{map_text}` at its other accesses: hold it in {} too \
                 (`{guard}.Lock()` and `defer {guard}.Unlock()` for writes; `RLock` only \
                 where the map is only read)",
                list.join(" and ")
            );
        }
    }
}

/// The function literal a traceback's closure names lead to: `func2` is the
/// second literal of the function (in source order, not counting literals
/// inside literals), and a number below it (`func1.2`) the second inside that
/// one. `None` for the compiler's wrappers (`gowrap1`) or when there are fewer.
fn closure_of<'a>(decl: Node<'a>, closures: &[String]) -> Option<Node<'a>> {
    if closures.is_empty() {
        return None;
    }
    let mut current = decl;
    for name in closures {
        let k: usize = name.strip_prefix("func").unwrap_or(name).parse().ok()?;
        let mut literals = Vec::new();
        let outer = current;
        crate::model::walk(outer, |n| {
            if n.id() != outer.id() && n.kind() == "func_literal" {
                literals.push(n);
                return false;
            }
            true
        });
        current = *literals.get(k.checked_sub(1)?)?;
    }
    Some(current)
}

fn frame_package(crash: &Crash, file: &str) -> String {
    crash
        .goroutines
        .iter()
        .flat_map(|g| &g.frames)
        .find(|f| f.file.as_deref() == Some(file))
        .and_then(|f| FuncName::parse(&f.function))
        .map(|n| n.package)
        .unwrap_or_default()
}

fn locator_matches(locator: &Locator, package: &str, file: &str, local: Option<&Path>) -> bool {
    let Some(local) = local else {
        return true;
    };
    locator
        .find(package, file)
        .and_then(|p| std::fs::canonicalize(p).ok())
        .is_some_and(|p| p == local)
}

fn help(kind: CrashKind, map: Option<&str>, crash_locked: bool) -> String {
    let map = map.map_or("the map".to_string(), |m| format!("`{m}`"));
    let fix = format!(
        "hold one `sync.Mutex` around every access of {map} (`Lock` for writes, `RLock` \
         only for reads), use `sync.Map`, or let a single goroutine own the map and send it \
         updates over a channel"
    );
    let base = match kind {
        CrashKind::Writes => format!("two goroutines wrote {map} at once; {fix}"),
        CrashKind::ReadWrite | CrashKind::IterationWrite | CrashKind::CloneWrite => {
            format!("a goroutine wrote {map} while another read it; {fix}")
        }
    };
    if crash_locked {
        format!(
            "{base}; the crashing access holds a lock, so the other side is a write that does not take the same one"
        )
    } else {
        base
    }
}
