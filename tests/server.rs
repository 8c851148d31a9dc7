//! `gomaplint server` as editors start it: a process that speaks LSP over
//! standard input and output. Each test starts the built binary on a
//! temporary workspace and checks what it publishes and answers.

#[path = "common/lsp_client.rs"]
mod lsp_client;

use std::path::{Path, PathBuf};
use std::time::Duration;

use lsp_client::{Client, uri};
use serde_json::{Value, json};

fn fixture(rel: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(rel),
    )
    .unwrap()
}

/// A racy fixture (one GML001 on line 17) and its safe twin from the same rule folder.
fn racy() -> String {
    fixture("unsynchronized_map_write/racy_loop_counter/main.go")
}

fn safe() -> String {
    fixture("unsynchronized_map_write/safe_mutex_held/main.go")
}

/// A temporary workspace: a repository root (so that no configuration above
/// it applies) with the given files.
fn workspace(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    std::fs::create_dir(root.join(".git")).unwrap();
    for (rel, text) in files {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    (tmp, root)
}

fn start(root: &Path) -> Client {
    Client::start(
        Path::new(env!("CARGO_BIN_EXE_gomaplint")),
        root,
        json!({ "workspace": { "didChangeWatchedFiles": { "dynamicRegistration": true } } }),
        json!({ "debounceMs": 50 }),
    )
}

fn codes(diagnostics: &[Value]) -> Vec<&str> {
    diagnostics
        .iter()
        .map(|d| d["code"].as_str().unwrap_or(""))
        .collect()
}

/// The text after applying LSP edits (UTF-16 positions, ASCII text here).
fn apply(text: &str, edits: &[Value]) -> String {
    let offset = |pos: &Value| {
        let line = pos["line"].as_u64().unwrap() as usize;
        let character = pos["character"].as_u64().unwrap() as usize;
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        start + character
    };
    let mut edits: Vec<&Value> = edits.iter().collect();
    edits.sort_by_key(|e| std::cmp::Reverse(offset(&e["range"]["start"])));
    let mut out = text.to_string();
    for e in edits {
        let (a, b) = (offset(&e["range"]["start"]), offset(&e["range"]["end"]));
        out.replace_range(a..b, e["newText"].as_str().unwrap());
    }
    out
}

fn code_actions(client: &mut Client, file: &str, range: &Value) -> Vec<Value> {
    let reply = client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": { "uri": file },
            "range": range,
            "context": { "diagnostics": [] },
        }),
    );
    reply["result"].as_array().cloned().unwrap_or_default()
}

