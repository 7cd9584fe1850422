//! The pure part of `lambdarag ingest`: which files of a folder are ingested under which
//! document names, which server documents already stand for them (the resume), and what
//! each file still needs.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use lambdarag::services::documents::{file_type, FILE_NAME_LIMIT};

/// How the directories of a nested path are joined into one document name:
/// `guides/setup/intro.md` → `guides__setup__intro.md`. Document names cannot hold `/`
/// (the S3 staging keys and the watched folder forbid it), and keeping the directories
/// keeps `a/x.txt` and `b/x.txt` apart, which the resume needs (it matches by name).
pub const PATH_SEPARATOR: &str = "__";

/// One file found in the folder.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalFile {
    /// Path relative to the folder, `/`-separated (for messages).
    pub rel: String,
    pub path: PathBuf,
    /// The document name it is uploaded under.
    pub name: String,
    pub size: u64,
}

/// A file that is not sent, with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub rel: String,
    pub reason: String,
}

/// The document name of a path relative to the folder.
pub fn doc_name(rel: &Path) -> Result<String, String> {
    let mut parts = Vec::new();
    for c in rel.components() {
        let s = c
            .as_os_str()
            .to_str()
            .ok_or_else(|| "the path is not valid UTF-8".to_string())?;
        parts.push(s);
    }
    if parts.is_empty() {
        return Err("empty path".into());
    }
    // A multipart filename carries `"` as `%22` (the HTML form encoding, which requests and
    // browsers send too) and the server keeps that text: the name the resume looks for
    // must be the name the server will show.
    Ok(parts.join(PATH_SEPARATOR).replace('"', "%22"))
}

/// Whether a name is hidden (`.git`, `.DS_Store`, editors' `.swp` files).
pub fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.to_str().is_none_or(|s| s.starts_with('.'))
}

/// Why a file found in the folder cannot become a document, checked before sending it
/// (the server's own upload rules, plus empty files: nothing to parse).
pub fn refusal(name: &str, size: u64) -> Option<String> {
    if name.len() > FILE_NAME_LIMIT {
        return Some("File name must be 255 bytes or less.".into());
    }
    if name.chars().any(char::is_control) {
        return Some("the name holds control characters".into());
    }
    if file_type(name) == "other" {
        return Some("This type of file has not been supported yet!".into());
    }
    if size == 0 {
        return Some("the file is empty (nothing to parse)".into());
    }
    None
}

/// Walk `root` recursively in name order, skipping hidden files and directories.
/// Files that cannot become documents are returned as refused, with the reason.
pub fn walk(root: &Path) -> Result<(Vec<LocalFile>, Vec<Refused>), String> {
    let meta = std::fs::metadata(root).map_err(|e| format!("{}: {e}", root.display()))?;
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", root.display()));
    }
    let mut files = Vec::new();
    let mut refused = Vec::new();
    let mut names: HashSet<String> = HashSet::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !is_hidden(e.file_name()));
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let rel = e
                    .path()
                    .and_then(|p| p.strip_prefix(root).ok())
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                refused.push(Refused {
                    rel,
                    reason: format!("cannot read: {e}"),
                });
                continue;
            }
        };
        // A symlink to a file counts as that file; directories are not followed through
        // links (no loops).
        let ft = entry.file_type();
        let is_file = ft.is_file()
            || (ft.is_symlink() && std::fs::metadata(entry.path()).is_ok_and(|m| m.is_file()));
        if !is_file {
            continue;
        }
        let rel_path = entry.path().strip_prefix(root).unwrap_or(entry.path());
        let rel = rel_path.to_string_lossy().replace('\\', "/");
        let size = match std::fs::metadata(entry.path()) {
            Ok(m) => m.len(),
            Err(e) => {
                refused.push(Refused {
                    rel,
                    reason: format!("cannot read: {e}"),
                });
                continue;
            }
        };
        let name = match doc_name(rel_path) {
            Ok(n) => n,
            Err(reason) => {
                refused.push(Refused { rel, reason });
                continue;
            }
        };
        if let Some(reason) = refusal(&name, size) {
            refused.push(Refused { rel, reason });
            continue;
        }
        if !names.insert(name.clone()) {
            refused.push(Refused {
                reason: format!("its document name {name} is taken by another file of the folder"),
                rel,
            });
            continue;
        }
        files.push(LocalFile {
            rel,
            path: entry.path().to_path_buf(),
            name,
            size,
        });
    }
    Ok((files, refused))
}

/// What the server shows of a document (the fields the resume and the progress read).
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteDoc {
    pub id: String,
    pub name: String,
    pub size: u64,
    /// `UNSTART`, `RUNNING`, `CANCEL`, `DONE`, `FAIL` (or `5`, scheduled).
    pub run: String,
    pub progress: f64,
    pub progress_msg: String,
    pub chunk_count: u64,
    pub token_count: u64,
}

