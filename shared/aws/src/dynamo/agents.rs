//! Agents (canvases) and their sessions on the metadata table.
//!
//! | item | pk | sk | other attributes |
//! |---|---|---|---|
//! | agent canvas | `TENANT#{tenant}` | `AGENT#{id}` | `body` |
//! | agent session | `TENANT#{tenant}#AGENT#{agent}` | `AGENTSESSION#{id}` | `body` |
//!
//! Titles are not unique in the store (the service refuses duplicates as upstream does), so
//! every write is a single conditional put or delete: `attribute_not_exists(pk)` for an
//! insert (`Conflict`), `attribute_exists(pk)` for an update (`NotFound`, and never creates
//! the item) and a delete (which reports whether the item existed).
//!
//! Sessions get a partition per agent, so a session is found only under its own agent, and
//! a session id is unique per agent (ids are fresh random ids, so that is unique per
//! tenant in practice). Deleting an agent leaves its partition of sessions, as upstream
//! keeps the rows. Listings read the tenant's `AGENT#` items or the agent's partition
//! (strongly consistent, every page through `LastEvaluatedKey`).
//!
//! A record is one item, so it is bounded by DynamoDB's 400 KB item limit. A session's
//! messages, references and DSL history grow with every turn; a write whose item would
//! exceed the limit is refused before it is sent with a `StoreError::Backend` that names
//! the record and its size (the stored record is left as it was). Nothing is split across
//! items.

use std::collections::HashSet;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;

use lambdarag::ports::agent::{AgentCanvas, AgentSession, AgentStore};
use lambdarag::StoreError;

use super::{body_of, item_with_body, key, tenant_pk, DynamoStore, Item};

const AGENT_PREFIX: &str = "AGENT#";
const AGENT_SESSION_PREFIX: &str = "AGENTSESSION#";

/// DynamoDB's maximum item size (attribute names plus values, UTF-8 bytes).
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

fn agent_sk(id: &str) -> String {
    format!("{AGENT_PREFIX}{id}")
}
fn agent_session_pk(tenant_id: &str, agent_id: &str) -> String {
    format!("{}#{AGENT_PREFIX}{agent_id}", tenant_pk(tenant_id))
}
fn agent_session_sk(id: &str) -> String {
    format!("{AGENT_SESSION_PREFIX}{id}")
}

/// An item's size as DynamoDB counts it: the UTF-8 length of every attribute name and
/// string value (our items hold only strings; other types are counted generously).
fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| {
            name.len()
                + match value {
                    AttributeValue::S(v) => v.len(),
                    AttributeValue::N(v) => v.len(),
                    AttributeValue::B(v) => v.as_ref().len(),
                    _ => 1,
                }
        })
        .sum()
}

/// Refuse an item DynamoDB would reject for its size, with a message that says why.
fn check_size(item: &Item, what: &str) -> Result<(), StoreError> {
    let size = item_size(item);
    if size > MAX_ITEM_BYTES {
        return Err(StoreError::Backend(format!(
            "{what} is too large to store: {size} bytes as a DynamoDB item, over the \
             {MAX_ITEM_BYTES}-byte (400 KB) item limit"
        )));
    }
    Ok(())
}

