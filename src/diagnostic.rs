//! The neutral finding type that rules produce and every output format renders.

use serde::Serialize;

/// How serious a rule's findings are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A region of one source file: byte offsets for machines, 1-based lines and
/// character columns for people. `end_column` is exclusive.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Span {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    #[serde(skip)]
    pub start_byte: usize,
    #[serde(skip)]
    pub end_byte: usize,
}

/// A secondary location that explains a finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Label {
    #[serde(flatten)]
    pub span: Span,
    pub message: String,
}

/// One finding. Plain data: no rendering here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub message: String,
    #[serde(flatten)]
    pub span: Span,
    /// What the primary span shows, e.g. "written here without a lock".
    pub label: String,
    pub labels: Vec<Label>,
    pub help: Option<String>,
    /// Why the access can race, where the rule knows: each side's concurrent
    /// code, from where it starts to the access.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub witness: Option<Witness>,
}

/// The evidence of a race: the sides that can run at the same time. One side
/// with `runs_twice` is code that runs many times at once (a `go` statement in
/// a loop, a served handler) racing with another run of itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Witness {
    pub sides: Vec<Side>,
    pub runs_twice: bool,
}

/// One side of a race: where its concurrent code starts (the `go` statement,
/// the handler, or the function that started a goroutine and goes on), the
/// calls that lead from there to the access, and the access.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Side {
    pub root: Label,
    pub calls: Vec<Label>,
    pub access: Label,
    /// The locks held at the access, as written.
    pub locks: Vec<String>,
}

impl Diagnostic {
    /// The order users and tests see: path, line, column, code.
    pub fn sort_key(&self) -> (&str, usize, usize, &str, &str) {
        (
            &self.span.path,
            self.span.line,
            self.span.column,
            self.code,
            &self.message,
        )
    }
}
