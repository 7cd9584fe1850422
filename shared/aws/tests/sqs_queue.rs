//! `SqsTaskQueue` on moto: the polling-queue conformance rules SQS can keep, and what a
//! message looks like on the wire.
//!
//! The full suite (`lambdarag::ports::conformance_queue::run_all`) also checks that a
//! receipt from an older receive of a message is refused (`stale_receipts`). SQS cannot
//! keep that rule: a message keeps accepting every receipt handle it was ever given (moto
//! deletes it on a stale ack; real SQS "succeeds, but the message might not be deleted"),
//! and acking an already deleted message succeeds on real SQS. So this file runs the suite
//! without it; the part SQS does keep (an unknown receipt is `NotFound`) is still checked.

use std::time::Duration;

use lambdarag::ports::conformance_queue::{self, sample_task};
use lambdarag::ports::{PollingQueue, TaskQueue};
use lambdarag::StoreError;
use lambdarag_aws::testing::Moto;
use lambdarag_aws::SqsTaskQueue;

const LONG: Duration = Duration::from_secs(60);
/// SQS rounds the suite's 400 ms lease up to a whole second, so the suite's 1 s sleep gets
/// a margin.
const LAPSE: Duration = Duration::from_millis(1200);

async fn queue(moto: &Moto, name: &str) -> SqsTaskQueue {
    let (url, _) = moto.queue(name, 30, None).await;
    SqsTaskQueue::new(moto.sqs(), url)
}

#[tokio::test]
async fn sqs_queue_passes_the_conformance_rules_sqs_can_keep() {
    let Some(moto) = Moto::start("sqs-conformance").await else {
        return;
    };
    let q = queue(&moto, "conformance").await;
    conformance_queue::run_all_except_stale_receipts(&q, LAPSE).await;
}

#[tokio::test]
async fn a_task_is_one_json_message() {
    let Some(moto) = Moto::start("sqs-wire").await else {
        return;
    };
    let q = queue(&moto, "wire").await;
    let task = sample_task(4);
    q.enqueue(&task).await.expect("enqueue");
    let out = moto
        .sqs()
        .receive_message()
        .queue_url(q.url())
        .send()
        .await
        .expect("receive");
    let msgs = out.messages();
    assert_eq!(msgs.len(), 1);
    let body: serde_json::Value =
        serde_json::from_str(msgs[0].body().expect("body")).expect("json");
    assert_eq!(
        body,
        serde_json::json!({
            "task_id": task.task_id,
            "tenant_id": task.tenant_id,
            "dataset_id": task.dataset_id,
            "document_id": task.document_id,
            "generation": 4
        })
    );
}

#[tokio::test]
async fn a_malformed_message_is_corrupt_not_a_panic() {
    let Some(moto) = Moto::start("sqs-malformed").await else {
        return;
    };
    let q = queue(&moto, "malformed").await;
    moto.sqs()
        .send_message()
        .queue_url(q.url())
        .message_body("not json")
        .send()
        .await
        .expect("send");
    assert!(matches!(q.receive(LONG).await, Err(StoreError::Corrupt(_))));
}
