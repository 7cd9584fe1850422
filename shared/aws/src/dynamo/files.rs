//! The file manager's tree and file→document links on the metadata table.
//!
//! | item | pk | sk | other attributes |
//! |---|---|---|---|
//! | file or folder | `TENANT#{tenant}#FILES` | `FILE#{id}` | `body`, `rev` |
//! | name lock | `TENANT#{tenant}#FILES` | `FNAME#{parent_id}#{name}` | `file_id` |
//! | root pointer | `TENANT#{tenant}#FILES` | `ROOT` | `file_id` |
//! | link | `TENANT#{tenant}#FILES` | `LINK#{file_id}#{document_id}` | `body` |
//!
//! A tenant's file manager is one partition. Names are unique per folder: a row holds the
//! lock of its (parent, name), written in the same transaction as the row
//! (`attribute_not_exists`), so two concurrent writers cannot both take a name. Every row
//! write bumps `rev` and is conditioned on the `rev` it read, so a rename racing a delete
//! never leaves a lock that belongs to nobody. The root has no name lock; its pointer item
//! makes concurrent first uses agree on one root.
//!
//! Listing a folder reads its children's name locks (`FNAME#{parent_id}#`, one Query over
//! that folder's entries only, however large the tenant's tree) and then their rows in
//! batches. A lock is written and released in the same transaction as its row, so the locks
//! of a folder are its children; a row is still checked to name that folder. Ids hold no
//! `#`, so `FILE#`, `FNAME#` and `LINK#` prefixes (and one folder's lock prefix and
//! another's) never overlap.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use lambdarag::ports::files::{FileLink, FileRecord, FileStore};
use lambdarag::StoreError;

use super::{
    body_of, item_with_body, key, s, str_attr, tenant_pk, Cond, DynamoStore, Item, MAX_ATTEMPTS,
};

const REV: &str = "rev";
const FILE_ID: &str = "file_id";
const FILE_PREFIX: &str = "FILE#";
const ROOT_SK: &str = "ROOT";

fn files_pk(tenant_id: &str) -> String {
    format!("{}#FILES", tenant_pk(tenant_id))
}
fn file_sk(id: &str) -> String {
    format!("{FILE_PREFIX}{id}")
}
fn lock_sk(parent_id: &str, name: &str) -> String {
    format!("FNAME#{parent_id}#{name}")
}
fn link_prefix(file_id: &str) -> String {
    format!("LINK#{file_id}#")
}
fn link_sk(file_id: &str, document_id: &str) -> String {
    format!("{}{document_id}", link_prefix(file_id))
}

/// Deleting a name lock: only the row's own, and a missing lock is no error.
fn release_lock_cond(file_id: &str) -> Cond {
    Cond::new("attribute_not_exists(pk) OR file_id = :id").value(":id", file_id)
}

/// The write guard: the row is still the revision that was read.
fn same_rev(rev: u64) -> Cond {
    Cond::new("attribute_exists(pk) AND rev = :rev").number(":rev", rev)
}

fn name_conflict(f: &FileRecord) -> StoreError {
    StoreError::Conflict(format!(
        "name '{}' is taken in folder {}",
        f.name, f.parent_id
    ))
}

impl DynamoStore {
    fn file_item(&self, f: &FileRecord, rev: u64) -> Result<Item, StoreError> {
        let mut item = item_with_body(files_pk(&f.tenant_id), file_sk(&f.id), f)?;
        item.insert(REV.into(), AttributeValue::N(rev.to_string()));
        Ok(item)
    }

    fn lock_item(&self, f: &FileRecord) -> Item {
        let mut item = key(files_pk(&f.tenant_id), lock_sk(&f.parent_id, &f.name));
        item.insert(FILE_ID.into(), s(f.id.clone()));
        item
    }

