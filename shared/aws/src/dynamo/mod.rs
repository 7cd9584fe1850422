//! The metadata ports on one DynamoDB table (single-table design).
//!
//! Items (`pk` / `sk`, both strings):
//!
//! | item | pk | sk | other attributes |
//! |---|---|---|---|
//! | tenant | `TENANT#{tenant}` | `TENANT` | `body` |
//! | tenant directory entry | `TENANTS` | `TENANT#{tenant}` | `body` (a copy, for `list_tenants`) |
//! | API key lookup | `APIKEY#{hash}` | `APIKEY` | `tenant_id`, `key_id`, `body` |
//! | API key of a tenant | `TENANT#{tenant}` | `APIKEY#{key_id}` | `body` |
//! | dataset | `TENANT#{tenant}` | `DATASET#{id}` | `body`, `name_key`, `gsi1pk` = `DATASET#{id}`, `gsi1sk` = `TENANT#{tenant}` |
//! | dataset name lock | `TENANT#{tenant}` | `DSNAME#{lowercased name}` | `dataset_id` |
//! | document | `TENANT#{tenant}#DATASET#{dataset}` | `DOC#{id}` | `body`, `name_key`, `rev` |
//! | document name lock | `TENANT#{tenant}#DATASET#{dataset}` | `DOCNAME#{lowercased name}` | `document_id` |
//! | memory, its name lock, id counter, messages | see `memories.rs` | | |
//! | file manager rows, name locks, links | `TENANT#{tenant}#FILES` | see `files.rs` | |
//! | agent canvas | `TENANT#{tenant}` | `AGENT#{id}` | `body` (see `agents.rs`) |
//! | dataset task, a dataset's current task | see `tasks.rs` | | |
//! | agent session | `TENANT#{tenant}#AGENT#{agent}` | `AGENTSESSION#{id}` | `body` (see `agents.rs`) |
//! | ingested S3 object | `S3OBJ#{bucket}/{key}` | `S3OBJ#{sequencer or ETag}` | `state`, `claimed_at`, `document_id`, `tenant_id`, `dataset_id`, `expires_at` (TTL) |
//!
//! Documents get a partition per dataset so a large tenant's load spreads over many keys.
//! `body` is the domain record as JSON (serde), so the domain type stays the one source of
//! truth for what a record holds. Every key of tenant data includes the tenant, so tenant
//! isolation holds by construction. Items that must agree (a key's two items, a dataset and
//! its name lock) are written in one `TransactWriteItems`, and uniqueness rests on
//! `attribute_not_exists(pk)` conditions, so concurrent writers cannot both win.
//!
//! Reads are strongly consistent: the API promises read-your-writes (a revoked key stops
//! working at once, a created dataset is listed at once), which eventually consistent reads
//! would break for up to a second.
//!
//! The GSI `gsi1` (`gsi1pk` / `gsi1sk`) is created with the table. It answers "which tenant
//! owns dataset X" (`gsi1pk = DATASET#{id}`), which the S3 ingestion needs: a staged upload's
//! key names only the dataset. Other access patterns may use it with other key prefixes.
//! GSI reads are eventually consistent; a dataset created a moment ago may not be found yet,
//! which the ingestion treats as "retry later".

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::{BuildError, DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, Projection, ProjectionType, Put, ScalarAttributeType,
    TransactWriteItem,
};
use aws_sdk_dynamodb::Client;
use serde::de::DeserializeOwned;
use serde::Serialize;

use lambdarag::domain::{ApiKeyRecord, ClientGeneration, Dataset, DatasetListQuery, Tenant};
use lambdarag::ports::{ApiKeyStore, DatasetStore, TenantStore};
use lambdarag::StoreError;

mod agents;
mod chats;
mod documents;
mod files;
mod ingest;
mod memories;
mod searches;
mod tasks;

pub use ingest::{Claim, SourceKey};

type Item = HashMap<String, AttributeValue>;

const PK: &str = "pk";
const SK: &str = "sk";
const BODY: &str = "body";
const NAME_KEY: &str = "name_key";
const DATASET_ID: &str = "dataset_id";
const TENANT_ID: &str = "tenant_id";
const KEY_ID: &str = "key_id";

