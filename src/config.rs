//! Configuration files: `.gomaplint.toml` or `gomaplint.toml`, found from each
//! linted package's folder upward to the repository root, as ruff and
//! golangci-lint find theirs.
//!
//! ```toml
//! select = ["GML001", "inconsistent-map-guard"]   # default: every rule
//! ignore = ["GML003"]
//! exclude = ["third_party", "internal/gen/**"]    # globs, relative to this file
//! output-format = "concise"
//!
//! [severity]
//! GML006 = "warning"
//! ```
//!
//! Loading produces plain data; a bad file gives a [`ConfigError`] with the
//! byte span of the offending value, which the binary renders with miette.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::Severity;
use crate::output::Format;
use crate::rules::{self, RULES};

/// The names a configuration file may have, in the order they are preferred
/// when a folder holds both.
pub const FILE_NAMES: [&str; 2] = [".gomaplint.toml", "gomaplint.toml"];

/// The keys, for the message about an unknown one.
const KEYS: &str = "`select`, `ignore`, `exclude`, `severity`, `output-format`";

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Raw {
    select: Option<Vec<Spanned<String>>>,
    ignore: Option<Vec<Spanned<String>>>,
    exclude: Option<Vec<Spanned<String>>>,
    severity: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    output_format: Option<Spanned<String>>,
}

/// One loaded configuration file.
#[derive(Debug)]
pub struct Config {
    /// The file, as found or named.
    pub path: PathBuf,
    /// Its folder, canonical: `exclude` globs are relative to it.
    pub dir: PathBuf,
    /// Rule codes to run (`None`: every rule).
    pub select: Option<Vec<&'static str>>,
    /// Rule codes not to run.
    pub ignore: Vec<&'static str>,
    exclude: GlobSet,
    /// Severity per rule code, replacing the rule's own.
    pub severity: BTreeMap<&'static str, Severity>,
    pub output_format: Option<Format>,
}

