//! Which packages no rule can report on, decided from their bytes before
//! they are parsed. Every rule needs a map (`map[` in the package, or a map
//! type of another package that the model knows, such as `http.Header`) and something that makes
//! code concurrent or guarded (a `go` statement, a task, a handler, a
//! parallel test, a lock, a `sync.Map` or atomic value); `GML002` needs only
//! `recover`. A package with a suppression directive is parsed too, so that
//! a malformed one is still reported. Most packages have none of these: they
//! are read but not parsed, and the findings are the same as without the
//! prefilter. In a package with no map, or nothing concurrent, no race can
//! be found, and only the files with a `recover` or a directive
//! are parsed: what can be reported there is about that file alone.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use crate::model::library::MAP_TYPES;
use crate::queries::GO_WORDS;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Map,
    Concurrency,
    Recover,
    Directive,
}

const WORDS: &[(&str, Class)] = &[
    ("map[", Class::Map),
    (".Go(", Class::Concurrency),
    (".TryGo(", Class::Concurrency),
    ("AfterFunc", Class::Concurrency),
    ("Handle", Class::Concurrency),
    ("ServeHTTP", Class::Concurrency),
    (".Parallel(", Class::Concurrency),
    ("Unimplemented", Class::Concurrency),
    ("Lock()", Class::Concurrency),
    ("sync.Map", Class::Concurrency),
    ("atomic.", Class::Concurrency),
    ("recover", Class::Recover),
    ("gomaplint", Class::Directive),
    ("lint:ignore", Class::Directive),
    ("nolint", Class::Directive),
];

static MATCHER: LazyLock<(AhoCorasick, Vec<Class>)> = LazyLock::new(|| {
    let mut patterns: Vec<String> = WORDS.iter().map(|(w, _)| w.to_string()).collect();
    let mut classes: Vec<Class> = WORDS.iter().map(|(_, c)| *c).collect();
    // Map types of other packages: `http.Header`, `url.Values`, ...
    for (package, name) in MAP_TYPES {
        patterns.push(format!("{package}.{name}"));
        classes.push(Class::Map);
    }
    for w in GO_WORDS {
        patterns.push(w.to_string());
        classes.push(Class::Concurrency);
    }
    let matcher = AhoCorasick::new(&patterns).expect("the prefilter's words build an automaton");
    (matcher, classes)
});

/// Whether any rule may report on a package made of these files' texts.
pub fn may_have_findings<'t>(texts: impl IntoIterator<Item = &'t [u8]>) -> bool {
    let texts: Vec<&[u8]> = texts.into_iter().collect();
    decide(&texts) != Decision::Skip
}

/// Which files of a package to parse.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// None: no rule can report anything.
    Skip,
    /// All of them.
    All,
    /// Only these (indices into the texts): the package has no map, or
    /// nothing concurrent, so no race can be found in it, and what is left to
    /// report concerns single files: a `defer recover()` (`GML002`) and a
    /// malformed suppression directive, in the files that have them.
    Only(Vec<usize>),
}

/// Which files of a package made of these texts any rule may need. Words
/// count in code only, not in comments and literals (`// go on`, `"map["`),
/// except the directives, which are comments.
pub fn decide(texts: &[&[u8]]) -> Decision {
    let (matcher, classes) = &*MATCHER;
    let (mut map, mut concurrency) = (false, false);
    let mut local = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let code = code_only(text);
        // Directives are comments: looked for in the whole text.
        let mut is_local = code.is_some()
            && WORDS.iter().any(|&(w, class)| {
                class == Class::Directive && memchr::memmem::find(text, w.as_bytes()).is_some()
            });
        for m in matcher.find_overlapping_iter(code.as_deref().unwrap_or(text)) {
            match classes[m.pattern().as_usize()] {
                Class::Recover | Class::Directive => is_local = true,
                Class::Map => map = true,
                Class::Concurrency => concurrency = true,
            }
            if map && concurrency {
                return Decision::All;
            }
        }
        if is_local {
            local.push(i);
        }
    }
    if local.is_empty() {
        Decision::Skip
    } else {
        Decision::Only(local)
    }
}

