//! Suppression directives: `//gomaplint:ignore GML001[,GML002] reason`, and the
//! same in staticcheck's form (`//lint:ignore GML001 reason`) and golangci-lint's
//! (`//nolint:gomaplint // reason`, every rule). A directive at the end of a line
//! covers that line; a directive on a line of its own covers the next line.
//! The reason is required, so that every exception is explained.

use crate::model::walk;
use crate::source::SourceFile;

const PREFIX: &str = "//gomaplint:ignore";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The 1-based line the directive applies to.
    pub line: usize,
    pub codes: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Directives {
    pub directives: Vec<Directive>,
    /// Problems with directives, as messages for the user.
    pub problems: Vec<String>,
}

impl Directives {
    pub fn suppresses(&self, code: &str, line: usize) -> bool {
        self.directives.iter().any(|d| {
            d.line == line
                && d.codes
                    .iter()
                    .any(|c| c == "*" || c.eq_ignore_ascii_case(code))
        })
    }
}

/// A directive read from a comment: the codes it names (`*` for all of
/// gomaplint's), and whether it gives a reason. `None` when the comment is
/// not a directive for gomaplint.
fn parse(comment: &str) -> Option<(Vec<String>, bool, &'static str)> {
    let words = |rest: &str| {
        let mut words = rest.split_whitespace();
        let codes: Vec<String> = words
            .next()
            .map(|c| {
                c.split(',')
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        (codes, words.next().is_some())
    };
    if let Some(rest) = comment.strip_prefix(PREFIX) {
        let (codes, reason) = words(rest);
        return Some((codes, reason, "//gomaplint:ignore GML001 reason"));
    }
    // staticcheck's form; directives for its own checks are not ours.
    if let Some(rest) = comment.strip_prefix("//lint:ignore ") {
        let (codes, reason) = words(rest);
        let ours: Vec<String> = codes
            .into_iter()
            .filter(|c| crate::rules::find(c).is_some())
            .collect();
        return (!ours.is_empty()).then_some((ours, reason, "//lint:ignore GML001 reason"));
    }
    // golangci-lint's form: `//nolint:gomaplint,errcheck // reason`.
    if let Some(rest) = comment.strip_prefix("//nolint:") {
        let (linters, reason) = rest.split_once("//").unwrap_or((rest, ""));
        let linters = linters.split_whitespace().next().unwrap_or("");
        if linters.split(',').any(|l| l == "gomaplint") {
            return Some((
                vec!["*".to_string()],
                !reason.trim().is_empty(),
                "//nolint:gomaplint // reason",
            ));
        }
    }
    None
}

pub fn directives(file: &SourceFile) -> Directives {
    let mut out = Directives::default();
    // Most files have none: skip the tree walk.
    if !crate::queries::mentions_any(&file.text, &["gomaplint", "lint:ignore"]) {
        return out;
    }
    walk(file.tree().root_node(), |node| {
        if node.kind() != "comment" {
            return true;
        }
        let Some((codes, has_reason, form)) = parse(file.text_of(node)) else {
            return false;
        };
        let (line, _) = file.line_col(node.start_byte());
        if codes.is_empty() || !has_reason {
            out.problems.push(format!(
                "{}:{line}: malformed suppression: write `{form}`; the codes and a reason are required, \
                 so this directive suppresses nothing",
                file.display
            ));
            return false;
        }
        if let Some(unknown) = codes
            .iter()
            .find(|c| *c != "*" && crate::rules::find(c).is_none())
        {
            out.problems.push(format!(
                "{}:{line}: suppression names no rule `{unknown}` (see `gomaplint --list-rules`), \
                 so it suppresses nothing",
                file.display
            ));
            return false;
        }
        let before = &file.text[..node.start_byte()];
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let standalone = before[line_start..].iter().all(|b| b.is_ascii_whitespace());
        out.directives.push(Directive {
            line: if standalone { line + 1 } else { line },
            codes,
        });
        false
    });
    out
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn the_three_forms() {
        assert_eq!(
            parse("//gomaplint:ignore GML001,GML003 owned by one goroutine"),
            Some((
                vec!["GML001".into(), "GML003".into()],
                true,
                "//gomaplint:ignore GML001 reason"
            ))
        );
        assert_eq!(parse("//gomaplint:ignore GML001").map(|p| p.1), Some(false));
        assert_eq!(
            parse("//lint:ignore GML002 a reason").map(|p| p.0),
            Some(vec!["GML002".into()])
        );
        // staticcheck's own checks are not ours.
        assert_eq!(parse("//lint:ignore SA1000 a reason"), None);
        assert_eq!(
            parse("//nolint:errcheck,gomaplint // startup only").map(|p| (p.0, p.1)),
            Some((vec!["*".into()], true))
        );
        assert_eq!(parse("//nolint:gomaplint").map(|p| p.1), Some(false));
        assert_eq!(parse("//nolint:errcheck // not ours"), None);
        assert_eq!(parse("// an ordinary comment about gomaplint"), None);
    }
}