    /// The stored row and its revision.
    async fn stored_file(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<(FileRecord, u64)>, StoreError> {
        let Some(item) = self.get(files_pk(tenant_id), file_sk(id)).await? else {
            return Ok(None);
        };
        let file: FileRecord = body_of(&item)?;
        let rev = item
            .get(REV)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| StoreError::Corrupt(format!("file {id} has no numeric `rev`")))?;
        Ok(Some((file, rev)))
    }

    /// The row a pointer item (`ROOT`, a name lock) names.
    async fn pointed_file(
        &self,
        tenant_id: &str,
        sk: String,
    ) -> Result<Option<FileRecord>, StoreError> {
        let pointer = self.get(files_pk(tenant_id), sk).await?;
        match pointer.as_ref().and_then(|p| str_attr(p, FILE_ID)) {
            Some(id) => self.get_file(tenant_id, id).await,
            None => Ok(None),
        }
    }
}

#[async_trait]
impl FileStore for DynamoStore {
    async fn ensure_root(&self, candidate: &FileRecord) -> Result<FileRecord, StoreError> {
        let t = &candidate.tenant_id;
        if let Some(root) = self.pointed_file(t, ROOT_SK.into()).await? {
            return Ok(root);
        }
        let mut pointer = key(files_pk(t), ROOT_SK);
        pointer.insert(FILE_ID.into(), s(candidate.id.clone()));
        let tx = vec![
            self.put(pointer, Some(Cond::not_exists()))?,
            self.put(self.file_item(candidate, 0)?, Some(Cond::not_exists()))?,
        ];
        match self.transact(tx).await? {
            Ok(()) => Ok(candidate.clone()),
            // Another first use won: read its root.
            Err(_) => self.pointed_file(t, ROOT_SK.into()).await?.ok_or_else(|| {
                StoreError::Corrupt(format!("tenant {t}'s root pointer is dangling"))
            }),
        }
    }

    async fn insert_file(&self, file: &FileRecord) -> Result<(), StoreError> {
        let mut tx = vec![self.put(self.file_item(file, 0)?, Some(Cond::not_exists()))?];
        if !file.is_root() {
            tx.push(self.put(self.lock_item(file), Some(Cond::not_exists()))?);
        }
        match self.transact(tx).await? {
            Ok(()) => Ok(()),
            Err(c) if c.condition_failed(1) => Err(name_conflict(file)),
            Err(_) => Err(StoreError::Conflict(format!(
                "file {} already exists",
                file.id
            ))),
        }
    }

    async fn get_file(&self, tenant_id: &str, id: &str) -> Result<Option<FileRecord>, StoreError> {
        Ok(self.stored_file(tenant_id, id).await?.map(|(f, _)| f))
    }

    async fn find_child(
        &self,
        tenant_id: &str,
        parent_id: &str,
        name: &str,
    ) -> Result<Option<FileRecord>, StoreError> {
        let found = self
            .pointed_file(tenant_id, lock_sk(parent_id, name))
            .await?;
        // A lock is only trusted when its row still says the same (parent, name).
        Ok(found.filter(|f| f.parent_id == parent_id && f.name == name && !f.is_root()))
    }

    async fn list_children(
        &self,
        tenant_id: &str,
        parent_id: &str,
    ) -> Result<Vec<FileRecord>, StoreError> {
        let pk = files_pk(tenant_id);
        let locks = self
            .query_prefix(pk.clone(), &format!("FNAME#{parent_id}#"))
            .await?;
        let mut ids: Vec<&str> = locks.iter().filter_map(|l| str_attr(l, FILE_ID)).collect();
        // BatchGetItem refuses repeated keys; a row holds one lock, but be safe.
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys = ids.iter().map(|id| key(pk.clone(), file_sk(id))).collect();
        let rows = self
            .batch_get(keys)
            .await?
            .iter()
            .map(body_of)
            .collect::<Result<Vec<FileRecord>, _>>()?;
        Ok(rows
            .into_iter()
            .filter(|f| f.parent_id == parent_id && !f.is_root())
            .collect())
    }

