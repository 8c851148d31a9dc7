//! Finds the Go files to lint, the way the go tool does: `./...` patterns, and
//! no hidden, `_`-prefixed, `vendor` or `testdata` folders when walking.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

/// A Go file to lint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub path: PathBuf,
    /// As given on the command line, or the given folder joined with the rest.
    pub display: String,
    /// False for context files: the other files of the package of a file named
    /// on the command line, read so the package model is whole, never reported on.
    pub report: bool,
}

#[derive(Debug, Default)]
pub struct Discovery {
    pub targets: Vec<Target>,
    /// One message per path that could not be read; discovery goes on past them.
    pub errors: Vec<String>,
}

/// `./...`, `dir/...` and `...` mean the folder, recursively; so does a plain folder.
pub fn strip_go_pattern(arg: &str) -> &str {
    if arg == "..." {
        return ".";
    }
    match arg.strip_suffix("/...") {
        Some("") => "/",
        Some(dir) => dir,
        None => arg,
    }
}

/// Folders the go tool ignores when it expands `./...`.
fn is_skipped_dir(name: &str) -> bool {
    name.starts_with('.') || name.starts_with('_') || name == "vendor" || name == "testdata"
}

/// A Go source file's name, as the go tool sees it.
pub fn is_go_file(name: &str) -> bool {
    name.ends_with(".go") && !name.starts_with('.') && !name.starts_with('_')
}

fn display_path(path: &Path) -> String {
    let s = path.to_string_lossy();
    match s.strip_prefix("./") {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => s.into_owned(),
    }
}

pub fn discover(args: &[String]) -> Discovery {
    let mut out = Discovery::default();
    let mut seen = HashSet::new();
    // `key`: the file's canonical path when the caller knows it.
    let mut add = |out: &mut Discovery, path: PathBuf, report: bool, key: Option<PathBuf>| {
        let key =
            key.unwrap_or_else(|| std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone()));
        if seen.insert(key) {
            out.targets.push(Target {
                display: display_path(&path),
                path,
                report,
            });
        }
    };
    let mut explicit_dirs = Vec::new();
    for arg in args {
        let root = Path::new(strip_go_pattern(arg));
        let meta = match std::fs::metadata(root) {
            Ok(meta) => meta,
            Err(e) => {
                out.errors.push(format!(
                    "cannot read `{}`: {}; check that the path exists and is readable",
                    root.display(),
                    io_reason(&e)
                ));
                continue;
            }
        };
        if meta.is_file() {
            // Named explicitly (as pre-commit does): linted wherever it lives.
            if root.extension().is_some_and(|e| e == "go") {
                add(&mut out, root.to_path_buf(), true, None);
                explicit_dirs.push(root.parent().unwrap_or(Path::new("")).to_path_buf());
            } else {
                out.errors.push(format!(
                    "`{}` is not a Go file: pass `.go` files, folders or `./...`",
                    root.display()
                ));
            }
            continue;
        }
        // The walk follows no symlinked folder, so a file it finds (not a
        // symlink itself) is at the canonical root joined with its path
        // below the root: one `canonicalize` per root, not one per file.
        let canonical_root = std::fs::canonicalize(root).ok();
        let walker = WalkDir::new(root)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|entry| {
                entry.depth() == 0
                    || !entry.file_type().is_dir()
                    || !is_skipped_dir(&entry.file_name().to_string_lossy())
            });
        for entry in walker {
            match entry {
                Ok(entry) => {
                    // A symlink to a Go file is read through; a dangling one is reported.
                    let file_like = entry.file_type().is_file()
                        || entry.path_is_symlink() && !entry.path().is_dir();
                    if file_like && is_go_file(&entry.file_name().to_string_lossy()) {
                        let key = canonical_root
                            .as_ref()
                            .filter(|_| !entry.path_is_symlink())
                            .and_then(|r| Some(r.join(entry.path().strip_prefix(root).ok()?)));
                        add(&mut out, entry.into_path(), true, key);
                    }
                }
                Err(e) => {
                    let path = e
                        .path()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| root.display().to_string());
                    let reason = e.io_error().map(io_reason).unwrap_or_else(|| e.to_string());
                    out.errors.push(format!(
                        "cannot read `{path}`: {reason}; the rest of the run goes on without it"
                    ));
                }
            }
        }
    }
    // The rest of each named file's package, as context.
    for dir in explicit_dirs {
        let listing = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir.as_path()
        };
        let Ok(entries) = std::fs::read_dir(listing) else {
            continue;
        };
        let mut siblings: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter(|e| is_go_file(&e.file_name().to_string_lossy()))
            .map(|e| dir.join(e.file_name()))
            .collect();
        siblings.sort();
        for sibling in siblings {
            add(&mut out, sibling, false, None);
        }
    }
    out.targets.sort_by(|a, b| a.display.cmp(&b.display));
    out
}

/// The OS reason without Rust's "(os error N)" suffix.
pub fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_lowercase(),
        None => s.to_lowercase(),
    }
}

/// A `// Code generated ... DO NOT EDIT.` line before the package clause.
pub fn is_generated(text: &[u8]) -> bool {
    for line in text.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(b"package ") {
            return false;
        }
        if line.starts_with(b"// Code generated ") && line.ends_with(b" DO NOT EDIT.") {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_patterns_mean_the_folder() {
        assert_eq!(strip_go_pattern("./..."), ".");
        assert_eq!(strip_go_pattern("..."), ".");
        assert_eq!(strip_go_pattern("pkg/x/..."), "pkg/x");
        assert_eq!(strip_go_pattern("main.go"), "main.go");
    }

    #[test]
    fn generated_header_only_before_package_clause() {
        assert!(is_generated(
            b"// Code generated by protoc-gen-go. DO NOT EDIT.\n\npackage x\n"
        ));
        assert!(!is_generated(
            b"package x\n// Code generated by hand. DO NOT EDIT.\n"
        ));
        assert!(!is_generated(b"// Code generated by hand.\npackage x\n"));
    }

    #[test]
    fn go_tool_skips() {
        assert!(is_skipped_dir("vendor") && is_skipped_dir("testdata"));
        assert!(is_skipped_dir(".git") && is_skipped_dir("_old"));
        assert!(!is_skipped_dir("internal"));
        assert!(is_go_file("a_test.go") && !is_go_file("_a.go") && !is_go_file("a.go.txt"));
    }
}
