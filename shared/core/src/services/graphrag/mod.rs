//! GraphRAG (D5 GET / D6 DELETE `knowledge_graph`, D7 `run_graphrag`, D8
//! `trace_graphrag`): a dataset's knowledge graph, built by a queued task and used by
//! retrieval and chats with `use_kg`.
//!
//! The task (`process`) reads the chunks of the dataset's enabled documents, extracts
//! entities and relations from each (`extract`: the tenant's chat model, or the built-in
//! extractor when that is the built-in answerer), merges them across the dataset
//! (`graph::merge`, with entity resolution when `parser_config.graphrag.resolution`),
//! ranks the entities by PageRank, and, when `graphrag.community` is set, groups them into
//! communities with a report each. Entities, relations and reports are embedded with the
//! dataset's model and the whole graph is written as one document in the blob store
//! (folder or S3) under the dataset's prefix, replacing the previous one in a single put:
//! a crash or a redelivery before that put leaves the previous graph whole, and a re-run
//! writes the same result again. Upstream keeps these as rows of its chunk index marked
//! unavailable to ordinary retrieval; one document per dataset gives the same reads (the
//! graph route, the `use_kg` search in `search`) without touching the chunk index.
//!
//! DELETE removes the graph and cancels a run in progress (its row ends with -1), so a run
//! cannot bring back a graph deleted while it was building.

pub mod checkpoint;
pub mod extract;
pub mod graph;
pub mod search;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::contract::envelope::ApiError;
use crate::contract::time::now_ms;
use crate::domain::models::{split_model_id, BUILTIN_FACTORY};
use crate::domain::{DocumentListQuery, GraphragTask, QueuedTask};
use crate::ports::chat::{ChatMessage, ChatModel, GenOptions};
use crate::ports::tasks::TASK_GRAPHRAG;
use crate::ports::{ChunkListQuery, Embedder, ModelError};
use crate::services::dataset_tasks::{
    self, line, retry_on_err, step, Step, TaskKind, TaskOutcome, TaskRun,
};
use crate::services::task_checkpoint::{should_pause, Checkpoint};
use crate::state::AppState;
use crate::StoreError;

use checkpoint::Extracted;
use graph::{Entity, Extraction, KnowledgeGraph};

/// The facts of GraphRAG's task rows and routes.
pub const KIND: TaskKind = TaskKind {
    task_type: TASK_GRAPHRAG,
    reply_key: "graphrag_task_id",
    busy_name: "A Graph Task",
    missing_row: None,
    label: "GraphRAG",
};

/// Upstream's default entity types.
const DEFAULT_ENTITY_TYPES: [&str; 5] = ["organization", "person", "geo", "event", "category"];
/// Words of text sent to the chat model per extraction call (upstream batches by tokens).
const BATCH_WORDS: usize = 1500;
/// Texts embedded per call.
const EMBED_BATCH: usize = 32;

/// `parser_config.graphrag`, with upstream's defaults for what is missing.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphConfig {
    pub use_graphrag: bool,
    pub entity_types: Vec<String>,
    pub method: String,
    pub community: bool,
    pub resolution: bool,
}

