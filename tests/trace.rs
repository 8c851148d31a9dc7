//! `gomaplint trace` on real crash logs: racy fixtures built WITHOUT `-race`
//! and run until the runtime's map check killed them (`tests/trace/record.sh`;
//! the logs are kept in `tests/trace/logs/<go version>/<rule>__<fixture>.log`).
//! Each log must lead back to the fixture's map and name a `// want` line as
//! the crashing access or as the other side. Then the log's wrappings
//! (prefixes, JSON), logs cut short, several crashes, another machine's paths,
//! a source that changed since the build, and the command line's exit codes.

mod common;

use std::path::{Path, PathBuf};

use common::{fixtures_root, wants};
use gomaplint::trace::analyze::{AccessReport, CrashReport};
use gomaplint::trace::{Status, trace};

fn logs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/trace/logs")
}

/// Every recorded log: (go version, fixture rule, fixture name, log path).
fn recorded() -> Vec<(String, String, String, PathBuf)> {
    let mut out = Vec::new();
    let mut versions: Vec<_> = std::fs::read_dir(logs_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    versions.sort();
    for v in versions {
        let mut logs: Vec<_> = std::fs::read_dir(&v)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
        logs.sort();
        for log in logs {
            let stem = log.file_stem().unwrap().to_string_lossy().into_owned();
            let (rule, name) = stem.split_once("__").expect("<rule>__<fixture>.log");
            out.push((
                v.file_name().unwrap().to_string_lossy().into_owned(),
                rule.to_string(),
                name.to_string(),
                log,
            ));
        }
    }
    out
}

fn fixtures_arg() -> String {
    fixtures_root().to_string_lossy().into_owned()
}

fn line_of(a: &AccessReport) -> usize {
    a.span.line
}

/// Why a crash report does not name the fixture's map and a `// want` line; `Ok` if it does.
fn check_against_wants(c: &CrashReport, fixture: &Path) -> Result<(), String> {
    if c.status != Status::Traced {
        return Err(format!("status {:?}: {:?}", c.status, c.notes));
    }
    let map = c.map.as_deref().unwrap_or("");
    let wants = wants(fixture);
    let fixture_dir = fixture;
    let fixture = fixture.canonicalize().unwrap();
    let in_fixture = |a: &AccessReport| {
        Path::new(&a.span.path)
            .canonicalize()
            .is_ok_and(|p| p.starts_with(&fixture))
    };
    let want_line = |a: &AccessReport| {
        let file = Path::new(&a.span.path)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        wants
            .iter()
            .any(|w| w.file == file && w.line == line_of(a) && in_fixture(a))
    };
    // The map: a `// want` line is one of its accesses, or names it.
    let named = c.accesses.iter().any(want_line)
        || wants.iter().any(|w| {
            let text = std::fs::read_to_string(fixture_dir.join(&w.file)).unwrap();
            let line = text.lines().nth(w.line - 1).unwrap_or("");
            line.contains(&format!("`{map}`")) || line.contains(map)
        });
    if !named {
        return Err(format!("no `// want` line names the map `{map}`"));
    }
    let crash = c
        .accesses
        .iter()
        .find(|a| a.crash)
        .ok_or("no crashing access")?;
    let others: Vec<&AccessReport> = c.accesses.iter().filter(|a| a.other_side).collect();
    if others.is_empty() {
        return Err(format!(
            "no other side for `{map}` (crash at line {})",
            line_of(crash)
        ));
    }
    if !want_line(crash) && !others.iter().any(|a| want_line(a)) {
        return Err(format!(
            "neither the crashing line {} nor the other side's lines {:?} is a `// want` line",
            line_of(crash),
            others.iter().map(|a| line_of(a)).collect::<Vec<_>>()
        ));
    }
    // Every `// want` line that writes this map must be named: the crash or the other side.
    for a in c
        .accesses
        .iter()
        .filter(|a| matches!(a.operation, "write" | "delete" | "clear") && want_line(a))
    {
        if !a.crash && !a.other_side {
            return Err(format!(
                "the `// want` write at line {} is not named as the other side: {}",
                line_of(a),
                a.why
            ));
        }
    }
    Ok(())
}

#[test]
fn recorded_crashes_name_the_map_and_the_other_side() {
    let logs = recorded();
    assert!(logs.len() >= 10, "too few recorded logs: {}", logs.len());
    let mut failures = Vec::new();
    let mut versions = std::collections::BTreeMap::<String, usize>::new();
    for (version, rule, name, log) in &logs {
        let text = std::fs::read_to_string(log).unwrap();
        let traced = trace(&text, &[fixtures_arg()]);
        let fixture = fixtures_root().join(rule).join(name);
        *versions.entry(version.clone()).or_default() += 1;
        if traced.crashes.len() != 1 {
            failures.push(format!(
                "{version}/{rule}/{name}: {} crashes",
                traced.crashes.len()
            ));
            continue;
        }
        if let Err(why) = check_against_wants(&traced.crashes[0], &fixture) {
            failures.push(format!("{version}/{rule}/{name}: {why}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} recorded logs ({versions:?}) fail:\n{}",
        failures.len(),
        logs.len(),
        failures.join("\n")
    );
}

/// A recorded log of a fixture, with the report a raw run gives: (log, fixture folder).
fn sample(rule: &str, name: &str) -> (String, PathBuf) {
    let log = logs_dir()
        .join("go1.27.3")
        .join(format!("{rule}__{name}.log"));
    (
        std::fs::read_to_string(&log).unwrap(),
        fixtures_root().join(rule).join(name),
    )
}

/// What a report says, in short: the map, the crashing line and the other side's lines.
fn summary(c: &CrashReport) -> (Option<String>, Vec<usize>, Vec<usize>) {
    (
        c.map.clone(),
        c.accesses.iter().filter(|a| a.crash).map(line_of).collect(),
        c.accesses
            .iter()
            .filter(|a| a.other_side)
            .map(line_of)
            .collect(),
    )
}

const TIME_AFTERFUNC: (&str, &str) = ("unsynchronized_map_write", "racy_time_afterfunc");
const READS_WHILE_WRITES: (&str, &str) = (
    "concurrent_map_read_write",
    "racy_goroutine_reads_while_starter_writes",
);

#[test]
fn prefixed_and_json_logs_give_the_raw_logs_answer() {
    let (raw, _) = sample(TIME_AFTERFUNC.0, TIME_AFTERFUNC.1);
    let expected = trace(&raw, &[fixtures_arg()]);
    assert_eq!(expected.crashes.len(), 1);
    let expected = summary(&expected.crashes[0]);
    assert!(expected.0.is_some() && !expected.2.is_empty());
    let wrap = |f: &dyn Fn(usize, &str) -> String| -> String {
        raw.lines()
            .enumerate()
            .map(|(i, l)| f(i, l) + "\n")
            .collect()
    };
    let variants = [
        // journald (`journalctl -u shop`), with a day padded by a space.
        (
            "journald",
            wrap(&|i, l| format!("Nov  7 10:00:{:02} host shop[4123]: {l}", i % 60)),
        ),
        // `kubectl logs --timestamps`: RFC 3339 with nanoseconds, trailing zeros trimmed.
        (
            "kubectl",
            wrap(&|i, l| format!("2026-11-27T10:00:00.{}Z {l}", 12 + i * 1001)),
        ),
        // The CRI log file on a Kubernetes node.
        (
            "cri",
            wrap(&|i, l| format!("2026-11-27T10:00:0{}.5+00:00 stderr F {l}", i % 10)),
        ),
        // docker compose.
        ("compose", wrap(&|_, l| format!("shop-1  | {l}"))),
        // docker's json-file driver: one JSON object per line.
        (
            "docker json",
            wrap(&|i, l| {
                serde_json::json!({"log": format!("{l}\n"), "stream": "stderr", "time": format!("2026-11-27T10:00:00.{i}Z")})
                    .to_string()
            }),
        ),
        // A structured logger that caught the whole stderr in one message, between other lines.
        (
            "one json message",
            format!(
                "{}\n{}\n{}\n",
                serde_json::json!({"level": "info", "msg": "listening on :8080"}),
                serde_json::json!({"level": "error", "message": raw}),
                serde_json::json!({"level": "info", "msg": "restarting"}),
            ),
        ),
        // Windows line ends.
        ("crlf", wrap(&|_, l| format!("{l}\r"))),
    ];
    for (what, log) in variants {
        let got = trace(&log, &[fixtures_arg()]);
        assert_eq!(got.crashes.len(), 1, "{what}: {log}");
        assert_eq!(summary(&got.crashes[0]), expected, "{what}: {log}");
        assert!(!got.crashes[0].truncated, "{what}");
    }
}

#[test]
fn a_log_cut_anywhere_gives_an_answer_and_never_panics() {
    let (raw, _) = sample(READS_WHILE_WRITES.0, READS_WHILE_WRITES.1);
    let lines: Vec<&str> = raw.lines().collect();
    for n in 0..=lines.len() {
        let cut: String = lines[..n].iter().map(|l| format!("{l}\n")).collect();
        let got = trace(&cut, &[fixtures_arg()]);
        if n == 0 {
            assert!(got.crashes.is_empty());
            continue;
        }
        let c = &got.crashes[0];
        // Cut before the crashing frame's file line: no map, and it says so.
        if c.status != Status::Traced {
            assert!(!c.notes.is_empty(), "cut at {n}: no explanation");
        }
        if n < lines.len() {
            assert!(
                c.truncated || c.status == Status::Traced,
                "cut at {n} is neither traced nor called truncated"
            );
        }
    }
    // Also in the middle of a line, at every byte.
    for end in (0..raw.len()).filter(|&e| raw.is_char_boundary(e)) {
        let _ = trace(&raw[..end], &[fixtures_arg()]);
    }
    // The whole log still traces.
    assert_eq!(
        trace(&raw, &[fixtures_arg()]).crashes[0].status,
        Status::Traced
    );
}

#[test]
fn several_crashes_in_one_log_are_each_explained() {
    let (a, _) = sample(TIME_AFTERFUNC.0, TIME_AFTERFUNC.1);
    let (b, _) = sample(READS_WHILE_WRITES.0, READS_WHILE_WRITES.1);
    let log = format!("starting\n{a}exit status 2\nrestarted after crash\nserving\n{b}");
    let got = trace(&log, &[fixtures_arg()]);
    assert_eq!(got.crashes.len(), 2);
    let single_a = summary(&trace(&a, &[fixtures_arg()]).crashes[0]);
    let single_b = summary(&trace(&b, &[fixtures_arg()]).crashes[0]);
    assert_eq!(summary(&got.crashes[0]), single_a);
    assert_eq!(summary(&got.crashes[1]), single_b);
    assert_ne!(single_a.0, single_b.0, "two different maps");
    assert_eq!(got.crashes[0].log_line, 2);
    assert!(got.crashes[1].log_line > got.crashes[0].log_line);
    assert!(got.all_traced());
}

#[test]
fn another_machines_paths_are_mapped_to_the_local_tree() {
    // Go 1.22.10 built these in /tmp/ci-runner/build/fixtures, which is not here.
    let dir = logs_dir().join("go1.22.10");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let log = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let c = &trace(&log, &[fixtures_arg()]).crashes[0];
        let frame = &c.frames[c.crash_frame.unwrap()];
        let build = frame.file.as_deref().unwrap();
        assert!(
            build.starts_with("/tmp/ci-runner/build/fixtures/"),
            "{build}"
        );
        let local = frame.local.as_ref().unwrap();
        assert!(Path::new(&local.path).exists(), "{}", local.path);
        assert!(build.ends_with(local.path.trim_start_matches("fixtures/")));
        assert_eq!(Some(local.line), frame.line);
        checked += 1;
    }
    assert!(checked >= 5);
}

/// A copy of a fixture as its own module in a temporary folder.
fn copy_fixture(rule: &str, name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("go.mod"),
        "module gomaplint.example/fixtures\n\ngo 1.25\n",
    )
    .unwrap();
    let to = tmp.path().join(rule).join(name);
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(fixtures_root().join(rule).join(name)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
    tmp
}

#[test]
fn a_line_that_moved_since_the_build_is_found_again_and_said() {
    let (log, _) = sample(TIME_AFTERFUNC.0, TIME_AFTERFUNC.1);
    let before = trace(&log, &[fixtures_arg()]);
    let (map, crash_lines, _) = summary(&before.crashes[0]);
    let tmp = copy_fixture(TIME_AFTERFUNC.0, TIME_AFTERFUNC.1);
    let main = tmp
        .path()
        .join(TIME_AFTERFUNC.0)
        .join(TIME_AFTERFUNC.1)
        .join("main.go");
    // A newer source: three lines added above everything.
    let text = std::fs::read_to_string(&main).unwrap();
    let newer = text.replacen(
        "package main",
        "package main\n\n// A comment added after the build.\n",
        1,
    );
    std::fs::write(&main, newer).unwrap();
    let root = tmp.path().to_string_lossy().into_owned();
    let after = trace(&log, &[root]);
    let c = &after.crashes[0];
    assert_eq!(c.status, Status::Traced, "{:?}", c.notes);
    assert_eq!(c.map, map);
    let crash = c.accesses.iter().find(|a| a.crash).unwrap();
    assert_eq!(line_of(crash), crash_lines[0] + 3);
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("source changed since the build")),
        "{:?}",
        c.notes
    );
}

#[test]
fn a_line_that_holds_no_map_access_any_more_is_said_not_guessed() {
    // The crashing line and every other map write of its function are gone: nothing to guess.
    let (rule, name) = ("unsynchronized_map_write", "racy_wrapper_named_function");
    let (log, _) = sample(rule, name);
    let tmp = copy_fixture(rule, name);
    let main = tmp.path().join(rule).join(name).join("main.go");
    let text = std::fs::read_to_string(&main).unwrap();
    // Every map access gone: the function now only logs.
    let newer: String = text
        .lines()
        .map(|l| {
            if l.contains("// want") {
                "\t\t_ = 0"
            } else {
                l
            }
        })
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&main, newer).unwrap();
    let after = trace(&log, &[tmp.path().to_string_lossy().into_owned()]);
    let c = &after.crashes[0];
    assert_eq!(c.status, Status::NoMapAccess);
    assert!(c.map.is_none());
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("source changed since the build")),
        "{:?}",
        c.notes
    );
}

