//! Reading Go's crash output out of a log: the `fatal error: concurrent map ...`
//! blocks and their goroutine stacks, from a raw log, a log with a prefix on
//! every line (journald, `kubectl logs --timestamps`, docker, compose), or JSON
//! lines whose string field holds the text.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

/// The runtime's fatal error for a map race.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum CrashKind {
    /// `concurrent map writes`: a writer found another write in progress.
    #[serde(rename = "concurrent map writes")]
    Writes,
    /// `concurrent map read and map write`: a reader found a write in progress.
    #[serde(rename = "concurrent map read and map write")]
    ReadWrite,
    /// `concurrent map iteration and map write`: an iterator found a write in progress.
    #[serde(rename = "concurrent map iteration and map write")]
    IterationWrite,
    /// `concurrent map clone and map write`: `maps.Clone` found a write in progress.
    #[serde(rename = "concurrent map clone and map write")]
    CloneWrite,
}

impl CrashKind {
    pub const ALL: [CrashKind; 4] = [
        CrashKind::Writes,
        CrashKind::ReadWrite,
        CrashKind::IterationWrite,
        CrashKind::CloneWrite,
    ];

    /// The runtime's message, after `fatal error: `.
    pub fn message(self) -> &'static str {
        match self {
            CrashKind::Writes => "concurrent map writes",
            CrashKind::ReadWrite => "concurrent map read and map write",
            CrashKind::IterationWrite => "concurrent map iteration and map write",
            CrashKind::CloneWrite => "concurrent map clone and map write",
        }
    }

    /// Whether the crashing goroutine was writing (otherwise reading, ranging or cloning).
    pub fn crasher_writes(self) -> bool {
        self == CrashKind::Writes
    }
}

/// One frame of a goroutine's stack: `pkg.Func(args)` and its `file:line`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Frame {
    /// As printed: `shop/cart.(*Cart).Add`, `main.main.func1`.
    pub function: String,
    /// The file on the machine that built the program; `None` when the log lost it.
    pub file: Option<String>,
    pub line: Option<usize>,
    /// `(...)`: the call was inlined into the frame below.
    pub inlined: bool,
}

/// One goroutine's stack in the crash output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Goroutine {
    pub id: u64,
    /// `running`, `chan receive`, ...
    pub state: String,
    /// Innermost first.
    pub frames: Vec<Frame>,
    /// The `go` statement that started it: `created by main.main in goroutine 1`.
    pub created_by: Option<Frame>,
    /// The goroutine that ran that `go` statement (Go 1.21+ prints it).
    pub created_in: Option<u64>,
}

/// One `fatal error: concurrent map ...` block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Crash {
    pub kind: CrashKind,
    /// 1-based line of the log where the fatal error is.
    pub log_line: usize,
    /// The first is the goroutine that crashed; with `GOTRACEBACK=all` the others follow.
    pub goroutines: Vec<Goroutine>,
    /// The block ended before the crashing goroutine's stack was complete.
    pub truncated: bool,
}

/// A log line after its prefix or JSON wrapping is removed, with where it was.
struct LogLine {
    text: String,
    line: usize,
}

/// Finds every map-race crash in a log.
pub fn parse(log: &str) -> Vec<Crash> {
    let lines = unwrap_json(log);
    let mut crashes = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some((kind, prefix_end)) = fatal_at(&lines[i].text) else {
            i += 1;
            continue;
        };
        let strip = Prefix::new(&lines[i].text[..prefix_end]);
        let log_line = lines[i].line;
        let mut body = Vec::new();
        let mut j = i + 1;
        while j < lines.len() {
            let Some(text) = strip.strip(&lines[j].text) else {
                j += 1;
                continue;
            };
            if fatal_at(text).is_some() {
                break;
            }
            body.push(text.trim_end_matches('\r'));
            j += 1;
        }
        let (goroutines, truncated) = stacks(&body);
        crashes.push(Crash {
            kind,
            log_line,
            goroutines,
            truncated,
        });
        i = j;
    }
    crashes
}

/// The log's lines; a JSON object's `log`, `msg`, `message` or `MESSAGE`
/// string stands for the line (split where it holds several lines).
fn unwrap_json(log: &str) -> Vec<LogLine> {
    let mut out = Vec::new();
    for (n, raw) in log.lines().enumerate() {
        let trimmed = raw.trim();
        let json = trimmed
            .find('{')
            .filter(|_| trimmed.ends_with('}'))
            .and_then(|at| serde_json::from_str::<serde_json::Value>(&trimmed[at..]).ok());
        let text = json.as_ref().and_then(|v| {
            ["log", "msg", "message", "MESSAGE", "textPayload"]
                .iter()
                .find_map(|k| v.get(k).and_then(|s| s.as_str()))
        });
        match text {
            Some(text) => {
                let text = text.strip_suffix('\n').unwrap_or(text);
                for part in text.split('\n') {
                    out.push(LogLine {
                        text: part.trim_end_matches('\r').to_string(),
                        line: n + 1,
                    });
                }
            }
            None => out.push(LogLine {
                text: raw.trim_end_matches('\r').to_string(),
                line: n + 1,
            }),
        }
    }
    out
}

