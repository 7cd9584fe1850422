"""The two deployments the suite runs against, and what does not apply to one of them.

`LAMBDARAG_TARGET=embedded` (default): the suite starts `lambdarag serve` itself (SQLite, a
folder, tantivy, in-process workers) and creates tenants with the CLI on its data dir.

`LAMBDARAG_TARGET=aws`: the suite drives the local AWS stack (`eval "$(scripts/local-aws.sh
up)"`): every request goes through the API-Gateway-shaped front to the real Lambda binaries
(DynamoDB, S3 and SQS on moto, a real OpenSearch node); tenants and provider settings are
created with the same CLI on the stack's DynamoDB table (`--metadata dynamodb`, configured
by the exported LAMBDARAG_TABLE / AWS_* variables); base URL from LAMBDARAG_BASE_URL.

NOT_ON_AWS is the one list of tests that cannot apply to the AWS deployment, each with its
reason; NOT_ON_EMBEDDED the same for the embedded one. Keys are a test file, or `file::test`
(all parametrisations), or `file::Class::test`.
"""

from __future__ import annotations

import os

TARGET = os.environ.get("LAMBDARAG_TARGET", "embedded").strip().lower() or "embedded"
ON_AWS = TARGET == "aws"
if TARGET not in ("embedded", "aws"):
    raise SystemExit(f"LAMBDARAG_TARGET must be 'embedded' or 'aws', not {TARGET!r}")

NOT_ON_AWS: dict[str, str] = {
    "test_bench_cli.py": (
        "the benchmark commands (`bench scale`, `bench ingest`, `eval beir`) run the embedded "
        "deployment inside their own process; they have no AWS form to point at the stack"
    ),
    "test_crash_recovery.py": (
        "kills (SIGKILL) and restarts the one-process embedded server mid-parse; on AWS a "
        "worker's crash is an SQS redelivery, tested with the parse-worker on moto "
        "(functions/parse-worker/tests/pipeline_on_moto.rs)"
    ),
    "test_ingest_cli.py::test_watched_folder_files_become_documents_once_across_restarts": (
        "`serve --watch-dir` is the embedded server's counterpart of S3 ingestion (a local "
        "folder instead of a bucket); on AWS an object put under datasets/{id}/ is ingested by "
        "s3-ingest (test_journey.py::test_object_put_into_the_bucket_becomes_a_parsed_document)"
    ),
    "test_ingest_cli.py::test_watched_folder_names_a_dataset_by_id": (
        "`serve --watch-dir` is embedded only (see the test above)"
    ),
    "test_system_http.py::test_healthz_reports_a_broken_store": (
        "breaks an embedded server's blob folder and reads its health; on AWS the same probes "
        "(HeadBucket, GetQueueAttributes, cluster health, GetItem) are the adapters' health "
        "methods, and breaking the shared stack's bucket or queue would break the other tests"
    ),
    "test_files_http.py::test_presigned_file_uploads_need_the_aws_deployment": (
        "checks the embedded server's answer; on AWS the route signs (TestPresignedFileUpload)"
    ),
    "test_datasets_http.py::test_data_persists_across_restart": (
        "restarts an embedded server on its own data dir; AWS functions keep no state of "
        "their own between invocations (every request already reads DynamoDB)"
    ),
}

NOT_ON_EMBEDDED: dict[str, str] = {
    "test_journey.py::test_chunks_are_in_the_opensearch_node": (
        "counts the chunks in the OpenSearch node; the embedded index is tantivy, whose "
        "contents the other journey tests check through the API"
    ),
    "test_journey.py::test_object_put_into_the_bucket_becomes_a_parsed_document": (
        "presigned S3 uploads and S3 → SQS → s3-ingest are the AWS deployment's ingestion "
        "path; the embedded deployment has no bucket (a watched folder is issue 13's)"
    ),
    "test_files_http.py::TestPresignedFileUpload::test_a_put_object_becomes_a_file_of_the_folder": (
        "a presigned PUT to the bucket and S3 → SQS → s3-ingest; the embedded deployment has "
        "no bucket (its upload route takes any size)"
    ),
    "test_files_http.py::test_a_large_document_download_redirects_to_its_object": (
        "a Lambda response's 6 MB limit is AWS's; the embedded server returns any size inline "
        "(test_documents_http covers its downloads)"
    ),
    "test_files_http.py::TestPresignedFileUpload::test_errors": (
        "the route's checks run only where it can sign (the AWS deployment); the embedded "
        "answer is tested by test_presigned_file_uploads_need_the_aws_deployment"
    ),
    "test_lambda_events.py": (
        "feeds events/*.json to the functions' own binaries through the local AWS stack's Lambda "
        "runtime emulator (target/local-aws/stack.json); the embedded server runs no functions"
    ),
}


# Tests that fail with ragflow-sdk 0.26.0 (LAMBDARAG_SDK=0.26) because the server does not
# yet answer that client's shape for their group. Same key forms as above. Remove an entry
# once its group serves both clients (issue 10).
NOT_WITH_SDK_026: dict[str, str] = {}


def sdk_skip_reason(nodeid: str) -> str | None:
    """Why `nodeid` does not run with the installed ragflow-sdk (None: it runs)."""
    from helpers import SDK_026

    if not SDK_026:
        return None
    path, _, rest = nodeid.partition("::")
    name = path.rsplit("/", 1)[-1]
    test = rest.split("[", 1)[0]
    keys = (name, f"{name}::{test}", f"{name}::{test.rsplit('::', 1)[-1]}", f"{name}::{test.split('::', 1)[0]}")
    for key in keys:
        if key in NOT_WITH_SDK_026:
            return NOT_WITH_SDK_026[key]
    return None


def skip_reason(nodeid: str) -> str | None:
    """The reason `nodeid` (as pytest names it, from tests/python/) does not run here."""
    table = NOT_ON_AWS if ON_AWS else NOT_ON_EMBEDDED
    path, _, rest = nodeid.partition("::")
    name = path.rsplit("/", 1)[-1]
    test = rest.split("[", 1)[0]
    for key in (name, f"{name}::{test}", f"{name}::{test.rsplit('::', 1)[-1]}"):
        if key in table:
            return table[key]
    return None