#[test]
fn a_file_that_is_not_here_is_said() {
    let (log, _) = sample(TIME_AFTERFUNC.0, TIME_AFTERFUNC.1);
    let empty = tempfile::tempdir().unwrap();
    let got = trace(&log, &[empty.path().to_string_lossy().into_owned()]);
    let c = &got.crashes[0];
    assert_eq!(c.status, Status::FileNotFound);
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("not found under the paths given"))
    );
    assert!(!got.all_traced());
}

#[test]
fn garbage_gives_no_crash_and_no_panic() {
    let mut seed = 0x9e3779b97f4a7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (raw, _) = sample(READS_WHILE_WRITES.0, READS_WHILE_WRITES.1);
    let lines: Vec<&str> = raw.lines().collect();
    for _ in 0..300 {
        // Lines shuffled, dropped and doubled, and bytes of noise.
        let mut log = String::new();
        for _ in 0..(next() % 20) {
            match next() % 4 {
                0 => log.push_str("\tgoroutine ( ) [ ] : +0x\n"),
                1 => {
                    log.push_str("{\"log\": 3}\n{\"msg\":\"fatal error: concurrent map writes\"}\n")
                }
                _ => {
                    log.push_str(lines[(next() as usize) % lines.len()]);
                    log.push('\n');
                }
            }
        }
        let _ = trace(&log, &[fixtures_arg()]);
    }
}

