//! Original file bytes in a local folder: `<root>/<tenant>/<key>`, where a key's `/` are
//! sub-folders. Writes are atomic (temp file in the same folder, fsync, rename, fsync of the
//! folder), so a crash leaves the old bytes or the new ones, never a torn file.
//!
//! Keys are built by our code, never taken from users, but every segment is still checked
//! so no key (or tenant id) can step outside its tenant's folder.
//!
//! One difference from S3: a key cannot also be the folder of a longer key (`a` and `a/b`
//! cannot both exist); our keys never nest that way.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;

use lambdarag::ports::BlobStore;
use lambdarag::StoreError;

/// Temp files of in-flight writes start with this; no key segment may.
const TMP_PREFIX: &str = ".lambdarag-tmp-";

#[derive(Debug, Clone)]
pub struct FolderBlobStore {
    root: PathBuf,
}

fn io_err(what: &str, path: &Path, e: io::Error) -> StoreError {
    StoreError::Backend(format!("blob store: {what} {}: {e}", path.display()))
}

/// One path segment of a key or a tenant id: rejects what could escape or alias a folder.
fn check_segment(seg: &str, whole: &str, what: &str) -> Result<(), StoreError> {
    let bad = seg.is_empty()
        || seg == "."
        || seg == ".."
        || seg.contains(['\0', '\\'])
        || seg.starts_with(TMP_PREFIX);
    if bad {
        return Err(StoreError::Backend(format!(
            "blob store: invalid {what} {whole:?}: empty, `.`/`..`, NUL or backslash segments \
             and absolute paths are not allowed"
        )));
    }
    Ok(())
}

impl FolderBlobStore {
    /// Open (creating if needed) a blob folder; the embedded deployment uses
    /// `<data_dir>/blobs`.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        fs::create_dir_all(root).map_err(|e| io_err("cannot create", root, e))?;
        Ok(FolderBlobStore {
            root: root.to_path_buf(),
        })
    }

    fn tenant_dir(&self, tenant_id: &str) -> Result<PathBuf, StoreError> {
        if tenant_id.contains('/') {
            return Err(StoreError::Backend(format!(
                "blob store: invalid tenant id {tenant_id:?}"
            )));
        }
        check_segment(tenant_id, tenant_id, "tenant id")?;
        Ok(self.root.join(tenant_id))
    }

    /// `<root>/<tenant>/<key segments>`; a relative path (`dir`) may be empty, a key not.
    fn path_under(&self, tenant_id: &str, rel: &str, what: &str) -> Result<PathBuf, StoreError> {
        let mut path = self.tenant_dir(tenant_id)?;
        if rel.is_empty() {
            return if what == "key" {
                Err(StoreError::Backend("blob store: empty key".into()))
            } else {
                Ok(path)
            };
        }
        for seg in rel.split('/') {
            check_segment(seg, rel, what)?;
            path.push(seg);
        }
        Ok(path)
    }

    async fn blocking<T, F>(f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, StoreError> + Send + 'static,
    {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| StoreError::Backend(format!("blob store task failed: {e}")))?
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path
        .parent()
        .ok_or_else(|| StoreError::Backend(format!("blob store: no folder for {path:?}")))?;
    fs::create_dir_all(dir).map_err(|e| io_err("cannot create folder", dir, e))?;
    let tmp = dir.join(format!("{TMP_PREFIX}{:016x}", rand::random::<u64>()));
    let written = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io_err("cannot write", path, e));
    }
    // The rename is durable only once the folder entry is on disk.
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err("cannot sync folder", dir, e))
}

/// Remove empty folders from `from` up to, not including, `stop`.
fn prune_empty(from: &Path, stop: &Path) {
    let mut dir = from;
    while dir != stop && dir.starts_with(stop) {
        if fs::remove_dir(dir).is_err() {
            break; // not empty (or gone): stop climbing
        }
        match dir.parent() {
            Some(p) => dir = p,
            None => break,
        }
    }
}

/// Delete every blob file under `dir` (recursively); returns how many. Temp files of
/// in-flight writes are left to their writer.
fn delete_tree(dir: &Path) -> Result<u64, StoreError> {
    let mut n = 0;
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io_err("cannot list", dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| io_err("cannot list", dir, e))?;
        n += delete_entry(&entry.path())?;
    }
    let _ = fs::remove_dir(dir);
    Ok(n)
}

fn delete_entry(path: &Path) -> Result<u64, StoreError> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io_err("cannot inspect", path, e)),
    };
    if meta.is_dir() {
        return delete_tree(path);
    }
    let is_tmp = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(TMP_PREFIX));
    if is_tmp {
        return Ok(0);
    }
    match fs::remove_file(path) {
        Ok(()) => Ok(1),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(io_err("cannot delete", path, e)),
    }
}