#[test]
fn racy_file_diagnostics_then_safe_edit_clears_them_and_shutdown_exits_zero() {
    let racy = racy();
    let (_tmp, root) = workspace(&[("main.go", &racy)]);
    let file = uri(&root.join("main.go"));
    let mut client = start(&root);
    assert_eq!(
        client.init["capabilities"]["positionEncoding"], "utf-16",
        "without the client's offer the server counts UTF-16 units"
    );
    client.open(&file, &racy, 1);
    let diagnostics = client.diagnostics(&file, 1);
    assert_eq!(codes(&diagnostics), ["GML001"], "{diagnostics:#?}");
    let d = &diagnostics[0];
    // `counts[w]` of `counts[w]++` on line 17, after three tabs.
    assert_eq!(
        d["range"],
        json!({ "start": { "line": 16, "character": 3 }, "end": { "line": 16, "character": 12 } })
    );
    assert_eq!(d["source"], "gomaplint");
    assert_eq!(d["severity"], 1, "GML001 is an error");
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .starts_with("map `counts` is written by concurrent goroutines"),
        "{d}"
    );
    assert!(
        d["codeDescription"]["href"]
            .as_str()
            .is_some_and(|h| h.contains("GML001")),
        "{d}"
    );
    // The evidence the text output shows: the `go` statement that starts the writer.
    let related = d["relatedInformation"].as_array().unwrap();
    assert!(!related.is_empty(), "{d}");
    assert!(
        related.iter().all(|r| r["location"]["uri"] == file),
        "{related:#?}"
    );
    let go_line = racy
        .lines()
        .position(|l| l.trim_start().starts_with("go func()"))
        .unwrap();
    assert!(
        related
            .iter()
            .any(|r| r["location"]["range"]["start"]["line"] == json!(go_line)),
        "no related information at the `go` statement (line {}): {related:#?}",
        go_line + 1
    );

    // The suppression action inserts the directive above the line, indented, reason left to write.
    let actions = code_actions(&mut client, &file, &d["range"]);
    let suppress = actions
        .iter()
        .find(|a| a["title"].as_str().unwrap().starts_with("Suppress GML001"))
        .unwrap_or_else(|| panic!("no suppression action: {actions:#?}"));
    let edits = suppress["edit"]["changes"][&file].as_array().unwrap();
    assert_eq!(
        edits,
        &[json!({
            "range": { "start": { "line": 16, "character": 0 }, "end": { "line": 16, "character": 0 } },
            "newText": "\t\t\t//gomaplint:ignore GML001 \n",
        })]
    );
    // Hover on the finding explains the rule.
    let hover = client.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": file }, "position": { "line": 16, "character": 5 } }),
    );
    let shown = hover["result"]["contents"]["value"].as_str().unwrap_or("");
    assert!(
        shown.contains("GML001 unsynchronized-map-write") && shown.contains("## Why is this bad?"),
        "{hover}"
    );

    // With a reason written, the suppression holds.
    let suppressed = apply(
        &racy,
        &[json!({
            "range": edits[0]["range"],
            "newText": "\t\t\t//gomaplint:ignore GML001 counted once per word in this test\n",
        })],
    );
    client.change(&file, &suppressed, 2);
    assert_eq!(client.diagnostics(&file, 2), Vec::<Value>::new());
    // The racy text again, then its safe twin: an empty list.
    client.change(&file, &racy, 3);
    assert_eq!(codes(&client.diagnostics(&file, 3)), ["GML001"]);
    client.change(&file, &safe(), 4);
    assert_eq!(client.diagnostics(&file, 4), Vec::<Value>::new());

    let status = client.shutdown();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn unsaved_text_is_linted_with_the_package_files_on_disk() {
    // The map is declared in one file on disk and written racily in the open buffer.
    let shared = "package main\n\nvar counts = map[string]int{}\n";
    let (_tmp, root) = workspace(&[
        ("shared.go", shared),
        ("main.go", "package main\n\nfunc main() {}\n"),
    ]);
    let file = uri(&root.join("main.go"));
    let mut client = start(&root);
    let buffer = "package main\n\nimport \"sync\"\n\nfunc main() {\n\tvar wg sync.WaitGroup\n\
                  \tfor _, w := range []string{\"a\", \"b\"} {\n\t\twg.Add(1)\n\t\tgo func() {\n\
                  \t\t\tdefer wg.Done()\n\t\t\tcounts[w]++\n\t\t}()\n\t}\n\twg.Wait()\n}\n";
    client.open(&file, buffer, 7);
    let diagnostics = client.diagnostics(&file, 7);
    assert_eq!(codes(&diagnostics), ["GML001"], "{diagnostics:#?}");
    assert_eq!(diagnostics[0]["range"]["start"]["line"], 10);
    // Closing the file clears what it showed.
    client.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": file } }),
    );
    let cleared = client.wait_for("the diagnostics cleared on close", |m| {
        m["method"] == "textDocument/publishDiagnostics"
            && m["params"]["uri"] == file
            && m["params"]["diagnostics"] == json!([])
    });
    assert!(cleared["params"]["version"].is_null(), "{cleared}");
    assert_eq!(client.shutdown().code(), Some(0));
}

