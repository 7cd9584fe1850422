//! Chats and sessions on the metadata table.
//!
//! | item | pk | sk | other attributes |
//! |---|---|---|---|
//! | chat | `TENANT#{tenant}` | `CHAT#{id}` | `body`, `name_key`, `status`, `rev` |
//! | live-chat name lock | `TENANT#{tenant}` | `CHATNAME#{lowercased name}` | `chat_id` |
//! | session | `TENANT#{tenant}#CHAT#{chat}` | `SESSION#{id}` | `body` |
//!
//! Chat names are unique among a tenant's *live* chats: a live chat holds the lock of its
//! name, written in the same transaction as the chat (`attribute_not_exists`), so two
//! concurrent creates cannot both win. A soft delete (status `"0"`) keeps the chat item and
//! releases the lock, which frees the name. Every chat write bumps `rev` and is conditioned
//! on the `rev` it read, so an update and a delete racing on one chat never leave a lock
//! that belongs to nobody.
//!
//! Sessions get a partition per chat; listings read the partition (strongly consistent)
//! and apply the reference semantics (`ChatListQuery::apply` / `SessionListQuery::apply`)
//! in memory, as for datasets. A session is one item, so it is bounded by DynamoDB's
//! 400 KB item limit.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use lambdarag::contract::time::now_ms;
use lambdarag::ports::chat::{
    Chat, ChatListQuery, ChatStore, Session, SessionListQuery, STATUS_DELETED,
};
use lambdarag::StoreError;

use super::{
    body_of, item_with_body, key, s, str_attr, tenant_pk, Cond, DynamoStore, Item, MAX_ATTEMPTS,
    NAME_KEY,
};

const REV: &str = "rev";
const STATUS: &str = "status";
const CHAT_ID: &str = "chat_id";
const CHAT_PREFIX: &str = "CHAT#";
const CHATNAME_PREFIX: &str = "CHATNAME#";
const SESSION_PREFIX: &str = "SESSION#";

fn chat_sk(id: &str) -> String {
    format!("{CHAT_PREFIX}{id}")
}
fn chat_name_sk(name_key: &str) -> String {
    format!("{CHATNAME_PREFIX}{name_key}")
}
fn session_pk(tenant_id: &str, chat_id: &str) -> String {
    format!("{}#{CHAT_PREFIX}{chat_id}", tenant_pk(tenant_id))
}
fn session_sk(id: &str) -> String {
    format!("{SESSION_PREFIX}{id}")
}

/// Deleting a name lock: only the chat's own, and a missing lock is no error.
fn release_lock_cond(chat_id: &str) -> Cond {
    Cond::new("attribute_not_exists(pk) OR chat_id = :id").value(":id", chat_id)
}

/// The write guard: the chat item is still the revision that was read.
fn same_rev(rev: u64) -> Cond {
    Cond::new("attribute_exists(pk) AND rev = :rev").number(":rev", rev)
}

fn name_conflict(chat: &Chat) -> StoreError {
    StoreError::Conflict(format!(
        "chat name '{}' is already used by tenant {}",
        chat.name, chat.tenant_id
    ))
}

/// A stored chat with what its next write is conditioned on.
struct Stored {
    chat: Chat,
    name_key: String,
    rev: u64,
}

impl DynamoStore {
    fn chat_item(&self, c: &Chat, rev: u64) -> Result<Item, StoreError> {
        let mut item = item_with_body(tenant_pk(&c.tenant_id), chat_sk(&c.id), c)?;
        item.insert(NAME_KEY.into(), s(Chat::name_key(&c.name)));
        item.insert(STATUS.into(), s(c.status.clone()));
        item.insert(REV.into(), AttributeValue::N(rev.to_string()));
        Ok(item)
    }

    fn chat_lock_item(&self, c: &Chat) -> Item {
        let mut item = key(
            tenant_pk(&c.tenant_id),
            chat_name_sk(&Chat::name_key(&c.name)),
        );
        item.insert(CHAT_ID.into(), s(c.id.clone()));
        item
    }