impl GraphConfig {
    pub fn from_parser_config(parser_config: &Value) -> Self {
        let g = parser_config.get("graphrag");
        let flag = |k: &str, default: bool| {
            g.and_then(|g| g.get(k))
                .map_or(default, crate::contract::pyfmt::truthy)
        };
        let entity_types: Vec<String> = g
            .and_then(|g| g.get("entity_types"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .filter(|v: &Vec<String>| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_ENTITY_TYPES.iter().map(|s| s.to_string()).collect());
        GraphConfig {
            // A dataset created without a graphrag section is upstream's naive default,
            // where it is on.
            use_graphrag: flag("use_graphrag", g.is_none()),
            entity_types,
            method: g
                .and_then(|g| g.get("method"))
                .and_then(Value::as_str)
                .unwrap_or("light")
                .to_string(),
            community: flag("community", false),
            resolution: flag("resolution", false),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Where the graph lives

/// The dataset's graph folder: the graph, and GraphRAG checkpoints under `partial/`.
fn graph_folder(dataset_id: &str) -> String {
    format!("{dataset_id}/{}/", checkpoint::FOLDER)
}

fn graph_key(dataset_id: &str) -> String {
    format!("{}knowledge_graph.json", graph_folder(dataset_id))
}

/// The dataset's graph, if one was built.
pub async fn load(
    state: &AppState,
    tenant: &str,
    dataset_id: &str,
) -> Result<Option<KnowledgeGraph>, StoreError> {
    let Some(bytes) = state.blobs.get(tenant, &graph_key(dataset_id)).await? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| StoreError::Backend(format!("stored knowledge graph unreadable: {e}")))
}

async fn save(
    state: &AppState,
    tenant: &str,
    dataset_id: &str,
    g: &KnowledgeGraph,
) -> Result<(), StoreError> {
    let bytes =
        serde_json::to_vec(g).map_err(|e| StoreError::Backend(format!("graph encoding: {e}")))?;
    state
        .blobs
        .put(tenant, &graph_key(dataset_id), Bytes::from(bytes))
        .await
}

// ---------------------------------------------------------------------------------------
// Routes

/// D7: record a GraphRAG task for the dataset and queue it.
pub async fn run(state: &AppState, tenant: &str, dataset_id: &str) -> Result<Value, ApiError> {
    dataset_tasks::start(state, tenant, dataset_id, &KIND, |task_id| {
        QueuedTask::Graphrag(GraphragTask {
            task_id,
            tenant_id: tenant.to_string(),
            dataset_id: dataset_id.to_string(),
        })
    })
    .await
}

/// D8: the dataset's current GraphRAG task row; `{}` if it never ran or the row is gone.
pub async fn trace(state: &AppState, tenant: &str, dataset_id: &str) -> Result<Value, ApiError> {
    dataset_tasks::trace(state, tenant, dataset_id, &KIND).await
}

/// D5: the graph (trimmed as upstream trims it) and its mind map; both `{}` without one.
pub async fn get(state: &AppState, tenant: &str, dataset_id: &str) -> Result<Value, ApiError> {
    let Some(dataset) = state.meta.get_dataset(tenant, dataset_id).await? else {
        return Err(crate::services::datasets::no_authorization());
    };
    Ok(match load(state, tenant, dataset_id).await? {
        Some(g) if !g.entities.is_empty() => {
            json!({"graph": g.to_api(), "mind_map": g.mind_map(&dataset.name)})
        }
        _ => json!({"graph": {}, "mind_map": {}}),
    })
}

/// D6: remove the graph, cancelling a run in progress. Answers `true`.
pub async fn delete(state: &AppState, tenant: &str, dataset_id: &str) -> Result<Value, ApiError> {
    if state.meta.get_dataset(tenant, dataset_id).await?.is_none() {
        return Err(crate::services::datasets::no_authorization());
    }
    if let Some(id) = state
        .tasks
        .current_task(tenant, dataset_id, TASK_GRAPHRAG)
        .await?
    {
        if let Some(mut row) = state.tasks.get_task(tenant, &id).await? {
            if !row.finished() {
                row.progress = -1.0;
                row.progress_msg.push('\n');
                row.progress_msg
                    .push_str(&line("[ERROR] Cancelled: the knowledge graph was deleted."));
                row.update_time = now_ms();
                match state.tasks.update_task(&row).await {
                    Ok(()) | Err(StoreError::NotFound(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    // The graph and any run's checkpoints, all under the graph's folder.
    state
        .blobs
        .delete_prefix(tenant, &graph_folder(dataset_id))
        .await?;
    Ok(json!(true))
}

// ---------------------------------------------------------------------------------------
// The worker

/// Why a build step could not finish.
enum BuildError {
    /// The model is not usable (bad key, unknown model): a permanent failure.
    Unavailable(String),
    /// A transient failure: retry the task.
    Transient(String),
}

impl From<ModelError> for BuildError {
    fn from(e: ModelError) -> Self {
        match e {
            e @ ModelError::Unavailable(..) => BuildError::Unavailable(e.to_string()),
            other => BuildError::Transient(other.to_string()),
        }
    }
}

async fn ask(model: &dyn ChatModel, prompt: String) -> Result<String, ModelError> {
    let messages = [
        ChatMessage::system("You build knowledge graphs from documents."),
        ChatMessage::user(prompt),
    ];
    let opts = GenOptions {
        temperature: Some(0.0),
        ..Default::default()
    };
    let mut stream = model.stream(&messages, &opts).await?;
    let mut answer = String::new();
    while let Some(d) = stream.next().await {
        answer.push_str(&d?.content);
    }
    Ok(answer)
}

/// The chunks to extract from: (document id, text) of enabled documents' available
/// chunks, RAPTOR summaries left out, in document then position order.
async fn gather(
    state: &AppState,
    tenant: &str,
    dataset_id: &str,
) -> Result<(Vec<(String, String)>, Vec<String>), Step> {
    let (mut docs, _) = state
        .docs
        .list_documents(tenant, dataset_id, &DocumentListQuery::all())
        .await?;
    docs.sort_by(|a, b| a.create_time.cmp(&b.create_time).then(a.id.cmp(&b.id)));
    let all = ChunkListQuery {
        keywords: None,
        page: 1,
        page_size: 0,
    };
    let mut out = Vec::new();
    let mut doc_ids = Vec::new();
    for doc in docs.iter().filter(|d| d.status == "1") {
        let (mut chunks, _) = state
            .index
            .list_document(tenant, dataset_id, &doc.id, &all)
            .await?;
        chunks.sort_by_key(|c| c.position);
        let before = out.len();
        out.extend(
            chunks
                .into_iter()
                .filter(|c| c.available && c.raptor_kwd.is_empty() && !c.content.trim().is_empty())
                .map(|c| (doc.id.clone(), c.content)),
        );
        if out.len() > before {
            doc_ids.push(doc.id.clone());
        }
    }
    Ok((out, doc_ids))
}

/// Batches of one document's consecutive chunks, each within the model's budget.
fn batches(chunks: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut words = 0;
    for (doc, text) in chunks {
        let n = text.split_whitespace().count();
        match out.last_mut() {
            Some((d, t)) if d == doc && words + n <= BATCH_WORDS => {
                t.push_str("\n\n");
                t.push_str(text);
                words += n;
            }
            _ => {
                out.push((doc.clone(), text.clone()));
                words = n;
            }
        }
    }
    out
}

/// Embed texts in batches.
async fn embed_all(
    embedder: &dyn Embedder,
    texts: Vec<String>,
) -> Result<Vec<Vec<f32>>, ModelError> {
    let mut out = Vec::with_capacity(texts.len());
    for batch in texts.chunks(EMBED_BATCH) {
        out.extend(embedder.embed(batch).await?);
    }
    Ok(out)
}

/// The text an entity is found by.
pub fn entity_text(e: &Entity) -> String {
    format!("{}: {}", e.name, e.description.replace('\n', " "))
}

/// Process one GraphRAG task. Never panics; the outcome says whether to ack it.
pub async fn process(
    state: &AppState,
    task: &GraphragTask,
    deadline: Option<Instant>,
) -> TaskOutcome {
    let (mut run, dataset, tenant) = match TaskRun::begin(
        state,
        KIND,
        &task.tenant_id,
        &task.task_id,
        &task.dataset_id,
    )
    .await
    {
        Ok(r) => r,
        Err(outcome) => return outcome,
    };
    let cfg = GraphConfig::from_parser_config(&dataset.parser_config);
    if !cfg.use_graphrag {
        return run
            .fail("GraphRAG is off for this dataset: set parser_config.graphrag.use_graphrag to true.")
            .await;
    }
    let embedder = match state.embedders.embedder(&tenant, &dataset.embedding_model) {
        Ok(e) => e,
        Err(e) => return run.fail(&e.to_string()).await,
    };
    // The tenant's default chat model, as for RAPTOR.
    let llm_id = tenant.llm_id.clone();
    let builtin = split_model_id(&llm_id).1 == Some(BUILTIN_FACTORY);
    let model: Option<Arc<dyn ChatModel>> = if builtin {
        None
    } else {
        match state.chat_models.chat_model(&tenant, &llm_id) {
            Ok(m) => Some(m),
            Err(e) => return run.fail(&format!("Cannot extract entities: {e}")).await,
        }
    };
    let method = if builtin {
        "built-in extractor".to_string()
    } else {
        llm_id.clone()
    };
    let how = if builtin {
        format!("Entities come from the built-in extractor (names and the sentences they share): {llm_id} is the built-in answerer, which cannot extract them.")
    } else {
        format!(
            "Extracting entities ({}) with {llm_id}, method {}.",
            cfg.entity_types.join(", "),
            cfg.method
        )
    };
    step!(run.note(0.05, &how).await);

    let (chunks, doc_ids) = step!(gather(state, &task.tenant_id, &task.dataset_id).await);
    if chunks.is_empty() {
        return run
            .fail("No parsed chunks in the dataset's enabled documents to build a graph from.")
            .await;
    }
    step!(
        run.note(
            0.1,
            &format!(
                "Read {} chunks of {} documents.",
                chunks.len(),
                doc_ids.len()
            )
        )
        .await
    );

    // Entities and relations per batch of text.
    let found: Vec<(String, Extraction)> = match &model {
        None => extract::builtin(&chunks, &cfg.entity_types),
        Some(m) => {
            match extract_with_model(&mut run, task, m.as_ref(), &cfg, &chunks, deadline).await {
                Ok(found) => found,
                Err(outcome) => return outcome,
            }
        }
    };

    let (mut entities, relations) = graph::merge(&found, cfg.resolution);
    graph::pagerank(&mut entities, &relations);
    step!(
        run.note(
            0.75,
            &format!(
                "Merged into {} entities and {} relations{}.",
                entities.len(),
                relations.len(),
                if cfg.resolution {
                    " (entity resolution on)"
                } else {
                    ""
                }
            )
        )
        .await
    );

    let mut g = KnowledgeGraph {
        task_id: task.task_id.clone(),
        method,
        entities,
        relations,
        communities: vec![],
        doc_ids,
    };
    if cfg.community {
        match build_communities(&mut g, model.as_deref()).await {
            Ok(()) => {}
            Err(BuildError::Unavailable(m)) => {
                return run
                    .fail(&format!("Cannot write community reports: {m}"))
                    .await
            }
            Err(BuildError::Transient(m)) => return TaskOutcome::Retry(m),
        }
        step!(
            run.note(
                0.85,
                &format!("Wrote {} community reports.", g.communities.len())
            )
            .await
        );
    }

    // Vectors, so `use_kg` can find entities, relations and reports by meaning.
    let texts: Vec<String> = g.entities.iter().map(entity_text).collect();
    let vecs = retry_on_err!(embed_all(embedder.as_ref(), texts).await);
    for (e, v) in g.entities.iter_mut().zip(vecs) {
        e.vector = v;
    }
    let texts: Vec<String> = g
        .relations
        .iter()
        .map(|r| {
            format!(
                "{} {}: {}",
                r.source,
                r.target,
                r.description.replace('\n', " ")
            )
        })
        .collect();
    let vecs = retry_on_err!(embed_all(embedder.as_ref(), texts).await);
    for (r, v) in g.relations.iter_mut().zip(vecs) {
        r.vector = v;
    }
    let texts: Vec<String> = g.communities.iter().map(|c| c.report.clone()).collect();
    let vecs = retry_on_err!(embed_all(embedder.as_ref(), texts).await);
    for (c, v) in g.communities.iter_mut().zip(vecs) {
        c.vector = v;
    }

    // Written only while this run is still the dataset's current, unfinished one.
    if !retry_on_err!(run.current().await) {
        return run.superseded().await;
    }
    match state.tasks.get_task(&task.tenant_id, &task.task_id).await {
        Ok(Some(r)) if !r.finished() => {}
        Ok(_) => return TaskOutcome::Stale,
        Err(e) => return TaskOutcome::Retry(e.to_string()),
    }
    retry_on_err!(save(state, &task.tenant_id, &task.dataset_id, &g).await);
    saved_progress(state, task).clear().await;
    let written = g.entities.len() + g.relations.len() + g.communities.len();
    let elapsed = run.began.elapsed().as_secs_f64();
    step!(
        run.note(
            1.0,
            &format!(
                "Knowledge graph: {} entities, {} relations, {} communities. Task done ({elapsed:.2}s)",
                g.entities.len(),
                g.relations.len(),
                g.communities.len()
            )
        )
        .await
    );
    TaskOutcome::Done(written)
}

/// Extraction stops for a fresh invocation when less than this is left before the
/// deadline (one chat-model call can take a minute or more).
const EXTRACT_MARGIN: Duration = Duration::from_secs(120);
/// What merging, community reports, embedding and saving are given: with less left after
/// an extraction, they run in a fresh invocation.
const FINISH_BUDGET: Duration = Duration::from_secs(300);

/// Batches between two saves of the extraction's progress (on a deadline only).
const SAVE_EVERY: usize = 16;

fn saved_progress<'a>(state: &'a AppState, task: &'a GraphragTask) -> Checkpoint<'a> {
    Checkpoint::new(
        state,
        &task.tenant_id,
        &task.dataset_id,
        checkpoint::FOLDER,
        &task.task_id,
    )
}

/// Ask the chat model batch by batch, resuming from the run's checkpoint; `Err` ends the
/// task with that outcome (a `Continue` or `Retry` after saving the checkpoint).
async fn extract_with_model(
    run: &mut TaskRun<'_>,
    task: &GraphragTask,
    model: &dyn ChatModel,
    cfg: &GraphConfig,
    chunks: &[(String, String)],
    deadline: Option<Instant>,
) -> Result<Vec<(String, Extraction)>, TaskOutcome> {
    let saved = saved_progress(run.state, task);
    let todo = batches(chunks);
    let batches_digest = checkpoint::digest(&todo);
    let fits = |c: &Extracted| c.batches_digest == batches_digest && c.done <= todo.len();
    let mut at = match saved.load(fits).await {
        Ok(c) => c.unwrap_or_else(|| Extracted {
            batches_digest: batches_digest.clone(),
            ..Default::default()
        }),
        Err(e) => return Err(TaskOutcome::Retry(e.to_string())),
    };
    if at.done > 0 {
        note_or_end(
            run,
            0.1 + 0.6 * at.done as f64 / todo.len() as f64,
            &format!("Resuming after {}/{} batches.", at.done, todo.len()),
        )
        .await?;
    }
    let resumed_at = at.done;
    let mut last_note = 0.1;
    while at.done < todo.len() {
        // At least one batch per invocation, so every invocation makes progress.
        if should_pause(deadline, at.done > resumed_at, EXTRACT_MARGIN) {
            return Err(pause(run, &saved, &at, todo.len()).await);
        }
        let (doc, text) = &todo[at.done];
        let answer = match ask(model, extract::extraction_prompt(&cfg.entity_types, text)).await {
            Ok(a) => a,
            Err(e) => match BuildError::from(e) {
                BuildError::Unavailable(m) => {
                    return Err(run.fail(&format!("Cannot extract entities: {m}")).await)
                }
                BuildError::Transient(m) => {
                    // Best effort: without it the retry repeats this invocation's batches.
                    if at.done > resumed_at {
                        let _ = saved.save(&at).await;
                    }
                    return Err(TaskOutcome::Retry(m));
                }
            },
        };
        match extract::parse_extraction(&answer) {
            Some(x) => at.found.push((doc.clone(), x)),
            None => at.unreadable += 1,
        }
        at.done += 1;
        // On a deadline (a Lambda), progress is kept every few batches too: an invocation
        // killed mid-call loses only those. Best effort: a failed save only costs time.
        if deadline.is_some() && at.done % SAVE_EVERY == 0 {
            let _ = saved.save(&at).await;
        }
        let progress = 0.1 + 0.6 * at.done as f64 / todo.len() as f64;
        if progress - last_note >= 0.1 || at.done == todo.len() {
            last_note = progress;
            note_or_end(
                run,
                progress,
                &format!("Extracted from {}/{} batches.", at.done, todo.len()),
            )
            .await?;
        }
    }
    if should_pause(deadline, at.done > resumed_at, FINISH_BUDGET) {
        return Err(pause(run, &saved, &at, todo.len()).await);
    }
    if at.unreadable > 0 {
        note_or_end(
            run,
            0.7,
            &format!(
                "{} of {} answers were not the JSON asked for and were skipped.",
                at.unreadable,
                todo.len()
            ),
        )
        .await?;
    }
    if at.found.is_empty() {
        return Err(run
            .fail("The chat model's answers contained no entities in the JSON shape asked for.")
            .await);
    }
    Ok(at.found)
}

async fn note_or_end(run: &mut TaskRun<'_>, progress: f64, msg: &str) -> Result<(), TaskOutcome> {
    run.note(progress, msg).await.map_err(TaskOutcome::from)
}

/// Save the checkpoint and hand the rest of the run to a fresh invocation.
async fn pause(
    run: &mut TaskRun<'_>,
    saved: &Checkpoint<'_>,
    at: &Extracted,
    batches: usize,
) -> TaskOutcome {
    let progress = 0.1 + 0.6 * at.done as f64 / batches.max(1) as f64;
    let msg = format!(
        "Extracted from {}/{batches} batches; continuing in a new worker invocation.",
        at.done
    );
    run.hand_over(saved, at, progress, msg).await
}

/// Group the entities into communities and write each one's report.
async fn build_communities(
    g: &mut KnowledgeGraph,
    model: Option<&dyn ChatModel>,
) -> Result<(), BuildError> {
    let groups = graph::communities(&g.entities, &g.relations);
    let mut out = Vec::with_capacity(groups.len());
    for names in groups {
        let set: std::collections::HashSet<&str> = names.iter().map(String::as_str).collect();
        let members: Vec<&Entity> = g
            .entities
            .iter()
            .filter(|e| set.contains(e.name.as_str()))
            .collect();
        let rels: Vec<&graph::Relation> = g
            .relations
            .iter()
            .filter(|r| set.contains(r.source.as_str()) && set.contains(r.target.as_str()))
            .collect();
        let written = match model {
            Some(m) => {
                let answer = ask(
                    m,
                    extract::report_prompt(&extract::community_facts(&members, &rels)),
                )
                .await?;
                extract::parse_report(&answer)
            }
            None => None,
        };
        // A model answer that is not a report falls back to the built-in one.
        let (title, report, rating) =
            written.unwrap_or_else(|| extract::builtin_report(&members, &rels));
        out.push(graph::Community {
            title,
            report,
            entities: names,
            rating,
            vector: vec![],
        });
    }
    g.communities = out;
    Ok(())
}

/// After the last attempt: record the failure on the row, unless it finished meanwhile.
pub async fn give_up(state: &AppState, task: &GraphragTask, reason: &str, attempts: u32) {
    dataset_tasks::give_up(state, &task.tenant_id, &task.task_id, reason, attempts).await
}

#[cfg(test)]
mod tests;