/// Runs `gomaplint trace ARGS` with `stdin`: (exit code, stdout, stderr).
fn cli(args: &[&str], stdin: &str) -> (i32, String, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_gomaplint"))
        .arg("trace")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn command_line_exit_codes_and_formats() {
    let log = format!(
        "tests/trace/logs/go1.27.3/{}__{}.log",
        TIME_AFTERFUNC.0, TIME_AFTERFUNC.1
    );
    // Traced: 0, a miette report that names the map and the lint's finding.
    let (code, out, _) = cli(&[&log, "fixtures", "--color", "never"], "");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("gomaplint::trace"), "{out}");
    assert!(out.contains("on map `pending`"), "{out}");
    assert!(out.contains("GML001"), "{out}");
    assert!(
        out.contains("1 map-race crash in the log, 1 traced"),
        "{out}"
    );
    // From standard input, as `-` and with no LOG at all, PATH defaulting to `.`.
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(&log)).unwrap();
    let (code, json, _) = cli(&["-", "./...", "--format", "json"], &text);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let crash = &v["crashes"][0];
    assert_eq!(crash["kind"], "concurrent map writes");
    assert_eq!(crash["status"], "traced");
    assert_eq!(crash["map"], "pending");
    assert!(
        crash["accesses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["other_side"] == true)
    );
    assert_eq!(crash["findings"][0]["code"], "GML001");
    let (code, _, _) = cli(&["--format", "json"], &text);
    assert_eq!(code, 0);
    // No crash in the log: 1, and a clear line.
    let (code, out, err) = cli(&["-"], "panic: runtime error: index out of range\n");
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(
        err.contains("no `fatal error: concurrent map ...` in the log"),
        "{err}"
    );
    assert!(err.contains("not a map race"), "{err}");
    // A crash whose file is not here: 1.
    let empty = tempfile::tempdir().unwrap();
    let (code, out, _) = cli(
        &[&log, &empty.path().to_string_lossy(), "--color", "never"],
        "",
    );
    assert_eq!(code, 1);
    assert!(out.contains("not found under the paths given"), "{out}");
    // Usage and I/O errors: 2.
    let (code, _, err) = cli(&["no/such/crash.log"], "");
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot read the crash log `no/such/crash.log`"),
        "{err}"
    );
    let (code, _, err) = cli(&[&log, "no/such/folder"], "");
    assert_eq!(code, 2);
    assert!(err.contains("does not exist"), "{err}");
    let (code, _, _) = cli(&["--format", "sarif"], "");
    assert_eq!(code, 2);
}