#[async_trait]
impl BlobStore for FolderBlobStore {
    /// The root folder is still there and is a folder.
    async fn health(&self) -> Result<(), StoreError> {
        match tokio::fs::metadata(&self.root).await {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => Err(StoreError::Backend(format!(
                "{} is not a folder",
                self.root.display()
            ))),
            Err(e) => Err(io_err("cannot read", &self.root, e)),
        }
    }

    async fn put(&self, tenant_id: &str, key: &str, bytes: Bytes) -> Result<(), StoreError> {
        let path = self.path_under(tenant_id, key, "key")?;
        Self::blocking(move || write_atomically(&path, &bytes)).await
    }

    async fn get(&self, tenant_id: &str, key: &str) -> Result<Option<Bytes>, StoreError> {
        let path = self.path_under(tenant_id, key, "key")?;
        Self::blocking(move || match fs::read(&path) {
            Ok(b) => Ok(Some(Bytes::from(b))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            // A folder is only the parent of longer keys, not a blob.
            Err(_) if path.is_dir() => Ok(None),
            Err(e) => Err(io_err("cannot read", &path, e)),
        })
        .await
    }

    async fn delete(&self, tenant_id: &str, key: &str) -> Result<(), StoreError> {
        let path = self.path_under(tenant_id, key, "key")?;
        let tenant_dir = self.tenant_dir(tenant_id)?;
        Self::blocking(move || {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(_) if path.is_dir() => return Ok(()),
                Err(e) => return Err(io_err("cannot delete", &path, e)),
            }
            if let Some(parent) = path.parent() {
                prune_empty(parent, &tenant_dir);
            }
            Ok(())
        })
        .await
    }

    async fn delete_prefix(&self, tenant_id: &str, prefix: &str) -> Result<u64, StoreError> {
        // A plain string prefix, as S3's: `ds1` covers `ds1/x` and `ds10/y`. Only the
        // folder holding the prefix's last segment is listed, not the tenant's whole tree.
        let (dir_part, name_part) = match prefix.rfind('/') {
            Some(i) => (&prefix[..i], &prefix[i + 1..]),
            None => ("", prefix),
        };
        let dir = self.path_under(tenant_id, dir_part, "key prefix")?;
        let tenant_dir = self.tenant_dir(tenant_id)?;
        let name_part = name_part.to_string();
        Self::blocking(move || {
            let entries = match fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
                Err(_) if dir.is_file() => return Ok(0),
                Err(e) => return Err(io_err("cannot list", &dir, e)),
            };
            let mut n = 0;
            for entry in entries {
                let entry = entry.map_err(|e| io_err("cannot list", &dir, e))?;
                let name = entry.file_name();
                // Names that are not UTF-8 were never written by this store.
                let Some(name) = name.to_str() else { continue };
                if name.starts_with(&name_part) {
                    n += delete_entry(&entry.path())?;
                }
            }
            prune_empty(&dir, &tenant_dir);
            Ok(n)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keys_cannot_escape_the_tenant_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FolderBlobStore::open(dir.path()).expect("open");
        for key in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "a/./b",
            "a/",
            "a\\..\\b",
            "nul\0byte",
            ".lambdarag-tmp-0000",
        ] {
            assert!(
                matches!(
                    store.put("t", key, Bytes::from_static(b"x")).await,
                    Err(StoreError::Backend(_))
                ),
                "put {key:?} must be refused"
            );
            assert!(store.get("t", key).await.is_err(), "get {key:?}");
            assert!(store.delete("t", key).await.is_err(), "delete {key:?}");
        }
        for tenant in ["", "..", "a/b", "."] {
            assert!(
                store.put(tenant, "k", Bytes::new()).await.is_err(),
                "tenant {tenant:?} must be refused"
            );
        }
        assert!(store.delete_prefix("t", "../").await.is_err());
        assert!(store.delete_prefix("t", "a//").await.is_err());
        // Nothing was written outside (or inside) the root.
        let outside = dir.path().parent().map(|p| p.join("x"));
        assert!(outside.is_none_or(|p| !p.exists()));
    }

    #[tokio::test]
    async fn no_temp_files_or_empty_folders_are_left_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FolderBlobStore::open(dir.path()).expect("open");
        store
            .put("t", "ds/doc/file.bin", Bytes::from_static(b"abc"))
            .await
            .expect("put");
        let folder = dir.path().join("t/ds/doc");
        let names: Vec<String> = fs::read_dir(&folder)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["file.bin".to_string()]);
        store.delete("t", "ds/doc/file.bin").await.expect("delete");
        assert!(
            !dir.path().join("t/ds").exists(),
            "empty folders are pruned"
        );
    }
}
