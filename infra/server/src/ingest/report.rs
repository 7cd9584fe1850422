//! What `lambdarag ingest` shows: progress bars on a terminal, periodic lines otherwise
//! (indicatif hides its bars without a TTY, and a log file should still tell the story),
//! and the final summary.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

/// How often a line is printed when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(5);

pub struct Progress {
    upload: ProgressBar,
    parse: ProgressBar,
    tty: bool,
    last_line: Option<Instant>,
}

impl Progress {
    pub fn new(to_upload: u64, to_finish: u64) -> Self {
        let tty = std::io::stderr().is_terminal();
        let multi = MultiProgress::with_draw_target(if tty {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        let style = ProgressStyle::with_template(
            "{prefix:>7} [{bar:32.cyan/blue}] {pos}/{len} {msg} ({elapsed})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        let bar = |prefix: &'static str, len: u64| {
            let b = multi.add(ProgressBar::new(len));
            b.set_style(style.clone());
            b.set_prefix(prefix);
            b
        };
        Progress {
            upload: bar("upload", to_upload),
            parse: bar("parse", to_finish),
            tty,
            last_line: None,
        }
    }

    fn line_due(&mut self, force: bool) -> bool {
        if self.tty {
            return false;
        }
        let due = force || self.last_line.is_none_or(|t| t.elapsed() >= LINE_EVERY);
        if due {
            self.last_line = Some(Instant::now());
        }
        due
    }

    pub fn uploaded(&mut self, done: u64, failed: u64) {
        self.upload.set_position(done + failed);
        let msg = if failed > 0 {
            format!("files, {failed} failed")
        } else {
            "files".to_string()
        };
        self.upload.set_message(msg.clone());
        let last = done + failed >= self.upload.length().unwrap_or(0);
        if self.line_due(last) {
            eprintln!(
                "upload: {}/{} {msg}",
                done + failed,
                self.upload.length().unwrap_or(0)
            );
        }
        if last {
            self.upload.finish();
        }
    }

    pub fn parsed(&mut self, done: u64, failed: u64, force_line: bool) {
        self.parse.set_position(done + failed);
        let msg = format!("done, {failed} failed");
        self.parse.set_message(msg.clone());
        if self.line_due(force_line) {
            eprintln!(
                "parse: {}/{} {msg}",
                done + failed,
                self.parse.length().unwrap_or(0)
            );
        }
    }

    pub fn finish(&self) {
        self.upload.finish();
        self.parse.finish();
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// The file's path relative to the folder.
    pub file: String,
    pub reason: String,
}

/// The outcome of a run (also printed as JSON with `--json`).
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub dataset: String,
    pub dataset_id: String,
    pub chunk_method: String,
    pub created_dataset: bool,
    /// Files found in the folder (hidden ones not counted).
    pub files: usize,
    /// Uploaded by this run.
    pub uploaded: usize,
    /// Already on the server from an earlier run.
    pub already_uploaded: usize,
    /// Parses this run started.
    pub parse_started: usize,
    /// Documents DONE at the end (this run's and earlier ones).
    pub done: usize,
    /// Of those, DONE before this run started (not parsed again).
    pub already_done: usize,
    pub failed: usize,
    pub chunks: u64,
    pub tokens: u64,
    pub failures: Vec<Failure>,
    pub elapsed_secs: f64,
    pub upload_secs: f64,
}

impl Summary {
    pub fn render(&self) -> String {
        let mut out = format!(
            "dataset   {} ({}), chunk method {}{}\n",
            self.dataset,
            self.dataset_id,
            self.chunk_method,
            if self.created_dataset {
                ", created"
            } else {
                ""
            }
        );
        out += &format!(
            "files     {} found: {} uploaded, {} already uploaded, {} failed\n",
            self.files, self.uploaded, self.already_uploaded, self.failed
        );
        out += &format!(
            "parsed    {} DONE ({} before this run, {} parses started), {} chunks, {} tokens\n",
            self.done, self.already_done, self.parse_started, self.chunks, self.tokens
        );
        // Throughput: documents this run brought to DONE, per second of the whole run.
        let fresh = self.done.saturating_sub(self.already_done);
        let rate = if self.elapsed_secs > 0.0 {
            fresh as f64 / self.elapsed_secs
        } else {
            0.0
        };
        out += &format!(
            "time      {:.1} s (upload {:.1} s), {:.1} documents/s\n",
            self.elapsed_secs, self.upload_secs, rate
        );
        if !self.failures.is_empty() {
            out += &format!("failures  {}\n", self.failures.len());
            for f in &self.failures {
                out += &format!("  {}: {}\n", f.file, f.reason);
            }
        }
        out
    }
}
