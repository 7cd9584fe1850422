//! Documents on the metadata table: one partition per dataset (`TENANT#{t}#DATASET#{d}`),
//! holding the documents (`DOC#{id}`) and their name locks (`DOCNAME#{lowercased name}#{name}`).
//!
//! Every write of a document item bumps its `rev` and is conditioned on the `rev` it read,
//! so a worker's progress and a user's edit never silently overwrite each other's base.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use tokio::task::JoinSet;

use lambdarag::contract::time::now_ms;
use lambdarag::domain::{Document, DocumentListQuery, ProgressUpdate, RunStatus};
use lambdarag::ports::{DatasetStats, DocumentStore};
use lambdarag::StoreError;

use super::{
    body_of, build_err, item_with_body, key, s, str_attr, Cond, DynamoStore, Item, BODY,
    MAX_ATTEMPTS, NAME_KEY, SK, TENANT_PREFIX,
};

const REV: &str = "rev";
const DOCUMENT_ID: &str = "document_id";
const DOC_PREFIX: &str = "DOC#";
const DOCNAME_PREFIX: &str = "DOCNAME#";

/// BatchGetItem takes at most 100 keys per request.
const BATCH_GET_KEYS: usize = 100;
/// BatchGetItem requests in flight at once for one `get_documents`.
const BATCH_GET_IN_FLIGHT: usize = 8;
/// Requests per batch while DynamoDB keeps returning `UnprocessedKeys` (throttling, or the
/// 16 MB response cap); the pause between them doubles from `BATCH_GET_BACKOFF`, so giving
/// up takes about 0.8 s.
const BATCH_GET_ROUNDS: u32 = 6;
const BATCH_GET_BACKOFF: Duration = Duration::from_millis(25);

fn dataset_pk(tenant_id: &str, dataset_id: &str) -> String {
    format!("{TENANT_PREFIX}{tenant_id}#DATASET#{dataset_id}")
}
fn doc_sk(id: &str) -> String {
    format!("{DOC_PREFIX}{id}")
}
fn doc_name_sk(name_key: &str) -> String {
    format!("{DOCNAME_PREFIX}{name_key}")
}
/// A name lock makes the exact name unique in its dataset (a rename may take another
/// document's name in other case, as upstream allows); the lowercased name leads so that
/// the case-insensitive lookup uploads need is one prefix query. Locks written before
/// this scheme are `DOCNAME#{lowercased name}`; the lookup still reads them, and a
/// document's item records the lock it holds (`name_key`), so they are released correctly.
fn doc_name_key(name: &str) -> String {
    format!("{}#{name}", name.to_lowercase())
}

/// A stored document with what its next write is conditioned on.
struct Stored {
    doc: Document,
    name_key: String,
    rev: u64,
}

/// Deleting a name lock: only the document's own, and a missing lock is no error.
fn release_lock_cond(document_id: &str) -> Cond {
    Cond::new("attribute_not_exists(pk) OR document_id = :id").value(":id", document_id)
}

/// The write guard: the item is still the revision that was read.
fn same_rev(rev: u64) -> Cond {
    Cond::new("attribute_exists(pk) AND rev = :rev").number(":rev", rev)
}

impl DynamoStore {
    fn document_item(&self, d: &Document, rev: u64) -> Result<Item, StoreError> {
        let mut item = item_with_body(dataset_pk(&d.tenant_id, &d.dataset_id), doc_sk(&d.id), d)?;
        item.insert(NAME_KEY.into(), s(doc_name_key(&d.name)));
        item.insert(REV.into(), AttributeValue::N(rev.to_string()));
        Ok(item)
    }

    fn document_lock_item(&self, d: &Document) -> Item {
        let mut item = key(
            dataset_pk(&d.tenant_id, &d.dataset_id),
            doc_name_sk(&doc_name_key(&d.name)),
        );
        item.insert(DOCUMENT_ID.into(), s(d.id.clone()));
        item
    }