/// Where `fatal error: concurrent map ...` is in a line: the kind and the
/// byte where the message starts (what comes before is the line's prefix).
fn fatal_at(line: &str) -> Option<(CrashKind, usize)> {
    let at = line.find("fatal error: concurrent map ")?;
    // The program's own output may run on after the message on the same line
    // (stdout and stderr into one file): `fatal error: concurrent map writes2`.
    let rest = &line[at + "fatal error: ".len()..];
    let kind = CrashKind::ALL
        .into_iter()
        .find(|k| rest.starts_with(k.message()))?;
    Some((kind, at))
}

/// A prefix that a logging system puts before every line, learned from the
/// fatal error's line: its shape, with digits free (timestamps and pids change)
/// and spaces free in number (padding changes).
struct Prefix {
    shape: Option<Regex>,
    /// The prefix is a timestamp: a line of another shape may still be ours
    /// (`10:00:00Z` after `10:00:00.5Z`); otherwise it is another source's
    /// (another unit in journald, another service in compose) and is skipped.
    timestamp: bool,
}

/// Prefixes that do not keep one shape, tried when the learned one does not match.
static KNOWN_PREFIXES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:",
        // RFC 3339 timestamps (kubectl --timestamps, docker logs -t), and the
        // CRI log file's stream and tag.
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?\s(?:(?:stdout|stderr)\s[FP]\s)?",
        // journald and syslog: `Nov 27 10:00:00 host svc[123]: `.
        r"|[A-Z][a-z]{2}\s+\d{1,2}\s\d\d:\d\d:\d\d\s\S+\s[^\s:]+(?:\[\d+\])?:\s",
        r")"
    ))
    .expect("valid regex")
});

impl Prefix {
    fn new(prefix: &str) -> Prefix {
        if prefix.is_empty() {
            return Prefix {
                shape: None,
                timestamp: false,
            };
        }
        let mut pattern = String::from("^");
        let mut chars = prefix.chars().peekable();
        while let Some(c) = chars.next() {
            if c.is_ascii_digit() {
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
                pattern.push_str(r"\d+");
            } else if c == ' ' {
                while chars.peek() == Some(&' ') {
                    chars.next();
                }
                pattern.push_str(" +");
            } else {
                pattern.push_str(&regex::escape(&c.to_string()));
            }
        }
        Prefix {
            shape: Regex::new(&pattern).ok(),
            timestamp: prefix.starts_with(|c: char| c.is_ascii_digit()),
        }
    }

    /// The line without its prefix; `None` for a line of another source.
    fn strip<'t>(&self, line: &'t str) -> Option<&'t str> {
        let Some(shape) = &self.shape else {
            return Some(line);
        };
        if let Some(m) = shape.find(line) {
            return Some(&line[m.end()..]);
        }
        match KNOWN_PREFIXES.find(line) {
            Some(m) if self.timestamp => Some(&line[m.end()..]),
            _ => None,
        }
    }
}

static GOROUTINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^goroutine (\d+)(?: [^\[]*)?\[([^\]]*)\]:\s*$").expect("valid regex")
});
static FILE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\t(.+):(\d+)(?: \+0x[0-9a-f]+)?(?: .*)?$").expect("valid regex")
});
static CREATED_BY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^created by (\S+?)(?: in goroutine (\d+))?\s*$").expect("valid regex")
});