    async fn update_file(&self, file: &FileRecord) -> Result<(), StoreError> {
        let pk = files_pk(&file.tenant_id);
        for _ in 0..MAX_ATTEMPTS {
            let Some((cur, rev)) = self.stored_file(&file.tenant_id, &file.id).await? else {
                return Err(StoreError::NotFound(format!("file {}", file.id)));
            };
            let mut tx = vec![self.put(self.file_item(file, rev + 1)?, Some(same_rev(rev)))?];
            let moves = cur.parent_id != file.parent_id || cur.name != file.name;
            if moves && !cur.is_root() {
                tx.push(self.delete(
                    key(pk.clone(), lock_sk(&cur.parent_id, &cur.name)),
                    Some(release_lock_cond(&file.id)),
                )?);
                tx.push(self.put(self.lock_item(file), Some(Cond::not_exists()))?);
            }
            match self.transact(tx).await? {
                Ok(()) => return Ok(()),
                Err(c) if c.condition_failed(0) => continue, // changed meanwhile: re-read
                Err(c) if c.condition_failed(2) => return Err(name_conflict(file)),
                Err(_) => {
                    return Err(StoreError::Corrupt(format!(
                        "the name lock of file {} belongs to another row",
                        file.id
                    )))
                }
            }
        }
        Err(StoreError::Backend(format!(
            "file {} kept changing during the update; gave up after {MAX_ATTEMPTS} attempts",
            file.id
        )))
    }

    async fn delete_file(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        let pk = files_pk(tenant_id);
        for _ in 0..MAX_ATTEMPTS {
            let Some((cur, rev)) = self.stored_file(tenant_id, id).await? else {
                return Ok(false);
            };
            let mut tx = vec![self.delete(key(pk.clone(), file_sk(id)), Some(same_rev(rev)))?];
            if cur.is_root() {
                tx.push(self.delete(key(pk.clone(), ROOT_SK), Some(release_lock_cond(id)))?);
            } else {
                tx.push(self.delete(
                    key(pk.clone(), lock_sk(&cur.parent_id, &cur.name)),
                    Some(release_lock_cond(id)),
                )?);
            }
            match self.transact(tx).await? {
                Ok(()) => return Ok(true),
                Err(c) if c.condition_failed(0) => continue, // changed or deleted meanwhile
                Err(_) => {
                    return Err(StoreError::Corrupt(format!(
                        "the name lock of file {id} belongs to another row"
                    )))
                }
            }
        }
        Err(StoreError::Backend(format!(
            "file {id} kept changing during the delete; gave up after {MAX_ATTEMPTS} attempts"
        )))
    }

    async fn insert_link(&self, link: &FileLink) -> Result<(), StoreError> {
        let item = item_with_body(
            files_pk(&link.tenant_id),
            link_sk(&link.file_id, &link.document_id),
            link,
        )?;
        match self
            .transact(vec![self.put(item, Some(Cond::not_exists()))?])
            .await?
        {
            Ok(()) => Ok(()),
            Err(_) => Err(StoreError::Conflict(format!(
                "file {} is already linked to {}",
                link.file_id, link.document_id
            ))),
        }
    }

    async fn links_of_file(
        &self,
        tenant_id: &str,
        file_id: &str,
    ) -> Result<Vec<FileLink>, StoreError> {
        self.query_prefix(files_pk(tenant_id), &link_prefix(file_id))
            .await?
            .iter()
            .map(body_of)
            .collect()
    }

    async fn delete_link(
        &self,
        tenant_id: &str,
        file_id: &str,
        document_id: &str,
    ) -> Result<bool, StoreError> {
        let k = key(files_pk(tenant_id), link_sk(file_id, document_id));
        match self
            .transact(vec![self.delete(k, Some(Cond::exists()))?])
            .await?
        {
            Ok(()) => Ok(true),
            Err(_) => Ok(false),
        }
    }
}