    async fn stored_document(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        doc_id: &str,
    ) -> Result<Option<Stored>, StoreError> {
        let Some(item) = self
            .get(dataset_pk(tenant_id, dataset_id), doc_sk(doc_id))
            .await?
        else {
            return Ok(None);
        };
        let doc: Document = body_of(&item)?;
        let name_key = str_attr(&item, NAME_KEY)
            .map(str::to_string)
            .unwrap_or_else(|| doc_name_key(&doc.name));
        let rev = item
            .get(REV)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| {
                StoreError::Corrupt(format!("document {doc_id} has no numeric `rev`"))
            })?;
        Ok(Some(Stored { doc, name_key, rev }))
    }

    async fn all_documents(
        &self,
        tenant_id: &str,
        dataset_id: &str,
    ) -> Result<Vec<Document>, StoreError> {
        self.query_prefix(dataset_pk(tenant_id, dataset_id), DOC_PREFIX)
            .await?
            .iter()
            .map(body_of)
            .collect()
    }

    /// The items of these keys that exist, in no particular order. One BatchGetItem per
    /// 100 keys, up to `BATCH_GET_IN_FLIGHT` of them at once, so a few hundred keys cost one
    /// round trip. `keys` must not repeat (DynamoDB rejects a request with duplicates).
    pub(super) async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        if keys.len() <= BATCH_GET_KEYS {
            return self.batch_get_one(keys).await;
        }
        let mut batches = keys.chunks(BATCH_GET_KEYS).map(<[Item]>::to_vec);
        let mut running = JoinSet::new();
        let mut found = Vec::new();
        loop {
            while running.len() < BATCH_GET_IN_FLIGHT {
                let Some(batch) = batches.next() else { break };
                let store = self.clone();
                running.spawn(async move { store.batch_get_one(batch).await });
            }
            // Dropping the set on an error aborts the batches still running.
            match running.join_next().await {
                None => return Ok(found),
                Some(joined) => found.extend(joined.map_err(|e| {
                    StoreError::Backend(format!("DynamoDB BatchGetItem task failed: {e}"))
                })??),
            }
        }
    }

    /// One batch of at most 100 keys, re-asking for what DynamoDB left unprocessed.
    async fn batch_get_one(&self, mut keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        let mut pause = BATCH_GET_BACKOFF;
        for round in 0..BATCH_GET_ROUNDS {
            if round > 0 {
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            // Strongly consistent like every other read (read-your-writes); only the body
            // is needed, plus the key for error messages.
            let request = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .projection_expression("pk, sk, #body")
                .expression_attribute_names("#body", BODY)
                .build()
                .map_err(build_err)?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| self.sdk_err("BatchGetItem", e))?;
            if let Some(items) = out.responses.and_then(|mut r| r.remove(&self.table)) {
                found.extend(items);
            }
            keys = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if keys.is_empty() {
                return Ok(found);
            }
        }
        Err(StoreError::Backend(format!(
            "DynamoDB BatchGetItem on table {} left {} keys unprocessed after \
             {BATCH_GET_ROUNDS} attempts",
            self.table,
            keys.len()
        )))
    }
}

#[async_trait]
impl DocumentStore for DynamoStore {
    async fn insert_document(&self, doc: &Document) -> Result<(), StoreError> {
        let tx = vec![
            self.put(self.document_item(doc, 0)?, Some(Cond::not_exists()))?,
            self.put(self.document_lock_item(doc), Some(Cond::not_exists()))?,
        ];
        match self.transact(tx).await? {
            Ok(()) => Ok(()),
            Err(c) if c.condition_failed(1) => Err(StoreError::Conflict(format!(
                "document name '{}' is already used in dataset {}",
                doc.name, doc.dataset_id
            ))),
            Err(_) => Err(StoreError::Conflict(format!(
                "document {} already exists",
                doc.id
            ))),
        }
    }

    async fn get_document(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        doc_id: &str,
    ) -> Result<Option<Document>, StoreError> {
        self.get(dataset_pk(tenant_id, dataset_id), doc_sk(doc_id))
            .await?
            .map(|item| body_of(&item))
            .transpose()
    }

