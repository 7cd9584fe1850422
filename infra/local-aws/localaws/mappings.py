"""Event source mappings as template.yaml declares them (`Type: SQS` events): pollers that
receive up to BatchSize messages, invoke the function with the SQS event Lambda builds,
and delete what succeeded. With ReportBatchItemFailures only the reported messages stay;
a function error leaves the whole batch, which comes back after its visibility timeout
(and moves to the dead-letter queue after maxReceiveCount receives: moto applies the
queue's redrive policy, as SQS does).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time

import boto3

from . import template as tpl


def sqs_event(records: list[dict], queue_arn: str) -> dict:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {
                    k: {
                        "stringValue": v.get("StringValue"),
                        "binaryValue": v.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": v.get("DataType"),
                    }
                    for k, v in (m.get("MessageAttributes") or {}).items()
                },
                "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode()).hexdigest(),  # noqa: S324 - SQS's own checksum
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": tpl.REGION,
            }
            for m in records
        ]
    }


class SqsPoller:
    def __init__(self, mapping: tpl.SqsMapping, queue_url: str, queue_arn: str, function_timeout: int,
                 invoker, moto_url: str, logger=print, pollers: int = 1):
        self.mapping = mapping
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.timeout = function_timeout
        self.invoker = invoker
        self.log = logger
        self.pollers = pollers
        self.stop = threading.Event()
        self.sqs = boto3.client(
            "sqs", endpoint_url=moto_url, region_name=tpl.REGION,
            aws_access_key_id="test", aws_secret_access_key="test",
        )

    def start(self) -> None:
        for i in range(self.pollers):
            threading.Thread(target=self._run, name=f"poll-{self.mapping.queue}-{i}", daemon=True).start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                self._once()
            except Exception as e:  # noqa: BLE001 - a poller keeps polling, as Lambda's does
                self.log(f"{self.mapping.function} <- {self.mapping.queue}: {type(e).__name__}: {e}")
                time.sleep(1)

    def _once(self) -> None:
        got = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(10, self.mapping.batch_size),
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = got.get("Messages") or []
        if not messages:
            return
        event = json.dumps(sqs_event(messages, self.queue_arn)).encode()
        started = time.monotonic()
        status, headers, payload = self.invoker.invoke(self.mapping.function, event, self.timeout + 5)
        took = time.monotonic() - started
        if status != 200 or headers.get("x-amz-function-error"):
            self.log(f"{self.mapping.function}: batch of {len(messages)} failed ({status}) in {took:.1f}s: {payload[:300]!r}")
            return
        failed: set[str] = set()
        if self.mapping.report_batch_item_failures:
            try:
                result = json.loads(payload or b"{}") or {}
                failed = {f["itemIdentifier"] for f in result.get("batchItemFailures") or []}
            except (ValueError, TypeError, KeyError):
                # An unreadable answer counts as a failed batch, as Lambda treats it.
                self.log(f"{self.mapping.function}: unreadable batch response {payload[:300]!r}")
                return
        done = [m for m in messages if m["MessageId"] not in failed]
        for i in range(0, len(done), 10):
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done[i:i + 10])],
            )
        self.log(f"{self.mapping.function} <- {self.mapping.queue}: {len(messages)} messages, "
                 f"{len(failed)} reported failed, in {took:.1f}s")
