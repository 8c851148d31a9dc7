//! Suppression directives, in the style of staticcheck's `//lint:ignore`:
//! `//gomaplint:ignore GML001[,GML002] reason`. A directive at the end of a line
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
        self.directives
            .iter()
            .any(|d| d.line == line && d.codes.iter().any(|c| c.eq_ignore_ascii_case(code)))
    }
}

pub fn directives(file: &SourceFile) -> Directives {
    let mut out = Directives::default();
    // Most files have none: skip the tree walk.
    if !file
        .text
        .windows(PREFIX.len())
        .any(|w| w == PREFIX.as_bytes())
    {
        return out;
    }
    walk(file.tree.root_node(), |node| {
        if node.kind() != "comment" {
            return true;
        }
        let text = file.text_of(node);
        let Some(rest) = text.strip_prefix(PREFIX) else {
            return false;
        };
        let (line, _) = file.line_col(node.start_byte());
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
        let has_reason = words.next().is_some();
        if codes.is_empty() || !has_reason {
            out.problems.push(format!(
                "{}:{line}: malformed `//gomaplint:ignore` directive: write `//gomaplint:ignore GML001 reason`; \
                 the codes and a reason are required, so this directive suppresses nothing",
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