/// The reserved secondary index and its key attributes.
pub const GSI1: &str = "gsi1";
const GSI1PK: &str = "gsi1pk";
const GSI1SK: &str = "gsi1sk";

const TENANT_SK: &str = "TENANT";
const TENANTS_PK: &str = "TENANTS";
const TENANT_PREFIX: &str = "TENANT#";
const APIKEY_SK: &str = "APIKEY";
const APIKEY_PREFIX: &str = "APIKEY#";
const DATASET_PREFIX: &str = "DATASET#";
const DSNAME_PREFIX: &str = "DSNAME#";

const CONDITION_FAILED: &str = "ConditionalCheckFailed";
const TRANSACTION_CONFLICT: &str = "TransactionConflict";

/// How often a read-modify-write retries when another writer changed the item in between.
const MAX_ATTEMPTS: usize = 5;

fn tenant_pk(tenant_id: &str) -> String {
    format!("{TENANT_PREFIX}{tenant_id}")
}
fn apikey_pk(hash: &str) -> String {
    format!("{APIKEY_PREFIX}{hash}")
}
fn key_sk(key_id: &str) -> String {
    format!("{APIKEY_PREFIX}{key_id}")
}
fn dataset_sk(id: &str) -> String {
    format!("{DATASET_PREFIX}{id}")
}
fn name_sk(name_key: &str) -> String {
    format!("{DSNAME_PREFIX}{name_key}")
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([(PK.to_string(), s(pk)), (SK.to_string(), s(sk))])
}

/// A key plus a `body` holding `record` as JSON.
fn item_with_body<T: Serialize>(
    pk: impl Into<String>,
    sk: impl Into<String>,
    record: &T,
) -> Result<Item, StoreError> {
    let mut item = key(pk, sk);
    item.insert(BODY.into(), s(serde_json::to_string(record)?));
    Ok(item)
}

fn str_attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn describe(item: &Item) -> String {
    format!(
        "{}/{}",
        str_attr(item, PK).unwrap_or("?"),
        str_attr(item, SK).unwrap_or("?")
    )
}

fn body_of<T: DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    let raw = str_attr(item, BODY).ok_or_else(|| {
        StoreError::Corrupt(format!("item {} has no string `body`", describe(item)))
    })?;
    serde_json::from_str(raw)
        .map_err(|e| StoreError::Corrupt(format!("item {}: {e}", describe(item))))
}

fn build_err(e: BuildError) -> StoreError {
    StoreError::Backend(format!("invalid DynamoDB request: {e}"))
}