/// A configuration file that cannot be used, with where in it the problem is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, as the user would type it.
    pub path: String,
    /// Its text (empty when it could not be read).
    pub text: String,
    /// The offending bytes, when the problem is at one place.
    pub span: Option<Range<usize>>,
    pub message: String,
    pub help: Option<String>,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.span {
            Some(span) => {
                let line = self.text[..span.start.min(self.text.len())]
                    .matches('\n')
                    .count()
                    + 1;
                write!(f, "{}:{line}: {}", self.path, self.message)
            }
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

impl Config {
    /// Reads and checks the configuration file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: shown.clone(),
            text: String::new(),
            span: None,
            message: format!(
                "cannot read the configuration file: {}",
                crate::discover::io_reason(&e)
            ),
            help: Some("check the path given to `--config`, or use `--isolated` to run without configuration".into()),
        })?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        Config::parse(path, dir, &text)
    }

    /// Checks the text of a configuration file; `dir` is its folder.
    pub fn parse(path: &Path, dir: PathBuf, text: &str) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let error =
            |span: Option<Range<usize>>, message: String, help: Option<String>| ConfigError {
                path: shown.clone(),
                text: text.to_string(),
                span,
                message,
                help,
            };
        let raw: Raw = toml::from_str(text).map_err(|e| {
            let message = e.message().trim().to_string();
            // toml's message for an unknown key lists the keys already.
            let help = (!message.starts_with("unknown field"))
                .then(|| format!("the keys are {KEYS}; see the README's Configuration section"));
            error(e.span(), message, help)
        })?;
        let rule_code = |entry: &Spanned<String>| {
            rules::find(entry.get_ref().trim())
                .map(|r| r.code)
                .ok_or_else(|| {
                    let codes: Vec<&str> = RULES.iter().map(|r| r.code).collect();
                    error(
                        Some(entry.span()),
                        format!("no rule `{}`", entry.get_ref()),
                        Some(format!(
                            "the rules are {} (codes or names; see `gomaplint --list-rules`)",
                            codes.join(", ")
                        )),
                    )
                })
        };
        let codes =
            |list: &Option<Vec<Spanned<String>>>| -> Result<Vec<&'static str>, ConfigError> {
                list.iter().flatten().map(rule_code).collect()
            };
        let select = match &raw.select {
            Some(_) => Some(codes(&raw.select)?),
            None => None,
        };
        let ignore = codes(&raw.ignore)?;
        let mut globs = GlobSetBuilder::new();
        for pattern in raw.exclude.iter().flatten() {
            let glob = GlobBuilder::new(&normalize_glob(pattern.get_ref()))
                .literal_separator(true)
                .build()
                .map_err(|e| {
                    error(
                        Some(pattern.span()),
                        format!("bad glob `{}`: {}", pattern.get_ref(), e.kind()),
                        Some(
                            "`*` matches within a name, `**` any number of folders, `?` one character, `[ab]` a set"
                                .into(),
                        ),
                    )
                })?;
            globs.add(glob);
        }
        let exclude = globs
            .build()
            .map_err(|e| error(None, format!("cannot use the `exclude` globs: {e}"), None))?;
        let mut severity = BTreeMap::new();
        for (rule, level) in raw.severity.iter().flatten() {
            let code = rule_code(rule)?;
            let level = match level.get_ref().as_str() {
                "error" => Severity::Error,
                "warning" => Severity::Warning,
                other => {
                    return Err(error(
                        Some(level.span()),
                        format!("no severity `{other}`"),
                        Some("the severities are \"error\" and \"warning\"".into()),
                    ));
                }
            };
            severity.insert(code, level);
        }
        let output_format = match &raw.output_format {
            None => None,
            Some(name) => Some(Format::from_name(name.get_ref()).ok_or_else(|| {
                error(
                    Some(name.span()),
                    format!("no output format `{}`", name.get_ref()),
                    Some(format!("the formats are {}", Format::NAMES.join(", "))),
                )
            })?),
        };
        Ok(Config {
            path: path.to_path_buf(),
            dir,
            select,
            ignore,
            exclude,
            severity,
            output_format,
        })
    }

    /// Whether `exclude` covers the file (given canonical), or a folder it is in.
    pub fn excludes(&self, file: &Path) -> bool {
        if self.exclude.is_empty() {
            return false;
        }
        let Ok(rel) = file.strip_prefix(&self.dir) else {
            return false;
        };
        let mut prefix = PathBuf::new();
        rel.components().any(|c| {
            prefix.push(c);
            self.exclude.is_match(&prefix)
        })
    }
}

/// Gitignore-like: a pattern without a `/` matches a name at any depth; one
/// with a `/` is relative to the configuration file's folder.
fn normalize_glob(pattern: &str) -> String {
    let p = pattern.trim();
    let p = p.strip_prefix("./").unwrap_or(p);
    let p = p.strip_suffix('/').unwrap_or(p);
    if let Some(anchored) = p.strip_prefix('/') {
        anchored.to_string()
    } else if p.contains('/') {
        p.to_string()
    } else {
        format!("**/{p}")
    }
}