    /// The stored chat, live or soft-deleted.
    async fn stored_chat(&self, tenant_id: &str, id: &str) -> Result<Option<Stored>, StoreError> {
        let Some(item) = self.get(tenant_pk(tenant_id), chat_sk(id)).await? else {
            return Ok(None);
        };
        let chat: Chat = body_of(&item)?;
        let name_key = str_attr(&item, NAME_KEY)
            .map(str::to_string)
            .unwrap_or_else(|| Chat::name_key(&chat.name));
        let rev = item
            .get(REV)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| StoreError::Corrupt(format!("chat {id} has no numeric `rev`")))?;
        Ok(Some(Stored {
            chat,
            name_key,
            rev,
        }))
    }

    /// A single conditional put; `Ok(false)` when the condition failed.
    async fn put_if(&self, item: Item, cond: Cond) -> Result<bool, StoreError> {
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
}

#[async_trait]
impl ChatStore for DynamoStore {
    async fn insert_chat(&self, chat: &Chat) -> Result<(), StoreError> {
        let mut tx = vec![self.put(self.chat_item(chat, 0)?, Some(Cond::not_exists()))?];
        if chat.is_live() {
            tx.push(self.put(self.chat_lock_item(chat), Some(Cond::not_exists()))?);
        }
        match self.transact(tx).await? {
            Ok(()) => Ok(()),
            Err(c) if c.condition_failed(1) => Err(name_conflict(chat)),
            Err(_) => Err(StoreError::Conflict(format!(
                "chat {} already exists",
                chat.id
            ))),
        }
    }

    async fn get_chat(&self, tenant_id: &str, id: &str) -> Result<Option<Chat>, StoreError> {
        let Some(item) = self.get(tenant_pk(tenant_id), chat_sk(id)).await? else {
            return Ok(None);
        };
        let chat: Chat = body_of(&item)?;
        Ok(chat.is_live().then_some(chat))
    }

