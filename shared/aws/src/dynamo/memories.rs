//! Memories and their messages on the metadata table.
//!
//! | item | pk | sk | other attributes |
//! |---|---|---|---|
//! | memory | `TENANT#{tenant}` | `MEMORY#{id}` | `body`, `name_key`, `rev` |
//! | memory name lock | `TENANT#{tenant}` | `MEMNAME#{lowercased name}` | `memory_id` |
//! | message id counter | `TENANT#{tenant}` | `MEMSEQ#{id}` | `next_id` (N) |
//! | message | `TENANT#{tenant}#MEMORY#{id}` | `MSG#{message_id, 20 digits}` | `body` |
//!
//! As for chats: a memory and its name lock are written in one transaction conditioned on
//! the lock being free, so names stay unique per tenant; every memory write bumps `rev`
//! and is conditioned on the `rev` it read. The id counter is its own item (an atomic
//! `ADD` that requires the item to exist), so a settings update never races it. Messages
//! get a partition per memory, zero-padded ids keep the partition in id order, and a
//! message patch is conditioned on the body it read. A message is one item (≤ 400 KB;
//! the service caps a message's text at 256 KiB).

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use lambdarag::ports::memory::{Memory, MemoryListQuery, MemoryMessage, MemoryStore, MessagePatch};
use lambdarag::StoreError;

use super::{
    body_of, item_with_body, key, s, str_attr, tenant_pk, Cond, DynamoStore, Item, MAX_ATTEMPTS,
    NAME_KEY,
};

const REV: &str = "rev";
const MEMORY_ID: &str = "memory_id";
const NEXT_ID: &str = "next_id";
const MEMORY_PREFIX: &str = "MEMORY#";
const MEMNAME_PREFIX: &str = "MEMNAME#";
const MEMSEQ_PREFIX: &str = "MEMSEQ#";
const MSG_PREFIX: &str = "MSG#";

fn memory_sk(id: &str) -> String {
    format!("{MEMORY_PREFIX}{id}")
}
fn name_sk(name_key: &str) -> String {
    format!("{MEMNAME_PREFIX}{name_key}")
}
fn seq_sk(id: &str) -> String {
    format!("{MEMSEQ_PREFIX}{id}")
}
fn messages_pk(tenant_id: &str, memory_id: &str) -> String {
    format!("{}#{MEMORY_PREFIX}{memory_id}", tenant_pk(tenant_id))
}
fn message_sk(id: i64) -> String {
    format!("{MSG_PREFIX}{id:020}")
}

fn release_lock_cond(memory_id: &str) -> Cond {
    Cond::new("attribute_not_exists(pk) OR memory_id = :id").value(":id", memory_id)
}

fn same_rev(rev: u64) -> Cond {
    Cond::new("attribute_exists(pk) AND rev = :rev").number(":rev", rev)
}

fn name_conflict(m: &Memory) -> StoreError {
    StoreError::Conflict(format!(
        "memory name '{}' is already used by tenant {}",
        m.name, m.tenant_id
    ))
}

struct Stored {
    name_key: String,
    rev: u64,
}

impl DynamoStore {
    fn memory_item(&self, m: &Memory, rev: u64) -> Result<Item, StoreError> {
        let mut item = item_with_body(tenant_pk(&m.tenant_id), memory_sk(&m.id), m)?;
        item.insert(NAME_KEY.into(), s(Memory::name_key(&m.name)));
        item.insert(REV.into(), AttributeValue::N(rev.to_string()));
        Ok(item)
    }

    fn memory_lock_item(&self, m: &Memory) -> Item {
        let mut item = key(tenant_pk(&m.tenant_id), name_sk(&Memory::name_key(&m.name)));
        item.insert(MEMORY_ID.into(), s(m.id.clone()));
        item
    }

    async fn stored_memory(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<(Memory, Stored)>, StoreError> {
        let Some(item) = self.get(tenant_pk(tenant_id), memory_sk(id)).await? else {
            return Ok(None);
        };
        let memory: Memory = body_of(&item)?;
        let name_key = str_attr(&item, NAME_KEY)
            .map(str::to_string)
            .unwrap_or_else(|| Memory::name_key(&memory.name));
        let rev = item
            .get(REV)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| StoreError::Corrupt(format!("memory {id} has no numeric `rev`")))?;
        Ok(Some((memory, Stored { name_key, rev })))
    }