impl DynamoStore {
    /// Put an agent or agent-session item if `condition` holds; `Ok(false)` when it did not.
    async fn put_agent_item_if(&self, item: Item, condition: &str) -> Result<bool, StoreError> {
        let sent = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
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

    /// Delete an agent or agent-session item; `Ok(false)` when it did not exist.
    async fn delete_agent_item(&self, pk: String, sk: String) -> Result<bool, StoreError> {
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

    fn agent_item(agent: &AgentCanvas) -> Result<Item, StoreError> {
        let item = item_with_body(tenant_pk(&agent.tenant_id), agent_sk(&agent.id), agent)?;
        check_size(&item, &format!("agent {}", agent.id))?;
        Ok(item)
    }

    fn agent_session_item(session: &AgentSession) -> Result<Item, StoreError> {
        let item = item_with_body(
            agent_session_pk(&session.tenant_id, &session.agent_id),
            agent_session_sk(&session.id),
            session,
        )?;
        check_size(&item, &format!("agent session {}", session.id))?;
        Ok(item)
    }
}

#[async_trait]
impl AgentStore for DynamoStore {
    async fn insert_agent(&self, agent: &AgentCanvas) -> Result<(), StoreError> {
        let item = Self::agent_item(agent)?;
        if self
            .put_agent_item_if(item, "attribute_not_exists(pk)")
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!(
                "agent {} already exists",
                agent.id
            )))
        }
    }

    async fn get_agent(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<AgentCanvas>, StoreError> {
        self.get(tenant_pk(tenant_id), agent_sk(id))
            .await?
            .map(|item| body_of(&item))
            .transpose()
    }

    async fn list_agents(&self, tenant_id: &str) -> Result<Vec<AgentCanvas>, StoreError> {
        self.query_prefix(tenant_pk(tenant_id), AGENT_PREFIX)
            .await?
            .iter()
            .map(body_of)
            .collect()
    }

    async fn update_agent(&self, agent: &AgentCanvas) -> Result<(), StoreError> {
        let item = Self::agent_item(agent)?;
        if self.put_agent_item_if(item, "attribute_exists(pk)").await? {
            Ok(())
        } else {
            Err(StoreError::NotFound(format!("agent {}", agent.id)))
        }
    }

    async fn delete_agent(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        self.delete_agent_item(tenant_pk(tenant_id), agent_sk(id))
            .await
    }

    async fn insert_agent_session(&self, session: &AgentSession) -> Result<(), StoreError> {
        let item = Self::agent_session_item(session)?;
        if self
            .put_agent_item_if(item, "attribute_not_exists(pk)")
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!(
                "agent session {} already exists",
                session.id
            )))
        }
    }

    async fn get_agent_session(
        &self,
        tenant_id: &str,
        agent_id: &str,
        id: &str,
    ) -> Result<Option<AgentSession>, StoreError> {
        self.get(agent_session_pk(tenant_id, agent_id), agent_session_sk(id))
            .await?
            .map(|item| body_of(&item))
            .transpose()
    }

    async fn list_agent_sessions(
        &self,
        tenant_id: &str,
        agent_id: &str,
    ) -> Result<Vec<AgentSession>, StoreError> {
        self.query_prefix(agent_session_pk(tenant_id, agent_id), AGENT_SESSION_PREFIX)
            .await?
            .iter()
            .map(body_of)
            .collect()
    }

    async fn update_agent_session(&self, session: &AgentSession) -> Result<(), StoreError> {
        let item = Self::agent_session_item(session)?;
        if self.put_agent_item_if(item, "attribute_exists(pk)").await? {
            Ok(())
        } else {
            Err(StoreError::NotFound(format!(
                "agent session {}",
                session.id
            )))
        }
    }

    async fn delete_agent_sessions(
        &self,
        tenant_id: &str,
        agent_id: &str,
        ids: &[String],
    ) -> Result<usize, StoreError> {
        let mut seen = HashSet::new();
        let mut deleted = 0;
        for id in ids {
            if !seen.insert(id.as_str()) {
                continue;
            }
            if self
                .delete_agent_item(agent_session_pk(tenant_id, agent_id), agent_session_sk(id))
                .await?
            {
                deleted += 1;
            }
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambdarag::ports::conformance_agents::sample_session;

    #[test]
    fn item_size_counts_names_and_utf8_bytes() {
        let item = key("ab", "ü");
        // "pk" + "ab" + "sk" + "ü" (2 bytes).
        assert_eq!(item_size(&item), 2 + 2 + 2 + 2);
    }

    #[test]
    fn an_oversized_session_is_refused_with_a_clear_error() {
        let mut session = sample_session("t", "a");
        session
            .messages
            .push(serde_json::json!({"role": "assistant", "content": "x".repeat(MAX_ITEM_BYTES)}));
        match DynamoStore::agent_session_item(&session) {
            Err(StoreError::Backend(msg)) => {
                assert!(msg.contains("too large"), "{msg}");
                assert!(msg.contains(&session.id), "{msg}");
            }
            other => panic!("expected a Backend error, got {other:?}"),
        }
        session.messages.pop();
        assert!(DynamoStore::agent_session_item(&session).is_ok());
    }
}