#[test]
fn defer_recover_fix_removes_the_statement() {
    let text = fixture("recover_cannot_catch_map_race/racy_defer_recover_direct/main.go");
    let (_tmp, root) = workspace(&[("main.go", &text)]);
    let file = uri(&root.join("main.go"));
    let mut client = start(&root);
    client.open(&file, &text, 1);
    let diagnostics = client.diagnostics(&file, 1);
    let gml002 = diagnostics
        .iter()
        .find(|d| d["code"] == "GML002")
        .unwrap_or_else(|| panic!("no GML002: {diagnostics:#?}"));
    assert_eq!(gml002["severity"], 2, "GML002 is a warning");
    let actions = code_actions(&mut client, &file, &gml002["range"]);
    let fix = actions
        .iter()
        .find(|a| {
            a["title"]
                .as_str()
                .unwrap()
                .starts_with("Remove `defer recover()`")
        })
        .unwrap_or_else(|| panic!("no fix: {actions:#?}"));
    assert_eq!(fix["isPreferred"], true);
    let fixed = apply(&text, fix["edit"]["changes"][&file].as_array().unwrap());
    assert!(!fixed.contains("\tdefer recover()"), "{fixed}");
    assert_eq!(fixed.lines().count(), text.lines().count() - 1);
    assert!(
        fixed.contains("\t\t\tdefer wg.Done()\n\t\t\tm[i] = i "),
        "{fixed}"
    );
    // The fixed text has no GML002 left (the race itself is GML001's).
    client.change(&file, &fixed, 2);
    assert_eq!(codes(&client.diagnostics(&file, 2)), ["GML001"]);
    assert_eq!(client.shutdown().code(), Some(0));
}

#[test]
fn bad_configuration_is_shown_and_the_server_goes_on() {
    let racy = racy();
    let (_tmp, root) = workspace(&[
        ("gomaplint.toml", "select = [\"GML999\"]\n"),
        ("main.go", &racy),
    ]);
    let file = uri(&root.join("main.go"));
    let config = uri(&root.join("gomaplint.toml"));
    let mut client = start(&root);
    client.open(&file, &racy, 1);
    let shown = client.wait_for("a message about the configuration", |m| {
        m["method"] == "window/showMessage"
    });
    assert_eq!(shown["params"]["type"], 1, "an error: {shown}");
    assert!(
        shown["params"]["message"]
            .as_str()
            .unwrap()
            .contains("no rule `GML999`"),
        "{shown}"
    );
    let at_config = client.wait_for("a diagnostic in gomaplint.toml", |m| {
        m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == config
    });
    let d = &at_config["params"]["diagnostics"][0];
    assert_eq!(
        d["range"],
        json!({ "start": { "line": 0, "character": 10 }, "end": { "line": 0, "character": 18 } }),
        "at \"GML999\": {at_config}"
    );
    // Fixed on disk, the editor tells the server; the configuration is read again.
    std::fs::write(
        root.join("gomaplint.toml"),
        "[severity]\nGML001 = \"warning\"\n",
    )
    .unwrap();
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": [{ "uri": config, "type": 2 }] }),
    );
    let cleared = client.wait_for("the configuration's diagnostic cleared", |m| {
        m["method"] == "textDocument/publishDiagnostics"
            && m["params"]["uri"] == config
            && m["params"]["diagnostics"] == json!([])
    });
    assert!(cleared.is_object());
    let diagnostics = client.wait_for("the findings under the new configuration", |m| {
        m["method"] == "textDocument/publishDiagnostics"
            && m["params"]["uri"] == file
            && m["params"]["diagnostics"] != json!([])
    });
    let d = &diagnostics["params"]["diagnostics"][0];
    assert_eq!(d["code"], "GML001");
    assert_eq!(d["severity"], 2, "the configuration's severity: {d}");
    assert_eq!(client.shutdown().code(), Some(0));
}

#[test]
fn positions_are_utf8_when_the_client_offers_it_and_utf16_otherwise() {
    // Before the write on its line: `é` (2 bytes, 1 UTF-16 unit) and `😀` (4 bytes, 2 units).
    let racy = racy().replace("\t\t\tcounts[w]++", "\t\t\t/*é😀*/ counts[w]++");
    let (_tmp, root) = workspace(&[("main.go", &racy)]);
    let file = uri(&root.join("main.go"));
    for (offer, encoding, character) in [
        (json!(["utf-8", "utf-16"]), "utf-8", 3 + 2 + 2 + 4 + 2 + 1),
        (json!(["utf-16"]), "utf-16", 3 + 2 + 1 + 2 + 2 + 1),
    ] {
        let mut client = Client::start(
            Path::new(env!("CARGO_BIN_EXE_gomaplint")),
            &root,
            json!({ "general": { "positionEncodings": offer } }),
            json!({}),
        );
        assert_eq!(client.init["capabilities"]["positionEncoding"], encoding);
        client.open(&file, &racy, 1);
        let diagnostics = client.diagnostics(&file, 1);
        assert_eq!(
            diagnostics[0]["range"]["start"],
            json!({ "line": 16, "character": character }),
            "{encoding}"
        );
        // An edit at positions counted in the same units lands where it
        // should: deleting the comment leaves the fixture's line as it was.
        client.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": file, "version": 2 },
                "contentChanges": [{
                    "range": {
                        "start": { "line": 16, "character": 3 },
                        "end": { "line": 16, "character": character },
                    },
                    "text": "",
                }],
            }),
        );
        let diagnostics = client.diagnostics(&file, 2);
        assert_eq!(
            diagnostics[0]["range"],
            json!({ "start": { "line": 16, "character": 3 }, "end": { "line": 16, "character": 12 } }),
            "{encoding}"
        );
        assert_eq!(client.shutdown().code(), Some(0));
    }
}

