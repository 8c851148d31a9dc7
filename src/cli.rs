//! The command line (clap derive types only).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use gomaplint::output::Format;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

/// Finds Go map accesses that can race and crash the process with
/// `fatal error: concurrent map writes`.
///
/// Exit status: 0 no findings, 1 findings, 2 usage or I/O errors.
/// `gomaplint trace` explains a crash log instead (see `gomaplint trace --help`);
/// `gomaplint server` is a language server for editors.
#[derive(Debug, Parser)]
#[command(
    name = "gomaplint",
    version,
    about,
    long_about = None,
    args_conflicts_with_subcommands = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Go files or folders to lint; `./...` and `dir/...` mean the folder, recursively. Default: `.`
    #[arg(value_name = "PATH")]
    pub paths: Vec<String>,

    /// Output format [default: text, or the configuration's `output-format`]
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// When to color text output
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,

    /// Run only these rules: codes or names, comma-separated (default: all)
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    pub select: Vec<String>,

    /// Do not run these rules: codes or names, comma-separated
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    pub ignore: Vec<String>,

    /// Use this configuration file for every path, instead of the
    /// `gomaplint.toml` or `.gomaplint.toml` found above each package
    #[arg(long, value_name = "FILE", conflicts_with = "isolated")]
    pub config: Option<PathBuf>,

    /// Ignore every configuration file
    #[arg(long)]
    pub isolated: bool,

    /// Report only findings that this baseline file does not record
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Record the current findings in this baseline file, report nothing, exit 0
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,

    /// Also report baseline entries that match no finding (fixed since), and exit 1 if there are any
    #[arg(long, requires = "baseline")]
    pub show_stale_baseline: bool,

    /// List the rules (code, name, severity, precision measured on the held-out check set) and exit
    #[arg(long, conflicts_with = "explain")]
    pub list_rules: bool,

    /// Print a rule's documentation (by code or name) and exit
    #[arg(long, value_name = "CODE")]
    pub explain: Option<String>,

    /// Number of worker threads (default: one per core)
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,

    /// Parse every file up front, also those the byte prefilter shows no
    /// rule can report on and those the model never needs (the findings are
    /// the same; for checking that they are)
    #[arg(long)]
    pub no_prefilter: bool,

    /// Print counts and the time of each phase to stderr, as `stats: <key> <value>` lines
    #[arg(long)]
    pub stats: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Explain a `fatal error: concurrent map ...` crash log: the map, every
    /// access of it, the other side of the race and the fix.
    ///
    /// Exit status: 0 every crash in the log traced to a map access, 1 no crash
    /// in the log or one not traced (its file not found, its line changed),
    /// 2 usage or I/O errors.
    Trace(TraceArgs),
    /// Run a language server (LSP over standard input and output) that
    /// lints the package of each open Go file as it is edited.
    ///
    /// Editors start it; see the README's "Editor integration" section.
    Server,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TraceFormat {
    /// A miette report per crash.
    Text,
    /// One JSON object, `{"crashes": [...]}`.
    Json,
}

#[derive(Debug, Args)]
pub struct TraceArgs {
    /// The crash log: raw, with a prefix on every line (journald, kubectl
    /// --timestamps, docker) or JSON lines; `-` or nothing for standard input
    #[arg(value_name = "LOG")]
    pub log: Option<String>,

    /// The source the crashed program was built from (folders, `./...`). Default: `.`
    #[arg(value_name = "PATH")]
    pub paths: Vec<String>,

    /// Output format
    #[arg(long, value_enum, default_value_t = TraceFormat::Text)]
    pub format: TraceFormat,

    /// When to color text output
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}