#[test]
fn other_goroutines_stacks_confirm_the_other_side() {
    // GOTRACEBACK=all: the main goroutine's stack is at its write when the reader crashed.
    let log = std::fs::read_to_string(logs_dir().join(format!(
        "go1.27.3-gotraceback-all/{}__{}.log",
        READS_WHILE_WRITES.0, READS_WHILE_WRITES.1
    )))
    .unwrap();
    let c = &trace(&log, &[fixtures_arg()]).crashes[0];
    assert!(c.goroutine.is_some());
    let confirmed: Vec<&AccessReport> = c
        .accesses
        .iter()
        .filter(|a| !a.crash && a.in_stacks_of.iter().any(|g| Some(*g) != c.goroutine))
        .collect();
    assert_eq!(confirmed.len(), 1, "{:#?}", c.accesses);
    assert!(confirmed[0].other_side);
    assert_eq!(confirmed[0].operation, "write");
    assert!(confirmed[0].why.contains("another goroutine's stack"));
}

#[test]
fn trimpath_builds_are_mapped_by_module_path() {
    let dir = logs_dir().join("go1.27.3-trimpath");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let log = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let c = &trace(&log, &[fixtures_arg()]).crashes[0];
        let frame = &c.frames[c.crash_frame.unwrap()];
        assert!(
            frame
                .file
                .as_deref()
                .unwrap()
                .starts_with("gomaplint.example/fixtures/")
        );
        assert_eq!(c.status, Status::Traced);
        checked += 1;
    }
    assert!(checked >= 2);
}

