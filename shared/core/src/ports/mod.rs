//! Ports: capability-sized traits every deployment implements. Each port's methods take the
//! tenant id, so tenant isolation is enforced here and no handler can forget it.
//!
//! Adapters: `lambdarag-embedded` (SQLite, local folder, tantivy) and `lambdarag-aws`
//! (DynamoDB, S3, SQS, OpenSearch). `conformance` holds the one suite both must pass.

use async_trait::async_trait;

use crate::domain::{ApiKeyRecord, Dataset, DatasetListQuery, Tenant};
use crate::error::StoreError;

pub mod conformance;

/// Tenants and their model configuration.
#[async_trait]
pub trait TenantStore: Send + Sync {
    /// Create a tenant; `Conflict` if the id exists.
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    async fn get_tenant(&self, tenant_id: &str) -> Result<Option<Tenant>, StoreError>;
    /// Replace a tenant's record (defaults and providers); `NotFound` if absent.
    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError>;
}

/// API keys, stored only as hashes.
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    async fn add_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;
    /// The tenant a key hash belongs to.
    async fn tenant_for_key_hash(&self, hash: &str) -> Result<Option<String>, StoreError>;
    async fn list_keys(&self, tenant_id: &str) -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// Revoke one of the tenant's keys by its `key_id`; false if the tenant has no such key.
    async fn revoke_key(&self, tenant_id: &str, key_id: &str) -> Result<bool, StoreError>;
}

/// Datasets of a tenant. Names are unique per tenant, case-insensitively, and the store
/// enforces it atomically (`Conflict`), so two concurrent creates cannot both win.
#[async_trait]
pub trait DatasetStore: Send + Sync {
    async fn insert_dataset(&self, dataset: &Dataset) -> Result<(), StoreError>;
    async fn get_dataset(&self, tenant_id: &str, id: &str) -> Result<Option<Dataset>, StoreError>;
    /// Case-insensitive name lookup.
    async fn find_dataset_by_name(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<Option<Dataset>, StoreError>;
    /// One page and the total count before paging.
    async fn list_datasets(
        &self,
        tenant_id: &str,
        query: &DatasetListQuery,
    ) -> Result<(Vec<Dataset>, u64), StoreError>;
    /// Replace a dataset (matched by tenant and id). `Conflict` if a rename hits a name the
    /// tenant already uses; `NotFound` if the dataset is gone.
    async fn update_dataset(&self, dataset: &Dataset) -> Result<(), StoreError>;
    /// True if it existed.
    async fn delete_dataset(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError>;
}

/// Everything the metadata side of a deployment provides.
pub trait MetadataStore: TenantStore + ApiKeyStore + DatasetStore {}
impl<T: TenantStore + ApiKeyStore + DatasetStore> MetadataStore for T {}
