//! What the S3 ingestion keeps on the metadata table: the owner of a dataset (via `gsi1`)
//! and one marker per staged object, so a redelivered S3 event never creates a second
//! document.
//!
//! A marker moves `claimed` → `created` (the document exists) → `queued` (its parse is
//! queued). Claiming is a conditional put, so two concurrent deliveries cannot both
//! proceed; a claim whose holder died (older than the lease) can be taken over.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;

use lambdarag::StoreError;

use super::{key, TENANT_PREFIX};
use super::{s, str_attr, DynamoStore, Item, DATASET_PREFIX, GSI1, GSI1PK, GSI1SK, PK, SK};

const STATE: &str = "state";
const CLAIMED_AT: &str = "claimed_at";
const DOCUMENT_ID: &str = "document_id";
const TENANT_ID: &str = "tenant_id";
const DATASET_ID: &str = "dataset_id";
/// The table's TTL attribute (epoch seconds): markers are only needed while S3 may still
/// redeliver, so they expire after `MARKER_TTL`.
pub const EXPIRES_AT: &str = "expires_at";
const MARKER_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

const CLAIMED: &str = "claimed";
const CREATED: &str = "created";
const QUEUED: &str = "queued";
const MARKER_PREFIX: &str = "S3OBJ#";

/// One staged object version: bucket, decoded key, and a token that differs between two
/// uploads to the same key (the event's `sequencer`, else the ETag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceKey {
    pub bucket: String,
    pub key: String,
    pub token: String,
}

impl SourceKey {
    fn item_key(&self) -> Item {
        key(
            format!("{MARKER_PREFIX}{}/{}", self.bucket, self.key),
            format!("{MARKER_PREFIX}{}", self.token),
        )
    }
}

/// What claiming a staged object found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This attempt owns the object now. `taken_over`: the claim time of an earlier attempt
    /// that died after claiming (it may have created a document before dying).
    Acquired {
        claimed_at: i64,
        taken_over: Option<i64>,
    },
    /// An earlier attempt created the document but did not queue its parse.
    Created {
        tenant_id: String,
        dataset_id: String,
        document_id: String,
    },
    /// Fully ingested already.
    Queued { document_id: String },
    /// Another attempt holds a live claim.
    Busy,
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn num_attr(item: &Item, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

impl DynamoStore {
    /// The tenant owning `dataset_id`, from `gsi1` (eventually consistent: a dataset
    /// created a moment ago may not be found yet).
    pub async fn find_dataset_owner(&self, dataset_id: &str) -> Result<Option<String>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", GSI1PK)
            .expression_attribute_values(":pk", s(format!("{DATASET_PREFIX}{dataset_id}")))
            .limit(2)
            .send()
            .await
            .map_err(|e| self.sdk_err("Query gsi1", e))?;
        let owners: Vec<String> = out
            .items()
            .iter()
            .filter_map(|i| str_attr(i, GSI1SK))
            .filter_map(|t| t.strip_prefix(TENANT_PREFIX))
            .map(str::to_string)
            .collect();
        match owners.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one.clone())),
            _ => Err(StoreError::Corrupt(format!(
                "dataset id {dataset_id} is owned by several tenants"
            ))),
        }
    }

    /// Claim a staged object for ingestion. `lease`: how long a claim protects an attempt
    /// (at least the ingest function's timeout).
    pub async fn claim_source(
        &self,
        src: &SourceKey,
        now_ms: i64,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        let mut item = src.item_key();
        item.insert(STATE.into(), s(CLAIMED));
        item.insert(CLAIMED_AT.into(), n(now_ms));
        item.insert(
            EXPIRES_AT.into(),
            n(now_ms / 1000 + MARKER_TTL.as_secs() as i64),
        );
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => {
                return Ok(Claim::Acquired {
                    claimed_at: now_ms,
                    taken_over: None,
                })
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|x| x.is_conditional_check_failed_exception()) => {}
            Err(e) => return Err(self.sdk_err("PutItem", e)),
        }
        let key = src.item_key();
        let (Some(pk), Some(sk)) = (str_attr(&key, PK), str_attr(&key, SK)) else {
            return Err(StoreError::Corrupt("marker key without pk/sk".into()));
        };
        let Some(cur) = self.get(pk.to_string(), sk.to_string()).await? else {
            // Expired between the put and the read: try once more later.
            return Ok(Claim::Busy);
        };
        let document_id = str_attr(&cur, DOCUMENT_ID).map(str::to_string);
        match (str_attr(&cur, STATE), document_id) {
            (Some(QUEUED), Some(document_id)) => Ok(Claim::Queued { document_id }),
            (Some(CREATED), Some(document_id)) => Ok(Claim::Created {
                tenant_id: str_attr(&cur, TENANT_ID).unwrap_or_default().to_string(),
                dataset_id: str_attr(&cur, DATASET_ID).unwrap_or_default().to_string(),
                document_id,
            }),
            _ => {
                let old = num_attr(&cur, CLAIMED_AT).unwrap_or(0);
                let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
                if now_ms.saturating_sub(old) < lease_ms {
                    return Ok(Claim::Busy);
                }
                let taken = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(src.item_key()))
                    .update_expression("SET claimed_at = :now")
                    .condition_expression("#s = :claimed AND claimed_at = :old")
                    .expression_attribute_names("#s", STATE)
                    .expression_attribute_values(":now", n(now_ms))
                    .expression_attribute_values(":claimed", s(CLAIMED))
                    .expression_attribute_values(":old", n(old))
                    .send()
                    .await;
                match taken {
                    Ok(_) => Ok(Claim::Acquired {
                        claimed_at: now_ms,
                        taken_over: Some(old),
                    }),
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|x| x.is_conditional_check_failed_exception()) =>
                    {
                        Ok(Claim::Busy)
                    }
                    Err(e) => Err(self.sdk_err("UpdateItem", e)),
                }
            }
        }
    }

    /// Record the document a claim created. False if the claim was lost meanwhile (taken
    /// over after the lease ran out).
    pub async fn source_created(
        &self,
        src: &SourceKey,
        claimed_at: i64,
        tenant_id: &str,
        dataset_id: &str,
        document_id: &str,
    ) -> Result<bool, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(src.item_key()))
            .update_expression(
                "SET #s = :created, document_id = :doc, tenant_id = :t, dataset_id = :d",
            )
            .condition_expression("#s = :claimed AND claimed_at = :at")
            .expression_attribute_names("#s", STATE)
            .expression_attribute_values(":created", s(CREATED))
            .expression_attribute_values(":claimed", s(CLAIMED))
            .expression_attribute_values(":doc", s(document_id))
            .expression_attribute_values(":t", s(tenant_id))
            .expression_attribute_values(":d", s(dataset_id))
            .expression_attribute_values(":at", n(claimed_at))
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|x| x.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(self.sdk_err("UpdateItem", e)),
        }
    }

    /// Record that the document's parse is queued: the object is fully ingested.
    pub async fn source_queued(&self, src: &SourceKey) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(src.item_key()))
            .update_expression("SET #s = :queued")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#s", STATE)
            .expression_attribute_values(":queued", s(QUEUED))
            .send()
            .await
            .map_err(|e| self.sdk_err("UpdateItem", e))?;
        Ok(())
    }
}