    async fn find_document_by_name(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        name: &str,
    ) -> Result<Option<Document>, StoreError> {
        let pk = dataset_pk(tenant_id, dataset_id);
        let lower = name.to_lowercase();
        let prefix = doc_name_sk(&format!("{lower}#"));
        let (twins, legacy) = tokio::join!(
            self.query_prefix(pk.clone(), &prefix),
            self.get(pk, doc_name_sk(&lower)),
        );
        // Candidates in preference order: the exact name, then its case twins. A prefix
        // also matches longer names that start with `{lower}#`: those are skipped.
        let mut ids: Vec<(bool, String)> = Vec::new();
        for lock in twins? {
            let exact = str_attr(&lock, SK).and_then(|sk| sk.strip_prefix(prefix.as_str()));
            let (Some(exact), Some(id)) = (exact, str_attr(&lock, DOCUMENT_ID)) else {
                continue;
            };
            if exact.to_lowercase() == lower {
                ids.push((exact == name, id.to_string()));
            }
        }
        if let Some(id) = legacy?.as_ref().and_then(|l| str_attr(l, DOCUMENT_ID)) {
            ids.push((false, id.to_string()));
        }
        ids.sort_by_key(|(exact, _)| !exact);
        let mut twin = None;
        for (_, id) in ids {
            if let Some(doc) = self.get_document(tenant_id, dataset_id, &id).await? {
                if doc.name == name {
                    return Ok(Some(doc));
                }
                twin.get_or_insert(doc);
            }
        }
        Ok(twin)
    }

    async fn list_documents(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        query: &DocumentListQuery,
    ) -> Result<(Vec<Document>, u64), StoreError> {
        Ok(query.apply(self.all_documents(tenant_id, dataset_id).await?))
    }

    async fn get_documents(
        &self,
        tenant_id: &str,
        dataset_ids: &[String],
        ids: &[String],
    ) -> Result<Vec<Document>, StoreError> {
        // A document's key is (tenant, dataset, id), and nothing maps a document id to its
        // dataset (`gsi1` holds datasets only; indexing documents there would need a backfill
        // and read eventually consistent). So every (dataset, id) pair is asked for: the
        // datasets of a retrieval are few, so that is a few hundred keys, fetched by
        // concurrent BatchGetItem calls in one round trip. A pair that is not a document
        // finds nothing. The tenant is part of every key, so another tenant's documents can
        // never come back. Deduplicated because DynamoDB refuses repeated keys.
        let datasets: BTreeSet<&str> = dataset_ids.iter().map(String::as_str).collect();
        let ids: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
        let keys: Vec<Item> = datasets
            .iter()
            .flat_map(|ds| {
                ids.iter()
                    .map(move |id| key(dataset_pk(tenant_id, ds), doc_sk(id)))
            })
            .collect();
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.batch_get(keys).await?.iter().map(body_of).collect()
    }

    async fn update_document(&self, doc: &Document) -> Result<(), StoreError> {
        let new_key = doc_name_key(&doc.name);
        for _ in 0..MAX_ATTEMPTS {
            let Some(cur) = self
                .stored_document(&doc.tenant_id, &doc.dataset_id, &doc.id)
                .await?
            else {
                return Err(StoreError::NotFound(format!("document {}", doc.id)));
            };
            let mut tx = vec![self.put(
                self.document_item(doc, cur.rev + 1)?,
                Some(same_rev(cur.rev)),
            )?];
            if cur.name_key != new_key {
                tx.push(self.delete(
                    key(
                        dataset_pk(&doc.tenant_id, &doc.dataset_id),
                        doc_name_sk(&cur.name_key),
                    ),
                    Some(release_lock_cond(&doc.id)),
                )?);
                tx.push(self.put(self.document_lock_item(doc), Some(Cond::not_exists()))?);
            }
            match self.transact(tx).await? {
                Ok(()) => return Ok(()),
                Err(c) if c.condition_failed(0) => continue, // changed meanwhile: re-read
                Err(c) if c.condition_failed(2) => {
                    return Err(StoreError::Conflict(format!(
                        "document name '{}' is already used in dataset {}",
                        doc.name, doc.dataset_id
                    )))
                }
                Err(_) => {
                    return Err(StoreError::Corrupt(format!(
                        "the name lock '{}' of document {} belongs to another document",
                        cur.name_key, doc.id
                    )))
                }
            }
        }
        Err(StoreError::Backend(format!(
            "document {} kept changing during the update; gave up after {MAX_ATTEMPTS} attempts",
            doc.id
        )))
    }

