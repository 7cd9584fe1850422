//! Search apps on the metadata table.
//!
//! | item | pk | sk | other attributes |
//! |---|---|---|---|
//! | search app | `TENANT#{tenant}` | `SEARCHAPP#{id}` | `body` |
//!
//! Names are not unique in the store (the service dedupes them as upstream does), so every
//! write is a single conditional put or delete; a listing reads the tenant partition's
//! `SEARCHAPP#` items (strongly consistent).

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;

use lambdarag::ports::search::{SearchApp, SearchStore};
use lambdarag::StoreError;

use super::{body_of, item_with_body, key, tenant_pk, DynamoStore, Item};

const SEARCH_PREFIX: &str = "SEARCHAPP#";

fn search_sk(id: &str) -> String {
    format!("{SEARCH_PREFIX}{id}")
}

impl DynamoStore {
    /// Put a search app if `condition` holds; `Ok(false)` when it did not.
    async fn put_search_if(&self, item: Item, condition: &str) -> Result<bool, StoreError> {
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
}

#[async_trait]
impl SearchStore for DynamoStore {
    async fn insert_search(&self, app: &SearchApp) -> Result<(), StoreError> {
        let item = item_with_body(tenant_pk(&app.tenant_id), search_sk(&app.id), app)?;
        if self.put_search_if(item, "attribute_not_exists(pk)").await? {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!(
                "search app {} already exists",
                app.id
            )))
        }
    }

    async fn get_search(&self, tenant_id: &str, id: &str) -> Result<Option<SearchApp>, StoreError> {
        self.get(tenant_pk(tenant_id), search_sk(id))
            .await?
            .map(|item| body_of(&item))
            .transpose()
    }

    async fn list_searches(&self, tenant_id: &str) -> Result<Vec<SearchApp>, StoreError> {
        self.query_prefix(tenant_pk(tenant_id), SEARCH_PREFIX)
            .await?
            .iter()
            .map(body_of)
            .collect()
    }

    async fn update_search(&self, app: &SearchApp) -> Result<(), StoreError> {
        let item = item_with_body(tenant_pk(&app.tenant_id), search_sk(&app.id), app)?;
        if self.put_search_if(item, "attribute_exists(pk)").await? {
            Ok(())
        } else {
            Err(StoreError::NotFound(format!("search app {}", app.id)))
        }
    }

    async fn delete_search(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        let sent = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant_pk(tenant_id), search_sk(id))))
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
