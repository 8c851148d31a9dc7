//! Throughput, memory and scaling: `cargo bench`.
//!
//! For the Go standard library (`$GOMAPLINT_GOROOT/src`, or Go from
//! `tests/tools/go-toolchain.sh`) and the real-code corpus (the folders in
//! `$GOMAPLINT_BENCH_CORPUS`, whitespace-separated, or those listed in
//! `/tmp/corpus.txt`), prints the whole lint's time (the release binary, with
//! 2 threads and with 1), a bare tree-sitter parse of the same files (2
//! threads, in this process, and 1 thread to show what speedup the machine
//! gives now), their ratio, files/s, MB/s, peak memory and the speedup of 2
//! threads over 1; and checks that the findings are the same
//! with the prefilter on and off and with 1 and 8 threads.
//!
//! Then the corners where a linter can turn quadratic, generated into a
//! temporary folder: a 50 MB file, a function of 20,000 statements (also
//! after a goroutine it starts), 5,000 `go` statements in one function,
//! 10,000 small packages. Each is linted at
//! a quarter of its size and at its size; the time per MB should stay the
//! same (a quadratic phase would make it four times as long).
//!
//! Targets (2 cores): the lint at most 1.0x the bare parse (packages the
//! prefilter does not parse count), peak memory at most 150 MB on the
//! standard library, at least 1.9x faster with 2 threads than with 1.
//!
//! `GOMAPLINT_BENCH_RUNS` (default 3) sets best-of-N; `GOMAPLINT_BENCH_ONLY`
//! one of `stdlib`, `corpus`, `corners`; `GOMAPLINT_BENCH_CORNER_SCALE`
//! (default 1) scales the corners.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use rayon::prelude::*;

const BIN: &str = env!("CARGO_BIN_EXE_gomaplint");

fn runs() -> usize {
    std::env::var("GOMAPLINT_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1)
}

fn stdlib() -> PathBuf {
    if let Some(root) = std::env::var_os("GOMAPLINT_GOROOT") {
        return PathBuf::from(root).join("src");
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tools/go-toolchain.sh");
    let out = Command::new("bash")
        .arg(script)
        .output()
        .expect("run go-toolchain.sh");
    assert!(
        out.status.success(),
        "set GOMAPLINT_GOROOT to a Go installation"
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()).join("src")
}

fn corpus() -> Option<Vec<String>> {
    let listed = std::env::var("GOMAPLINT_BENCH_CORPUS")
        .ok()
        .or_else(|| std::fs::read_to_string("/tmp/corpus.txt").ok())?;
    let folders: Vec<String> = listed
        .split_whitespace()
        .filter(|f| Path::new(f).is_dir())
        .map(str::to_string)
        .collect();
    (!folders.is_empty()).then_some(folders)
}

/// One run of the binary: wall seconds, its `--stats` lines, its stdout.
struct Run {
    seconds: f64,
    peak_kb: u64,
    stats: String,
    stdout: Vec<u8>,
}

fn lint(paths: &[String], args: &[&str]) -> Run {
    let start = Instant::now();
    let out = Command::new(BIN)
        .args(["--stats", "--format", "json"])
        .args(args)
        .args(paths)
        .output()
        .expect("run gomaplint");
    let seconds = start.elapsed().as_secs_f64();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "gomaplint failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stats: String = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.starts_with("stats: "))
        .map(|l| format!("{l}\n"))
        .collect();
    let peak_kb = stat(&stats, "peak-rss")
        .and_then(|v| v.trim_end_matches(" kB").parse().ok())
        .unwrap_or(0);
    Run {
        seconds,
        peak_kb,
        stats,
        stdout: out.stdout,
    }
}

fn stat<'s>(stats: &'s str, key: &str) -> Option<&'s str> {
    stats.lines().find_map(|l| {
        l.strip_prefix("stats: ")?
            .strip_prefix(key)?
            .strip_prefix(' ')
    })
}

/// The fastest of `runs()` runs (and its peak memory, the largest seen).
fn best_lint(paths: &[String], args: &[&str]) -> Run {
    let mut best: Option<Run> = None;
    let mut peak = 0;
    for _ in 0..runs() {
        let run = lint(paths, args);
        peak = peak.max(run.peak_kb);
        if best.as_ref().is_none_or(|b| run.seconds < b.seconds) {
            best = Some(run);
        }
    }
    let mut best = best.expect("at least one run");
    best.peak_kb = peak;
    best
}

