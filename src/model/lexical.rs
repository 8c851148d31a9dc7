//! What a package's files declare and mention, read from their bytes before
//! they are parsed, so that the model parses only the files its questions
//! reach. Every answer is a superset: the files that may mention a word, the
//! files that may declare a top-level name. A file whose layout the scanner
//! cannot vouch for (a comment or literal that does not end, brackets that
//! do not balance) is a candidate for every name.
//!
//! In `cmd/compile/internal/ssa`, a `go` statement in a test makes the whole
//! package worth modelling, but the goroutines reach a few small files: its
//! 10 MB of generated rewrite rules are never parsed.

use rustc_hash::FxHashMap as HashMap;

/// What a top-level declaration declares. Constants are not listed: the
/// model looks them up only as `false` constants (`Lexicon::false_consts`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Type,
    Func,
    Method,
    Var,
}

/// The words and declarations of a package's files.
#[derive(Default)]
pub struct Lexicon<'a> {
    /// Identifier -> the files (ascending) whose code holds it.
    mentions: HashMap<&'a str, Vec<usize>>,
    /// (kind, top-level name) -> the files (ascending) that may declare it.
    declares: HashMap<(Kind, &'a str), Vec<usize>>,
    /// Files that may declare anything.
    opaque: Vec<usize>,
    /// Names that `var` declarations may declare (more than they do).
    vars: Vec<&'a str>,
    /// Files whose functions' signatures may hold a function type
    /// (`func run(f func())`), ascending.
    pub func_typed_params: Vec<usize>,
    /// Files that may declare a constant `false` (`const debug = false`).
    pub false_consts: Vec<usize>,
    /// Each file's package name, when its first token is `package`.
    pub package_names: Vec<Option<&'a str>>,
}

impl<'a> Lexicon<'a> {
    pub fn new(texts: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut lexicon = Lexicon::default();
        for (file, text) in texts.into_iter().enumerate() {
            lexicon.add(file, text);
        }
        lexicon
    }

    /// The files whose code may hold the identifier `word`, ascending.
    pub fn mentioning(&self, word: &str) -> impl Iterator<Item = usize> + '_ {
        let listed = self.mentions.get(word).map_or(&[][..], Vec::as_slice);
        merge(listed, &self.opaque)
    }

    /// Whether the code of `file` may hold the identifier `word`.
    pub fn mentions(&self, file: usize, word: &str) -> bool {
        self.opaque.contains(&file)
            || self
                .mentions
                .get(word)
                .is_some_and(|files| files.binary_search(&file).is_ok())
    }

    /// The files that may declare `name` as a `kind`, ascending.
    pub fn declaring<'s>(&'s self, kind: Kind, name: &'s str) -> impl Iterator<Item = usize> + 's {
        let listed = self
            .declares
            .get(&(kind, name))
            .map_or(&[][..], Vec::as_slice);
        merge(listed, &self.opaque)
    }

    /// The names that package-level `var` declarations may declare, or
    /// `None` when a file may declare anything.
    pub fn var_names(&self) -> Option<&[&'a str]> {
        self.opaque.is_empty().then_some(self.vars.as_slice())
    }

    /// Whether some file may declare `name` as a `kind`.
    pub fn may_declare(&self, kind: Kind, name: &str) -> bool {
        !self.opaque.is_empty() || self.declares.contains_key(&(kind, name))
    }

    /// Notes that the code of `file` holds the identifier `word`; files are
    /// added in order.
    fn mention(&mut self, file: usize, word: &'a [u8]) {
        if let Ok(w) = std::str::from_utf8(word) {
            let files = self.mentions.entry(w).or_default();
            if files.last() != Some(&file) {
                files.push(file);
            }
        }
    }

    /// `mention` for a run of identifier bytes. tree-sitter may split a run
    /// at a byte that is not part of an identifier (a non-ASCII symbol, a
    /// leading digit): its ASCII identifier pieces count too.
    fn mention_run(&mut self, file: usize, run: &'a [u8]) {
        self.mention(file, run);
        if !run.is_ascii() || run[0].is_ascii_digit() {
            for piece in run.split(|b| !b.is_ascii()) {
                let piece = trim_digits(piece);
                if !piece.is_empty() {
                    self.mention(file, piece);
                }
            }
        }
    }

    fn add(&mut self, file: usize, text: &'a [u8]) {
        let code = crate::prefilter::code_only(text);
        let lexes = code.is_some();
        let code = code.as_deref().unwrap_or(text);
        let top = top_level(text, tokens(code), |start, end| {
            self.mention_run(file, &text[start..end])
        });
        self.package_names.push(package_clause(text));
        if !lexes || !top.balanced {
            self.opaque.push(file);
        }
        if top.func_typed_params || !lexes || !top.balanced {
            self.func_typed_params.push(file);
        }
        if top.false_const {
            self.false_consts.push(file);
        }
        let mut names = top.names;
        names.sort_unstable();
        names.dedup();
        for (kind, name) in names {
            if kind == Kind::Var {
                self.vars.push(name);
            }
            self.declares.entry((kind, name)).or_default().push(file);
        }
        self.vars.sort_unstable();
        self.vars.dedup();
    }
}