#[test]
fn a_syntax_error_is_a_diagnostic_not_a_crash() {
    let broken = racy().replace("counts[w]++", "counts[w]++ )(");
    let (_tmp, root) = workspace(&[("main.go", &broken)]);
    let file = uri(&root.join("main.go"));
    let mut client = start(&root);
    client.open(&file, &broken, 1);
    let diagnostics = client.diagnostics(&file, 1);
    assert!(
        diagnostics
            .iter()
            .any(|d| d["message"].as_str().unwrap().contains("syntax error")),
        "{diagnostics:#?}"
    );
    // An unknown request gets an error reply, and the server still answers.
    let reply = client.request("gomaplint/unknown", json!({}));
    assert!(reply.get("error").is_some(), "{reply}");
    client.timeout = Duration::from_secs(60);
    assert_eq!(client.shutdown().code(), Some(0));
}

/// Neovim (0.7 has no `vim.lsp.start`: `start_client` and `buf_attach_client`)
/// attaches the server to a racy Go file; the diagnostics it shows are
/// written to a file and checked.
#[test]
fn neovim_shows_the_diagnostics() {
    if std::process::Command::new("nvim")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: nvim is not on PATH (apt-get install neovim)");
        return;
    }
    let racy = racy();
    let (_tmp, root) = workspace(&[("main.go", &racy)]);
    let out = root.join("diagnostics.txt");
    let script = root.join("attach.lua");
    let lua_string = |p: &Path| format!("{:?}", p.to_str().unwrap());
    std::fs::write(
        &script,
        format!(
            r#"
local client_id = vim.lsp.start_client({{
  name = "gomaplint",
  cmd = {{ {binary}, "server" }},
  root_dir = {root},
}})
vim.cmd("edit " .. vim.fn.fnameescape({file}))
local buf = vim.api.nvim_get_current_buf()
vim.lsp.buf_attach_client(buf, client_id)
vim.wait(30000, function() return #vim.diagnostic.get(buf) > 0 end, 50)
local lines = {{}}
for _, d in ipairs(vim.diagnostic.get(buf)) do
  local code = d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code) or ""
  table.insert(lines, string.format("%d:%d:%s:%s:%s", d.lnum, d.col, code, d.source or "", d.message:gsub("\n.*", "")))
end
vim.fn.writefile(lines, {out})
vim.lsp.stop_client(client_id)
vim.cmd("qa!")
"#,
            binary = lua_string(Path::new(env!("CARGO_BIN_EXE_gomaplint"))),
            root = lua_string(&root),
            file = lua_string(&root.join("main.go")),
            out = lua_string(&out),
        ),
    )
    .unwrap();
    let mut nvim = std::process::Command::new("nvim")
        .args(["--headless", "--clean", "-c"])
        .arg(format!("luafile {}", script.display()))
        .current_dir(&root)
        .env("XDG_CACHE_HOME", root.join("cache"))
        .env("XDG_STATE_HOME", root.join("state"))
        .env("XDG_DATA_HOME", root.join("data"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start nvim");
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while nvim.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = nvim.kill();
            panic!("nvim did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let shown = std::fs::read_to_string(&out).unwrap_or_default();
    assert_eq!(
        shown,
        "16:3:GML001:gomaplint:map `counts` is written by concurrent goroutines without a lock\n",
        "what Neovim shows"
    );
}

/// The related information is the evidence that the text output shows: the
/// other access and where each side starts, as the library labels them.
#[test]
fn related_information_is_the_finding_s_labels() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/concurrent_map_read_write/racy_handler_ranges_while_janitor_deletes");
    let text = std::fs::read_to_string(dir.join("main.go")).unwrap();
    let (_tmp, root) = workspace(&[("main.go", &text)]);
    let file = uri(&root.join("main.go"));
    let expected = gomaplint::lint(&[dir.to_string_lossy().into_owned()]).diagnostics;
    assert!(!expected.is_empty());
    let mut client = start(&root);
    client.open(&file, &text, 1);
    let got = client.diagnostics(&file, 1);
    assert_eq!(got.len(), expected.len(), "{got:#?}");
    for (lsp, d) in got.iter().zip(&expected) {
        assert_eq!(lsp["code"], d.code);
        assert_eq!(lsp["range"]["start"]["line"], json!(d.span.line - 1));
        let related: Vec<(u64, &str)> = lsp["relatedInformation"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["location"]["range"]["start"]["line"].as_u64().unwrap() + 1,
                    r["message"].as_str().unwrap(),
                )
            })
            .collect();
        let labels: Vec<(u64, &str)> = d
            .labels
            .iter()
            .map(|l| (l.span.line as u64, l.message.as_str()))
            .collect();
        assert_eq!(related, labels);
    }
    let messages: Vec<&str> = got[0]["relatedInformation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["message"].as_str().unwrap())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("net/http runs this handler"))
            && messages
                .iter()
                .any(|m| m.contains("writes the same map here"))
            && messages
                .iter()
                .any(|m| m.starts_with("the writer starts here")),
        "{messages:#?}"
    );
    assert_eq!(client.shutdown().code(), Some(0));
}

