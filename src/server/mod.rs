//! `gomaplint server`: a language server over standard input and output. It
//! lints the package of each open Go file from the editor's texts (files not
//! open are read from disk) and publishes the findings as LSP diagnostics,
//! with code actions (a suppression comment, a rule's fix) and hover docs.
//!
//! The main thread speaks the protocol and keeps the documents; one analysis
//! thread (`worker`) lints; `convert` turns the neutral `Diagnostic` into LSP's.

mod actions;
mod convert;
mod handlers;
mod publish;
mod worker;

use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Sender, select};
use lsp_server::{Connection, Message, Notification, Response};
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, HoverProviderCapability,
    InitializeParams, LogMessageParams, MessageType, PositionEncodingKind, SaveOptions,
    ServerCapabilities, ServerInfo, ShowMessageParams, TextDocumentSyncCapability,
    TextDocumentSyncKind, TextDocumentSyncOptions, TextDocumentSyncSaveOptions, Url,
};
use serde::Deserialize;

use convert::Encoding;

/// How long the server waits after an edit before it lints, so that typing
/// makes one run, not one per key.
const DEBOUNCE: Duration = Duration::from_millis(150);

/// What a client may pass in `initializationOptions`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct InitOptions {
    /// The debounce delay in milliseconds (default 150).
    debounce_ms: Option<u64>,
}

/// An open file: the editor's text and version.
struct Document {
    path: PathBuf,
    text: Arc<str>,
    version: i32,
}

/// A published finding, kept for code actions and hover.
struct Finding {
    diagnostic: lsp_types::Diagnostic,
    code: &'static str,
    /// For `defer recover()`: the text to delete to remove it.
    removal: Option<lsp_types::Range>,
}

struct Server {
    sender: Sender<Message>,
    encoding: Encoding,
    debounce: Duration,
    docs_folder: Option<PathBuf>,
    documents: HashMap<Url, Document>,
    /// Per package folder: edits so far; a result for an older count is stale.
    generations: HashMap<PathBuf, u64>,
    /// Per package folder: the files it published diagnostics for.
    published: HashMap<PathBuf, HashSet<Url>>,
    findings: HashMap<Url, Vec<Finding>>,
    /// The last configuration error shown as a message, not to show it on every key.
    shown_config_error: Option<String>,
    jobs: Sender<worker::Job>,
    next_request: i32,
    watch_files: bool,
}

/// Runs the server until the client asks it to exit.
pub fn run() -> Result<(), String> {
    let (connection, io_threads) = Connection::stdio();
    serve(connection)?;
    io_threads.join().map_err(|e| e.to_string())
}

fn serve(connection: Connection) -> Result<(), String> {
    let (id, params) = connection
        .initialize_start()
        .map_err(|e| format!("no initialize request: {e}"))?;
    let params: InitializeParams = serde_json::from_value(params)
        .map_err(|e| format!("the initialize request is malformed: {e}"))?;
    let utf8 = params
        .capabilities
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.as_ref())
        .is_some_and(|e| e.contains(&PositionEncodingKind::UTF8));
    let options: InitOptions = params
        .initialization_options
        .clone()
        .and_then(|o| serde_json::from_value(o).ok())
        .unwrap_or_default();
    let watch_files = params
        .capabilities
        .workspace
        .as_ref()
        .and_then(|w| w.did_change_watched_files.as_ref())
        .and_then(|w| w.dynamic_registration)
        .unwrap_or(false);
    let capabilities = ServerCapabilities {
        position_encoding: Some(if utf8 {
            PositionEncodingKind::UTF8
        } else {
            PositionEncodingKind::UTF16
        }),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(false),
                })),
                ..TextDocumentSyncOptions::default()
            },
        )),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
            ..CodeActionOptions::default()
        })),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        ..ServerCapabilities::default()
    };
    let result = serde_json::json!({
        "capabilities": capabilities,
        "serverInfo": ServerInfo {
            name: "gomaplint".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        },
    });
    connection
        .initialize_finish(id, result)
        .map_err(|e| format!("the initialize handshake failed: {e}"))?;
    // While the editor opens its first file.
    std::thread::spawn(crate::rules::compile_queries);
    let (done_tx, done_rx) = crossbeam_channel::unbounded();
    let jobs = worker::spawn(lint, done_tx);
    let mut server = Server {
        sender: connection.sender.clone(),
        encoding: if utf8 {
            Encoding::Utf8
        } else {
            Encoding::Utf16
        },
        debounce: options.debounce_ms.map_or(DEBOUNCE, Duration::from_millis),
        docs_folder: convert::write_docs_folder(),
        documents: HashMap::new(),
        generations: HashMap::new(),
        published: HashMap::new(),
        findings: HashMap::new(),
        shown_config_error: None,
        jobs,
        next_request: 0,
        watch_files,
    };
    loop {
        select! {
            recv(connection.receiver) -> msg => {
                let Ok(msg) = msg else { return Ok(()) };
                if let Message::Request(req) = &msg {
                    match connection.handle_shutdown(req) {
                        Ok(true) => return Ok(()),
                        Ok(false) => {}
                        Err(e) => return Err(format!("the shutdown went wrong: {e}")),
                    }
                }
                server.guarded(|s| s.handle(msg));
            }
            recv(done_rx) -> done => {
                let Ok(done) = done else { return Err("the analysis thread ended".into()) };
                server.guarded(|s| s.finished(done));
            }
        }
    }
}

/// The library's analysis of one package, as the command line runs it.
fn lint(
    dir: &std::path::Path,
    overlay: &crate::Overlay,
    trees: &mut crate::TreeCache,
) -> Result<crate::Outcome, crate::config::ConfigError> {
    crate::lint_folder_overlay(dir, overlay, crate::config::Source::Discover, Some(trees))
}

impl Server {
    /// Runs a handler; a panic in it is reported, and the server goes on.
    fn guarded(&mut self, handler: impl FnOnce(&mut Self)) {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| handler(self))) {
            let what = worker::panic_message(panic.as_ref());
            self.show(
                MessageType::ERROR,
                format!("gomaplint: internal error ({what}); the server goes on"),
            );
        }
    }

    fn send(&self, msg: impl Into<Message>) {
        // The client is gone: the loop ends when the receiver closes.
        let _ = self.sender.send(msg.into());
    }

    fn notify<N: lsp_types::notification::Notification>(&self, params: N::Params) {
        self.send(Notification::new(N::METHOD.to_string(), params));
    }

    fn show(&self, typ: MessageType, message: String) {
        self.log(typ, message.clone());
        self.notify::<lsp_types::notification::ShowMessage>(ShowMessageParams { typ, message });
    }

    fn log(&self, typ: MessageType, message: String) {
        self.notify::<lsp_types::notification::LogMessage>(LogMessageParams { typ, message });
    }

    fn respond(&self, response: Response) {
        self.send(response);
    }

    fn handle(&mut self, msg: Message) {
        match msg {
            Message::Request(req) => self.request(req),
            Message::Notification(n) => self.notification(n),
            Message::Response(_) => {}
        }
    }
}