/// Whether `candidate` is `name` or the server's rename of it on a clash: `a.txt` →
/// `a(1).txt`, `a(2).txt`, ... (the counter goes before the extension).
pub fn is_name_variant(candidate: &str, name: &str) -> bool {
    if candidate == name {
        return true;
    }
    let split = |n: &str| -> (String, String) {
        match n.rfind('.') {
            Some(i) if i > 0 && i + 1 < n.len() => (n[..i].to_string(), n[i..].to_string()),
            _ => (n.to_string(), String::new()),
        }
    };
    let (stem, ext) = split(name);
    let (cstem, cext) = split(candidate);
    if ext != cext {
        return false;
    }
    // The server strips an existing `(n)` before counting up (`a(1).txt` → `a(2).txt`).
    let base = |s: &str| -> String {
        match s.strip_suffix(')').and_then(|t| t.rsplit_once('(')) {
            Some((b, n)) if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => b.into(),
            _ => s.into(),
        }
    };
    cstem.ends_with(')') && base(&cstem) == base(&stem)
}

/// For each local file, the index of the server document that already stands for it:
/// same size and the same name, or else the server's `(n)` rename of it (an upload whose
/// reply was lost, or a name that was taken). Exact names are matched first; each
/// document stands for one file at most.
pub fn match_uploaded(files: &[LocalFile], docs: &[RemoteDoc]) -> Vec<Option<usize>> {
    let mut taken = vec![false; docs.len()];
    let mut out = vec![None; files.len()];
    for exact in [true, false] {
        for (fi, f) in files.iter().enumerate() {
            if out[fi].is_some() {
                continue;
            }
            let found = docs.iter().enumerate().position(|(di, d)| {
                !taken[di]
                    && d.size == f.size
                    && if exact {
                        d.name == f.name
                    } else {
                        is_name_variant(&d.name, &f.name)
                    }
            });
            if let Some(di) = found {
                taken[di] = true;
                out[fi] = Some(di);
            }
        }
    }
    out
}

/// What a file still needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Not on the server yet.
    Upload,
    /// Uploaded, never parsed, cancelled, or failed before (a rerun tries again).
    Parse,
    /// Being parsed (or queued): wait for it.
    Wait,
    /// Parsed: nothing to do (never parsed twice).
    Done,
}

/// The resume decision for a file from its document's state.
pub fn next_step(doc: Option<&RemoteDoc>) -> Next {
    match doc.map(|d| d.run.as_str()) {
        None => Next::Upload,
        Some("DONE") => Next::Done,
        Some("RUNNING") | Some("5") => Next::Wait,
        Some(_) => Next::Parse,
    }
}

/// Whether a document's parse has ended, and how.
pub fn finished(doc: &RemoteDoc) -> Option<Result<(), String>> {
    match doc.run.as_str() {
        "DONE" => Some(Ok(())),
        "FAIL" => Some(Err(failure_reason(&doc.progress_msg))),
        "CANCEL" => Some(Err("parsing was cancelled".into())),
        _ => None,
    }
}

/// The last meaningful line of a failed parse's log (the reason), without the log's
/// `HH:MM:SS [ERROR] ` prefix.
pub fn failure_reason(progress_msg: &str) -> String {
    progress_msg
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .map(|l| {
            let b = l.as_bytes();
            let clocked = b.len() > 9
                && b[2] == b':'
                && b[5] == b':'
                && b[8] == b' '
                && [0, 1, 3, 4, 6, 7].iter().all(|&i| b[i].is_ascii_digit());
            let l = if clocked { &l[9..] } else { l };
            let l = l.strip_prefix("[ERROR] ").unwrap_or(l);
            format!("parse failed: {l}")
        })
        .unwrap_or_else(|| "parse failed".into())
}