/// The goroutine stacks of one crash block, and whether the crashing one was cut short.
fn stacks(body: &[&str]) -> (Vec<Goroutine>, bool) {
    let mut goroutines: Vec<Goroutine> = Vec::new();
    let mut i = 0;
    // Whether the current stack may still take frames.
    let mut open = false;
    while i < body.len() {
        let line = body[i];
        if let Some(c) = GOROUTINE.captures(line) {
            goroutines.push(Goroutine {
                id: c[1].parse().unwrap_or(0),
                state: c[2].to_string(),
                frames: Vec::new(),
                created_by: None,
                created_in: None,
            });
            open = true;
            i += 1;
            continue;
        }
        if line.trim().is_empty() {
            open = false;
            i += 1;
            continue;
        }
        // Another crash or run begins: this block is over.
        if line.starts_with("panic: ") || line.starts_with("exit status ") {
            break;
        }
        let Some(g) = goroutines.last_mut().filter(|_| open) else {
            // Output that is not a stack (signal lines, `runtime stack:`, the
            // program's own output) is skipped up to the next goroutine.
            i += 1;
            continue;
        };
        let location = body.get(i + 1).and_then(|next| FILE_LINE.captures(next));
        let (file, line_no) = match &location {
            Some(c) => (Some(c[1].to_string()), c[2].parse().ok()),
            None => (None, None),
        };
        if let Some(c) = CREATED_BY.captures(line) {
            g.created_by = Some(Frame {
                function: c[1].to_string(),
                file,
                line: line_no,
                inlined: false,
            });
            g.created_in = c.get(2).and_then(|m| m.as_str().parse().ok());
        } else if line.starts_with("...") || line.starts_with("goroutine running on other thread") {
            // `...additional frames elided...`, a stack that could not be shown.
        } else if let Some((function, args)) = split_call(line) {
            g.frames.push(Frame {
                function: function.to_string(),
                file,
                line: line_no,
                inlined: args == "...",
            });
        } else {
            // Not a frame: the stack is over.
            open = false;
            i += 1;
            continue;
        }
        i += if location.is_some() { 2 } else { 1 };
    }
    let truncated = match goroutines.first() {
        None => true,
        Some(g) => {
            // Every stack ends in a `created by` line, or in the main goroutine's root.
            g.frames.last().is_none_or(|f| f.file.is_none())
                || g.created_by.is_none()
                    && g.frames.last().is_some_and(|f| {
                        !matches!(
                            f.function.as_str(),
                            "main.main" | "runtime.main" | "runtime.goexit"
                        )
                    })
        }
    };
    (goroutines, truncated)
}

/// `shop/cart.(*Cart).Add(...)` as (`shop/cart.(*Cart).Add`, `...`): the
/// argument list is the last balanced parenthesis.
fn split_call(line: &str) -> Option<(&str, &str)> {
    if line.starts_with(char::is_whitespace) || !line.ends_with(')') {
        return None;
    }
    let mut depth = 0usize;
    for (at, c) in line.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth -= 1;
                if depth == 0 {
                    let function = &line[..at];
                    if function.is_empty() || function.contains(' ') {
                        return None;
                    }
                    return Some((function, &line[at + 1..line.len() - 1]));
                }
            }
            _ => {}
        }
    }
    None
}

/// A function name of a Go traceback, taken apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncName {
    /// `shop/cart`, `main`.
    pub package: String,
    /// `Cart` for a method, with type arguments dropped.
    pub receiver: Option<String>,
    /// `Add`; `func1` for a package-level closure.
    pub name: String,
    /// Closure names below it: `func1`, `2`, `gowrap1`.
    pub closures: Vec<String>,
}

impl FuncName {
    /// Takes apart `shop/cart.(*Cart).Add.func1`, `pkg.F[...]`, `gopkg.in/yaml%2ev3.X`.
    pub fn parse(function: &str) -> Option<FuncName> {
        let slash = function.rfind('/').map_or(0, |i| i + 1);
        let dot = slash + function[slash..].find('.')?;
        let package = function[..dot].replace("%2e", ".");
        let rest = strip_type_args(&function[dot + 1..]);
        let (receiver, rest) = if let Some(r) = rest.strip_prefix('(') {
            let close = r.find(')')?;
            let recv = r[..close].trim_start_matches('*').to_string();
            (
                Some(recv),
                r[close + 1..].trim_start_matches('.').to_string(),
            )
        } else {
            (None, rest)
        };
        let mut parts = rest.split('.').map(str::to_string);
        let name = parts.next().filter(|n| !n.is_empty())?;
        Some(FuncName {
            package,
            receiver,
            name,
            closures: parts.collect(),
        })
    }
}