/// A condition on one write of a transaction, with its `:placeholder` values.
struct Cond {
    expr: &'static str,
    values: Vec<(&'static str, AttributeValue)>,
}

impl Cond {
    fn new(expr: &'static str) -> Self {
        Cond {
            expr,
            values: vec![],
        }
    }
    fn value(mut self, name: &'static str, v: impl Into<String>) -> Self {
        self.values.push((name, s(v)));
        self
    }
    fn number(mut self, name: &'static str, v: u64) -> Self {
        self.values.push((name, AttributeValue::N(v.to_string())));
        self
    }
    fn not_exists() -> Self {
        Cond::new("attribute_not_exists(pk)")
    }
    fn exists() -> Self {
        Cond::new("attribute_exists(pk)")
    }
    /// Split into the SDK's optional fields (DynamoDB rejects an empty value map).
    fn parts(cond: Option<Cond>) -> (Option<String>, Option<Item>) {
        match cond {
            None => (None, None),
            Some(c) => {
                let values = (!c.values.is_empty()).then(|| {
                    c.values
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect()
                });
                (Some(c.expr.to_string()), values)
            }
        }
    }
}

/// The outcome of a transaction that DynamoDB refused: one reason code per write, in order
/// (`None` for a write that was fine).
struct Cancelled(Vec<String>);

impl Cancelled {
    fn condition_failed(&self, index: usize) -> bool {
        self.0.get(index).map(String::as_str) == Some(CONDITION_FAILED)
    }
}

/// DynamoDB-backed metadata store. Cheap to clone (the SDK client is reference-counted).
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    /// Items per Query page; `None` lets DynamoDB fill 1 MB pages.
    page_size: Option<i32>,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
            page_size: None,
        }
    }

    /// Cap Query pages at `items` (tests use a tiny page to exercise pagination, which
    /// otherwise only starts at 1 MB of items).
    pub fn with_page_size(mut self, items: i32) -> Self {
        self.page_size = Some(items);
        self
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Create the metadata table (on-demand billing, `pk`/`sk` plus the reserved `gsi1`) and
    /// wait until it is active. For tests and local runs; deployments get it from the
    /// template.
    pub async fn create_table(client: &Client, name: &str) -> Result<(), StoreError> {
        let attr = |n: &str| {
            AttributeDefinition::builder()
                .attribute_name(n)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(build_err)
        };
        let key_el = |n: &str, t: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(n)
                .key_type(t)
                .build()
                .map_err(build_err)
        };
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(GSI1)
            .key_schema(key_el(GSI1PK, KeyType::Hash)?)
            .key_schema(key_el(GSI1SK, KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(build_err)?;
        client
            .create_table()
            .table_name(name)
            .attribute_definitions(attr(PK)?)
            .attribute_definitions(attr(SK)?)
            .attribute_definitions(attr(GSI1PK)?)
            .attribute_definitions(attr(GSI1SK)?)
            .key_schema(key_el(PK, KeyType::Hash)?)
            .key_schema(key_el(SK, KeyType::Range)?)
            .global_secondary_indexes(gsi)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .map_err(|e| {
                StoreError::Backend(format!(
                    "DynamoDB CreateTable {name} failed: {}",
                    DisplayErrorContext(&e)
                ))
            })?;
        client
            .wait_until_table_exists()
            .table_name(name)
            .wait(Duration::from_secs(120))
            .await
            .map_err(|e| {
                StoreError::Backend(format!(
                    "DynamoDB table {name} did not become active: {}",
                    DisplayErrorContext(&e)
                ))
            })?;
        Ok(())
    }

    fn sdk_err<E, R>(&self, op: &str, e: SdkError<E, R>) -> StoreError
    where
        E: std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        StoreError::Backend(format!(
            "DynamoDB {op} on table {} failed: {}",
            self.table,
            DisplayErrorContext(&e)
        ))
    }

    async fn get(&self, pk: String, sk: String) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.sdk_err("GetItem", e))?;
        Ok(out.item)
    }

    /// Every item of a partition whose sort key starts with `prefix`, all pages.
    async fn query_prefix(&self, pk: String, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":prefix", s(prefix))
                .consistent_read(true)
                .set_limit(self.page_size)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| self.sdk_err("Query", e))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }

    fn put(&self, item: Item, cond: Option<Cond>) -> Result<TransactWriteItem, StoreError> {
        let (expr, values) = Cond::parts(cond);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(expr)
            .set_expression_attribute_values(values)
            .build()
            .map_err(build_err)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn delete(&self, key: Item, cond: Option<Cond>) -> Result<TransactWriteItem, StoreError> {
        let (expr, values) = Cond::parts(cond);
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .set_condition_expression(expr)
            .set_expression_attribute_values(values)
            .build()
            .map_err(build_err)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Run a transaction. `Ok(Err(_))` when a condition failed, with the per-write reasons;
    /// a cancellation caused only by a concurrent transaction on the same items is retried
    /// briefly, since DynamoDB asks the caller to do that.
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Result<(), Cancelled>, StoreError> {
        let mut attempt = 0u64;
        loop {
            attempt += 1;
            let sent = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let err = match sent {
                Ok(_) => return Ok(Ok(())),
                Err(e) => e,
            };
            let codes = match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
                    .cancellation_reasons()
                    .iter()
                    .map(|r| r.code().unwrap_or("None").to_string())
                    .collect::<Vec<_>>(),
                _ => return Err(self.sdk_err("TransactWriteItems", err)),
            };
            if codes.iter().any(|c| c == CONDITION_FAILED) {
                return Ok(Err(Cancelled(codes)));
            }
            let only_conflicts = codes
                .iter()
                .all(|c| c == "None" || c == TRANSACTION_CONFLICT);
            if !only_conflicts || attempt >= MAX_ATTEMPTS as u64 {
                return Err(StoreError::Backend(format!(
                    "DynamoDB TransactWriteItems on table {} cancelled: {}",
                    self.table,
                    codes.join(", ")
                )));
            }
            tokio::time::sleep(Duration::from_millis(20 * attempt)).await;
        }
    }

    fn dataset_item(&self, d: &Dataset) -> Result<Item, StoreError> {
        let mut item = item_with_body(tenant_pk(&d.tenant_id), dataset_sk(&d.id), d)?;
        item.insert(NAME_KEY.into(), s(Dataset::name_key(&d.name)));
        // The owner lookup by dataset id (see `find_dataset_owner`).
        item.insert(GSI1PK.into(), s(dataset_sk(&d.id)));
        item.insert(GSI1SK.into(), s(tenant_pk(&d.tenant_id)));
        Ok(item)
    }

    fn name_lock_item(&self, d: &Dataset) -> Item {
        let mut item = key(
            tenant_pk(&d.tenant_id),
            name_sk(&Dataset::name_key(&d.name)),
        );
        item.insert(DATASET_ID.into(), s(d.id.clone()));
        item
    }

    /// Deleting a name lock: only the dataset's own lock, and a missing lock is no error.
    fn release_lock_cond(dataset_id: &str) -> Cond {
        Cond::new("attribute_not_exists(pk) OR dataset_id = :id").value(":id", dataset_id)
    }

    /// The stored dataset item and its current name key.
    async fn dataset_with_name_key(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<(Dataset, String)>, StoreError> {
        let Some(item) = self.get(tenant_pk(tenant_id), dataset_sk(id)).await? else {
            return Ok(None);
        };
        let ds: Dataset = body_of(&item)?;
        let name_key = str_attr(&item, NAME_KEY)
            .map(str::to_string)
            .unwrap_or_else(|| Dataset::name_key(&ds.name));
        Ok(Some((ds, name_key)))
    }
}

#[async_trait]
impl TenantStore for DynamoStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let record = item_with_body(tenant_pk(&tenant.id), TENANT_SK, tenant)?;
        let entry = item_with_body(TENANTS_PK, tenant_pk(&tenant.id), tenant)?;
        let tx = vec![
            self.put(record, Some(Cond::not_exists()))?,
            self.put(entry, None)?,
        ];
        match self.transact(tx).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(StoreError::Conflict(format!(
                "tenant {} already exists",
                tenant.id
            ))),
        }
    }

    async fn get_tenant(&self, tenant_id: &str) -> Result<Option<Tenant>, StoreError> {
        self.get(tenant_pk(tenant_id), TENANT_SK.into())
            .await?
            .map(|item| body_of(&item))
            .transpose()
    }

    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let record = item_with_body(tenant_pk(&tenant.id), TENANT_SK, tenant)?;
        let entry = item_with_body(TENANTS_PK, tenant_pk(&tenant.id), tenant)?;
        let tx = vec![
            self.put(record, Some(Cond::exists()))?,
            self.put(entry, None)?,
        ];
        match self.transact(tx).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(StoreError::NotFound(format!("tenant {}", tenant.id))),
        }
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        self.query_prefix(TENANTS_PK.into(), TENANT_PREFIX)
            .await?
            .iter()
            .map(body_of)
            .collect()
    }
}

