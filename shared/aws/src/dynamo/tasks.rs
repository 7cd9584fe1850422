//! Dataset tasks (RAPTOR, GraphRAG) on the metadata table.
//!
//! | item | pk | sk | other attributes |
//! |---|---|---|---|
//! | task row | `TENANT#{tenant}` | `DSTASK#{id}` | `body` |
//! | a dataset's current task of a type | `TENANT#{tenant}` | `DSTASKCUR#{dataset}#{type}` | `task_id` |
//!
//! Every write is a single conditional put or delete; moving the current task is a put
//! conditioned on the task it replaces, so concurrent runs cannot both win.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;

use lambdarag::ports::tasks::{DatasetTask, DatasetTaskStore};
use lambdarag::StoreError;

use super::{body_of, item_with_body, key, s, str_attr, tenant_pk, DynamoStore, Item};

const TASK_PREFIX: &str = "DSTASK#";
const CURRENT_PREFIX: &str = "DSTASKCUR#";
const TASK_ID: &str = "task_id";

fn task_sk(id: &str) -> String {
    format!("{TASK_PREFIX}{id}")
}

fn current_sk(dataset_id: &str, task_type: &str) -> String {
    format!("{CURRENT_PREFIX}{dataset_id}#{task_type}")
}

impl DynamoStore {
    /// Put an item if `condition` holds; `Ok(false)` when it did not.
    async fn put_task_item_if(
        &self,
        item: Item,
        condition: &str,
        expected: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        if let Some(e) = expected {
            req = req
                .expression_attribute_names("#t", TASK_ID)
                .expression_attribute_values(":expected", s(e));
        }
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(self.sdk_err("PutItem", e)),
            },
        }
    }
}

#[async_trait]
impl DatasetTaskStore for DynamoStore {
    async fn insert_task(&self, task: &DatasetTask) -> Result<(), StoreError> {
        let item = item_with_body(tenant_pk(&task.tenant_id), task_sk(&task.id), task)?;
        if self
            .put_task_item_if(item, "attribute_not_exists(pk)", None)
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!(
                "task {} already exists",
                task.id
            )))
        }
    }

    async fn get_task(&self, tenant_id: &str, id: &str) -> Result<Option<DatasetTask>, StoreError> {
        self.get(tenant_pk(tenant_id), task_sk(id))
            .await?
            .map(|item| body_of(&item))
            .transpose()
    }

    async fn update_task(&self, task: &DatasetTask) -> Result<(), StoreError> {
        let item = item_with_body(tenant_pk(&task.tenant_id), task_sk(&task.id), task)?;
        if self
            .put_task_item_if(item, "attribute_exists(pk)", None)
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::NotFound(format!("task {}", task.id)))
        }
    }

    async fn delete_task(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        let sent = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant_pk(tenant_id), task_sk(id))))
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

    async fn current_task(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        task_type: &str,
    ) -> Result<Option<String>, StoreError> {
        let item = self
            .get(tenant_pk(tenant_id), current_sk(dataset_id, task_type))
            .await?;
        Ok(item.and_then(|i| str_attr(&i, TASK_ID).map(str::to_string)))
    }

    async fn swap_current_task(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        task_type: &str,
        expected: Option<&str>,
        task_id: &str,
    ) -> Result<bool, StoreError> {
        let mut item = key(tenant_pk(tenant_id), current_sk(dataset_id, task_type));
        item.insert(TASK_ID.into(), s(task_id));
        let condition = match expected {
            None => "attribute_not_exists(pk)",
            Some(_) => "#t = :expected",
        };
        self.put_task_item_if(item, condition, expected).await
    }
}