#[test]
fn the_issues_shop_crash_across_two_packages() {
    // tests/trace/testdata/shop built in /tmp/build/shop and run until it crashed.
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/trace/testdata");
    let log = std::fs::read_to_string(data.join("shop-crash.log")).unwrap();
    let got = trace(&log, &[data.join("shop").to_string_lossy().into_owned()]);
    let c = &got.crashes[0];
    assert_eq!(c.status, Status::Traced, "{:?}", c.notes);
    assert_eq!(c.map.as_deref(), Some("c.items"));
    let crash = c.accesses.iter().find(|a| a.crash).unwrap();
    assert!(crash.span.path.ends_with("cart/cart.go"));
    assert_eq!(crash.function, "(*Cart).Add");
    assert!(crash.locks.is_empty());
    // Started in a loop, as the log's `created by` line in main.go shows: the
    // crashing line is one other side, and the locked `delete` another.
    assert!(crash.other_side);
    assert!(
        crash
            .contexts
            .iter()
            .any(|x| x.span.path.ends_with("main.go") && x.message.contains("in a loop"))
    );
    let others: Vec<(&str, usize)> = c
        .accesses
        .iter()
        .filter(|a| a.other_side && !a.crash)
        .map(|a| (a.operation, a.span.line))
        .collect();
    assert_eq!(others, [("delete", 25)]);
    let read = c.accesses.iter().find(|a| a.operation == "read").unwrap();
    assert!(!read.other_side);
    assert_eq!(read.locks, ["c.mu"]);
    assert_eq!(c.findings.len(), 1);
    assert_eq!(c.findings[0].code, "GML006");
    // The fix: the lock that guards the map elsewhere, in the function that lacks it.
    assert!(c.help.starts_with("`c.mu` guards `c.items`"), "{}", c.help);
    assert!(c.help.contains("hold it in `(*Cart).Add`"), "{}", c.help);
    let created = &c.created_by[0];
    assert_eq!(created.function, "main.main");
    assert!(
        created
            .local
            .as_ref()
            .unwrap()
            .path
            .ends_with("shop/main.go")
    );
}

