//! The personal file manager's store: a tenant's folder tree (upstream: `file` rows) and
//! the links from files to the documents made from them (upstream: `file2document`).
//!
//! Every method takes the tenant. A file's bytes live in the blob store under
//! [`FileRecord::location`]; this port holds only the rows. Names are unique per folder
//! (exact, case-sensitive) and the store enforces it atomically (`Conflict`), so two
//! concurrent uploads of one name cannot both keep it.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::contract::error::StoreError;

/// `type` of a folder row.
pub const TYPE_FOLDER: &str = "folder";
/// `type` of a file created without content (`POST /file/create` with another type).
pub const TYPE_VIRTUAL: &str = "virtual";
/// Name of a tenant's root folder (upstream's `/`).
pub const ROOT_NAME: &str = "/";

/// One row of the tree: a folder, a stored file, or a virtual file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRecord {
    pub id: String,
    /// The containing folder; the root folder is its own parent.
    pub parent_id: String,
    pub tenant_id: String,
    pub created_by: String,
    pub name: String,
    /// `folder`, `virtual`, or the file type of the name (`pdf`, `doc`, `visual`, ...).
    #[serde(rename = "type")]
    pub file_type: String,
    /// Blob key of the bytes (under the tenant); empty for folders and virtual files.
    pub location: String,
    pub size: i64,
    pub source_type: String,
    pub create_time: i64,
    pub update_time: i64,
}

impl FileRecord {
    pub fn is_folder(&self) -> bool {
        self.file_type == TYPE_FOLDER
    }
    pub fn is_root(&self) -> bool {
        self.parent_id == self.id
    }
}

/// A file linked into a dataset as a document (upstream: a `file2document` row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileLink {
    pub id: String,
    pub tenant_id: String,
    pub file_id: String,
    pub document_id: String,
    pub dataset_id: String,
    pub create_time: i64,
    pub update_time: i64,
}

#[async_trait]
pub trait FileStore: Send + Sync {
    /// The tenant's root folder: `candidate` is stored if the tenant has none yet, else the
    /// existing root is returned (so concurrent first uses agree on one root).
    async fn ensure_root(&self, candidate: &FileRecord) -> Result<FileRecord, StoreError>;
    /// `Conflict` if the id exists or the folder already holds this exact name.
    async fn insert_file(&self, file: &FileRecord) -> Result<(), StoreError>;
    async fn get_file(&self, tenant_id: &str, id: &str) -> Result<Option<FileRecord>, StoreError>;
    /// The child of `parent_id` with exactly this name.
    async fn find_child(
        &self,
        tenant_id: &str,
        parent_id: &str,
        name: &str,
    ) -> Result<Option<FileRecord>, StoreError>;
    /// Every child of a folder (not the root itself when listing the root), any order.
    async fn list_children(
        &self,
        tenant_id: &str,
        parent_id: &str,
    ) -> Result<Vec<FileRecord>, StoreError>;
    /// Replace a row (rename, move). `NotFound` if gone; `Conflict` if the new
    /// (parent, name) is taken by another row.
    async fn update_file(&self, file: &FileRecord) -> Result<(), StoreError>;
    /// Remove one row (not its children, links or bytes). True if it existed.
    async fn delete_file(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError>;

    /// Record a link; `Conflict` if this file is already linked to this document.
    async fn insert_link(&self, link: &FileLink) -> Result<(), StoreError>;
    /// The links of one file, any order.
    async fn links_of_file(
        &self,
        tenant_id: &str,
        file_id: &str,
    ) -> Result<Vec<FileLink>, StoreError>;
    /// Remove one link. True if it existed.
    async fn delete_link(
        &self,
        tenant_id: &str,
        file_id: &str,
        document_id: &str,
    ) -> Result<bool, StoreError>;
}

/// Stands in when a deployment did not configure the file store.
pub struct UnconfiguredFiles;

fn unconfigured() -> StoreError {
    StoreError::Backend("the file store port is not configured in this function".into())
}

#[async_trait]
impl FileStore for UnconfiguredFiles {
    async fn ensure_root(&self, _: &FileRecord) -> Result<FileRecord, StoreError> {
        Err(unconfigured())
    }
    async fn insert_file(&self, _: &FileRecord) -> Result<(), StoreError> {
        Err(unconfigured())
    }
    async fn get_file(&self, _: &str, _: &str) -> Result<Option<FileRecord>, StoreError> {
        Err(unconfigured())
    }
    async fn find_child(
        &self,
        _: &str,
        _: &str,
        _: &str,
    ) -> Result<Option<FileRecord>, StoreError> {
        Err(unconfigured())
    }
    async fn list_children(&self, _: &str, _: &str) -> Result<Vec<FileRecord>, StoreError> {
        Err(unconfigured())
    }
    async fn update_file(&self, _: &FileRecord) -> Result<(), StoreError> {
        Err(unconfigured())
    }
    async fn delete_file(&self, _: &str, _: &str) -> Result<bool, StoreError> {
        Err(unconfigured())
    }
    async fn insert_link(&self, _: &FileLink) -> Result<(), StoreError> {
        Err(unconfigured())
    }
    async fn links_of_file(&self, _: &str, _: &str) -> Result<Vec<FileLink>, StoreError> {
        Err(unconfigured())
    }
    async fn delete_link(&self, _: &str, _: &str, _: &str) -> Result<bool, StoreError> {
        Err(unconfigured())
    }
}
