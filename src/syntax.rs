//! Cheap questions about syntax nodes.
//!
//! tree-sitter's `Node::kind` measures and checks the kind's C string on
//! every call, and `child_by_field_name` finds the field's number by
//! comparing it with every field name of the grammar. The model asks both
//! millions of times per run, so it uses the grammar's numbers instead.

use std::sync::LazyLock;

use tree_sitter::Node;

/// The field numbers of the bundled grammar (`vendor/tree-sitter-go`), for
/// `Node::child_by_field_id`. A test checks each against the language.
pub mod field {
    pub const ALIAS: u16 = 1;
    pub const ALTERNATIVE: u16 = 2;
    pub const ARGUMENTS: u16 = 3;
    pub const BODY: u16 = 4;
    pub const CAPACITY: u16 = 5;
    pub const CHANNEL: u16 = 6;
    pub const COMMUNICATION: u16 = 7;
    pub const CONDITION: u16 = 8;
    pub const CONSEQUENCE: u16 = 9;
    pub const ELEMENT: u16 = 10;
    pub const END: u16 = 11;
    pub const FIELD: u16 = 12;
    pub const FUNCTION: u16 = 13;
    pub const INDEX: u16 = 14;
    pub const INITIALIZER: u16 = 15;
    pub const KEY: u16 = 16;
    pub const LABEL: u16 = 17;
    pub const LEFT: u16 = 18;
    pub const LENGTH: u16 = 19;
    pub const NAME: u16 = 20;
    pub const OPERAND: u16 = 21;
    pub const OPERATOR: u16 = 22;
    pub const PACKAGE: u16 = 23;
    pub const PARAMETERS: u16 = 24;
    pub const PATH: u16 = 25;
    pub const RECEIVER: u16 = 26;
    pub const RESULT: u16 = 27;
    pub const RIGHT: u16 = 28;
    pub const START: u16 = 29;
    pub const TAG: u16 = 30;
    pub const TYPE: u16 = 31;
    pub const TYPE_ARGUMENTS: u16 = 32;
    pub const TYPE_PARAMETERS: u16 = 33;
    pub const UPDATE: u16 = 34;
    pub const VALUE: u16 = 35;

    /// Every field above with its name in the grammar.
    #[cfg(test)]
    pub(crate) const ALL: &[(&str, u16)] = &[
        ("alias", ALIAS),
        ("alternative", ALTERNATIVE),
        ("arguments", ARGUMENTS),
        ("body", BODY),
        ("capacity", CAPACITY),
        ("channel", CHANNEL),
        ("communication", COMMUNICATION),
        ("condition", CONDITION),
        ("consequence", CONSEQUENCE),
        ("element", ELEMENT),
        ("end", END),
        ("field", FIELD),
        ("function", FUNCTION),
        ("index", INDEX),
        ("initializer", INITIALIZER),
        ("key", KEY),
        ("label", LABEL),
        ("left", LEFT),
        ("length", LENGTH),
        ("name", NAME),
        ("operand", OPERAND),
        ("operator", OPERATOR),
        ("package", PACKAGE),
        ("parameters", PARAMETERS),
        ("path", PATH),
        ("receiver", RECEIVER),
        ("result", RESULT),
        ("right", RIGHT),
        ("start", START),
        ("tag", TAG),
        ("type", TYPE),
        ("type_arguments", TYPE_ARGUMENTS),
        ("type_parameters", TYPE_PARAMETERS),
        ("update", UPDATE),
        ("value", VALUE),
    ];
}

/// The name of every node kind, by the grammar's number for it.
static KIND_NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let language = crate::parse::language();
    (0..language.node_kind_count() as u16)
        .map(|id| language.node_kind_for_id(id).unwrap_or(""))
        .collect()
});

pub trait NodeExt {
    /// The node's kind, as `Node::kind` gives it, from a table.
    fn kind_name(&self) -> &'static str;
}

impl NodeExt for Node<'_> {
    #[inline]
    fn kind_name(&self) -> &'static str {
        match KIND_NAMES.get(self.kind_id() as usize) {
            Some(name) => name,
            // `ERROR` and the other built-in kinds past the table.
            None => self.kind(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_numbers_are_the_grammars() {
        let language = crate::parse::language();
        assert_eq!(field::ALL.len(), language.field_count());
        for &(name, id) in field::ALL {
            assert_eq!(
                language.field_id_for_name(name).map(|f| f.get()),
                Some(id),
                "field `{name}`"
            );
        }
    }

    #[test]
    fn kind_names_are_what_node_kind_says() {
        let src = "package p\n\nfunc f(m map[string]int) {\n\tgo func() { m[\"k\"]++ }()\n\t)\n}\n";
        let tree = crate::parse::parse(src.as_bytes()).expect("parses");
        let mut seen = 0;
        let mut errors = 0;
        // Every node, named or not.
        let mut cursor = tree.walk();
        'walk: loop {
            let n = cursor.node();
            assert_eq!(n.kind_name(), n.kind());
            seen += 1;
            errors += usize::from(n.is_error());
            if cursor.goto_first_child() {
                continue;
            }
            while !cursor.goto_next_sibling() {
                if !cursor.goto_parent() {
                    break 'walk;
                }
            }
        }
        assert!(seen > 20);
        assert!(
            errors > 0,
            "the source has a syntax error, to check `ERROR`"
        );
    }
}