#[test]
fn the_readmes_example_is_what_gomaplint_trace_prints() {
    let shop = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/trace/testdata/shop");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gomaplint"))
        .args(["trace", "../shop-crash.log", "--color", "never"])
        .current_dir(&shop)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let printed = String::from_utf8(out.stdout).unwrap();
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    assert!(
        readme.contains(printed.trim_end()),
        "README.md's section \"From a crash log to the fix\" must show this output:\n{printed}"
    );
    let log = std::fs::read_to_string(shop.join("../shop-crash.log")).unwrap();
    assert!(readme.contains(log.trim_end()), "and this log:\n{log}");
}

#[test]
fn clone_and_iteration_through_the_maps_package_point_to_their_finding() {
    // tests/trace/testdata/stdmaps, built in /tmp/build/stdmaps: `maps.Clone`
    // and `range maps.Keys` of a package map that another goroutine writes.
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/trace/testdata");
    let root = data.join("stdmaps").to_string_lossy().into_owned();
    for (log, kind, operation, line) in [
        (
            "stdmaps-clone.log",
            "concurrent map clone and map write",
            "clone",
            16,
        ),
        (
            "stdmaps-iteration.log",
            "concurrent map iteration and map write",
            "range",
            25,
        ),
    ] {
        let text = std::fs::read_to_string(data.join(log)).unwrap();
        let got = trace(&text, std::slice::from_ref(&root));
        let c = &got.crashes[0];
        assert_eq!(c.kind.message(), kind);
        assert_eq!(c.status, Status::Traced, "{log}: {:?}", c.notes);
        assert_eq!(c.map.as_deref(), Some("settings"));
        let crash = c.accesses.iter().find(|a| a.crash).unwrap();
        assert_eq!(
            (crash.operation, crash.span.line),
            (operation, line),
            "{log}"
        );
        let others: Vec<usize> = c
            .accesses
            .iter()
            .filter(|a| a.other_side)
            .map(line_of)
            .collect();
        assert_eq!(others, [20], "{log}");
        // GML003 sees the iteration hidden in `maps.Clone` and `maps.Keys`:
        // the crash points to its finding, and makes no false-negative note.
        assert!(
            c.findings
                .iter()
                .any(|f| f.code == "GML003" && f.span.line == line),
            "{log}: {:?}",
            c.findings
        );
        assert!(
            !c.notes
                .iter()
                .any(|n| n.starts_with("no rule reports this map")),
            "{log}: {:?}",
            c.notes
        );
    }
}

#[test]
fn a_write_under_a_read_lock_gets_the_write_lock_advice() {
    let (log, _) = sample("map_write_under_rlock", "racy_evict_under_rlock");
    let c = &trace(&log, &[fixtures_arg()]).crashes[0];
    let crash = c.accesses.iter().find(|a| a.crash).unwrap();
    assert_eq!(crash.locks, ["s (RLock)"]);
    let other = c.accesses.iter().find(|a| a.other_side).unwrap();
    assert_eq!(other.operation, "delete");
    assert_eq!(
        other.locks,
        ["s (RLock)"],
        "a read lock on both sides does not exclude"
    );
    assert!(c.help.contains("only a read lock"), "{}", c.help);
    assert!(c.help.contains("`(*Sessions).Valid`"), "{}", c.help);
    assert_eq!(c.findings[0].code, "GML004");
}