/// The name in a file's `package` clause, when the file starts with one
/// (after spaces and comments); `None` when it does not plainly.
pub fn package_clause(text: &[u8]) -> Option<&str> {
    let mut i = 0;
    let skip = |mut i: usize| loop {
        match text.get(i..) {
            Some([b' ' | b'\t' | b'\r' | b'\n', ..]) => i += 1,
            Some([b'/', b'/', ..]) => {
                i = memchr::memchr(b'\n', &text[i..]).map_or(text.len(), |e| i + e);
            }
            Some([b'/', b'*', ..]) => {
                i = i + 2 + memchr::memmem::find(&text[i + 2..], b"*/")? + 2;
            }
            _ => return Some(i),
        }
    };
    let word = |i: usize| {
        let end = i + text[i..].iter().take_while(|&&b| is_word_byte(b)).count();
        (end > i && !text[i].is_ascii_digit()).then_some(end)
    };
    i = skip(i)?;
    let end = word(i)?;
    if &text[i..end] != b"package" {
        return None;
    }
    let start = skip(end)?;
    if start == end {
        return None;
    }
    let end = word(start)?;
    std::str::from_utf8(&text[start..end]).ok()
}

/// Whether `text` has an occurrence of the identifier `name` that is not
/// plainly a call: `name(` or `x.name(`, with only spaces before the `(`. A
/// declaration (`func name(`, `) name(`) is not a call; nor is anything else
/// (`f(name)`, `x.name`, `name[T](`). A file without one holds no use of
/// `name` as a value.
pub fn has_use_other_than_call(text: &[u8], name: &str) -> bool {
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let blank = |b: u8| b == b' ' || b == b'\t';
    for at in memchr::memmem::find_iter(text, name.as_bytes()) {
        let end = at + name.len();
        if at > 0 && ident(text[at - 1]) || text.get(end).is_some_and(|&b| ident(b)) {
            continue;
        }
        let after = end + text[end..].iter().take_while(|&&b| blank(b)).count();
        if text.get(after) != Some(&b'(') {
            return true;
        }
        let before = at - text[..at].iter().rev().take_while(|&&b| blank(b)).count();
        let declared = text[..before].ends_with(b")")
            || text[..before].ends_with(b"func") && (before == 4 || !ident(text[before - 5]));
        if declared {
            return true;
        }
    }
    false
}

fn trim_digits(piece: &[u8]) -> &[u8] {
    let start = piece
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(piece.len());
    &piece[start..]
}

