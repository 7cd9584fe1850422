//! Parse tasks on SQS.
//!
//! Deployed, only [`TaskQueue::enqueue`] is used: the worker Lambda is fed by SQS's event
//! source mapping, which receives, hides and deletes messages itself (see
//! `functions/parse-worker`). [`PollingQueue`] is implemented too, so the same conformance
//! suite the embedded queue passes runs against SQS (on moto), and so a long-running worker
//! outside Lambda could poll.
//!
//! SQS semantics the port maps onto:
//! - visibility timeouts are whole seconds: a lease is rounded *up* to the next second;
//! - `attempts` is SQS's `ApproximateReceiveCount`;
//! - a receipt is the receipt handle of that receive; an unknown or deleted one is
//!   `NotFound`. A receipt from an *older* receive of a message that is leased again is
//!   accepted by SQS (the ack deletes the message), which the embedded queue refuses: the
//!   one rule of the polling-queue suite SQS cannot keep.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use aws_sdk_sqs::Client;

use lambdarag::domain::QueuedTask;
use lambdarag::ports::{Lease, PollingQueue, TaskQueue};
use lambdarag::StoreError;

/// SQS's longest visibility timeout (12 hours).
const MAX_VISIBILITY_SECS: u64 = 43_200;

/// A visibility timeout in SQS's whole seconds, rounded up (a lease is never shorter than
/// asked), capped at 12 hours.
pub fn visibility_secs(d: Duration) -> i32 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs.min(MAX_VISIBILITY_SECS) as i32
}

/// SQS-backed task queue. Cheap to clone (the SDK client is reference-counted).
#[derive(Clone, Debug)]
pub struct SqsTaskQueue {
    client: Client,
    url: String,
    /// Long-poll wait of `receive`, in seconds (0 = short poll).
    wait_secs: i32,
}

impl SqsTaskQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        SqsTaskQueue {
            client,
            url: queue_url.into(),
            wait_secs: 0,
        }
    }

    /// Long-poll `receive` for up to `wait` (at most 20 s). Short polls on a real SQS queue
    /// sample a subset of servers and may come back empty while messages exist.
    pub fn with_receive_wait(mut self, wait: Duration) -> Self {
        self.wait_secs = visibility_secs(wait).min(20);
        self
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    fn err<E, R>(&self, op: &str, e: SdkError<E, R>) -> StoreError
    where
        E: std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        StoreError::Backend(format!(
            "SQS {op} on {} failed: {}",
            self.url,
            DisplayErrorContext(&e)
        ))
    }

    /// A receipt SQS does not know (any more), or a message no longer in flight.
    fn receipt_err<E, R>(&self, op: &str, e: SdkError<E, R>) -> StoreError
    where
        E: std::error::Error + ProvideErrorMetadata + 'static,
        R: std::fmt::Debug,
    {
        let gone = e.code().is_some_and(|c| {
            c.contains("ReceiptHandleIsInvalid")
                || c.contains("MessageNotInflight")
                || c.contains("InvalidParameterValue")
        });
        if gone {
            StoreError::NotFound(format!("SQS {op}: the receipt is no longer valid"))
        } else {
            self.err(op, e)
        }
    }

    /// Hide a received message for `visibility` more from now (used by the worker Lambda
    /// to delay a retry, too).
    pub async fn change_visibility(
        &self,
        receipt: &str,
        visibility: Duration,
    ) -> Result<(), StoreError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .visibility_timeout(visibility_secs(visibility))
            .send()
            .await
            .map_err(|e| self.receipt_err("ChangeMessageVisibility", e))?;
        Ok(())
    }
}

#[async_trait]
impl TaskQueue for SqsTaskQueue {
    async fn enqueue_task(&self, task: &QueuedTask) -> Result<(), StoreError> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(serde_json::to_string(task)?)
            .send()
            .await
            .map_err(|e| self.err("SendMessage", e))?;
        Ok(())
    }

    /// GetQueueAttributes (one attribute): the queue exists and answers.
    async fn health(&self) -> Result<(), StoreError> {
        self.client
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .map_err(|e| self.err("GetQueueAttributes", e))?;
        Ok(())
    }
}

#[async_trait]
impl PollingQueue for SqsTaskQueue {
    async fn receive(&self, visibility: Duration) -> Result<Option<Lease>, StoreError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(1)
            .visibility_timeout(visibility_secs(visibility))
            .wait_time_seconds(self.wait_secs)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| self.err("ReceiveMessage", e))?;
        let Some(msg) = out.messages.unwrap_or_default().into_iter().next() else {
            return Ok(None);
        };
        let receipt = msg.receipt_handle().unwrap_or_default().to_string();
        let body = msg.body().unwrap_or_default();
        let task: QueuedTask = serde_json::from_str(body).map_err(|e| {
            StoreError::Corrupt(format!(
                "SQS message {} is not a queued task: {e}",
                msg.message_id().unwrap_or("?")
            ))
        })?;
        let attempts = msg
            .attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        Ok(Some(Lease {
            task,
            receipt,
            attempts,
        }))
    }

    async fn ack(&self, receipt: &str) -> Result<(), StoreError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| self.receipt_err("DeleteMessage", e))?;
        Ok(())
    }

    async fn extend(&self, receipt: &str, visibility: Duration) -> Result<(), StoreError> {
        self.change_visibility(receipt, visibility).await
    }

    async fn pending(&self) -> Result<u64, StoreError> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(|e| self.err("GetQueueAttributes", e))?;
        Ok(out
            .attributes()
            .map(|a| {
                a.values()
                    .filter_map(|v| v.parse::<u64>().ok())
                    .sum::<u64>()
            })
            .unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility_rounds_up_to_whole_seconds() {
        assert_eq!(visibility_secs(Duration::ZERO), 0);
        assert_eq!(visibility_secs(Duration::from_millis(400)), 1);
        assert_eq!(visibility_secs(Duration::from_secs(60)), 60);
        assert_eq!(visibility_secs(Duration::from_millis(60_001)), 61);
        assert_eq!(visibility_secs(Duration::from_secs(1 << 40)), 43_200);
    }
}
