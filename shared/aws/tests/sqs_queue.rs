//! `SqsTaskQueue` on moto: the polling-queue conformance rules SQS can keep, and what a
//! message looks like on the wire.
//!
//! The shared suite (`lambdarag::ports::conformance_queue::run_all`) also checks that a
//! receipt from an older receive of a message is refused (`stale_receipts`). SQS cannot
//! keep that rule: a message keeps accepting every receipt handle it was ever given (moto
//! deletes it on a stale ack; real SQS "succeeds, but the message might not be deleted"),
//! and acking an already deleted message succeeds on real SQS. So this file runs the other
//! rules, copied from the suite (its rule functions are private), and checks only the part
//! of `stale_receipts` SQS does keep: an unknown receipt is `NotFound`.

use std::time::Duration;

use lambdarag::domain::ParseTask;
use lambdarag::ports::conformance_queue::sample_task;
use lambdarag::ports::{PollingQueue, TaskQueue};
use lambdarag::StoreError;
use lambdarag_aws::testing::Moto;
use lambdarag_aws::SqsTaskQueue;

/// Long enough that a lease never lapses during the suite.
const LONG: Duration = Duration::from_secs(60);
/// The shared suite's 400 ms, as SQS applies it (rounded up to 1 s).
const SHORT: Duration = Duration::from_millis(400);
/// The shared suite's sleep (its 1000 ms) plus a margin for SQS's whole seconds.
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
    empty(&q).await;
    fifo_and_ack(&q).await;
    visibility(&q).await;
    extend(&q).await;
    unknown_receipts(&q).await;
    assert_eq!(
        q.pending().await.expect("pending"),
        0,
        "every task was acked"
    );
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

// The rules below are the shared suite's, with SQS's whole-second timing.

async fn empty(queue: &dyn PollingQueue) {
    assert_eq!(
        queue.pending().await.expect("pending"),
        0,
        "a fresh queue is empty"
    );
    assert!(
        queue.receive(LONG).await.expect("receive").is_none(),
        "receiving from an empty queue gives None"
    );
}

async fn fifo_and_ack(queue: &dyn PollingQueue) {
    let tasks: Vec<ParseTask> = (1..=3).map(sample_task).collect();
    for t in &tasks {
        queue.enqueue(t).await.expect("enqueue");
    }
    assert_eq!(queue.pending().await.expect("pending"), 3);
    let mut leases = vec![];
    for (i, want) in tasks.iter().enumerate() {
        let lease = queue
            .receive(LONG)
            .await
            .expect("receive")
            .expect("a task is visible");
        assert_eq!(
            &lease.task, want,
            "tasks come out whole and in enqueue order (task {i})"
        );
        assert_eq!(lease.attempts, 1, "a first receive counts one attempt");
        assert!(!lease.receipt.is_empty(), "a lease has a receipt");
        leases.push(lease);
    }
    assert!(
        queue.receive(LONG).await.expect("receive").is_none(),
        "leased tasks are hidden from other receivers"
    );
    assert_eq!(
        queue.pending().await.expect("pending"),
        3,
        "leased tasks still count as pending"
    );
    queue.ack(&leases[1].receipt).await.expect("ack");
    assert_eq!(
        queue.pending().await.expect("pending"),
        2,
        "an ack removes its task"
    );
    for lease in [&leases[0], &leases[2]] {
        queue.ack(&lease.receipt).await.expect("ack");
    }
    assert_eq!(queue.pending().await.expect("pending"), 0);
    assert!(queue.receive(LONG).await.expect("receive").is_none());
}

async fn visibility(queue: &dyn PollingQueue) {
    let task = sample_task(7);
    queue.enqueue(&task).await.expect("enqueue");
    let first = queue
        .receive(SHORT)
        .await
        .expect("receive")
        .expect("visible");
    assert!(
        queue.receive(LONG).await.expect("receive").is_none(),
        "a leased task is hidden until its visibility lapses"
    );
    tokio::time::sleep(LAPSE).await;
    let second = queue
        .receive(LONG)
        .await
        .expect("receive")
        .expect("a lapsed lease makes the task visible again");
    assert_eq!(second.task, task, "the same task comes back");
    assert_eq!(second.attempts, 2, "a redelivery counts one more attempt");
    assert_ne!(
        second.receipt, first.receipt,
        "every receive gets a fresh receipt"
    );
    queue.ack(&second.receipt).await.expect("ack");
    assert_eq!(queue.pending().await.expect("pending"), 0);
}

async fn extend(queue: &dyn PollingQueue) {
    let task = sample_task(8);
    queue.enqueue(&task).await.expect("enqueue");
    let lease = queue
        .receive(SHORT)
        .await
        .expect("receive")
        .expect("visible");
    queue.extend(&lease.receipt, LONG).await.expect("extend");
    tokio::time::sleep(LAPSE).await;
    assert!(
        queue.receive(LONG).await.expect("receive").is_none(),
        "an extended lease stays hidden past its first timeout"
    );
    queue.extend(&lease.receipt, SHORT).await.expect("shorten");
    tokio::time::sleep(LAPSE).await;
    let again = queue
        .receive(LONG)
        .await
        .expect("receive")
        .expect("visible after the shortened lease lapses");
    assert_eq!((again.task, again.attempts), (task, 2));
    queue.ack(&again.receipt).await.expect("ack");
}

async fn unknown_receipts(queue: &dyn PollingQueue) {
    assert!(
        matches!(
            queue.ack("no-such-receipt").await,
            Err(StoreError::NotFound(_))
        ),
        "acking an unknown receipt is NotFound"
    );
    assert!(
        matches!(
            queue.extend("no-such-receipt", LONG).await,
            Err(StoreError::NotFound(_))
        ),
        "extending an unknown receipt is NotFound"
    );
}
