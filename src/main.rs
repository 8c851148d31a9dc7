//! The `gomaplint` binary: parse the command line, run the library, map the result to an exit code.

mod cli;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Color, Command, TraceArgs, TraceFormat};
use gomaplint::baseline::{self, Baseline};
use gomaplint::config;
use gomaplint::output::{
    Emitter, Format, concise::Concise, github::Github, json::Json, sarif::Sarif, text::Text,
};
use gomaplint::rules::{self, RULES};

const EXIT_CLEAN: u8 = 0;
const EXIT_FINDINGS: u8 = 1;
const EXIT_ERROR: u8 = 2;

/// The model's many small maps and vectors, like tree-sitter's trees (see
/// `parse::use_mimalloc`), allocate faster with mimalloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    gomaplint::parse::use_mimalloc();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        // A closed pipe (`gomaplint | head`) ends the run quietly.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(EXIT_CLEAN),
        Err(e) => {
            eprintln!("gomaplint: error: cannot write the output: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run(cli: Cli) -> io::Result<u8> {
    let start = std::time::Instant::now();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match cli.command {
        Some(Command::Trace(args)) => return trace(args, &mut out),
        Some(Command::Server) => {
            drop(out);
            if io::stdin().is_terminal() {
                eprintln!(
                    "gomaplint: the language server speaks LSP on standard input: editors start it \
                     (see the README's \"Editor integration\"); to lint a folder named `server`, \
                     run `gomaplint ./server`"
                );
            }
            return Ok(match gomaplint::server::run() {
                Ok(()) => EXIT_CLEAN,
                Err(e) => {
                    eprintln!("gomaplint: error: language server: {e}");
                    EXIT_ERROR
                }
            });
        }
        None => {}
    }
    if cli.list_rules {
        for rule in RULES {
            let precision = rules::precision::of(rule.code)
                .level()
                .map_or("-", |level| level.as_str());
            writeln!(
                out,
                "{}  {:<32} {:<8} {:<9}  {}",
                rule.code,
                rule.name,
                rule.severity.as_str(),
                precision,
                rule.summary
            )?;
        }
        return Ok(EXIT_CLEAN);
    }
    if let Some(code) = &cli.explain {
        let Some(rule) = rules::find(code) else {
            let codes: Vec<&str> = RULES.iter().map(|r| r.code).collect();
            eprintln!(
                "gomaplint: error: no rule `{code}`; the rules are {} (see `gomaplint --list-rules`)",
                codes.join(", ")
            );
            return Ok(EXIT_ERROR);
        };
        let measurement = &rules::precision::MEASUREMENT;
        let set = if measurement.projects == 0 {
            "the ledger's held-out `check` set has not been measured yet".to_string()
        } else {
            format!(
                "triaged by hand on the ledger's held-out `check` set: {} Go projects that the rules \
                 were not tuned on, measured {}",
                measurement.projects,
                measurement.measured.replace('@', " at gomaplint ")
            )
        };
        writeln!(
            out,
            "# {} {}\n\n{}\n\n{}\n\n## Measured precision\n\n{}; {}. \
             See the README's \"Precision on real code\".",
            rule.code,
            rule.name,
            rule.summary,
            rule.docs.trim_end(),
            rules::precision::of(rule.code).describe(),
            set,
        )?;
        return Ok(EXIT_CLEAN);
    }
    if let Some(jobs) = cli.jobs {
        if jobs == 0 {
            eprintln!("gomaplint: error: `--jobs` must be at least 1");
            return Ok(EXIT_ERROR);
        }
        // Only fails if a pool exists already, which cannot happen this early.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .build_global();
    }
    // While the main thread finds the files.
    rayon::spawn(rules::compile_queries);
    let paths = if cli.paths.is_empty() {
        vec![".".to_string()]
    } else {
        cli.paths
    };
    let err_color = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let overrides = match (rules::codes(&cli.select), rules::codes(&cli.ignore)) {
        (Ok(select), Ok(ignore)) => gomaplint::RuleOverrides {
            select: (!select.is_empty()).then_some(select),
            ignore,
        },
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("gomaplint: error: {e}");
            return Ok(EXIT_ERROR);
        }
    };
    let source = match (cli.isolated, cli.config) {
        (true, _) => config::Source::Isolated,
        (false, Some(file)) => config::Source::File(file),
        (false, None) => config::Source::Discover,
    };
    // Read before linting, so that a bad baseline costs no run.
    let base = match &cli.baseline {
        Some(path) => match Baseline::read(path) {
            Ok(b) => Some(b),
            Err(e) => {
                eprintln!("gomaplint: error: {e}");
                return Ok(EXIT_ERROR);
            }
        },
        None => None,
    };
    let plan = gomaplint::plan(&paths, source, &overrides);
    if !plan.config_errors.is_empty() {
        let mut err = io::stderr().lock();
        for e in &plan.config_errors {
            write!(
                err,
                "{}",
                gomaplint::output::text::config_error(e, err_color)
            )?;
        }
        return Ok(EXIT_ERROR);
    }
    let format = cli.format.or(plan.output_format).unwrap_or(Format::Text);
    let options = gomaplint::Options {
        prefilter: !cli.no_prefilter,
    };
    let mut outcome = gomaplint::lint_plan(plan, options);
    for warning in &outcome.warnings {
        eprintln!("gomaplint: warning: {warning}");
    }
    for error in &outcome.errors {
        eprintln!("gomaplint: error: {error}");
    }
    if let Some(path) = &cli.write_baseline {
        return Ok(match baseline::write(path, &outcome) {
            Ok(n) => {
                eprintln!(
                    "gomaplint: wrote {n} finding{} to the baseline `{}`",
                    if n == 1 { "" } else { "s" },
                    path.display()
                );
                if outcome.errors.is_empty() {
                    EXIT_CLEAN
                } else {
                    EXIT_ERROR
                }
            }
            Err(e) => {
                eprintln!("gomaplint: error: {e}");
                EXIT_ERROR
            }
        });
    }
    // Stale entries count only when asked for.
    let mut stale = Vec::new();
    if let Some(base) = &base {
        let applied = base.apply(&mut outcome);
        outcome.baseline_hidden = applied.hidden;
        if cli.show_stale_baseline {
            stale = applied.stale;
        }
    }
    let color = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let emitter: Box<dyn Emitter> = match format {
        Format::Text => Box::new(Text { color }),
        Format::Concise => Box::new(Concise),
        Format::Json => Box::new(Json),
        Format::Sarif => Box::new(Sarif),
        Format::Github => Box::new(Github),
    };
    let render_start = std::time::Instant::now();
    emitter.emit(&mut out, &outcome)?;
    out.flush()?;
    if cli.stats {
        outcome.stats.render = render_start.elapsed();
        outcome.stats.findings = outcome.diagnostics.len();
        let threads = rayon::current_num_threads();
        outcome
            .stats
            .write(&mut io::stderr().lock(), start.elapsed(), threads)?;
    }
    if !stale.is_empty() {
        let shown = cli
            .baseline
            .as_deref()
            .unwrap_or(std::path::Path::new(""))
            .display();
        for e in &stale {
            eprintln!(
                "gomaplint: stale baseline entry in `{shown}`: {}:{}: {} {} (no longer found; \
                 drop it with `--write-baseline {shown}`)",
                e.path, e.line, e.code, e.message
            );
        }
    }
    Ok(if !outcome.errors.is_empty() {
        EXIT_ERROR
    } else if outcome.diagnostics.is_empty() && stale.is_empty() {
        EXIT_CLEAN
    } else {
        EXIT_FINDINGS
    })
}

