//! The command line (clap derive types only).

use clap::{Parser, ValueEnum};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Reports with the source snippet and labels (miette).
    Text,
    /// One JSON array of findings.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
    /// GitHub Actions annotations (`::error file=...::...`).
    Github,
}

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
#[derive(Debug, Parser)]
#[command(name = "gomaplint", version, about, long_about = None)]
pub struct Cli {
    /// Go files or folders to lint; `./...` and `dir/...` mean the folder, recursively. Default: `.`
    #[arg(value_name = "PATH")]
    pub paths: Vec<String>,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// When to color text output
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,

    /// Run only these rules: codes or names, comma-separated (default: all)
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    pub select: Vec<String>,

    /// Do not run these rules: codes or names, comma-separated
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    pub ignore: Vec<String>,

    /// List the rules and exit
    #[arg(long, conflicts_with = "explain")]
    pub list_rules: bool,

    /// Print a rule's documentation (by code or name) and exit
    #[arg(long, value_name = "CODE")]
    pub explain: Option<String>,

    /// Number of worker threads (default: one per core)
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,

    /// Parse every package, also those the byte prefilter shows no rule can
    /// report on (the findings are the same; for checking that they are)
    #[arg(long)]
    pub no_prefilter: bool,
}