    async fn find_chat_by_name(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<Option<Chat>, StoreError> {
        let lock = self
            .get(tenant_pk(tenant_id), chat_name_sk(&Chat::name_key(name)))
            .await?;
        match lock.as_ref().and_then(|l| str_attr(l, CHAT_ID)) {
            Some(id) => self.get_chat(tenant_id, id).await,
            None => Ok(None),
        }
    }

    async fn list_chats(
        &self,
        tenant_id: &str,
        query: &ChatListQuery,
    ) -> Result<Vec<Chat>, StoreError> {
        if query.page_size == 0 {
            return Ok(Vec::new());
        }
        // `CHAT#` does not prefix `CHATNAME#`, so the name locks are not read here.
        let all = self
            .query_prefix(tenant_pk(tenant_id), CHAT_PREFIX)
            .await?
            .iter()
            .map(body_of)
            .collect::<Result<Vec<Chat>, _>>()?;
        Ok(query.apply(all))
    }

    async fn update_chat(&self, chat: &Chat) -> Result<(), StoreError> {
        let new_key = Chat::name_key(&chat.name);
        let pk = tenant_pk(&chat.tenant_id);
        for _ in 0..MAX_ATTEMPTS {
            let Some(cur) = self.stored_chat(&chat.tenant_id, &chat.id).await? else {
                return Err(StoreError::NotFound(format!("chat {}", chat.id)));
            };
            if !cur.chat.is_live() {
                return Err(StoreError::NotFound(format!("chat {}", chat.id)));
            }
            let mut tx =
                vec![self.put(self.chat_item(chat, cur.rev + 1)?, Some(same_rev(cur.rev)))?];
            // A case-only rename keeps the same lock (same key): only the record changes.
            // A record written as deleted gives its lock up, like `delete_chat`.
            let keeps_lock = chat.is_live() && cur.name_key == new_key;
            if !keeps_lock {
                tx.push(self.delete(
                    key(pk.clone(), chat_name_sk(&cur.name_key)),
                    Some(release_lock_cond(&chat.id)),
                )?);
                if chat.is_live() {
                    tx.push(self.put(self.chat_lock_item(chat), Some(Cond::not_exists()))?);
                }
            }
            match self.transact(tx).await? {
                Ok(()) => return Ok(()),
                Err(c) if c.condition_failed(0) => continue, // changed meanwhile: re-read
                Err(c) if c.condition_failed(2) => return Err(name_conflict(chat)),
                Err(_) => {
                    return Err(StoreError::Corrupt(format!(
                        "the name lock '{}' of chat {} belongs to another chat",
                        cur.name_key, chat.id
                    )))
                }
            }
        }
        Err(StoreError::Backend(format!(
            "chat {} kept changing during the update; gave up after {MAX_ATTEMPTS} attempts",
            chat.id
        )))
    }

    async fn delete_chat(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        let pk = tenant_pk(tenant_id);
        for _ in 0..MAX_ATTEMPTS {
            let Some(cur) = self.stored_chat(tenant_id, id).await? else {
                return Ok(false);
            };
            if !cur.chat.is_live() {
                return Ok(false);
            }
            let mut gone = cur.chat.clone();
            gone.status = STATUS_DELETED.to_string();
            gone.update_time = now_ms();
            let tx = vec![
                self.put(self.chat_item(&gone, cur.rev + 1)?, Some(same_rev(cur.rev)))?,
                self.delete(
                    key(pk.clone(), chat_name_sk(&cur.name_key)),
                    Some(release_lock_cond(id)),
                )?,
            ];
            match self.transact(tx).await? {
                Ok(()) => return Ok(true),
                Err(c) if c.condition_failed(0) => continue, // changed or deleted meanwhile
                Err(_) => {
                    return Err(StoreError::Corrupt(format!(
                        "the name lock '{}' of chat {id} belongs to another chat",
                        cur.name_key
                    )))
                }
            }
        }
        Err(StoreError::Backend(format!(
            "chat {id} kept changing during the delete; gave up after {MAX_ATTEMPTS} attempts"
        )))
    }

    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        let item = item_with_body(
            session_pk(&session.tenant_id, &session.chat_id),
            session_sk(&session.id),
            session,
        )?;
        if self.put_if(item, Cond::not_exists()).await? {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!(
                "session {} already exists",
                session.id
            )))
        }
    }

    async fn get_session(
        &self,
        tenant_id: &str,
        chat_id: &str,
        id: &str,
    ) -> Result<Option<Session>, StoreError> {
        self.get(session_pk(tenant_id, chat_id), session_sk(id))
            .await?
            .map(|item| body_of(&item))
            .transpose()
    }

    async fn list_sessions(
        &self,
        tenant_id: &str,
        chat_id: &str,
        query: &SessionListQuery,
    ) -> Result<Vec<Session>, StoreError> {
        if query.page_size == 0 {
            return Ok(Vec::new());
        }
        let all = self
            .query_prefix(session_pk(tenant_id, chat_id), SESSION_PREFIX)
            .await?
            .iter()
            .map(body_of)
            .collect::<Result<Vec<Session>, _>>()?;
        Ok(query.apply(all))
    }

    async fn update_session(&self, session: &Session) -> Result<(), StoreError> {
        let item = item_with_body(
            session_pk(&session.tenant_id, &session.chat_id),
            session_sk(&session.id),
            session,
        )?;
        if self.put_if(item, Cond::exists()).await? {
            Ok(())
        } else {
            Err(StoreError::NotFound(format!("session {}", session.id)))
        }
    }

    async fn delete_session(
        &self,
        tenant_id: &str,
        chat_id: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let sent = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(session_pk(tenant_id, chat_id), session_sk(id))))
            .condition_expression("attribute_exists(pk)")
            .return_values(ReturnValue::None)
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
