//! From gomaplint's neutral `Diagnostic` to LSP objects, and between byte
//! offsets and LSP positions (UTF-16 code units unless the client takes UTF-8).

use std::path::Path;

use lsp_types::{
    CodeDescription, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString,
    Position, Range, Url,
};

use crate::diagnostic::{Diagnostic, Severity, Span};
use crate::rules;

/// How LSP counts the characters of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
}

/// The position of a byte offset of `text` (clamped to the text, and back
/// to the start of a character).
pub fn position(text: &str, byte: usize, encoding: Encoding) -> Position {
    let mut byte = byte.min(text.len());
    while !text.is_char_boundary(byte) {
        byte -= 1;
    }
    let before = &text[..byte];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count();
    let prefix = &text[line_start..byte];
    let character = match encoding {
        Encoding::Utf8 => prefix.len(),
        Encoding::Utf16 => prefix.encode_utf16().count(),
    };
    Position::new(line as u32, character as u32)
}

/// The byte offset of a position of `text`; a position past the end of its
/// line is the line's end, past the last line the end of the text (as the
/// protocol asks).
pub fn offset(text: &str, pos: Position, encoding: Encoding) -> usize {
    let mut line_start = 0;
    for _ in 0..pos.line {
        match text[line_start..].find('\n') {
            Some(i) => line_start += i + 1,
            None => return text.len(),
        }
    }
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let line = &text[line_start..line_end];
    let wanted = pos.character as usize;
    let mut units = 0;
    for (i, c) in line.char_indices() {
        if units >= wanted {
            return line_start + i;
        }
        units += match encoding {
            Encoding::Utf8 => c.len_utf8(),
            Encoding::Utf16 => c.len_utf16(),
        };
    }
    line_end
}

pub fn range(text: &str, span: &Span, encoding: Encoding) -> Range {
    Range::new(
        position(text, span.start_byte, encoding),
        position(text, span.end_byte, encoding),
    )
}

/// Where a rule's documentation is: the project's home once Cargo.toml names
/// one, else the file that `docs_folder` wrote.
pub fn docs_link(code: &str, docs_folder: Option<&Path>) -> Option<Url> {
    let rule = rules::find(code)?;
    if let Some(home) = option_env!("CARGO_PKG_REPOSITORY").filter(|r| !r.is_empty()) {
        return Url::parse(&format!("{home}#{}", rule.code.to_lowercase())).ok();
    }
    Url::from_file_path(docs_folder?.join(format!("{}.md", rule.code))).ok()
}

/// Writes each rule's documentation (what `gomaplint --explain` prints) to a
/// folder, so that a diagnostic's link opens it. `None` if it cannot.
pub fn write_docs_folder() -> Option<std::path::PathBuf> {
    let folder =
        std::env::temp_dir().join(format!("gomaplint-{}-rules", env!("CARGO_PKG_VERSION")));
    std::fs::create_dir_all(&folder).ok()?;
    for rule in rules::RULES {
        std::fs::write(folder.join(format!("{}.md", rule.code)), explanation(rule)).ok()?;
    }
    Some(folder)
}

/// A rule's explanation in Markdown: its code and name, summary and docs.
pub fn explanation(rule: &rules::Rule) -> String {
    format!(
        "# {} {}\n\n{}\n\n{}\n",
        rule.code,
        rule.name,
        rule.summary,
        rule.docs.trim_end()
    )
}

/// The LSP form of a finding. `text_of` gives the text of a file by its
/// path (as the diagnostic shows it); a span in a file it cannot give is
/// placed by its line and column.
pub fn diagnostic(
    d: &Diagnostic,
    text_of: &mut dyn FnMut(&str) -> Option<std::sync::Arc<str>>,
    encoding: Encoding,
    docs_folder: Option<&Path>,
) -> lsp_types::Diagnostic {
    let mut place = |span: &Span| match text_of(&span.path) {
        Some(text) => range(&text, span, encoding),
        None => Range::new(
            Position::new(
                span.line.saturating_sub(1) as u32,
                span.column.saturating_sub(1) as u32,
            ),
            Position::new(
                span.end_line.saturating_sub(1) as u32,
                span.end_column.saturating_sub(1) as u32,
            ),
        ),
    };
    let range = place(&d.span);
    let mut related = vec![];
    for label in &d.labels {
        let Ok(uri) = Url::from_file_path(&label.span.path) else {
            continue;
        };
        related.push(DiagnosticRelatedInformation {
            location: Location::new(uri, place(&label.span)),
            message: label.message.clone(),
        });
    }
    let message = match &d.help {
        Some(help) => format!("{}\nhelp: {help}", d.message),
        None => d.message.clone(),
    };
    lsp_types::Diagnostic {
        range,
        severity: Some(severity(d.severity)),
        code: Some(NumberOrString::String(d.code.to_string())),
        code_description: docs_link(d.code, docs_folder).map(|href| CodeDescription { href }),
        source: Some("gomaplint".into()),
        message,
        related_information: Some(related),
        tags: None,
        data: None,
    }
}

pub fn severity(s: Severity) -> DiagnosticSeverity {
    match s {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_units_or_bytes() {
        // `é` is 2 bytes and 1 UTF-16 unit; `😀` 4 bytes and 2 units.
        let text = "ab\né😀x\n";
        let x = text.find('x').unwrap();
        assert_eq!(position(text, x, Encoding::Utf16), Position::new(1, 3));
        assert_eq!(position(text, x, Encoding::Utf8), Position::new(1, 6));
        assert_eq!(offset(text, Position::new(1, 3), Encoding::Utf16), x);
        assert_eq!(offset(text, Position::new(1, 6), Encoding::Utf8), x);
        // Inside a character: back to its start; past the end of the line: its end.
        assert_eq!(position(text, x - 1, Encoding::Utf16), Position::new(1, 1));
        assert_eq!(offset(text, Position::new(0, 99), Encoding::Utf16), 2);
        assert_eq!(
            offset(text, Position::new(9, 0), Encoding::Utf16),
            text.len()
        );
        for byte in [0, 1, 2, 3, 5, 9, text.len()] {
            for enc in [Encoding::Utf8, Encoding::Utf16] {
                assert_eq!(offset(text, position(text, byte, enc), enc), byte);
            }
        }
    }
}