/// Two ascending lists merged, without repeats.
fn merge<'s>(a: &'s [usize], b: &'s [usize]) -> impl Iterator<Item = usize> + 's {
    let (mut i, mut j) = (0, 0);
    std::iter::from_fn(move || {
        let next = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) if x == y => {
                i += 1;
                j += 1;
                x
            }
            (Some(&x), Some(&y)) if x < y => {
                i += 1;
                x
            }
            (_, Some(&y)) => {
                j += 1;
                y
            }
            (Some(&x), None) => {
                i += 1;
                x
            }
            (None, None) => return None,
        };
        Some(next)
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    /// A run of identifier bytes (letters, digits, `_`, non-ASCII): start, end.
    Word(usize, usize),
    /// An end of line, or a blanked comment or literal, which may hold one.
    Break,
    Punct(u8),
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || !b.is_ascii()
}

/// The tokens of code, in order; a run of line breaks is one `Break`.
struct Tokens<'c> {
    code: &'c [u8],
    i: usize,
    after_break: bool,
}

fn tokens(code: &[u8]) -> Tokens<'_> {
    Tokens {
        code,
        i: 0,
        after_break: false,
    }
}

impl Iterator for Tokens<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let code = self.code;
        while self.i < code.len() {
            let b = code[self.i];
            if is_word_byte(b) {
                let start = self.i;
                while self.i < code.len() && is_word_byte(code[self.i]) {
                    self.i += 1;
                }
                self.after_break = false;
                return Some(Token::Word(start, self.i));
            }
            self.i += 1;
            match b {
                b'\n' | 0x01 => {
                    if !self.after_break {
                        self.after_break = true;
                        return Some(Token::Break);
                    }
                }
                b' ' | b'\t' | b'\r' => {}
                _ => {
                    self.after_break = false;
                    return Some(Token::Punct(b));
                }
            }
        }
        None
    }
}