/// The text with its comments and string and rune literals blanked (each of
/// their bytes made `0x01`, which no word holds), so that words match in code
/// only. `None` when a literal or comment does not end as Go says it must
/// (the file does not lex): then the whole text is searched, as tree-sitter
/// may still find code after the point where a lexer gives up.
pub fn code_only(text: &[u8]) -> Option<Vec<u8>> {
    const BLANK: u8 = 0x01;
    let mut out = text.to_vec();
    let mut i = 0;
    let n = text.len();
    // The next `/`, `"` or `` ` ``, and the next `'`, from `i` on: each
    // searched again only once `i` has passed it, so that a file with few
    // of one kind is not searched to its end again and again.
    let three = |from: usize| memchr::memchr3(b'/', b'"', b'`', &text[from..]).map(|at| from + at);
    let rune = |from: usize| memchr::memchr(b'\'', &text[from..]).map(|at| from + at);
    let (mut a, mut b) = (three(0), rune(0));
    loop {
        if a.is_some_and(|at| at < i) {
            a = three(i);
        }
        if b.is_some_and(|at| at < i) {
            b = rune(i);
        }
        let Some(at) = a.into_iter().chain(b).min() else {
            break;
        };
        let end = match text[at] {
            b'/' if text.get(at + 1) == Some(&b'/') => {
                memchr::memchr(b'\n', &text[at..]).map_or(n, |e| at + e)
            }
            b'/' if text.get(at + 1) == Some(&b'*') => {
                at + 2 + memchr::memmem::find(&text[at + 2..], b"*/")? + 2
            }
            b'/' => {
                i = at + 1;
                continue;
            }
            b'`' => at + 1 + memchr::memchr(b'`', &text[at + 1..])? + 1,
            quote => {
                // "..." and '...': escapes, and no newline before the closing quote.
                let mut j = at + 1;
                loop {
                    match *text.get(j)? {
                        b'\\' => j += 2,
                        b'\n' => return None,
                        c if c == quote => break j + 1,
                        _ => j += 1,
                    }
                }
            }
        };
        out[at..end.min(n)].fill(BLANK);
        i = end.min(n);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::may_have_findings;

    #[test]
    fn needs_a_map_and_concurrency_or_a_recover() {
        let yes = |texts: &[&str]| may_have_findings(texts.iter().map(|t| t.as_bytes()));
        assert!(!yes(&[
            "package p\nfunc f() { m := map[int]int{}; m[1] = 2 }\n"
        ]));
        assert!(!yes(&["package p\nfunc f() {\n\tgo g()\n}\n"]));
        // The map and the goroutine in different files of one package.
        assert!(yes(&[
            "package p\nvar m = map[int]int{}\n",
            "package p\nfunc f() {\n\tgo g()\n}\n"
        ]));
        assert!(yes(&[
            "package p\ntype T struct { mu sync.Mutex; m map[int]int }\nfunc (t *T) f() { t.mu.Lock() }\n"
        ]));
        assert!(yes(&["package p\nfunc f() { defer recover() }\n"]));
        assert!(yes(&[
            "package p\nfunc f(q url.Values) {\n\tgo q.Add(\"k\", \"v\")\n}\n"
        ]));
        assert!(yes(&["package p\n//gomaplint:ignore GML001\n"]));
    }

    #[test]
    fn words_count_in_code_only() {
        use super::code_only;
        let blank = |t: &str| {
            code_only(t.as_bytes()).map(|c| String::from_utf8(c).unwrap().replace('\u{1}', "_"))
        };
        assert_eq!(
            blank("a // go on\nb /* map[ */ c \"go \\\" x\" d `\nrecover` e '\\'' f '/'")
                .as_deref(),
            Some("a ________\nb __________ c _________ d __________ e ____ f ___")
        );
        assert_eq!(blank("x / y"), Some("x / y".into()));
        // Literals that do not end: the whole text counts.
        assert_eq!(blank("s := \"go on\nx"), None);
        assert_eq!(blank("/* go"), None);
        assert_eq!(blank("`go"), None);
        let yes = |texts: &[&str]| may_have_findings(texts.iter().map(|t| t.as_bytes()));
        // A map, and `go` only in a comment or a string: nothing concurrent.
        assert!(!yes(&[
            "package p\nvar m = map[int]int{}\n// we go on\nvar s = \" go \"\n"
        ]));
        assert!(!yes(&[
            "package p\nvar s = \"map[\"\nfunc f() {\n\tgo g()\n}\n"
        ]));
        // A directive is a comment.
        assert!(yes(&["package p\n// nolint:gomaplint // reason\n"]));
    }

    #[test]
    fn files_of_a_package_without_races_parsed_only_where_they_report() {
        use super::{Decision, decide};
        let only_recover = decide(&[
            b"package p\nvar m = map[int]int{}\n",
            b"package p\nfunc f() { defer recover() }\n",
            b"package p\nfunc g() { m[1] = 2 }\n",
        ]);
        assert_eq!(only_recover, Decision::Only(vec![1]));
        let directive = decide(&[
            b"package p\nfunc f() {}\n",
            b"package p\n//nolint:gomaplint // reason\nfunc g() {}\n",
        ]);
        assert_eq!(directive, Decision::Only(vec![1]));
        // A map and a goroutine anywhere in the package: every file can matter.
        let racy = decide(&[
            b"package p\nfunc f() { defer recover() }\n",
            b"package p\nvar m = map[int]int{}\n",
            b"package p\nfunc g() {\n\tgo h()\n}\n",
        ]);
        assert_eq!(racy, Decision::All);
        assert_eq!(decide(&[b"package p\nfunc f() {}\n"]), Decision::Skip);
    }
}
