//! Datasets: request validation with upstream's messages, parser-config defaults, and the
//! create / list / update / delete rules of the contract (endpoints.md D1–D4).

pub mod embedding_check;
mod parser_config;
mod request;
pub mod tags;
#[cfg(test)]
mod tests;
pub mod v027;

use parser_config::*;
pub use parser_config::{deep_merge, method_defaults, parser_config_for, ParserConfigInput};
pub use request::{
    validate_create, validate_delete, validate_list, validate_update, DatasetFields,
};

use serde_json::{json, Map, Value};

use crate::contract::envelope::{ApiError, RetCode};
use crate::contract::error::StoreError;
use crate::contract::ids::{new_id, parse_uuid1};
use crate::contract::pyfmt::py_str;
use crate::contract::time::now_ms;
use crate::contract::validation::{
    float_in, format_errors, int_in, lax_bool, lax_int, literal_msg, max_len_msg, str_len,
    str_list, strict_bool, FieldError, ObjectCheck, MSG_EXTRA, MSG_INT, MSG_LIST,
};
use crate::domain::models::verify_embedding_model;
use crate::domain::{Dataset, DatasetListQuery, DatasetOrder, Tenant};
use crate::ports::MetadataStore;
use crate::state::AppState;

pub const CHUNK_METHODS: [&str; 12] = [
    "naive",
    "book",
    "email",
    "laws",
    "manual",
    "one",
    "paper",
    "picture",
    "presentation",
    "qa",
    "table",
    "tag",
];

pub const RAPTOR_PROMPT: &str = "Please summarize the following paragraphs. Be careful with the numbers, do not make things up. Paragraphs as following:\n      {cluster_content}\nThe above is the content you need to summarize.";

const NAME_LIMIT: usize = 128;
const UUID1_MSG: &str = "Invalid UUID1 format";

fn chunk_method_msg() -> String {
    literal_msg(&CHUNK_METHODS)
}

// ---------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------

/// The next candidate when a name is taken: `name` → `name(1)` → `name(2)`, with the
/// counter before a file-style extension (`a.txt` → `a(1).txt`), as upstream renames.
pub fn next_duplicate_name(name: &str) -> String {
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 && i + 1 < name.len() => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    let (base, counter) = match stem.strip_suffix(')').and_then(|s| s.rsplit_once('(')) {
        Some((b, n)) if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => {
            (b, n.parse::<u64>().unwrap_or(0))
        }
        _ => (stem, 0),
    };
    format!("{base}({}){ext}", counter + 1)
}

async fn load_tenant(store: &dyn MetadataStore, tenant_id: &str) -> Result<Tenant, ApiError> {
    store
        .get_tenant(tenant_id)
        .await?
        .ok_or_else(|| ApiError::data("Tenant not found."))
}

