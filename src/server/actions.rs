//! Code actions on a published finding (a suppression comment, the rule's fix
//! where it has one) and hover with the rule's explanation.

use std::collections::HashMap;

use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, Hover, HoverContents,
    HoverParams, MarkupContent, MarkupKind, Position, Range, TextEdit, WorkspaceEdit,
};

use super::{Server, convert};
use crate::rules;

fn overlaps(a: &Range, b: &Range) -> bool {
    a.start <= b.end && b.start <= a.end
}

fn contains(range: &Range, pos: Position) -> bool {
    range.start <= pos && pos <= range.end
}

impl Server {
    pub(super) fn code_actions(&self, p: &CodeActionParams) -> Vec<CodeActionOrCommand> {
        let uri = &p.text_document.uri;
        let (Some(findings), Some(doc)) = (self.findings.get(uri), self.documents.get(uri)) else {
            return Vec::new();
        };
        // Only quick fixes here: a client that asks for other kinds gets none.
        let wanted = p.context.only.as_ref().is_none_or(|only| {
            only.iter()
                .any(|k| CodeActionKind::QUICKFIX.as_str().starts_with(k.as_str()))
        });
        if !wanted {
            return Vec::new();
        }
        let mut actions = Vec::new();
        for f in findings
            .iter()
            .filter(|f| overlaps(&f.diagnostic.range, &p.range))
        {
            let edit = |edits: Vec<TextEdit>| WorkspaceEdit {
                changes: Some(HashMap::from([(uri.clone(), edits)])),
                ..WorkspaceEdit::default()
            };
            if let Some(removal) = f.removal {
                actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title: "Remove `defer recover()`: it recovers nothing".into(),
                    kind: Some(CodeActionKind::QUICKFIX),
                    diagnostics: Some(vec![f.diagnostic.clone()]),
                    edit: Some(edit(vec![TextEdit::new(removal, String::new())])),
                    is_preferred: Some(true),
                    ..CodeAction::default()
                }));
            }
            // Above the finding's line, indented as it is; the reason is the user's to write.
            let line = f.diagnostic.range.start.line;
            let line_start = convert::offset(&doc.text, Position::new(line, 0), self.encoding);
            let indent: String = doc.text[line_start..]
                .chars()
                .take_while(|c| *c == ' ' || *c == '\t')
                .collect();
            let at = Position::new(line, 0);
            actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: format!("Suppress {} on this line (write the reason)", f.code),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![f.diagnostic.clone()]),
                edit: Some(edit(vec![TextEdit::new(
                    Range::new(at, at),
                    format!("{indent}//gomaplint:ignore {} \n", f.code),
                )])),
                ..CodeAction::default()
            }));
        }
        actions
    }

    pub(super) fn hover(&self, p: &HoverParams) -> Option<Hover> {
        let at = &p.text_document_position_params;
        let findings = self.findings.get(&at.text_document.uri)?;
        let mut codes: Vec<&'static str> = findings
            .iter()
            .filter(|f| contains(&f.diagnostic.range, at.position))
            .map(|f| f.code)
            .collect();
        codes.sort_unstable();
        codes.dedup();
        let range = findings
            .iter()
            .find(|f| contains(&f.diagnostic.range, at.position))?
            .diagnostic
            .range;
        let value = codes
            .iter()
            .filter_map(|code| rules::find(code))
            .map(convert::explanation)
            .collect::<Vec<_>>()
            .join("\n---\n\n");
        Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value,
            }),
            range: Some(range),
        })
    }
}