/// The configuration file that applies to a folder: the nearest one in it or
/// above it, stopping at the repository root (a folder with `.git`).
pub fn find(dir: &Path) -> Option<PathBuf> {
    let dir = std::fs::canonicalize(dir).ok()?;
    for folder in dir.ancestors() {
        for name in FILE_NAMES {
            let candidate = folder.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
        if folder.join(".git").exists() {
            break;
        }
    }
    None
}

/// Where configuration comes from.
#[derive(Clone, Debug)]
pub enum Source {
    /// The nearest file above each package (the default).
    Discover,
    /// One file for everything (`--config FILE`).
    File(PathBuf),
    /// None at all (`--isolated`).
    Isolated,
}

/// Finds and loads configuration files, each once.
pub struct Resolver {
    source: Source,
    explicit: Option<Result<Arc<Config>, ConfigError>>,
    by_dir: HashMap<PathBuf, Option<PathBuf>>,
    by_file: HashMap<PathBuf, Result<Arc<Config>, ConfigError>>,
}

impl Resolver {
    pub fn new(source: Source) -> Self {
        let explicit = match &source {
            Source::File(path) => Some(Config::load(path).map(Arc::new)),
            _ => None,
        };
        Resolver {
            source,
            explicit,
            by_dir: HashMap::new(),
            by_file: HashMap::new(),
        }
    }

    /// The configuration for the files of one folder.
    pub fn for_dir(&mut self, dir: &Path) -> Result<Option<Arc<Config>>, ConfigError> {
        match &self.source {
            Source::Isolated => Ok(None),
            Source::File(_) => match self.explicit.as_ref().expect("loaded in new") {
                Ok(config) => Ok(Some(config.clone())),
                Err(e) => Err(e.clone()),
            },
            Source::Discover => {
                let dir = if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir
                };
                let found = self
                    .by_dir
                    .entry(dir.to_path_buf())
                    .or_insert_with(|| find(dir))
                    .clone();
                let Some(file) = found else {
                    return Ok(None);
                };
                let loaded = self
                    .by_file
                    .entry(file.clone())
                    .or_insert_with(|| Config::load(&display_relative(&file)).map(Arc::new));
                loaded.clone().map(Some)
            }
        }
    }
}

/// A found file shown relative to the working folder when it is below it.
fn display_relative(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| std::fs::canonicalize(cwd).ok())
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("gomaplint.toml"), PathBuf::from("/repo"), text)
    }

    #[test]
    fn keys_codes_and_names() {
        let c = parse(
            "select = [\"GML001\", \"inconsistent-map-guard\"]\nignore = [\"GML003\"]\n\
             output-format = \"concise\"\n[severity]\nGML006 = \"warning\"\n",
        )
        .unwrap();
        assert_eq!(c.select, Some(vec!["GML001", "GML006"]));
        assert_eq!(c.ignore, vec!["GML003"]);
        assert_eq!(c.severity.get("GML006"), Some(&Severity::Warning));
        assert_eq!(c.output_format, Some(Format::Concise));
    }

    #[test]
    fn errors_point_at_the_value() {
        let text = "select = [\"GML001\", \"GML999\"]\n";
        let e = parse(text).unwrap_err();
        assert_eq!(&text[e.span.clone().unwrap()], "\"GML999\"");
        assert!(e.message.contains("GML999"));
        let e = parse("selct = []\n").unwrap_err();
        assert_eq!(e.span, Some(0..5));
        assert!(e.message.contains("`select`"));
        let text = "exclude = [\"a/[b\"]\n";
        let e = parse(text).unwrap_err();
        assert_eq!(&text[e.span.clone().unwrap()], "\"a/[b\"");
        let text = "[severity]\nGML001 = \"fatal\"\n";
        let e = parse(text).unwrap_err();
        assert_eq!(&text[e.span.clone().unwrap()], "\"fatal\"");
    }

    #[test]
    fn excludes_like_gitignore() {
        let c = parse("exclude = [\"third_party\", \"internal/gen/**\", \"*_mock.go\"]\n").unwrap();
        assert!(c.excludes(Path::new("/repo/third_party/x/a.go")));
        assert!(c.excludes(Path::new("/repo/pkg/third_party/a.go")));
        assert!(c.excludes(Path::new("/repo/internal/gen/a.go")));
        assert!(!c.excludes(Path::new("/repo/pkg/internal/gen/a.go")));
        assert!(c.excludes(Path::new("/repo/pkg/store_mock.go")));
        assert!(!c.excludes(Path::new("/repo/pkg/store.go")));
        assert!(!c.excludes(Path::new("/elsewhere/third_party/a.go")));
    }
}