    async fn apply_progress(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        doc_id: &str,
        generation: u64,
        update: &ProgressUpdate,
    ) -> Result<bool, StoreError> {
        for _ in 0..MAX_ATTEMPTS {
            let Some(cur) = self.stored_document(tenant_id, dataset_id, doc_id).await? else {
                return Ok(false);
            };
            if cur.doc.generation != generation {
                return Ok(false);
            }
            if cur.doc.run == RunStatus::Done && (update.run.is_some() || update.progress.is_some())
            {
                // DONE is final for its generation (see the port): applied, nothing to write.
                return Ok(true);
            }
            let mut next = cur.doc.clone();
            apply(&mut next, update);
            let tx = vec![self.put(
                self.document_item(&next, cur.rev + 1)?,
                Some(same_rev(cur.rev)),
            )?];
            // A failed guard means another write landed first: re-read, which also
            // re-checks the generation.
            if self.transact(tx).await?.is_ok() {
                return Ok(true);
            }
        }
        Err(StoreError::Backend(format!(
            "document {doc_id} kept changing while applying progress; gave up after \
             {MAX_ATTEMPTS} attempts"
        )))
    }

    async fn delete_document(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        doc_id: &str,
    ) -> Result<bool, StoreError> {
        let pk = dataset_pk(tenant_id, dataset_id);
        for _ in 0..MAX_ATTEMPTS {
            let Some(cur) = self.stored_document(tenant_id, dataset_id, doc_id).await? else {
                return Ok(false);
            };
            let tx = vec![
                self.delete(key(pk.clone(), doc_sk(doc_id)), Some(same_rev(cur.rev)))?,
                self.delete(
                    key(pk.clone(), doc_name_sk(&cur.name_key)),
                    Some(release_lock_cond(doc_id)),
                )?,
            ];
            match self.transact(tx).await? {
                Ok(()) => return Ok(true),
                Err(c) if c.condition_failed(0) => continue, // changed or deleted meanwhile
                Err(_) => {
                    return Err(StoreError::Corrupt(format!(
                        "the name lock '{}' of document {doc_id} belongs to another document",
                        cur.name_key
                    )))
                }
            }
        }
        Err(StoreError::Backend(format!(
            "document {doc_id} kept changing during the delete; gave up after {MAX_ATTEMPTS} \
             attempts"
        )))
    }

    async fn dataset_stats(
        &self,
        tenant_id: &str,
        dataset_id: &str,
    ) -> Result<DatasetStats, StoreError> {
        let docs = self.all_documents(tenant_id, dataset_id).await?;
        Ok(DatasetStats {
            document_count: i64::try_from(docs.len()).unwrap_or(i64::MAX),
            chunk_count: docs.iter().map(|d| d.chunk_count).sum(),
            token_num: docs.iter().map(|d| d.token_count).sum(),
        })
    }
}

/// A worker's progress applied to a document (a message is appended as a new line).
fn apply(doc: &mut Document, u: &ProgressUpdate) {
    if let Some(run) = u.run {
        doc.run = run;
    }
    if let Some(p) = u.progress {
        doc.progress = p;
    }
    if let Some(msg) = &u.append_msg {
        if doc.progress_msg.is_empty() {
            doc.progress_msg = msg.clone();
        } else {
            doc.progress_msg = format!("{}\n{msg}", doc.progress_msg);
        }
    }
    if let Some(t) = u.process_begin_at {
        doc.process_begin_at = Some(t);
    }
    if let Some(d) = u.process_duration {
        doc.process_duration = d;
    }
    if let Some(c) = u.chunk_count {
        doc.chunk_count = c;
    }
    if let Some(t) = u.token_count {
        doc.token_count = t;
    }
    doc.update_time = now_ms();
}
