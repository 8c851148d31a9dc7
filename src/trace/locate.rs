//! Where a traceback's frame is in the local source: by module path (from the
//! `go.mod` files under and above the paths given) and package import path, and
//! else by the longest suffix of the build machine's file path.

use std::path::{Component, Path, PathBuf};

use walkdir::WalkDir;

/// A Go module found locally: its path and folder.
#[derive(Clone, Debug)]
pub struct Module {
    pub path: String,
    pub dir: PathBuf,
}

/// The local source the log is mapped to.
pub struct Locator {
    roots: Vec<PathBuf>,
    pub modules: Vec<Module>,
}

/// How deep the search for `go.mod` files goes below each path.
const MAX_MODULE_DEPTH: usize = 8;

fn module_path(go_mod: &Path) -> Option<String> {
    let text = std::fs::read_to_string(go_mod).ok()?;
    text.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("module")?;
        let name = rest.trim().trim_matches('"');
        (!name.is_empty() && rest.starts_with(char::is_whitespace)).then(|| name.to_string())
    })
}

impl Locator {
    /// The modules under and above each root (a file's folder stands for the file).
    pub fn new(roots: &[PathBuf]) -> Locator {
        let mut modules: Vec<Module> = Vec::new();
        let add = |dir: &Path, modules: &mut Vec<Module>| {
            if let Some(path) = module_path(&dir.join("go.mod"))
                && !modules.iter().any(|m| m.dir == dir)
            {
                modules.push(Module {
                    path,
                    dir: dir.to_path_buf(),
                });
            }
        };
        let mut dirs = Vec::new();
        for root in roots {
            let dir = if root.is_file() {
                root.parent().map(Path::to_path_buf).unwrap_or_default()
            } else {
                root.clone()
            };
            let dir = if dir.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                dir
            };
            // Above: the module that holds the root.
            if let Ok(abs) = std::fs::canonicalize(&dir) {
                let mut rel = dir.clone();
                for up in abs.ancestors() {
                    if up.join("go.mod").is_file() {
                        add(&normalize(&rel), &mut modules);
                        break;
                    }
                    rel.push("..");
                }
            }
            for entry in WalkDir::new(&dir)
                .max_depth(MAX_MODULE_DEPTH)
                .into_iter()
                .filter_entry(|e| {
                    e.depth() == 0
                        || !e.file_type().is_dir()
                        || !e.file_name().to_str().is_some_and(|n| {
                            n.starts_with('.')
                                || n.starts_with('_')
                                || n == "vendor"
                                || n == "testdata"
                        })
                })
                .flatten()
            {
                if entry.file_type().is_file() && entry.file_name() == "go.mod" {
                    add(
                        entry.path().parent().unwrap_or(Path::new(".")),
                        &mut modules,
                    );
                }
            }
            dirs.push(dir);
        }
        // Longer module paths first: `shop/cart` before `shop`.
        modules.sort_by_key(|m| std::cmp::Reverse(m.path.len()));
        Locator {
            roots: dirs,
            modules,
        }
    }

    /// Whether an import path belongs to one of the local modules.
    pub fn is_local_package(&self, package: &str) -> bool {
        self.modules.iter().any(|m| within(package, &m.path))
    }

    /// The local file for a frame of package `package` at `file` (a path on the build machine).
    pub fn find(&self, package: &str, file: &str) -> Option<PathBuf> {
        let file = file.replace('\\', "/");
        let base = file.rsplit('/').next()?;
        for m in &self.modules {
            // By import path: the package's folder in its module.
            if let Some(rest) = strip_within(package, &m.path) {
                let candidate = m.dir.join(rest).join(base);
                if candidate.is_file() {
                    return Some(normalize(&candidate));
                }
            }
            // `-trimpath` builds print `module/path/file.go`.
            if let Some(rest) = strip_within(&file, &m.path) {
                let candidate = m.dir.join(rest);
                if candidate.is_file() {
                    return Some(normalize(&candidate));
                }
            }
        }
        // The longest suffix of the build path that exists locally: build
        // machines put the same tree under another folder.
        let parts: Vec<&str> = file.split('/').filter(|p| !p.is_empty()).collect();
        let mut bases: Vec<(&Path, usize)> =
            self.modules.iter().map(|m| (m.dir.as_path(), 2)).collect();
        // The folder named on the command line may be the package itself.
        bases.extend(self.roots.iter().map(|r| (r.as_path(), 1)));
        for start in 0..parts.len() {
            let suffix: PathBuf = parts[start..].iter().collect();
            for &(dir, min) in &bases {
                if parts.len() - start >= min {
                    let candidate = dir.join(&suffix);
                    if candidate.is_file() {
                        return Some(normalize(&candidate));
                    }
                }
            }
        }
        None
    }
}

/// `a/b` is within `a` and `a/b`.
fn within(package: &str, module: &str) -> bool {
    strip_within(package, module).is_some()
}

fn strip_within<'p>(package: &'p str, module: &str) -> Option<&'p str> {
    let rest = package.strip_prefix(module)?;
    if rest.is_empty() {
        Some("")
    } else {
        rest.strip_prefix('/')
    }
}

/// `./a/../b/c.go` as `b/c.go`, without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Whether a package is Go's own (the runtime, `sync`, `net/http`): its first
/// path element has no dot, and it is neither `main` nor a local module's.
pub fn is_std(package: &str, locator: &Locator) -> bool {
    let first = package.split('/').next().unwrap_or("");
    !first.contains('.') && package != "main" && !locator.is_local_package(package)
}