    /// A conditional put; `Ok(false)` when the condition failed.
    async fn put_memory_item_if(&self, item: Item, cond: Cond) -> Result<bool, StoreError> {
        let (expr, values) = Cond::parts(Some(cond));
        let sent = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(expr)
            .set_expression_attribute_values(values)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(self.sdk_err("PutItem", e)),
            },
        }
    }

    /// Delete one item; true if it existed.
    async fn delete_existing(&self, pk: String, sk: String) -> Result<bool, StoreError> {
        let sent = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(self.sdk_err("DeleteItem", e)),
            },
        }
    }
}

#[async_trait]
impl MemoryStore for DynamoStore {
    async fn insert_memory(&self, memory: &Memory) -> Result<(), StoreError> {
        let mut seq = key(tenant_pk(&memory.tenant_id), seq_sk(&memory.id));
        seq.insert(NEXT_ID.into(), AttributeValue::N("1".into()));
        let tx = vec![
            self.put(self.memory_item(memory, 1)?, Some(Cond::not_exists()))?,
            self.put(self.memory_lock_item(memory), Some(Cond::not_exists()))?,
            self.put(seq, None)?,
        ];
        match self.transact(tx).await? {
            Ok(()) => Ok(()),
            Err(c) if c.condition_failed(1) => Err(name_conflict(memory)),
            Err(_) => Err(StoreError::Conflict(format!(
                "memory id {} is already used",
                memory.id
            ))),
        }
    }

    async fn get_memory(&self, tenant_id: &str, id: &str) -> Result<Option<Memory>, StoreError> {
        Ok(self.stored_memory(tenant_id, id).await?.map(|(m, _)| m))
    }

