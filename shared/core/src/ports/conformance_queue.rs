//! The polling-queue conformance suite. Every adapter's tests call `run_all` on a fresh,
//! empty queue; a failure panics with the rule that was broken. A backend that cannot
//! refuse a receipt from an older receive (SQS) calls `run_all_except_stale_receipts`.
//!
//! Visibility is exercised with short timeouts and sleeps a few times longer, so the suite
//! takes about four seconds; it asserts what happens, never how fast.

use std::time::Duration;

use crate::contract::error::StoreError;
use crate::contract::ids::new_id;
use crate::domain::{MemoryTask, ParseTask, QueuedTask};
use crate::ports::PollingQueue;

/// Long enough that a lease never lapses during the suite.
const LONG: Duration = Duration::from_secs(60);
/// The lease the visibility rules let lapse.
const SHORT: Duration = Duration::from_millis(400);
/// How long the suite sleeps for a `SHORT` lease to lapse.
pub const LAPSE: Duration = Duration::from_millis(1000);

pub async fn run_all(queue: &dyn PollingQueue) {
    run_all_except_stale_receipts(queue, LAPSE).await;
    stale_receipts(queue).await;
    assert_eq!(
        queue.pending().await.expect("pending"),
        0,
        "every task of the suite was acked"
    );
}

/// Every rule but `stale_receipts`, for a backend where a receipt from an older receive of
/// a message stays usable (SQS). `lapse` replaces `LAPSE`: a backend that rounds the 400 ms
/// lease up to whole seconds needs a longer sleep for it to lapse.
pub async fn run_all_except_stale_receipts(queue: &dyn PollingQueue, lapse: Duration) {
    empty(queue).await;
    fifo_and_ack(queue).await;
    kinds(queue).await;
    visibility(queue, lapse).await;
    extend(queue, lapse).await;
    unknown_receipts(queue).await;
    assert_eq!(
        queue.pending().await.expect("pending"),
        0,
        "every task of the suite was acked"
    );
}

pub fn sample_task(generation: u64) -> ParseTask {
    ParseTask {
        task_id: new_id(),
        tenant_id: new_id(),
        dataset_id: new_id(),
        document_id: new_id(),
        generation,
    }
}

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
            lease.task,
            QueuedTask::Parse(want.clone()),
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

/// Every kind of task comes out as the kind it went in as.
async fn kinds(queue: &dyn PollingQueue) {
    let memory = QueuedTask::Memory(MemoryTask {
        task_id: new_id(),
        tenant_id: new_id(),
        memory_id: new_id(),
        message_id: 42,
    });
    let parse = QueuedTask::Parse(sample_task(9));
    queue.enqueue_task(&memory).await.expect("enqueue memory");
    queue.enqueue_task(&parse).await.expect("enqueue parse");
    for want in [memory, parse] {
        let lease = queue
            .receive(LONG)
            .await
            .expect("receive")
            .expect("a task is visible");
        assert_eq!(lease.task, want, "a {} task keeps its kind", want.kind());
        queue.ack(&lease.receipt).await.expect("ack");
    }
}

async fn visibility(queue: &dyn PollingQueue, lapse: Duration) {
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
    tokio::time::sleep(lapse).await;
    let second = queue
        .receive(LONG)
        .await
        .expect("receive")
        .expect("a lapsed lease makes the task visible again");
    assert_eq!(
        second.task,
        QueuedTask::Parse(task.clone()),
        "the same task comes back"
    );
    assert_eq!(second.attempts, 2, "a redelivery counts one more attempt");
    assert_ne!(
        second.receipt, first.receipt,
        "every receive gets a fresh receipt"
    );
    queue.ack(&second.receipt).await.expect("ack");
    assert_eq!(queue.pending().await.expect("pending"), 0);
}

async fn extend(queue: &dyn PollingQueue, lapse: Duration) {
    let task = sample_task(8);
    queue.enqueue(&task).await.expect("enqueue");
    let lease = queue
        .receive(SHORT)
        .await
        .expect("receive")
        .expect("visible");
    queue.extend(&lease.receipt, LONG).await.expect("extend");
    tokio::time::sleep(lapse).await;
    assert!(
        queue.receive(LONG).await.expect("receive").is_none(),
        "an extended lease stays hidden past its first timeout"
    );
    // Extending can also shorten: the heartbeat sets the new deadline from now.
    queue.extend(&lease.receipt, SHORT).await.expect("shorten");
    tokio::time::sleep(lapse).await;
    let again = queue
        .receive(LONG)
        .await
        .expect("receive")
        .expect("visible after the shortened lease lapses");
    assert_eq!((again.task, again.attempts), (QueuedTask::Parse(task), 2));
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

async fn stale_receipts(queue: &dyn PollingQueue) {
    let task = sample_task(9);
    queue.enqueue(&task).await.expect("enqueue");
    let old = queue
        .receive(SHORT)
        .await
        .expect("receive")
        .expect("visible");
    tokio::time::sleep(LAPSE).await;
    let new = queue
        .receive(LONG)
        .await
        .expect("receive")
        .expect("visible again");
    // The first consumer, late, must not remove or extend the task another one now holds.
    assert!(
        matches!(queue.ack(&old.receipt).await, Err(StoreError::NotFound(_))),
        "acking with a receipt from an older lease is NotFound"
    );
    assert!(
        matches!(
            queue.extend(&old.receipt, LONG).await,
            Err(StoreError::NotFound(_))
        ),
        "extending with a receipt from an older lease is NotFound"
    );
    assert_eq!(
        queue.pending().await.expect("pending"),
        1,
        "a stale ack leaves the task in place"
    );
    queue
        .ack(&new.receipt)
        .await
        .expect("ack with the live receipt");
    assert!(
        matches!(queue.ack(&new.receipt).await, Err(StoreError::NotFound(_))),
        "acking twice is NotFound"
    );
    assert!(
        matches!(
            queue.extend(&new.receipt, LONG).await,
            Err(StoreError::NotFound(_))
        ),
        "extending an acked task is NotFound"
    );
}