#[async_trait]
impl ApiKeyStore for DynamoStore {
    async fn add_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let mut lookup = item_with_body(apikey_pk(&key.hash), APIKEY_SK, key)?;
        lookup.insert(TENANT_ID.into(), s(key.tenant_id.clone()));
        lookup.insert(KEY_ID.into(), s(key.key_id.clone()));
        let listed = item_with_body(tenant_pk(&key.tenant_id), key_sk(&key.key_id), key)?;
        let tx = vec![
            self.put(lookup, Some(Cond::not_exists()))?,
            self.put(listed, Some(Cond::not_exists()))?,
        ];
        match self.transact(tx).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(StoreError::Conflict(format!(
                "API key {} already exists",
                key.key_id
            ))),
        }
    }

    async fn tenant_for_key_hash(&self, hash: &str) -> Result<Option<String>, StoreError> {
        let Some(item) = self.get(apikey_pk(hash), APIKEY_SK.into()).await? else {
            return Ok(None);
        };
        match str_attr(&item, TENANT_ID) {
            Some(t) => Ok(Some(t.to_string())),
            None => Err(StoreError::Corrupt(format!(
                "item {} has no `tenant_id`",
                describe(&item)
            ))),
        }
    }

    async fn key_for_hash(&self, hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        match self.get(apikey_pk(hash), APIKEY_SK.into()).await? {
            Some(item) => body_of(&item).map(Some),
            None => Ok(None),
        }
    }

    async fn set_key_generation(
        &self,
        tenant_id: &str,
        key_id: &str,
        generation: ClientGeneration,
    ) -> Result<bool, StoreError> {
        // The tenant's listing item proves ownership; both items carry the body, so both
        // are rewritten together, each only if it still exists (a concurrent revoke wins).
        let Some(item) = self.get(tenant_pk(tenant_id), key_sk(key_id)).await? else {
            return Ok(false);
        };
        let mut rec: ApiKeyRecord = body_of(&item)?;
        rec.generation = generation;
        let mut lookup = item_with_body(apikey_pk(&rec.hash), APIKEY_SK, &rec)?;
        lookup.insert(TENANT_ID.into(), s(rec.tenant_id.clone()));
        lookup.insert(KEY_ID.into(), s(rec.key_id.clone()));
        let listed = item_with_body(tenant_pk(tenant_id), key_sk(key_id), &rec)?;
        let tx = vec![
            self.put(lookup, Some(Cond::exists()))?,
            self.put(listed, Some(Cond::exists()))?,
        ];
        Ok(self.transact(tx).await?.is_ok())
    }

    async fn list_keys(&self, tenant_id: &str) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.query_prefix(tenant_pk(tenant_id), APIKEY_PREFIX)
            .await?
            .iter()
            .map(body_of)
            .collect()
    }

    async fn revoke_key(&self, tenant_id: &str, key_id: &str) -> Result<bool, StoreError> {
        // The tenant's own listing item is the proof of ownership: another tenant's key_id
        // finds nothing here and the key stays valid.
        let Some(item) = self.get(tenant_pk(tenant_id), key_sk(key_id)).await? else {
            return Ok(false);
        };
        let rec: ApiKeyRecord = body_of(&item)?;
        let tx = vec![
            self.delete(
                key(tenant_pk(tenant_id), key_sk(key_id)),
                Some(Cond::exists()),
            )?,
            self.delete(key(apikey_pk(&rec.hash), APIKEY_SK), None)?,
        ];
        // A failed condition means a concurrent revoke got there first.
        Ok(self.transact(tx).await?.is_ok())
    }
}

