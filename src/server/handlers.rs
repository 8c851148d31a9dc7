//! The protocol's notifications and requests: documents opened, changed,
//! saved and closed, watched files, code actions and hover.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lsp_server::{ErrorCode, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidChangeWatchedFiles, DidCloseTextDocument, DidOpenTextDocument,
    DidSaveTextDocument, Initialized, Notification as _,
};
use lsp_types::request::{CodeActionRequest, HoverRequest, RegisterCapability, Request as _};
use lsp_types::{
    DidChangeWatchedFilesRegistrationOptions, FileSystemWatcher, GlobPattern, Registration,
    RegistrationParams, Url,
};
use serde::de::DeserializeOwned;

use super::worker::Job;
use super::{Document, Server, convert};
use crate::config::FILE_NAMES;

fn params<P: DeserializeOwned>(value: serde_json::Value) -> Result<P, String> {
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// The path of a Go file the server lints, from its URI.
fn go_path(uri: &Url) -> Option<PathBuf> {
    let path = uri.to_file_path().ok()?;
    (path.extension().is_some_and(|e| e == "go")).then_some(path)
}

fn is_config(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| FILE_NAMES.iter().any(|c| n == *c))
}

impl Server {
    pub(super) fn request(&mut self, req: Request) {
        let id = req.id.clone();
        let result = match req.method.as_str() {
            CodeActionRequest::METHOD => {
                params(req.params).map(|p| serde_json::to_value(self.code_actions(&p)))
            }
            HoverRequest::METHOD => {
                params(req.params).map(|p| serde_json::to_value(self.hover(&p)))
            }
            _ => {
                self.respond(Response::new_err(
                    id,
                    ErrorCode::MethodNotFound as i32,
                    format!("gomaplint does not handle `{}`", req.method),
                ));
                return;
            }
        };
        self.respond(match result {
            Ok(Ok(value)) => Response::new_ok(id, value),
            Ok(Err(e)) => Response::new_err(id, ErrorCode::InternalError as i32, e.to_string()),
            Err(e) => Response::new_err(id, ErrorCode::InvalidParams as i32, e),
        });
    }

    pub(super) fn notification(&mut self, n: Notification) {
        let outcome = match n.method.as_str() {
            Initialized::METHOD => {
                self.register_watchers();
                Ok(())
            }
            DidOpenTextDocument::METHOD => params(n.params).map(|p| self.did_open(p)),
            DidChangeTextDocument::METHOD => params(n.params).map(|p| self.did_change(p)),
            DidSaveTextDocument::METHOD => params(n.params).map(|p| self.did_save(p)),
            DidCloseTextDocument::METHOD => params(n.params).map(|p| self.did_close(p)),
            DidChangeWatchedFiles::METHOD => params(n.params).map(|p| self.watched(p)),
            _ => Ok(()),
        };
        if let Err(e) = outcome {
            self.log(
                lsp_types::MessageType::WARNING,
                format!("gomaplint: ignored a malformed `{}`: {e}", n.method),
            );
        }
    }

    /// Asks the client to tell about changes to configuration and Go files
    /// on disk (a `git checkout`, a configuration edited elsewhere).
    fn register_watchers(&mut self) {
        if !self.watch_files {
            return;
        }
        let watchers = ["**/gomaplint.toml", "**/.gomaplint.toml", "**/*.go"]
            .into_iter()
            .map(|glob| FileSystemWatcher {
                glob_pattern: GlobPattern::String(glob.into()),
                kind: None,
            })
            .collect();
        let options = DidChangeWatchedFilesRegistrationOptions { watchers };
        let params = RegistrationParams {
            registrations: vec![Registration {
                id: "gomaplint-watched-files".into(),
                method: DidChangeWatchedFiles::METHOD.into(),
                register_options: serde_json::to_value(options).ok(),
            }],
        };
        self.next_request += 1;
        self.send(Request::new(
            format!("gomaplint-{}", self.next_request).into(),
            RegisterCapability::METHOD.into(),
            params,
        ));
    }

    fn did_open(&mut self, p: lsp_types::DidOpenTextDocumentParams) {
        let doc = p.text_document;
        let Some(path) = go_path(&doc.uri) else {
            return;
        };
        let dir = parent(&path);
        self.documents.insert(
            doc.uri,
            Document {
                path,
                text: doc.text.into(),
                version: doc.version,
            },
        );
        self.schedule(&dir, Duration::ZERO);
    }

    fn did_change(&mut self, p: lsp_types::DidChangeTextDocumentParams) {
        let encoding = self.encoding;
        let Some(doc) = self.documents.get_mut(&p.text_document.uri) else {
            return;
        };
        let mut text = doc.text.to_string();
        for change in p.content_changes {
            match change.range {
                Some(range) => {
                    let start = convert::offset(&text, range.start, encoding);
                    let end = convert::offset(&text, range.end, encoding).max(start);
                    text.replace_range(start..end, &change.text);
                }
                None => text = change.text,
            }
        }
        doc.text = Arc::from(text);
        doc.version = p.text_document.version;
        let dir = parent(&doc.path);
        self.schedule(&dir, self.debounce);
    }

    fn did_save(&mut self, p: lsp_types::DidSaveTextDocumentParams) {
        let Ok(path) = p.text_document.uri.to_file_path() else {
            return;
        };
        if is_config(&path) {
            self.relint_all();
        } else if self.documents.contains_key(&p.text_document.uri) {
            self.schedule(&parent(&path), Duration::ZERO);
        }
    }

    fn did_close(&mut self, p: lsp_types::DidCloseTextDocumentParams) {
        let Some(doc) = self.documents.remove(&p.text_document.uri) else {
            return;
        };
        let dir = parent(&doc.path);
        if self.documents.values().any(|d| parent(&d.path) == dir) {
            // The others still show the package, now with this file as on disk.
            self.schedule(&dir, Duration::ZERO);
        } else {
            // A result still on its way is stale.
            *self.generations.entry(dir.clone()).or_default() += 1;
            self.clear(&dir);
        }
    }

    fn watched(&mut self, p: lsp_types::DidChangeWatchedFilesParams) {
        let mut dirs = Vec::new();
        for change in p.changes {
            let Ok(path) = change.uri.to_file_path() else {
                continue;
            };
            if is_config(&path) {
                self.relint_all();
                return;
            }
            let dir = parent(&path);
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
        for dir in dirs {
            if self.documents.values().any(|d| parent(&d.path) == dir) {
                self.schedule(&dir, Duration::ZERO);
            }
        }
    }

    /// Lints every package with an open file again: the configuration changed.
    fn relint_all(&mut self) {
        let mut dirs: Vec<PathBuf> = self.documents.values().map(|d| parent(&d.path)).collect();
        dirs.sort();
        dirs.dedup();
        for dir in dirs {
            self.schedule(&dir, Duration::ZERO);
        }
    }

    /// Asks the analysis thread to lint the package in `dir` after `delay`,
    /// with the texts of its open files; the results of earlier requests are stale.
    fn schedule(&mut self, dir: &Path, delay: Duration) {
        let generation = self.generations.entry(dir.to_path_buf()).or_default();
        *generation += 1;
        let overlay = self
            .documents
            .values()
            .filter(|d| d.path.parent() == Some(dir))
            .map(|d| (d.path.clone(), d.text.as_bytes().to_vec()))
            .collect();
        let _ = self.jobs.send(Job {
            dir: dir.to_path_buf(),
            generation: *generation,
            overlay,
            due: Instant::now() + delay,
        });
    }
}

pub(super) fn parent(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}