/// Edits in quick succession make one run: only the newest version is
/// published, the older ones are dropped as stale.
#[test]
fn quick_edits_publish_only_the_newest_version() {
    let racy = racy();
    let (_tmp, root) = workspace(&[("main.go", &racy)]);
    let file = uri(&root.join("main.go"));
    let mut client = Client::start(
        Path::new(env!("CARGO_BIN_EXE_gomaplint")),
        &root,
        json!({}),
        json!({ "debounceMs": 400 }),
    );
    client.open(&file, &racy, 1);
    assert_eq!(codes(&client.diagnostics(&file, 1)), ["GML001"]);
    // Typing: the racy text with more and more of a comment, then the safe twin.
    for version in 2..=5 {
        client.change(&file, &format!("{racy}// typing {version}\n"), version);
    }
    client.change(&file, &safe(), 6);
    assert_eq!(client.diagnostics(&file, 6), Vec::<Value>::new());
    let reply = client.request("shutdown", Value::Null);
    assert!(reply.get("error").is_none());
    let stale: Vec<Value> = (2..=5)
        .filter_map(|v| {
            client.take_if(|m| {
                m["method"] == "textDocument/publishDiagnostics"
                    && m["params"]["version"] == json!(v)
            })
        })
        .collect();
    assert!(stale.is_empty(), "published for stale versions: {stale:#?}");
    client.notify("exit", Value::Null);
}

/// The server keeps the trees of files that did not change between runs;
/// over every fixture folder, a run on kept trees finds what a fresh run finds.
#[test]
fn kept_trees_give_the_same_findings() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut folders = Vec::new();
    for rule in std::fs::read_dir(&fixtures).unwrap() {
        let rule = rule.unwrap().path();
        if rule.is_dir() && !rule.file_name().unwrap().to_string_lossy().starts_with('_') {
            for case in std::fs::read_dir(rule).unwrap() {
                folders.push(case.unwrap().path());
            }
        }
    }
    folders.sort();
    assert!(folders.len() > 100);
    let lint = |dir: &Path, trees: Option<&mut gomaplint::TreeCache>| {
        let outcome = gomaplint::lint_folder_overlay(
            dir,
            &gomaplint::Overlay::new(),
            gomaplint::config::Source::Isolated,
            trees,
        )
        .unwrap();
        (outcome.diagnostics, outcome.warnings)
    };
    let mut trees = gomaplint::TreeCache::default();
    for dir in &folders {
        let fresh = lint(dir, None);
        lint(dir, Some(&mut trees));
        assert_eq!(lint(dir, Some(&mut trees)), fresh, "{}", dir.display());
    }
}