#[async_trait]
impl DatasetStore for DynamoStore {
    async fn insert_dataset(&self, dataset: &Dataset) -> Result<(), StoreError> {
        let tx = vec![
            self.put(self.dataset_item(dataset)?, Some(Cond::not_exists()))?,
            self.put(self.name_lock_item(dataset), Some(Cond::not_exists()))?,
        ];
        match self.transact(tx).await? {
            Ok(()) => Ok(()),
            Err(c) if c.condition_failed(1) => Err(StoreError::Conflict(format!(
                "dataset name '{}' is already used by the tenant",
                dataset.name
            ))),
            Err(_) => Err(StoreError::Conflict(format!(
                "dataset {} already exists",
                dataset.id
            ))),
        }
    }

    async fn get_dataset(&self, tenant_id: &str, id: &str) -> Result<Option<Dataset>, StoreError> {
        self.get(tenant_pk(tenant_id), dataset_sk(id))
            .await?
            .map(|item| body_of(&item))
            .transpose()
    }

    async fn find_dataset_by_name(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<Option<Dataset>, StoreError> {
        let lock = self
            .get(tenant_pk(tenant_id), name_sk(&Dataset::name_key(name)))
            .await?;
        match lock.as_ref().and_then(|l| str_attr(l, DATASET_ID)) {
            Some(id) => self.get_dataset(tenant_id, id).await,
            None => Ok(None),
        }
    }

    async fn list_datasets(
        &self,
        tenant_id: &str,
        query: &DatasetListQuery,
    ) -> Result<(Vec<Dataset>, u64), StoreError> {
        // DynamoDB cannot order by create/update time within the partition without an index
        // per ordering; a tenant's datasets are few, so filter, sort and page in memory.
        let all = self
            .query_prefix(tenant_pk(tenant_id), DATASET_PREFIX)
            .await?
            .iter()
            .map(body_of)
            .collect::<Result<Vec<Dataset>, _>>()?;
        Ok(query.apply(all))
    }

    async fn update_dataset(&self, dataset: &Dataset) -> Result<(), StoreError> {
        let new_key = Dataset::name_key(&dataset.name);
        for _ in 0..MAX_ATTEMPTS {
            let Some((_, old_key)) = self
                .dataset_with_name_key(&dataset.tenant_id, &dataset.id)
                .await?
            else {
                return Err(StoreError::NotFound(format!("dataset {}", dataset.id)));
            };
            // The write only lands if nobody renamed or deleted the dataset since the read,
            // so the lock released below is really this dataset's current one.
            let guard = Cond::new("attribute_exists(pk) AND name_key = :old")
                .value(":old", old_key.clone());
            let mut tx = vec![self.put(self.dataset_item(dataset)?, Some(guard))?];
            if old_key != new_key {
                tx.push(self.delete(
                    key(tenant_pk(&dataset.tenant_id), name_sk(&old_key)),
                    Some(Self::release_lock_cond(&dataset.id)),
                )?);
                tx.push(self.put(self.name_lock_item(dataset), Some(Cond::not_exists()))?);
            }
            // A case-only rename keeps the same lock (same key), so only the record changes.
            match self.transact(tx).await? {
                Ok(()) => return Ok(()),
                Err(c) if c.condition_failed(0) => continue, // changed meanwhile: re-read
                Err(c) if c.condition_failed(2) => {
                    return Err(StoreError::Conflict(format!(
                        "dataset name '{}' is already used by the tenant",
                        dataset.name
                    )))
                }
                Err(_) => {
                    return Err(StoreError::Corrupt(format!(
                        "the name lock '{old_key}' of dataset {} belongs to another dataset",
                        dataset.id
                    )))
                }
            }
        }
        Err(StoreError::Backend(format!(
            "dataset {} kept changing during the update; gave up after {MAX_ATTEMPTS} attempts",
            dataset.id
        )))
    }

    async fn delete_dataset(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        for _ in 0..MAX_ATTEMPTS {
            let Some((_, name_key)) = self.dataset_with_name_key(tenant_id, id).await? else {
                return Ok(false);
            };
            let guard =
                Cond::new("attribute_exists(pk) AND name_key = :nk").value(":nk", name_key.clone());
            let tx = vec![
                self.delete(key(tenant_pk(tenant_id), dataset_sk(id)), Some(guard))?,
                self.delete(
                    key(tenant_pk(tenant_id), name_sk(&name_key)),
                    Some(Self::release_lock_cond(id)),
                )?,
            ];
            match self.transact(tx).await? {
                Ok(()) => return Ok(true),
                Err(c) if c.condition_failed(0) => continue, // renamed or deleted meanwhile
                Err(_) => {
                    return Err(StoreError::Corrupt(format!(
                        "the name lock '{name_key}' of dataset {id} belongs to another dataset"
                    )))
                }
            }
        }
        Err(StoreError::Backend(format!(
            "dataset {id} kept changing during the delete; gave up after {MAX_ATTEMPTS} attempts"
        )))
    }
}
