//! Throughput on a real corpus: `cargo bench`. The corpus is
//! `$GOMAPLINT_BENCH_CORPUS`, or the Go standard library from
//! `tests/tools/go-toolchain.sh`. Prints lines per second for parsing
//! alone and for the whole lint, and the analysis's share of the time.
//!
//! Target (2-core machine, Go 1.27 standard library, 2.3 million lines):
//! the whole lint within 2.5x the parse-only time, i.e. the analysis costs
//! less than one and a half times what tree-sitter's parsing does.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use rayon::prelude::*;

fn corpus() -> PathBuf {
    if let Some(dir) = std::env::var_os("GOMAPLINT_BENCH_CORPUS") {
        return PathBuf::from(dir);
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tools/go-toolchain.sh");
    let out = Command::new("bash")
        .arg(script)
        .output()
        .expect("run go-toolchain.sh");
    assert!(
        out.status.success(),
        "set GOMAPLINT_BENCH_CORPUS to a folder of Go code"
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()).join("src")
}

fn main() {
    let root = corpus();
    let root_arg = root.to_string_lossy().into_owned();
    let targets = gomaplint::discover::discover(std::slice::from_ref(&root_arg)).targets;
    let texts: Vec<Vec<u8>> = targets
        .iter()
        .filter_map(|t| std::fs::read(&t.path).ok())
        .collect();
    let lines: usize = texts
        .iter()
        .map(|t| t.iter().filter(|&&b| b == b'\n').count())
        .sum();
    let bytes: usize = texts.iter().map(Vec::len).sum();
    println!(
        "corpus: {} ({} files, {lines} lines, {} MB)",
        root.display(),
        texts.len(),
        bytes / 1_000_000
    );

    let best = |f: &dyn Fn()| {
        (0..3)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };

    let parse = best(&|| {
        let trees: usize = texts
            .par_iter()
            .filter_map(|t| gomaplint::parse::parse(t))
            .count();
        assert_eq!(trees, texts.len());
    });
    let lint = best(&|| {
        let outcome = gomaplint::lint(std::slice::from_ref(&root_arg));
        std::hint::black_box(outcome.diagnostics.len());
    });
    let threads = rayon::current_num_threads();
    println!("threads: {threads}");
    println!(
        "parse only: {parse:.2} s, {:.0} lines/s ({:.0} per thread)",
        lines as f64 / parse,
        lines as f64 / parse / threads as f64
    );
    println!(
        "full lint:  {lint:.2} s, {:.0} lines/s ({:.0} per thread)",
        lines as f64 / lint,
        lines as f64 / lint / threads as f64
    );
    println!("lint / parse: {:.2}x (target: at most 2.5x)", lint / parse);
}