    async fn find_memory_by_name(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<Option<Memory>, StoreError> {
        let lock = self
            .get(tenant_pk(tenant_id), name_sk(&Memory::name_key(name)))
            .await?;
        let Some(id) = lock.as_ref().and_then(|l| str_attr(l, MEMORY_ID)) else {
            return Ok(None);
        };
        self.get_memory(tenant_id, id).await
    }

    async fn list_memories(
        &self,
        tenant_id: &str,
        query: &MemoryListQuery,
    ) -> Result<(Vec<Memory>, u64), StoreError> {
        let all = self
            .query_prefix(tenant_pk(tenant_id), MEMORY_PREFIX)
            .await?
            .iter()
            .map(body_of)
            .collect::<Result<Vec<Memory>, _>>()?;
        Ok(query.apply(all))
    }

    async fn update_memory(&self, memory: &Memory) -> Result<(), StoreError> {
        let new_key = Memory::name_key(&memory.name);
        let pk = tenant_pk(&memory.tenant_id);
        for _ in 0..MAX_ATTEMPTS {
            let Some((_, cur)) = self.stored_memory(&memory.tenant_id, &memory.id).await? else {
                return Err(StoreError::NotFound(format!("memory {}", memory.id)));
            };
            let mut tx = vec![self.put(
                self.memory_item(memory, cur.rev + 1)?,
                Some(same_rev(cur.rev)),
            )?];
            if cur.name_key != new_key {
                tx.push(self.delete(
                    key(pk.clone(), name_sk(&cur.name_key)),
                    Some(release_lock_cond(&memory.id)),
                )?);
                tx.push(self.put(self.memory_lock_item(memory), Some(Cond::not_exists()))?);
            }
            match self.transact(tx).await? {
                Ok(()) => return Ok(()),
                Err(c) if c.condition_failed(0) => continue,
                Err(c) if c.condition_failed(2) => return Err(name_conflict(memory)),
                Err(_) => {
                    return Err(StoreError::Corrupt(format!(
                        "the name lock '{}' of memory {} belongs to another memory",
                        cur.name_key, memory.id
                    )))
                }
            }
        }
        Err(StoreError::Backend(format!(
            "memory {} kept changing during the update; gave up after {MAX_ATTEMPTS} attempts",
            memory.id
        )))
    }

    async fn delete_memory(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        let pk = tenant_pk(tenant_id);
        let mut deleted = false;
        for _ in 0..MAX_ATTEMPTS {
            let Some((_, cur)) = self.stored_memory(tenant_id, id).await? else {
                break;
            };
            let tx = vec![
                self.delete(key(pk.clone(), memory_sk(id)), Some(same_rev(cur.rev)))?,
                self.delete(
                    key(pk.clone(), name_sk(&cur.name_key)),
                    Some(release_lock_cond(id)),
                )?,
                self.delete(key(pk.clone(), seq_sk(id)), None)?,
            ];
            match self.transact(tx).await? {
                Ok(()) => {
                    deleted = true;
                    break;
                }
                Err(c) if c.condition_failed(0) => continue,
                Err(_) => {
                    return Err(StoreError::Corrupt(format!(
                        "the name lock '{}' of memory {id} belongs to another memory",
                        cur.name_key
                    )))
                }
            }
        }
        // The messages go after the memory: a crash in between leaves only unreachable
        // items, which the next delete of the same id (or none) never shows.
        let msgs = self
            .query_prefix(messages_pk(tenant_id, id), MSG_PREFIX)
            .await?;
        for item in msgs {
            if let Some(sk) = str_attr(&item, super::SK) {
                self.delete_existing(messages_pk(tenant_id, id), sk.to_string())
                    .await?;
            }
        }
        Ok(deleted)
    }

    async fn reserve_message_ids(
        &self,
        tenant_id: &str,
        memory_id: &str,
        count: u64,
    ) -> Result<i64, StoreError> {
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant_pk(tenant_id), seq_sk(memory_id))))
            .update_expression("ADD next_id :n")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":n", AttributeValue::N(count.to_string()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        let out = match sent {
            Ok(out) => out,
            Err(e) => {
                return match e.as_service_error() {
                    Some(UpdateItemError::ConditionalCheckFailedException(_)) => {
                        Err(StoreError::NotFound(format!("memory {memory_id}")))
                    }
                    _ => Err(self.sdk_err("UpdateItem", e)),
                }
            }
        };
        let next: i64 = out
            .attributes
            .as_ref()
            .and_then(|a| a.get(NEXT_ID))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "memory {memory_id}: the id counter is not a number"
                ))
            })?;
        Ok(next - i64::try_from(count).unwrap_or(i64::MAX))
    }

    async fn put_messages(
        &self,
        tenant_id: &str,
        memory_id: &str,
        messages: &[MemoryMessage],
    ) -> Result<(), StoreError> {
        for m in messages {
            let item = item_with_body(
                messages_pk(tenant_id, memory_id),
                message_sk(m.message_id),
                m,
            )?;
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .send()
                .await
                .map_err(|e| self.sdk_err("PutItem", e))?;
        }
        Ok(())
    }

    async fn get_message(
        &self,
        tenant_id: &str,
        memory_id: &str,
        message_id: i64,
    ) -> Result<Option<MemoryMessage>, StoreError> {
        self.get(messages_pk(tenant_id, memory_id), message_sk(message_id))
            .await?
            .map(|item| body_of(&item))
            .transpose()
    }

    async fn list_messages(
        &self,
        tenant_id: &str,
        memory_id: &str,
    ) -> Result<Vec<MemoryMessage>, StoreError> {
        self.query_prefix(messages_pk(tenant_id, memory_id), MSG_PREFIX)
            .await?
            .iter()
            .map(body_of)
            .collect()
    }

    async fn patch_message(
        &self,
        tenant_id: &str,
        memory_id: &str,
        message_id: i64,
        patch: &MessagePatch,
    ) -> Result<bool, StoreError> {
        let (pk, sk) = (messages_pk(tenant_id, memory_id), message_sk(message_id));
        for _ in 0..MAX_ATTEMPTS {
            let Some(item) = self.get(pk.clone(), sk.clone()).await? else {
                return Ok(false);
            };
            let old = str_attr(&item, super::BODY).unwrap_or_default().to_string();
            let mut msg: MemoryMessage = body_of(&item)?;
            patch.apply_to(&mut msg);
            let next = item_with_body(pk.clone(), sk.clone(), &msg)?;
            let cond = Cond::new("attribute_exists(pk) AND body = :old").value(":old", old);
            if self.put_memory_item_if(next, cond).await? {
                return Ok(true);
            }
        }
        Err(StoreError::Backend(format!(
            "message {memory_id}:{message_id} kept changing during a patch; gave up after \
             {MAX_ATTEMPTS} attempts"
        )))
    }

    async fn delete_messages(
        &self,
        tenant_id: &str,
        memory_id: &str,
        message_ids: &[i64],
    ) -> Result<u64, StoreError> {
        let mut n = 0;
        for id in message_ids {
            if self
                .delete_existing(messages_pk(tenant_id, memory_id), message_sk(*id))
                .await?
            {
                n += 1;
            }
        }
        Ok(n)
    }
}