/// `F[...].func1` as `F.func1`.
fn strip_type_args(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &str = "fatal error: concurrent map writes

goroutine 26 [running]:
internal/runtime/maps.fatal({0x49bf58?, 0x3d7645c9cef0?})
\t/usr/local/go/src/runtime/panic.go:1195 +0x18
shop/cart.(*Cart).Add(...)
\t/build/shop/cart/cart.go:10
main.main.func1()
\t/build/shop/main.go:17 +0xbc
created by main.main in goroutine 1
\t/build/shop/main.go:14 +0x86
";

    fn check(crashes: &[Crash]) {
        assert_eq!(crashes.len(), 1);
        let c = &crashes[0];
        assert_eq!(c.kind, CrashKind::Writes);
        assert!(!c.truncated);
        let g = &c.goroutines[0];
        assert_eq!(g.id, 26);
        assert_eq!(g.frames.len(), 3);
        assert_eq!(g.frames[1].function, "shop/cart.(*Cart).Add");
        assert!(g.frames[1].inlined);
        assert_eq!(
            g.frames[1].file.as_deref(),
            Some("/build/shop/cart/cart.go")
        );
        assert_eq!(g.frames[1].line, Some(10));
        let created = g.created_by.as_ref().unwrap();
        assert_eq!(created.function, "main.main");
        assert_eq!(created.line, Some(14));
        assert_eq!(g.created_in, Some(1));
    }

    #[test]
    fn raw_log() {
        check(&parse(RAW));
    }

    #[test]
    fn prefixed_logs() {
        let journald: String = RAW
            .lines()
            .enumerate()
            .map(|(i, l)| format!("Nov  {} 10:00:0{} host shop[123]: {l}\n", 7 + i % 2, i % 10))
            .collect();
        check(&parse(&journald));
        let k8s: String = RAW
            .lines()
            .enumerate()
            .map(|(i, l)| format!("2026-11-27T10:00:00.{}Z {l}\n", 1000 + i * 7))
            .collect();
        check(&parse(&k8s));
        // The fraction of a second drops its trailing zeros: `10:00:01Z`.
        let k8s_whole: String = RAW
            .lines()
            .enumerate()
            .map(|(i, l)| match i {
                0 => format!("2026-11-27T10:00:00.5Z {l}\n"),
                _ => format!("2026-11-27T10:00:0{}Z {l}\n", i % 10),
            })
            .collect();
        check(&parse(&k8s_whole));
    }

    #[test]
    fn other_sources_lines_in_between_are_skipped() {
        let journald: String = RAW
            .lines()
            .map(|l| {
                format!(
                    "Nov 27 10:00:00 host shop[123]: {l}\n\
                     Nov 27 10:00:00 host sshd[99]: Accepted publickey for root\n"
                )
            })
            .collect();
        check(&parse(&journald));
        let compose: String = RAW
            .lines()
            .map(|l| format!("shop-1  | {l}\ndb-1    | LOG:  checkpoint starting\n"))
            .collect();
        check(&parse(&compose));
    }

    #[test]
    fn json_lines() {
        let docker: String = RAW
            .lines()
            .map(|l| {
                format!(
                    "{}\n",
                    serde_json::json!({"log": format!("{l}\n"), "stream": "stderr"})
                )
            })
            .collect();
        check(&parse(&docker));
        let one = serde_json::json!({"level": "error", "msg": RAW}).to_string();
        check(&parse(&one));
    }

    #[test]
    fn output_between_stacks_is_skipped() {
        let log = RAW.replace(
            "goroutine 26 [running]:",
            "[signal SIGSEGV]\nruntime stack:\ngoroutine 26 gp=0xc0000981c0 m=3 [running]:",
        ) + "some program output\n\ngoroutine 1 [chan receive]:\nmain.main()\n\t/build/shop/main.go:20 +0x1\n\npanic: later\n\ngoroutine 9 [running]:\n";
        let crashes = parse(&log);
        check(&crashes);
        let ids: Vec<u64> = crashes[0].goroutines.iter().map(|g| g.id).collect();
        assert_eq!(ids, [26, 1]);
        assert_eq!(crashes[0].goroutines[1].frames[0].line, Some(20));
    }

    #[test]
    fn truncated_and_empty() {
        let cut: String = RAW.lines().take(6).map(|l| format!("{l}\n")).collect();
        let crashes = parse(&cut);
        assert_eq!(crashes.len(), 1);
        assert!(crashes[0].truncated);
        assert!(
            parse("fatal error: concurrent map writes")
                .first()
                .unwrap()
                .truncated
        );
        assert!(parse("").is_empty());
        assert!(parse("fatal error: all goroutines are asleep - deadlock!").is_empty());
    }

    #[test]
    fn function_names() {
        let f = FuncName::parse("shop/cart.(*Cart).Add.func1.2").unwrap();
        assert_eq!(f.package, "shop/cart");
        assert_eq!(f.receiver.as_deref(), Some("Cart"));
        assert_eq!(f.name, "Add");
        assert_eq!(f.closures, ["func1", "2"]);
        let g = FuncName::parse("example.com/x.(*Cache[...]).Put").unwrap();
        assert_eq!(g.receiver.as_deref(), Some("Cache"));
        assert_eq!(g.name, "Put");
        let h = FuncName::parse("gopkg.in/yaml%2ev3.Fill[...]").unwrap();
        assert_eq!(h.package, "gopkg.in/yaml.v3");
        assert_eq!(h.name, "Fill");
        assert_eq!(FuncName::parse("main.main.func1").unwrap().name, "main");
    }
}