/// Split files (by index) into upload requests of at most `max_files` files and
/// `max_bytes` bytes; a file larger than `max_bytes` goes alone.
pub fn batches(sizes: &[(usize, u64)], max_files: usize, max_bytes: u64) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut cur: Vec<usize> = Vec::new();
    let mut cur_bytes = 0u64;
    for &(i, size) in sizes {
        if !cur.is_empty() && (cur.len() >= max_files.max(1) || cur_bytes + size > max_bytes) {
            out.push(std::mem::take(&mut cur));
            cur_bytes = 0;
        }
        cur.push(i);
        cur_bytes += size;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(name: &str, size: u64) -> LocalFile {
        LocalFile {
            rel: name.into(),
            path: PathBuf::from(name),
            name: name.into(),
            size,
        }
    }

    fn remote(id: &str, name: &str, size: u64, run: &str) -> RemoteDoc {
        RemoteDoc {
            id: id.into(),
            name: name.into(),
            size,
            run: run.into(),
            progress: 0.0,
            progress_msg: String::new(),
            chunk_count: 0,
            token_count: 0,
        }
    }

    #[test]
    fn nested_paths_join_with_double_underscores() {
        assert_eq!(doc_name(Path::new("a.txt")).as_deref(), Ok("a.txt"));
        assert_eq!(
            doc_name(Path::new("guides/setup/intro.md")).as_deref(),
            Ok("guides__setup__intro.md")
        );
        assert_eq!(
            doc_name(Path::new("say \"hi\".txt")).as_deref(),
            Ok("say %22hi%22.txt")
        );
    }

    #[test]
    fn refusals_give_the_servers_reasons() {
        assert_eq!(refusal("a.txt", 3), None);
        assert_eq!(
            refusal("a.exe", 3).as_deref(),
            Some("This type of file has not been supported yet!")
        );
        assert!(refusal("a.txt", 0).is_some_and(|r| r.contains("empty")));
        assert!(refusal(&format!("{}.txt", "x".repeat(260)), 1).is_some());
    }

    #[test]
    fn renamed_uploads_are_recognised() {
        assert!(is_name_variant("a.txt", "a.txt"));
        assert!(is_name_variant("a(1).txt", "a.txt"));
        assert!(is_name_variant("a(12).txt", "a.txt"));
        assert!(is_name_variant("a(2).txt", "a(1).txt"));
        assert!(!is_name_variant("a(1).md", "a.txt"));
        assert!(!is_name_variant("ab(1).txt", "a.txt"));
        assert!(!is_name_variant("a(x).txt", "a.txt"));
        assert!(!is_name_variant("a1.txt", "a.txt"));
        assert!(is_name_variant("README(1)", "README"));
    }

    #[test]
    fn resume_matches_name_and_size_exact_names_first() {
        let files = vec![local("a.txt", 10), local("b.txt", 5), local("c.txt", 7)];
        let docs = vec![
            // An unrelated older a.txt (other size): the upload became a(1).txt.
            remote("d0", "a.txt", 99, "DONE"),
            remote("d1", "a(1).txt", 10, "UNSTART"),
            remote("d2", "b.txt", 5, "DONE"),
            // b(1).txt of the same size must not also count for b.txt.
            remote("d3", "b(1).txt", 5, "DONE"),
        ];
        assert_eq!(match_uploaded(&files, &docs), vec![Some(1), Some(2), None]);
    }

    #[test]
    fn each_document_stands_for_one_file() {
        let files = vec![local("a(1).txt", 4), local("a.txt", 4)];
        let docs = vec![remote("d", "a(1).txt", 4, "DONE")];
        // The exact name wins; a.txt is still to upload.
        assert_eq!(match_uploaded(&files, &docs), vec![Some(0), None]);
    }

    #[test]
    fn resume_decisions_follow_the_documents_state() {
        assert_eq!(next_step(None), Next::Upload);
        let d = |run: &str| remote("x", "x.txt", 1, run);
        assert_eq!(next_step(Some(&d("DONE"))), Next::Done);
        assert_eq!(next_step(Some(&d("RUNNING"))), Next::Wait);
        assert_eq!(next_step(Some(&d("5"))), Next::Wait);
        assert_eq!(next_step(Some(&d("UNSTART"))), Next::Parse);
        assert_eq!(next_step(Some(&d("CANCEL"))), Next::Parse);
        assert_eq!(next_step(Some(&d("FAIL"))), Next::Parse);
    }

    #[test]
    fn failures_keep_the_last_log_line() {
        assert_eq!(
            failure_reason("Start parsing\nNo text could be extracted.\n"),
            "parse failed: No text could be extracted."
        );
        assert_eq!(
            failure_reason("14:02:16 Task started\n14:02:16 [ERROR] Not a PDF."),
            "parse failed: Not a PDF."
        );
        assert_eq!(failure_reason(""), "parse failed");
    }

    #[test]
    fn batches_respect_file_and_byte_caps() {
        let sizes: Vec<(usize, u64)> = vec![(0, 1), (1, 1), (2, 1), (3, 10), (4, 1)];
        assert_eq!(
            batches(&sizes, 2, 5),
            vec![vec![0, 1], vec![2], vec![3], vec![4]]
        );
        assert_eq!(batches(&sizes, 10, 100), vec![vec![0, 1, 2, 3, 4]]);
        assert!(batches(&[], 3, 3).is_empty());
    }

    #[test]
    fn walking_skips_hidden_files_and_refuses_with_reasons() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("sub/deeper")).expect("mkdir");
        std::fs::create_dir_all(root.join(".git")).expect("mkdir");
        std::fs::write(root.join("a.txt"), "a").expect("write");
        std::fs::write(root.join("sub/deeper/b.md"), "b").expect("write");
        std::fs::write(root.join(".hidden.txt"), "h").expect("write");
        std::fs::write(root.join(".git/config.txt"), "g").expect("write");
        std::fs::write(root.join("empty.txt"), "").expect("write");
        std::fs::write(root.join("tool.exe"), "x").expect("write");
        // Collides with sub/deeper/b.md once the directories are joined.
        std::fs::write(root.join("sub__deeper__b.md"), "c").expect("write");
        let (files, refused) = walk(root).expect("walk");
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, vec!["a.txt", "sub__deeper__b.md"]);
        let why: Vec<(&str, bool)> = refused
            .iter()
            .map(|r| (r.rel.as_str(), !r.reason.is_empty()))
            .collect();
        assert_eq!(
            why,
            vec![
                ("empty.txt", true),
                ("sub__deeper__b.md", true),
                ("tool.exe", true)
            ]
        );
    }
}