/// `gomaplint trace`: exit 0 when every crash of the log is traced to a map
/// access, 1 when the log has none or one is not traced, 2 on usage or I/O errors.
fn trace(args: TraceArgs, out: &mut dyn Write) -> io::Result<u8> {
    use std::io::Read;
    let log = match args.log.as_deref() {
        None | Some("-") => {
            if io::stdin().is_terminal() {
                eprintln!(
                    "gomaplint: error: no crash log: give its file (`gomaplint trace crash.log`) \
                     or pipe it in (`kubectl logs pod | gomaplint trace`)"
                );
                return Ok(EXIT_ERROR);
            }
            let mut bytes = Vec::new();
            if let Err(e) = io::stdin().lock().read_to_end(&mut bytes) {
                eprintln!("gomaplint: error: cannot read the crash log from standard input: {e}");
                return Ok(EXIT_ERROR);
            }
            bytes
        }
        Some(path) => match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) => {
                eprintln!(
                    "gomaplint: error: cannot read the crash log `{path}`: {}",
                    gomaplint::discover::io_reason(&e)
                );
                return Ok(EXIT_ERROR);
            }
        },
    };
    let log = String::from_utf8_lossy(&log);
    let paths = if args.paths.is_empty() {
        vec![".".to_string()]
    } else {
        args.paths
    };
    for p in &paths {
        if !std::path::Path::new(gomaplint::discover::strip_go_pattern(p)).exists() {
            eprintln!("gomaplint: error: `{p}` does not exist");
            return Ok(EXIT_ERROR);
        }
    }
    let traced = gomaplint::trace::trace(&log, &paths);
    if traced.crashes.is_empty() {
        let other = if log.contains("fatal error:") || log.contains("panic:") {
            "; it has another fatal error or panic, which is not a map race"
        } else {
            ""
        };
        eprintln!("gomaplint: no `fatal error: concurrent map ...` in the log{other}");
    }
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    match args.format {
        TraceFormat::Text if traced.crashes.is_empty() => {}
        TraceFormat::Text => gomaplint::output::trace::text(out, &traced, color)?,
        TraceFormat::Json => gomaplint::output::trace::json(out, &traced)?,
    }
    out.flush()?;
    Ok(if traced.all_traced() {
        EXIT_CLEAN
    } else {
        EXIT_FINDINGS
    })
}