/// D1: create a dataset; duplicate names are renamed `name(n)`.
pub async fn create(
    state: &AppState,
    tenant_id: &str,
    fields: DatasetFields,
) -> Result<Dataset, ApiError> {
    let store = state.meta.as_ref();
    let name = fields.name.clone().unwrap_or_default();
    if name.len() > NAME_LIMIT {
        return Err(ApiError::data(format!(
            "Dataset name length is {} which is large than {NAME_LIMIT}",
            name.chars().count()
        )));
    }
    let tenant = load_tenant(store, tenant_id).await?;
    let embedding_model = match fields.embedding_model.clone().flatten() {
        Some(m) => {
            verify_embedding_model(&tenant, &m)?;
            m
        }
        None => tenant.embd_id.clone(),
    };
    let chunk_method = fields
        .chunk_method
        .clone()
        .unwrap_or_else(|| "naive".into());
    let supplied = fields.parser_config.clone().flatten().map(|p| p.full);
    let mut parser_config = parser_config_for(&chunk_method, supplied.as_ref());
    if let Value::Object(m) = &mut parser_config {
        m.insert("llm_id".into(), json!(tenant.llm_id));
    }
    let now = now_ms();
    let mut dataset = Dataset {
        id: new_id(),
        avatar: fields.avatar.clone().flatten(),
        tenant_id: tenant_id.to_string(),
        name,
        language: "English".into(),
        description: fields.description.clone().flatten(),
        embedding_model,
        permission: fields.permission.clone().unwrap_or_else(|| "me".into()),
        created_by: tenant_id.to_string(),
        document_count: 0,
        token_num: 0,
        chunk_count: 0,
        similarity_threshold: 0.2,
        vector_similarity_weight: 0.3,
        chunk_method,
        pipeline_id: fields.pipeline_id.clone().flatten(),
        parser_config,
        pagerank: 0,
        graphrag_task_id: None,
        graphrag_task_finish_at: None,
        raptor_task_id: None,
        raptor_task_finish_at: None,
        mindmap_task_id: None,
        mindmap_task_finish_at: None,
        status: "1".into(),
        auto_metadata_config: fields.auto_metadata_config.clone(),
        create_time: now,
        update_time: now,
    };
    // The store enforces name uniqueness atomically; on a clash try the next `(n)` name.
    for _ in 0..1000 {
        match store.insert_dataset(&dataset).await {
            Ok(()) => return Ok(dataset),
            Err(StoreError::Conflict(_)) => dataset.name = next_duplicate_name(&dataset.name),
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::data("Dataset created failed"))
}

fn lacks_permission(tenant_id: &str, what: &str) -> ApiError {
    ApiError::permission(format!(
        "User '{tenant_id}' lacks permission for dataset '{what}'"
    ))
}

/// D3: update a dataset with only the fields sent.
pub async fn update(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    fields: DatasetFields,
) -> Result<Dataset, ApiError> {
    if fields.is_empty() {
        return Err(ApiError::argument("No properties were modified"));
    }
    let store = state.meta.as_ref();
    let current = store
        .get_dataset(tenant_id, dataset_id)
        .await?
        .ok_or_else(|| lacks_permission(tenant_id, dataset_id))?;
    let mut next = current.clone();

    // parser_config: a non-empty patch deep-merges into the stored config; a new chunk
    // method without a config replaces it with that method's defaults.
    let patch = fields.parser_config.clone().flatten().map(|p| p.set);
    if let Some(p) = &patch {
        next.parser_config = deep_merge(&current.parser_config, p);
    }
    if let Some(m) = &fields.chunk_method {
        if *m != current.chunk_method && patch.is_none() {
            next.parser_config = parser_config_for(m, None);
        }
        next.chunk_method = m.clone();
    }
    if let Some(name) = &fields.name {
        if Dataset::name_key(name) != Dataset::name_key(&current.name)
            && store.find_dataset_by_name(tenant_id, name).await?.is_some()
        {
            return Err(ApiError::data(format!(
                "Dataset name '{name}' already exists"
            )));
        }
        next.name = name.clone();
    }
    if let Some(model) = &fields.embedding_model {
        let model = model
            .clone()
            .unwrap_or_else(|| current.embedding_model.clone());
        if current.chunk_count != 0 && model != current.embedding_model {
            return Err(ApiError::data(format!(
                "When chunk_num ({}) > 0, embedding_model must remain {}",
                current.chunk_count, current.embedding_model
            )));
        }
        let tenant = load_tenant(store, tenant_id).await?;
        verify_embedding_model(&tenant, &model)?;
        next.embedding_model = model;
    }
    if let Some(a) = &fields.avatar {
        next.avatar = a.clone();
    }
    if let Some(d) = &fields.description {
        next.description = d.clone();
    }
    if let Some(p) = &fields.permission {
        next.permission = p.clone();
    }
    if let Some(p) = fields.pagerank {
        next.pagerank = p;
    }
    if let Some(p) = &fields.pipeline_id {
        next.pipeline_id = p.clone();
    }
    next.update_time = now_ms();
    match store.update_dataset(&next).await {
        Ok(()) => Ok(next),
        Err(StoreError::Conflict(_)) => Err(ApiError::data(format!(
            "Dataset name '{}' already exists",
            next.name
        ))),
        Err(StoreError::NotFound(_)) => Err(lacks_permission(tenant_id, dataset_id)),
        Err(e) => Err(e.into()),
    }
}

/// D4: list the tenant's datasets; an `id` or `name` filter that matches nothing is a
/// permission error, as upstream reports it.
pub async fn list(
    state: &AppState,
    tenant_id: &str,
    query: &DatasetListQuery,
) -> Result<(Vec<Value>, u64), ApiError> {
    list_filtered(state, tenant_id, query, &v027::ListFilters::default()).await
}

/// D4 with v0.27's `ids` / `ext` filters, which the stores do not apply: the tenant's
/// datasets are read in the query's order, then filtered and paged here.
pub async fn list_filtered(
    state: &AppState,
    tenant_id: &str,
    query: &DatasetListQuery,
    filters: &v027::ListFilters,
) -> Result<(Vec<Value>, u64), ApiError> {
    let store = state.meta.as_ref();
    if let Some(id) = &query.id {
        if store.get_dataset(tenant_id, id).await?.is_none() {
            return Err(lacks_permission(tenant_id, id));
        }
    }
    if let Some(name) = &query.name {
        if store.find_dataset_by_name(tenant_id, name).await?.is_none() {
            return Err(lacks_permission(tenant_id, name));
        }
    }
    let (page, total) = if filters.is_empty() {
        store.list_datasets(tenant_id, query).await?
    } else {
        let everything = DatasetListQuery {
            page: 1,
            page_size: u64::MAX,
            ..query.clone()
        };
        let (all, _) = store.list_datasets(tenant_id, &everything).await?;
        v027::apply_list_filters(tenant_id, all, filters, query)
    };
    // A few datasets at a time: each costs several store reads (one round trip each on
    // DynamoDB), and the page keeps its order.
    let mut rows = Vec::with_capacity(page.len());
    for batch in page.chunks(8) {
        let rendered: Vec<_> = batch.iter().map(|d| render(state, d)).collect();
        rows.extend(futures_util::future::try_join_all(rendered).await?);
    }
    Ok((rows, total))
}

/// D2: delete datasets. `None` deletes all of the tenant's; every listed id must belong to
/// the tenant before anything is deleted.
pub async fn delete(
    state: &AppState,
    tenant_id: &str,
    ids: Option<Vec<String>>,
) -> Result<DeleteOutcome, ApiError> {
    let store = state.meta.as_ref();
    let targets: Vec<String> = match ids {
        None => {
            let all = DatasetListQuery {
                id: None,
                name: None,
                page: 1,
                page_size: u64::MAX,
                orderby: DatasetOrder::CreateTime,
                desc: true,
            };
            let (rows, _) = store.list_datasets(tenant_id, &all).await?;
            rows.into_iter().map(|d| d.id).collect()
        }
        Some(ids) => {
            let mut missing = Vec::new();
            for id in &ids {
                if store.get_dataset(tenant_id, id).await?.is_none() {
                    missing.push(id.clone());
                }
            }
            if !missing.is_empty() {
                return Err(ApiError::permission(format!(
                    "User '{tenant_id}' lacks permission for datasets: '{}'",
                    missing.join(", ")
                )));
            }
            ids
        }
    };
    let mut errors = Vec::new();
    let mut success = 0u64;
    for id in &targets {
        match remove_dataset(state, tenant_id, id).await {
            Ok(_) => success += 1,
            Err(e) => {
                tracing::error!(error = %e, dataset = %id, "dataset delete failed");
                errors.push(format!("Delete dataset error for {id}"));
            }
        }
    }
    if errors.is_empty() {
        return Ok(DeleteOutcome::Done(success));
    }
    let joined: String = errors.join("; ").chars().take(128).collect();
    let message = format!(
        "Successfully deleted {success} datasets, {} failed. Details: {joined}...",
        errors.len()
    );
    if success == 0 {
        return Err(ApiError::data(message));
    }
    errors.truncate(5);
    Ok(DeleteOutcome::Partial {
        success_count: success,
        errors,
    })
}

/// Remove a dataset with its documents, chunks and stored files.
async fn remove_dataset(state: &AppState, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
    // The dataset record goes first so nothing new can be added to it meanwhile.
    let existed = state.meta.delete_dataset(tenant_id, id).await?;
    if let Ok((docs, _)) = state
        .docs
        .list_documents(tenant_id, id, &crate::domain::DocumentListQuery::all())
        .await
    {
        for d in docs {
            state.docs.delete_document(tenant_id, id, &d.id).await?;
        }
        state.index.delete_dataset(tenant_id, id).await?;
        state
            .blobs
            .delete_prefix(tenant_id, &format!("{id}/"))
            .await?;
    }
    Ok(existed)
}

/// The dataset object with its aggregates filled from its documents, and its current
/// GraphRAG and RAPTOR tasks from the task store (upstream keeps both on the dataset row;
/// here the task store is their one home, so a worker never rewrites the dataset).
pub async fn render(state: &AppState, d: &Dataset) -> Result<Value, ApiError> {
    use crate::ports::tasks::{TASK_GRAPHRAG, TASK_RAPTOR};
    let (stats, graphrag, raptor) = futures_util::future::try_join3(
        async { Ok::<_, ApiError>(state.docs.dataset_stats(&d.tenant_id, &d.id).await?) },
        task_marks(state, d, TASK_GRAPHRAG),
        task_marks(state, d, TASK_RAPTOR),
    )
    .await?;
    let mut d = d.clone();
    d.document_count = stats.document_count;
    d.chunk_count = stats.chunk_count;
    d.token_num = stats.token_num;
    (d.graphrag_task_id, d.graphrag_task_finish_at) = graphrag;
    (d.raptor_task_id, d.raptor_task_finish_at) = raptor;
    Ok(d.to_api())
}

/// The dataset's current task of a type and, if it completed, when (`null` while it runs
/// or after it failed, as upstream only stamps a success).
async fn task_marks(
    state: &AppState,
    d: &Dataset,
    task_type: &str,
) -> Result<(Option<String>, Option<String>), ApiError> {
    let Some(id) = state
        .tasks
        .current_task(&d.tenant_id, &d.id, task_type)
        .await?
    else {
        return Ok((None, None));
    };
    let finished_at = state
        .tasks
        .get_task(&d.tenant_id, &id)
        .await?
        .filter(|t| t.progress >= 1.0)
        .map(|t| crate::contract::time::rfc1123(t.update_time));
    Ok((Some(id), finished_at))
}

#[derive(Debug, PartialEq)]
pub enum DeleteOutcome {
    /// Everything asked for went; how many datasets that was.
    Done(u64),
    Partial {
        success_count: u64,
        errors: Vec<String>,
    },
}

/// The message upstream gives for an unknown dataset id on the KG/RAPTOR routes.
pub fn no_authorization() -> ApiError {
    ApiError::new(RetCode::AuthenticationError, "No authorization.")
}

/// Used in messages that echo a raw value.
pub fn echo(v: &Value) -> String {
    py_str(v)
}

/// `max_length` message for a dataset name, exported for callers that check bytes.
pub fn name_too_long_msg() -> String {
    max_len_msg(NAME_LIMIT)
}
