//! The `gomaplint` binary: parse the command line, run the library, map the result to an exit code.

mod cli;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Color, Format};
use gomaplint::output::{Emitter, github::Github, json::Json, sarif::Sarif, text::Text};
use gomaplint::rules::{self, RULES};

const EXIT_CLEAN: u8 = 0;
const EXIT_FINDINGS: u8 = 1;
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
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
    let stdout = io::stdout();
    let mut out = stdout.lock();
    if cli.list_rules {
        for rule in RULES {
            writeln!(
                out,
                "{}  {:<32} {:<8} {}",
                rule.code,
                rule.name,
                rule.severity.as_str(),
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
        writeln!(
            out,
            "# {} {}\n\n{}\n\n{}",
            rule.code,
            rule.name,
            rule.summary,
            rule.docs.trim_end()
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
    let paths = if cli.paths.is_empty() {
        vec![".".to_string()]
    } else {
        cli.paths
    };
    let selection = match rules::Selection::new(&cli.select, &cli.ignore) {
        Ok(selection) => selection,
        Err(e) => {
            eprintln!("gomaplint: error: {e}");
            return Ok(EXIT_ERROR);
        }
    };
    let options = gomaplint::Options {
        prefilter: !cli.no_prefilter,
    };
    let outcome = gomaplint::lint_with_options(&paths, &selection, options);
    for warning in &outcome.warnings {
        eprintln!("gomaplint: warning: {warning}");
    }
    for error in &outcome.errors {
        eprintln!("gomaplint: error: {error}");
    }
    let color = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let emitter: Box<dyn Emitter> = match cli.format {
        Format::Text => Box::new(Text { color }),
        Format::Json => Box::new(Json),
        Format::Sarif => Box::new(Sarif),
        Format::Github => Box::new(Github),
    };
    emitter.emit(&mut out, &outcome)?;
    out.flush()?;
    Ok(if !outcome.errors.is_empty() {
        EXIT_ERROR
    } else if outcome.diagnostics.is_empty() {
        EXIT_CLEAN
    } else {
        EXIT_FINDINGS
    })
}