fn best_of(f: &dyn Fn()) -> f64 {
    (0..runs())
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn measure(name: &str, paths: &[String], pool: &rayon::ThreadPool, pool1: &rayon::ThreadPool) {
    let targets = gomaplint::discover::discover(paths).targets;
    let texts: Vec<Vec<u8>> = targets
        .iter()
        .filter_map(|t| std::fs::read(&t.path).ok())
        .collect();
    let bytes: usize = texts.iter().map(Vec::len).sum();
    let mb = bytes as f64 / 1e6;
    let files = texts.len();
    println!("== {name}: {files} files, {mb:.1} MB");

    let parse_with = |pool: &rayon::ThreadPool| {
        best_of(&|| {
            pool.install(|| {
                let trees = texts
                    .par_iter()
                    .filter(|t| gomaplint::parse::parse(t).is_some())
                    .count();
                assert_eq!(trees, files);
            })
        })
    };
    let parse = parse_with(pool);
    let parse1 = parse_with(pool1);
    let two = best_lint(paths, &["-j", "2"]);
    let one = best_lint(paths, &["-j", "1"]);
    let no_prefilter = lint(paths, &["-j", "8", "--no-prefilter"]);
    let mut report = String::new();
    let line = |r: &mut String, what: &str, s: f64| {
        let _ = writeln!(
            r,
            "  {what:<28} {s:7.2} s  {:8.0} files/s  {:6.2} MB/s",
            files as f64 / s,
            mb / s
        );
    };
    line(&mut report, "bare parse, 2 threads", parse);
    line(&mut report, "bare parse, 1 thread", parse1);
    line(&mut report, "gomaplint -j 2", two.seconds);
    line(&mut report, "gomaplint -j 1", one.seconds);
    let _ = writeln!(
        report,
        "  lint / bare parse (2 threads): {:.2}x (target: at most 1.0x)",
        two.seconds / parse
    );
    let _ = writeln!(
        report,
        "  2 threads over 1: {:.2}x (target: at least 1.9x; the bare parse gets {:.2}x on this machine now)",
        one.seconds / two.seconds,
        parse1 / parse
    );
    let _ = writeln!(
        report,
        "  peak memory: {:.0} MB with 2 threads, {:.0} MB with 1 (target on the standard library: at most 150 MB)",
        two.peak_kb as f64 / 1024.0,
        one.peak_kb as f64 / 1024.0
    );
    let _ = writeln!(
        report,
        "  files the prefilter did not parse: {} of {files}",
        stat(&two.stats, "prefilter-skipped-files").unwrap_or("?")
    );
    let _ = writeln!(
        report,
        "  same findings -j 1 / -j 2 / -j 8 --no-prefilter: {}",
        if one.stdout == two.stdout && two.stdout == no_prefilter.stdout {
            "yes"
        } else {
            "NO"
        }
    );
    let _ = writeln!(report, "  phases of the fastest -j 2 run:");
    for l in two.stats.lines() {
        let _ = writeln!(report, "    {l}");
    }
    print!("{report}");
    assert!(
        one.stdout == two.stdout && two.stdout == no_prefilter.stdout,
        "{name}: the findings depend on the thread count or the prefilter"
    );
}

/// A function body that makes a map, starts a goroutine and writes it under a lock.
fn small_function(i: usize) -> String {
    format!(
        "func f{i}() {{\n\tvar mu sync.Mutex\n\tm := map[int]int{{}}\n\tvar wg sync.WaitGroup\n\
         \twg.Add(1)\n\tgo func() {{\n\t\tdefer wg.Done()\n\t\tmu.Lock()\n\t\tm[{i}] = {i}\n\
         \t\tmu.Unlock()\n\t}}()\n\tmu.Lock()\n\tm[0]++\n\tmu.Unlock()\n\twg.Wait()\n}}\n\n"
    )
}

/// The corners, each as (name, files of a given size `n`, full size).
type Corner = (&'static str, fn(usize) -> Vec<(String, String)>, usize);

fn big_file(functions: usize) -> Vec<(String, String)> {
    let mut text = String::from("package big\n\nimport \"sync\"\n\n");
    for i in 0..functions {
        text.push_str(&small_function(i));
    }
    vec![("big/big.go".into(), text)]
}

fn long_function(statements: usize) -> Vec<(String, String)> {
    long_body(
        "package long\n\nimport \"sync\"\n\nvar mu sync.Mutex\nvar m = map[int]int{}\n\n\
         func start() { go long() }\n\nfunc long() {\n",
        statements,
    )
}

/// The same statements after a goroutine that the function starts itself:
/// every access after it is checked against it (is there a join between?).
fn long_function_after_go(statements: usize) -> Vec<(String, String)> {
    long_body(
        "package long\n\nimport \"sync\"\n\nfunc long() {\n\tvar mu sync.Mutex\n\
         \tm := map[int]int{}\n\tgo func() { mu.Lock(); m[0] = 1; mu.Unlock() }()\n",
        statements,
    )
}

/// `head`, then `statements` statements locking `mu` around writes of `m`
/// and reading `m`, then the end of the function.
fn long_body(head: &str, statements: usize) -> Vec<(String, String)> {
    let mut text = String::from(head);
    for i in 0..statements {
        match i % 4 {
            0 => text.push_str("\tmu.Lock()\n"),
            1 => text.push_str(&format!("\tm[{i}] = {i}\n")),
            2 => text.push_str("\tmu.Unlock()\n"),
            _ => text.push_str(&format!("\tif m[{i}] > 0 {{\n\t\tprintln({i})\n\t}}\n")),
        }
    }
    text.push_str("}\n");
    vec![("long/long.go".into(), text)]
}

fn many_go_statements(count: usize) -> Vec<(String, String)> {
    let mut text = String::from(
        "package gos\n\nimport \"sync\"\n\nfunc spawn() {\n\tvar mu sync.Mutex\n\
         \tm := map[int]int{}\n\tvar wg sync.WaitGroup\n",
    );
    for i in 0..count {
        text.push_str(&format!(
            "\twg.Add(1)\n\tgo func() {{\n\t\tdefer wg.Done()\n\t\tmu.Lock()\n\t\tm[{i}]++\n\
             \t\tmu.Unlock()\n\t}}()\n"
        ));
    }
    text.push_str("\twg.Wait()\n}\n");
    vec![("gos/gos.go".into(), text)]
}

fn many_packages(count: usize) -> Vec<(String, String)> {
    (0..count)
        .map(|i| {
            let text = format!("package p{i}\n\nimport \"sync\"\n\n{}", small_function(i));
            (format!("p{}/p{i}/p.go", i / 100), text)
        })
        .collect()
}

fn corners() {
    // 50 MB of functions of about 220 bytes each.
    let corners: [Corner; 5] = [
        ("a 50 MB file", big_file, 50_000_000 / 220),
        ("a function of 20,000 statements", long_function, 20_000),
        (
            "a function of 20,000 statements after its own goroutine",
            long_function_after_go,
            20_000,
        ),
        (
            "5,000 `go` statements in one function",
            many_go_statements,
            5_000,
        ),
        ("10,000 small packages", many_packages, 10_000),
    ];
    // `GOMAPLINT_BENCH_CORNER_SCALE` (default 1) scales every corner down (or up).
    let scale: f64 = std::env::var("GOMAPLINT_BENCH_CORNER_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0);
    println!("== corners (best of {}, 2 threads, scale {scale})", runs());
    for (name, make, full) in corners {
        let full = ((full as f64 * scale) as usize).max(4);
        let mut per_mb = Vec::new();
        for n in [full / 4, full] {
            let dir = tempfile::tempdir().expect("a temporary folder");
            let mut bytes = 0;
            for (rel, text) in make(n) {
                let path = dir.path().join(rel);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                bytes += text.len();
                std::fs::write(path, text).unwrap();
            }
            let mb = bytes as f64 / 1e6;
            let run = best_lint(&[dir.path().to_string_lossy().into_owned()], &["-j", "2"]);
            println!(
                "  {name}, size {n}: {mb:.1} MB in {:.2} s, {:.3} s per MB, peak {:.0} MB",
                run.seconds,
                run.seconds / mb,
                run.peak_kb as f64 / 1024.0
            );
            per_mb.push(run.seconds / mb);
        }
        println!(
            "  {name}: time per MB at full size / at a quarter: {:.2}x (about 1 when linear, 4 when quadratic)",
            per_mb[1] / per_mb[0]
        );
    }
}

fn main() {
    // The bare parse allocates as the linter does.
    gomaplint::parse::use_mimalloc();
    // `cargo bench` passes `--bench`; nothing else is read from the command line.
    let only = std::env::var("GOMAPLINT_BENCH_ONLY").ok();
    let wants = |part: &str| only.as_deref().is_none_or(|o| o == part);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("a pool of 2 threads");
    let pool1 = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a pool of 1 thread");
    println!(
        "best of {} runs; {} cores; the machine may be shared: compare ratios",
        runs(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if wants("stdlib") {
        let root = stdlib().to_string_lossy().into_owned();
        measure("Go standard library", &[root], &pool, &pool1);
    }
    if wants("corpus") {
        match corpus() {
            Some(folders) => measure("real-code corpus", &folders, &pool, &pool1),
            None => println!(
                "== real-code corpus: skipped; set GOMAPLINT_BENCH_CORPUS to its folders \
                 (tests/corpus/install.sh prints them)"
            ),
        }
    }
    if wants("corners") {
        corners();
    }
}
