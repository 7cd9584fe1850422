//! Pure rules of the tree: upload paths, renames, listing order and paging.

use std::cmp::Ordering;

use crate::ports::files::FileRecord;
use crate::services::documents::suffix_of;

/// An uploaded file's name as folders and a leaf: `a/b/c.txt` is uploaded as `c.txt`
/// inside folder `b` inside folder `a` (created as needed). Empty and `.` segments are
/// dropped, so `a//b.txt` and `./b.txt` do not create nameless folders. `None` when no
/// leaf name is left.
pub fn split_upload_path(name: &str) -> Option<(Vec<String>, String)> {
    let mut parts: Vec<String> = name
        .split(['/', '\\'])
        .filter(|p| !p.is_empty() && *p != ".")
        .map(str::to_string)
        .collect();
    let leaf = parts.pop()?;
    Some((parts, leaf))
}

/// A rename keeps a file's extension (compared case-insensitively); folders may take any
/// name.
pub fn check_rename(file: &FileRecord, new_name: &str) -> Result<(), &'static str> {
    if !file.is_folder() && suffix_of(new_name) != suffix_of(&file.name) {
        return Err("The extension of file can't be changed");
    }
    Ok(())
}

/// True if `id` is `folder_id` or lies below it, given the path from `id` up to the root
/// (as [`ancestors_path`] returns it).
pub fn is_within(path_to_root: &[FileRecord], folder_id: &str) -> bool {
    path_to_root.iter().any(|f| f.id == folder_id)
}

/// The rows from `start` up to the root, `start` first, given a lookup of a row's parent.
/// Stops at the root (its own parent), at a missing parent, or after `limit` steps (a
/// corrupted cycle must not loop forever).
pub fn ancestors_path(
    start: FileRecord,
    mut parent_of: impl FnMut(&FileRecord) -> Option<FileRecord>,
    limit: usize,
) -> Vec<FileRecord> {
    let mut path = vec![start];
    while path.len() < limit {
        let Some(last) = path.last() else { break };
        if last.is_root() {
            break;
        }
        match parent_of(last) {
            Some(p) => path.push(p),
            None => break,
        }
    }
    path
}

/// Columns a listing can be ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOrder {
    CreateTime,
    UpdateTime,
    Name,
    Size,
    Type,
}

impl FileOrder {
    pub fn parse(column: &str) -> Option<Self> {
        match column {
            "create_time" | "create_date" => Some(FileOrder::CreateTime),
            "update_time" | "update_date" => Some(FileOrder::UpdateTime),
            "name" => Some(FileOrder::Name),
            "size" => Some(FileOrder::Size),
            "type" => Some(FileOrder::Type),
            _ => None,
        }
    }
}

/// Keyword filter (case-insensitive substring of the name), order (ties by id) and the
/// 1-based page; returns the page and the filtered total.
pub fn apply_list(
    mut rows: Vec<FileRecord>,
    keywords: &str,
    order: FileOrder,
    desc: bool,
    page: u64,
    page_size: u64,
) -> (Vec<FileRecord>, u64) {
    let kw = keywords.to_lowercase();
    if !kw.is_empty() {
        rows.retain(|f| f.name.to_lowercase().contains(&kw));
    }
    rows.sort_by(|a, b| {
        let o = match order {
            FileOrder::CreateTime => a.create_time.cmp(&b.create_time),
            FileOrder::UpdateTime => a.update_time.cmp(&b.update_time),
            FileOrder::Name => a.name.cmp(&b.name),
            FileOrder::Size => a.size.cmp(&b.size),
            FileOrder::Type => a.file_type.cmp(&b.file_type),
        };
        let o = if o == Ordering::Equal {
            a.id.cmp(&b.id)
        } else {
            o
        };
        if desc {
            o.reverse()
        } else {
            o
        }
    });
    let total = rows.len() as u64;
    let skip = page.max(1).saturating_sub(1).saturating_mul(page_size);
    let page: Vec<FileRecord> = rows
        .into_iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(usize::try_from(page_size).unwrap_or(usize::MAX))
        .collect();
    (page, total)
}
