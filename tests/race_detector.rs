//! Checks every fixture's label against real Go: `racy_*` programs must make the
//! race detector (or the runtime's map check) fire, `safe_*` programs must run
//! clean under `-race`, `panics_*` programs must die of their panic.
//!
//! Go comes from `tests/tools/go-toolchain.sh`, which installs it on first use
//! (or from `$GOMAPLINT_GOROOT`).
//! Set `GOMAPLINT_SKIP_RACE=1` to skip this test where no Go can be installed,
//! `GOMAPLINT_RACE_FILTER=text` to check only the fixtures whose path contains it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Fixture, Label, all_fixtures, fixtures_root};

fn goroot() -> PathBuf {
    common::go_root().unwrap_or_else(|why| panic!("{why}"))
}

fn go(goroot: &Path) -> Command {
    let mut cmd = Command::new(goroot.join("bin/go"));
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env("GOROOT", goroot)
        .env("PATH", format!("{}:{path}", goroot.join("bin").display()))
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod")
        .env("GOTELEMETRY", "off")
        .current_dir(fixtures_root());
    cmd
}

/// Runs `cmd` to completion or kills it after `limit`: (exit code, stdout + stderr).
fn run_with_limit(mut cmd: Command, limit: Duration) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("out");
    let out = std::fs::File::create(&out_path).unwrap();
    let mut child = cmd
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .expect("start go");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status,
        std::fs::read_to_string(&out_path).unwrap_or_default(),
    )
}

/// Builds and runs one fixture under the race detector; `Err` says why its label is wrong.
fn check(goroot: &Path, bin_dir: &Path, fx: &Fixture) -> Result<(), String> {
    let rel = format!("./{}/{}", fx.rule, fx.name);
    let is_test = std::fs::read_dir(&fx.dir).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with("_test.go")
    });
    let raced = |output: &str| {
        output.contains("WARNING: DATA RACE") || output.contains("fatal error: concurrent map")
    };
    // How to run the fixture once: `go test`, or the binary built here.
    let run_once: Box<dyn Fn() -> (Option<i32>, String)> = if is_test {
        Box::new(|| {
            let mut cmd = go(goroot);
            // Parallel tests overlap however many cores the machine has.
            cmd.args(["test", "-race", "-count=1", "-parallel=4", &rel]);
            run_with_limit(cmd, Duration::from_secs(300))
        })
    } else {
        let bin = bin_dir.join(format!("{}__{}", fx.rule, fx.name));
        let mut build = go(goroot);
        build.args(["build", "-race", "-o"]).arg(&bin).arg(&rel);
        let (code, output) = run_with_limit(build, Duration::from_secs(300));
        if code != Some(0) {
            return Err(format!("does not build: {output}"));
        }
        Box::new(move || {
            let mut run = Command::new(&bin);
            run.env("GORACE", "halt_on_error=0");
            run_with_limit(run, Duration::from_secs(60))
        })
    };
    // Detection is dynamic: a racy program must show its race in one of a few
    // runs; a safe one must run clean.
    let runs = if fx.label == Label::Racy { 3 } else { 1 };
    let (mut code, mut output) = run_once();
    for _ in 1..runs {
        if raced(&output) {
            break;
        }
        (code, output) = run_once();
    }
    let raced = raced(&output);
    let verdict = match fx.label {
        Label::Racy if raced => Ok(()),
        Label::Racy => Err("labelled racy, but the race detector found no race".to_string()),
        Label::Safe if raced => {
            Err("labelled safe, but the race detector found a race".to_string())
        }
        Label::Safe if code != Some(0) => Err(format!("labelled safe, but exited with {code:?}")),
        Label::Safe => Ok(()),
        Label::Panics if raced => Err("labelled panics, but it races".to_string()),
        Label::Panics if code != Some(0) && output.contains("panic: ") => Ok(()),
        Label::Panics => Err(format!(
            "labelled panics, but exited with {code:?} without a panic"
        )),
    };
    verdict.map_err(|why| {
        format!(
            "{why}\n--- output ---\n{}",
            output.lines().take(30).collect::<Vec<_>>().join("\n")
        )
    })
}

#[test]
fn race_detector_agrees_with_every_fixture_label() {
    if std::env::var_os("GOMAPLINT_SKIP_RACE").is_some() {
        eprintln!(
            "GOMAPLINT_SKIP_RACE is set: fixture labels are not checked against the race detector"
        );
        return;
    }
    let goroot = goroot();
    let filter = std::env::var("GOMAPLINT_RACE_FILTER").unwrap_or_default();
    let fixtures: Vec<Fixture> = all_fixtures()
        .into_iter()
        .filter(|fx| format!("{}/{}", fx.rule, fx.name).contains(&filter))
        .collect();
    assert!(
        !fixtures.is_empty(),
        "no fixture matches GOMAPLINT_RACE_FILTER={filter:?}"
    );
    let bin_dir = tempfile::tempdir().unwrap();
    // Warm the build cache for the race runtime once, then check in parallel.
    let (code, output) = run_with_limit(
        {
            let mut c = go(&goroot);
            c.args(["build", "-race", "std"]);
            c
        },
        Duration::from_secs(900),
    );
    assert_eq!(code, Some(0), "go build -race std failed: {output}");
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(2);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(fx) = fixtures.get(i) else { break };
                    if let Err(why) = check(&goroot, bin_dir.path(), fx) {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("{}/{}: {why}", fx.rule, fx.name));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    eprintln!(
        "race detector checked {} fixtures, {} disagree",
        fixtures.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} fixture labels disagree with Go:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
