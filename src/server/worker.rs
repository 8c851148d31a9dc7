//! The analysis thread: lints one package at a time, the newest request per
//! package, once its debounce delay is over. A panic in an analysis is caught
//! and handed back as a message; the thread goes on.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::config::ConfigError;
use crate::{Outcome, Overlay, TreeCache};

/// A request to lint the package in `dir` with the editor's texts of its open files.
pub struct Job {
    pub dir: PathBuf,
    /// The package's edit count when asked: a result for an older one is stale.
    pub generation: u64,
    pub overlay: Overlay,
    /// Not before then: edits in quick succession make one run.
    pub due: Instant,
}

/// What a job gave.
pub struct Done {
    pub dir: PathBuf,
    pub generation: u64,
    /// `Err` holds the message of a panic.
    pub result: Result<Result<Outcome, ConfigError>, String>,
    pub elapsed: Duration,
}

/// Lints a package folder; the cache keeps the trees of files that do not
/// change from one run to the next.
pub type Lint = fn(&Path, &Overlay, &mut TreeCache) -> Result<Outcome, ConfigError>;

/// Starts the thread; it ends when the job sender is dropped.
pub fn spawn(lint: Lint, done: Sender<Done>) -> Sender<Job> {
    let (jobs, inbox) = crossbeam_channel::unbounded();
    std::thread::Builder::new()
        .name("gomaplint-analysis".into())
        .spawn(move || run(lint, &inbox, &done))
        .expect("the analysis thread starts");
    jobs
}

fn run(lint: Lint, inbox: &Receiver<Job>, done: &Sender<Done>) {
    // The newest job per package folder.
    let mut pending: BTreeMap<PathBuf, Job> = BTreeMap::new();
    let mut trees = TreeCache::default();
    loop {
        let next_due = pending.values().map(|j| j.due).min();
        let received = match next_due {
            None => inbox.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(due) => inbox.recv_timeout(due.saturating_duration_since(Instant::now())),
        };
        match received {
            Ok(job) => {
                pending.insert(job.dir.clone(), job);
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {}
        }
        let now = Instant::now();
        let Some(dir) = pending
            .iter()
            .filter(|(_, j)| j.due <= now)
            .min_by_key(|(_, j)| j.due)
            .map(|(d, _)| d.clone())
        else {
            continue;
        };
        let job = pending.remove(&dir).expect("found above");
        let start = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| {
            lint(&job.dir, &job.overlay, &mut trees)
        }))
        .map_err(|panic| {
            // Nothing of a run that broke is kept.
            trees = TreeCache::default();
            panic_message(panic.as_ref())
        });
        let sent = done.send(Done {
            dir: job.dir,
            generation: job.generation,
            result,
            elapsed: start.elapsed(),
        });
        if sent.is_err() {
            return;
        }
    }
}

pub(super) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(dir: &str, generation: u64, delay_ms: u64) -> Job {
        Job {
            dir: PathBuf::from(dir),
            generation,
            overlay: Overlay::new(),
            due: Instant::now() + Duration::from_millis(delay_ms),
        }
    }

    #[test]
    fn a_panic_is_reported_and_the_thread_goes_on() {
        fn lint(dir: &Path, _: &Overlay, _: &mut TreeCache) -> Result<Outcome, ConfigError> {
            if dir == Path::new("boom") {
                panic!("the model broke");
            }
            Ok(Outcome::default())
        }
        let (done_tx, done_rx) = crossbeam_channel::unbounded();
        let jobs = spawn(lint, done_tx);
        jobs.send(job("boom", 1, 0)).unwrap();
        let first = done_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(first.result.unwrap_err(), "the model broke");
        jobs.send(job("fine", 1, 0)).unwrap();
        let second = done_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(second.result.unwrap().is_ok());
    }

    #[test]
    fn edits_within_the_delay_make_one_run_of_the_newest() {
        fn lint(_: &Path, _: &Overlay, _: &mut TreeCache) -> Result<Outcome, ConfigError> {
            Ok(Outcome::default())
        }
        let (done_tx, done_rx) = crossbeam_channel::unbounded();
        let jobs = spawn(lint, done_tx);
        for generation in 1..=5 {
            jobs.send(job("pkg", generation, 200)).unwrap();
        }
        let done = done_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(done.generation, 5);
        assert!(done_rx.recv_timeout(Duration::from_millis(400)).is_err());
    }
}
