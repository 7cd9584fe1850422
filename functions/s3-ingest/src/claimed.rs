//! The claim protocol both kinds of upload go through (dataset documents and file-manager
//! files): one DynamoDB claim per source object, so a redelivered or concurrent event
//! creates the document (or file) once; a delivery that takes over an expired claim lets
//! `create` adopt what the dead attempt left; the staged object is deleted only after the
//! outcome is recorded.

use std::future::Future;

use lambdarag::contract::time::now_ms;
use lambdarag_aws::dynamo::{Claim, SourceKey};
use lambdarag_aws::s3::StagedObject;

use crate::{transient, Ingest, ObjectResult, Transient};

/// What a claimed object became: the new id, or why it cannot become one (a retry would
/// not help).
pub(crate) type Created = Result<String, ObjectResult>;

/// Who owns the object: its tenant, and the dataset whose parse to queue (`None` for a
/// file, which has nothing to parse).
pub(crate) struct Owner<'a> {
    pub(crate) tenant_id: &'a str,
    pub(crate) dataset_id: Option<&'a str>,
}

/// Run `create` under the object's claim. It is given the start of the taken-over claim
/// (`Some(claimed_at)` when an earlier attempt may have created the object already).
pub(crate) async fn ingest_claimed<F, Fut>(
    ingest: &Ingest,
    staged: &StagedObject,
    source: &SourceKey,
    owner: Owner<'_>,
    create: F,
) -> Result<ObjectResult, Transient>
where
    F: FnOnce(Option<i64>) -> Fut,
    Fut: Future<Output = Result<Created, Transient>>,
{
    let claim = ingest
        .dynamo
        .claim_source(source, now_ms(), ingest.lease)
        .await
        .map_err(transient)?;
    let id = match claim {
        Claim::Busy => {
            return Err(Transient(format!(
                "another delivery is ingesting {}",
                source.key
            )))
        }
        Claim::Queued { document_id } => {
            ingest.s3.delete_staged(staged).await.map_err(transient)?;
            return Ok(ObjectResult::AlreadyIngested { document_id });
        }
        Claim::Created { document_id, .. } => document_id,
        Claim::Acquired {
            claimed_at,
            taken_over,
        } => {
            let id = match create(taken_over).await? {
                Ok(id) => id,
                Err(skipped) => return Ok(skipped),
            };
            let recorded = ingest
                .dynamo
                .source_created(
                    source,
                    claimed_at,
                    owner.tenant_id,
                    owner.dataset_id.unwrap_or(""),
                    &id,
                )
                .await
                .map_err(transient)?;
            if !recorded {
                tracing::warn!(id = %id, key = %source.key, "the claim expired while ingesting; continuing");
            }
            id
        }
    };
    if let Some(dataset_id) = owner.dataset_id {
        lambdarag::services::source::queue_parse_once(
            &ingest.state,
            owner.tenant_id,
            dataset_id,
            &id,
        )
        .await
        .map_err(|e| Transient(e.message))?;
    }
    ingest
        .dynamo
        .source_queued(source)
        .await
        .map_err(transient)?;
    ingest.s3.delete_staged(staged).await.map_err(transient)?;
    Ok(ObjectResult::Ingested { document_id: id })
}
