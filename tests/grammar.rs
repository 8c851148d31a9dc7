//! The carried tree-sitter-go grammar parses all of today's Go: every `.go`
//! file of the Go toolchain's own tree (standard library, compiler, tools),
//! walked with the go tool's skip rules, parses without a syntax error. Go's
//! deliberately broken inputs live in `testdata` folders, which the walk skips.
//!
//! Go comes from `tests/tools/go-toolchain.sh` (or `$GOMAPLINT_GOROOT`);
//! `GOMAPLINT_SKIP_RACE=1` skips this test with the race-detector one.

mod common;

use rayon::prelude::*;

#[test]
fn every_file_of_the_go_tree_parses_without_a_syntax_error() {
    if std::env::var_os("GOMAPLINT_SKIP_RACE").is_some() {
        eprintln!("GOMAPLINT_SKIP_RACE is set: the Go tree is not parsed");
        return;
    }
    let goroot = common::go_root().unwrap_or_else(|why| panic!("{why}"));
    let roots: Vec<String> = ["src", "misc"]
        .iter()
        .map(|d| goroot.join(d))
        .filter(|d| d.is_dir())
        .map(|d| d.display().to_string())
        .collect();
    let discovery = gomaplint::discover::discover(&roots);
    assert!(discovery.errors.is_empty(), "{:?}", discovery.errors);
    let files = discovery.targets.len();
    assert!(files > 5000, "the Go tree has its files ({files})");
    let mut broken: Vec<String> = discovery
        .targets
        .par_iter()
        .filter_map(|t| {
            let text = std::fs::read(&t.path).unwrap();
            let tree = gomaplint::parse::parse(&text).expect("a tree");
            let file =
                gomaplint::source::SourceFile::new(t.path.clone(), t.display.clone(), text, tree);
            file.first_syntax_error()
                .map(|(line, col)| format!("{}:{line}:{col}", t.display))
        })
        .collect();
    broken.sort();
    assert!(
        broken.is_empty(),
        "{} of {files} files do not parse:\n{}",
        broken.len(),
        broken.join("\n")
    );
}
