//! `gomaplint server` latency: `cargo bench --bench server`.
//!
//! Opens `net/http/server.go` of the Go standard library (`$GOMAPLINT_GOROOT`,
//! or Go from `tests/tools/go-toolchain.sh`) in the server, then edits it
//! again and again (a comment added at its end) and times each edit from the
//! `didChange` sent to the `publishDiagnostics` for that version received:
//! the whole package (72 files, 1.6 MB with its tests) linted from the
//! editor's text and the files on disk. The debounce delay is set to 0 so
//! that the analysis is what is timed; an editor waits the default 150 ms
//! more after the last key. Prints the median, the fastest and the slowest
//! of `GOMAPLINT_BENCH_RUNS` edits (default 15).

#[path = "../common/mod.rs"]
mod common;
#[path = "../common/lsp_client.rs"]
mod lsp_client;

use std::path::Path;
use std::time::{Duration, Instant};

use lsp_client::{Client, uri};
use serde_json::json;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too, once.
    let quick = !std::env::args().any(|a| a == "--bench");
    let runs = if quick {
        1
    } else {
        std::env::var("GOMAPLINT_BENCH_RUNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(15usize)
            .max(1)
    };
    let dir = common::go_root()
        .unwrap_or_else(|e| panic!("{e}"))
        .join("src/net/http");
    let path = dir.join("server.go");
    let text = std::fs::read_to_string(&path).expect("net/http/server.go");
    let file = uri(&path);
    let mut client = Client::start(
        Path::new(env!("CARGO_BIN_EXE_gomaplint")),
        &dir,
        json!({}),
        json!({ "debounceMs": 0 }),
    );
    client.timeout = Duration::from_secs(300);
    let start = Instant::now();
    client.open(&file, &text, 0);
    let findings = client.diagnostics(&file, 0).len();
    let open = start.elapsed();
    let mut times = Vec::new();
    let mut edited = text.clone();
    for version in 1..=runs as i64 {
        edited.push_str(&format!("\n// edit {version}\n"));
        let start = Instant::now();
        client.change(&file, &edited, version);
        client.diagnostics(&file, version);
        times.push(start.elapsed());
    }
    times.sort();
    // Linux: the server's peak resident memory.
    let peak = std::fs::read_to_string(format!("/proc/{}/status", client.pid()))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:").map(|v| v.trim().to_string()))
        })
        .unwrap_or_else(|| "unknown".into());
    println!(
        "server: net/http ({} findings in server.go): open to diagnostics {:.0} ms; \
         change to diagnostics, {} edits: median {:.0} ms, fastest {:.0} ms, slowest {:.0} ms; \
         peak memory {peak}",
        findings,
        ms(open),
        runs,
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1]),
    );
    assert_eq!(client.shutdown().code(), Some(0));
}