#[test]
fn the_older_runtime_fatal_form_with_gotraceback_system() {
    // Go 1.22: `runtime.fatal` and `runtime.mapassign_fast64` frames, `gp=`/`fp=` details.
    let log =
        std::fs::read_to_string(logs_dir().join(
            "go1.22.10-gotraceback-system/unsynchronized_map_write__racy_seed_two_writers.log",
        ))
        .unwrap();
    assert!(log.contains("runtime.fatal(") && log.contains("runtime.mapassign"));
    let c = &trace(&log, &[fixtures_arg()]).crashes[0];
    assert_eq!(c.status, Status::Traced);
    assert!(!c.truncated);
    let i = c.crash_frame.unwrap();
    assert!(c.frames[..i].iter().all(|f| f.std));
    assert!(c.frames[..i].iter().any(|f| f.function == "runtime.fatal"));
    assert_eq!(c.frames[i].function, "main.main.func1");
    assert_eq!(c.map.as_deref(), Some("m"));
}

#[test]
fn a_finding_that_a_directive_or_the_configuration_hides_is_still_named() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/trace/testdata");
    let log = std::fs::read_to_string(data.join("shop-crash.log")).unwrap();
    let copy = || {
        let tmp = tempfile::tempdir().unwrap();
        for rel in ["go.mod", "main.go", "cart/cart.go"] {
            let to = tmp.path().join(rel);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(data.join("shop").join(rel), to).unwrap();
        }
        tmp
    };
    // A suppression on the crashing line.
    let tmp = copy();
    let cart = tmp.path().join("cart/cart.go");
    let text = std::fs::read_to_string(&cart).unwrap().replace(
        "c.items[id] += n",
        "c.items[id] += n //gomaplint:ignore GML006 only one goroutine adds",
    );
    std::fs::write(&cart, text).unwrap();
    let c = &trace(&log, &[tmp.path().to_string_lossy().into_owned()]).crashes[0];
    assert_eq!(c.findings.len(), 1);
    let hidden = c.findings[0].hidden.as_deref().unwrap();
    assert!(hidden.starts_with("suppressed by a directive"), "{hidden}");
    assert!(!c.notes.iter().any(|n| n.starts_with("no rule reports")));
    // A configuration that ignores the rule.
    let tmp = copy();
    std::fs::write(tmp.path().join("gomaplint.toml"), "ignore = [\"GML006\"]\n").unwrap();
    let c = &trace(&log, &[tmp.path().to_string_lossy().into_owned()]).crashes[0];
    let hidden = c.findings[0].hidden.as_deref().unwrap();
    assert!(
        hidden.contains("gomaplint.toml` turns GML006 off"),
        "{hidden}"
    );
    // Neither: shown as is.
    let tmp = copy();
    let c = &trace(&log, &[tmp.path().to_string_lossy().into_owned()]).crashes[0];
    assert_eq!(c.findings[0].hidden, None);
}

#[test]
fn a_crash_no_rule_explains_asks_for_a_report() {
    // tests/trace/testdata/registry, built in /tmp/build/registry: the map is
    // in package reg, the goroutines that call its Add in package main, and
    // gomaplint checks one package at a time.
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/trace/testdata");
    let root = data.join("registry").to_string_lossy().into_owned();
    let text = std::fs::read_to_string(data.join("registry-crash.log")).unwrap();
    let got = trace(&text, std::slice::from_ref(&root));
    let c = &got.crashes[0];
    assert_eq!(c.status, Status::Traced, "{:?}", c.notes);
    assert_eq!(c.map.as_deref(), Some("r.names"));
    assert!(c.findings.is_empty(), "{:?}", c.findings);
    assert!(
        c.notes
            .iter()
            .any(|n| n.starts_with("no rule reports this map: please report this case")),
        "{:?}",
        c.notes
    );
}