struct TopLevel<'a> {
    /// Names that top-level declarations may declare, by kind: more than
    /// they do, never fewer.
    names: Vec<(Kind, &'a str)>,
    /// Whether a function or method signature holds a function type.
    func_typed_params: bool,
    balanced: bool,
    false_const: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Keyword {
    Type,
    Var,
    Const,
}

impl Keyword {
    fn kind(self) -> Option<Kind> {
        match self {
            Keyword::Type => Some(Kind::Type),
            Keyword::Var => Some(Kind::Var),
            Keyword::Const => None,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    /// After `func`: a name, or a receiver.
    Func,
    /// In a method's receiver; its name follows when the brackets close.
    Receiver,
    /// After a receiver.
    MethodName,
    /// In a function's or method's signature.
    Signature,
    /// After `type`, `var` or `const`: a name, or a group.
    Spec(Keyword),
    /// After a spec's first name: `,` brings another (not for types).
    Names(Keyword),
    /// In `var ( ... )`: `start` when a new spec may begin.
    Group {
        keyword: Keyword,
        start: bool,
    },
    /// In a group spec's name list.
    GroupNames(Keyword),
}

/// Reads the top-level declarations from the tokens, tracking bracket depth:
/// at depth 0 `func`, `type`, `var` and `const` start declarations; in a
/// group, a name may start each line (after a line break, `;`, or a `,` in a
/// name list).
fn top_level<'a>(
    text: &'a [u8],
    tokens: impl Iterator<Item = Token>,
    mut on_word: impl FnMut(usize, usize),
) -> TopLevel<'a> {
    let word = |t: &Token| match *t {
        Token::Word(s, e) => std::str::from_utf8(&text[s..e]).ok(),
        _ => None,
    };
    let mut out = TopLevel {
        names: Vec::new(),
        func_typed_params: false,
        balanced: true,
        false_const: false,
    };
    let mut stack: Vec<u8> = Vec::new();
    let mut state = State::Idle;
    // Inside a `const` declaration: until its group closes, or its line ends.
    let mut in_const = false;
    for token in tokens {
        let t = &token;
        if let Token::Word(start, end) = token {
            on_word(start, end);
        }
        if !out.balanced {
            continue;
        }
        let depth = stack.len();
        if let Token::Punct(p @ (b'(' | b'[' | b'{')) = *t {
            stack.push(p);
        } else if let Token::Punct(p @ (b')' | b']' | b'}')) = *t {
            let open = match p {
                b')' => b'(',
                b']' => b'[',
                _ => b'{',
            };
            if stack.pop() != Some(open) {
                out.balanced = false;
                continue;
            }
        }
        let w = word(t);
        if in_const && w == Some("false") {
            out.false_const = true;
        }
        if depth == 0 && matches!(t, Token::Break | Token::Punct(b';')) && stack.is_empty() {
            in_const = false;
        }
        state = match state {
            _ if depth == 0 && matches!(w, Some("func" | "type" | "var" | "const")) => {
                in_const = w == Some("const");
                // `func f() func()`: a function type in a signature.
                out.func_typed_params |= state == State::Signature && w == Some("func");
                match w {
                    Some("func") => State::Func,
                    Some("type") => State::Spec(Keyword::Type),
                    Some("var") => State::Spec(Keyword::Var),
                    _ => State::Spec(Keyword::Const),
                }
            }
            State::Idle => State::Idle,
            State::Func => match *t {
                Token::Break => State::Func,
                Token::Punct(b'(') => State::Receiver,
                _ => match w {
                    Some(w) => {
                        out.names.push((Kind::Func, w));
                        State::Signature
                    }
                    None => State::Idle,
                },
            },
            State::Receiver if stack.is_empty() => State::MethodName,
            State::Receiver => State::Receiver,
            State::MethodName => match *t {
                Token::Break => State::MethodName,
                _ => match w {
                    Some(w) => {
                        out.names.push((Kind::Method, w));
                        State::Signature
                    }
                    None => State::Idle,
                },
            },
            // Until the body's `{`, or the end of a declaration without one.
            State::Signature => {
                if depth == 0 && matches!(t, Token::Punct(b'{') | Token::Break) {
                    State::Idle
                } else {
                    out.func_typed_params |= w == Some("func");
                    State::Signature
                }
            }
            State::Spec(k) => match *t {
                Token::Break => State::Spec(k),
                Token::Punct(b'(') => State::Group {
                    keyword: k,
                    start: true,
                },
                _ => match w {
                    Some(name) => {
                        out.names.extend(k.kind().map(|kind| (kind, name)));
                        State::Names(k)
                    }
                    None => State::Idle,
                },
            },
            State::Names(k) => match *t {
                Token::Punct(b',') if k != Keyword::Type => State::Spec(k),
                _ => State::Idle,
            },
            group if stack.is_empty() => {
                // The group's `)`.
                let _ = group;
                in_const = false;
                State::Idle
            }
            State::Group { keyword, start } => {
                if stack.len() > 1 || depth > 1 {
                    State::Group { keyword, start }
                } else {
                    match (*t, w) {
                        (Token::Break | Token::Punct(b';'), _) => State::Group {
                            keyword,
                            start: true,
                        },
                        (_, Some(name)) if start => {
                            out.names.extend(keyword.kind().map(|kind| (kind, name)));
                            if keyword == Keyword::Type {
                                State::Group {
                                    keyword,
                                    start: false,
                                }
                            } else {
                                State::GroupNames(keyword)
                            }
                        }
                        _ => State::Group {
                            keyword,
                            start: false,
                        },
                    }
                }
            }
            State::GroupNames(keyword) => match *t {
                Token::Punct(b',') => State::Group {
                    keyword,
                    start: true,
                },
                Token::Break | Token::Punct(b';') => State::Group {
                    keyword,
                    start: true,
                },
                _ => State::Group {
                    keyword,
                    start: false,
                },
            },
        };
    }
    if !stack.is_empty() {
        out.balanced = false;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(src: &str) -> Vec<String> {
        let lexicon = Lexicon::new([src.as_bytes()]);
        let mut names: Vec<String> = lexicon
            .declares
            .keys()
            .map(|(kind, name)| format!("{kind:?} {name}"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn top_level_names_are_found() {
        let src = "package p\n\
            import (\n\t\"fmt\"\n)\n\
            type A struct{ f map[string]int }\n\
            type (\n\tB int\n\tC[T any] interface{ M() }\n)\n\
            var x, y = 1, 2\n\
            var (\n\tz = f(\n\t\tq,\n\t)\n\tu, v int\n)\n\
            const k = false\n\
            func F() {}\n\
            func (a *A) G(n int) { var inner int; _ = inner }\n\
            func (C[T]) H() {}\n";
        let names = declared(src);
        for want in [
            "Type A", "Type B", "Type C", "Var x", "Var y", "Var z", "Var u", "Var v", "Func F",
            "Method G", "Method H",
        ] {
            assert!(
                names.iter().any(|n| n == want),
                "{want} missing from {names:?}"
            );
        }
        // Locals are not top-level; constants are not listed.
        for not in ["inner", "q", "f", "n", "fmt", "k"] {
            assert!(
                !names.iter().any(|n| n.ends_with(&format!(" {not}"))),
                "{not} listed: {names:?}"
            );
        }
        let lexicon = Lexicon::new([src.as_bytes()]);
        assert_eq!(lexicon.package_names, vec![Some("p")]);
        assert_eq!(lexicon.false_consts, vec![0]);
        assert!(lexicon.func_typed_params.is_empty());
        let typed = Lexicon::new([
            &b"package p\nfunc run(f func()) { go f() }\n"[..],
            &b"package p\nfunc (s *S) each(yield func(int) bool) {}\n"[..],
            &b"package p\nfunc make() func() {\n\treturn nil\n}\n"[..],
            &b"package p\nfunc plain(n int) {\n\tf := func() {}\n\tf()\n}\n"[..],
        ]);
        assert_eq!(typed.func_typed_params, vec![0, 1, 2]);
        assert!(lexicon.opaque.is_empty());
        let mut vars = lexicon.var_names().unwrap().to_vec();
        vars.sort();
        for want in ["u", "v", "x", "y", "z"] {
            assert!(vars.contains(&want), "{want} missing from {vars:?}");
        }
        for not in ["A", "B", "F", "k"] {
            assert!(!vars.contains(&not), "{not} is not a var: {vars:?}");
        }
    }

    #[test]
    fn words_in_comments_and_strings_are_not_mentions() {
        let lexicon =
            Lexicon::new([&b"package p\n// Foo\nvar s = \"Bar\"\nfunc g() { Baz() }\n"[..]]);
        assert_eq!(lexicon.mentioning("Baz").collect::<Vec<_>>(), vec![0]);
        assert_eq!(lexicon.mentioning("Foo").count(), 0);
        assert_eq!(lexicon.mentioning("Bar").count(), 0);
    }

    #[test]
    fn calls_are_told_from_other_uses() {
        let other = |src: &str| has_use_other_than_call(src.as_bytes(), "run");
        assert!(!other("go run(x); s.run (y); running(); rerun(z)"));
        assert!(other("f(run)"));
        assert!(other("h := s.run"));
        assert!(other("func run() {}"));
        assert!(other("func (s *S) run() {}"));
        assert!(other("run[int](x)"));
        assert!(other("run\n(x)"));
    }

    #[test]
    fn files_it_cannot_read_are_candidates_for_everything() {
        let lexicon = Lexicon::new([
            &b"package p\nfunc f() {}\n"[..],
            &b"package p\nfunc g() {\n"[..],
            &b"package p\nvar s = \"open\n"[..],
        ]);
        assert_eq!(
            lexicon.declaring(Kind::Func, "f").collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert_eq!(
            lexicon.declaring(Kind::Type, "f").collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(
            lexicon.declaring(Kind::Var, "nothing").collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(lexicon.mentioning("zzz").collect::<Vec<_>>(), vec![1, 2]);
    }
}
