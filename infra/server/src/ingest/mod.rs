//! `lambdarag ingest <folder> --dataset NAME`: upload and parse a folder through the HTTP
//! API (the embedded server or the AWS deployment alike), with progress and a summary.
//!
//! Resuming keeps no local state: the server's document list is the journal. A file counts
//! as uploaded when the dataset holds a document of its name (or the server's `(n)` rename
//! of it) and size, so a rerun after Ctrl-C or `kill -9`, even one whose last upload reply
//! was lost, uploads nothing twice; documents not DONE are parsed (or waited for), DONE
//! ones are left alone.

mod client;
mod plan;
mod report;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;

use client::{Client, ClientError, RemoteDataset};
use plan::{LocalFile, Next, RemoteDoc};
use report::{Failure, Progress, Summary};

type CliResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Args)]
pub struct IngestArgs {
    /// The folder to ingest, walked recursively; hidden files and directories are skipped.
    /// A nested file's document name joins its directories with `__`
    /// (`guides/setup/intro.md` → `guides__setup__intro.md`).
    pub folder: PathBuf,
    /// The dataset, by name; created if the caller has none of that name.
    #[arg(long)]
    pub dataset: String,
    /// Chunk method of a dataset created by this command (an existing dataset keeps its own).
    #[arg(long)]
    pub chunk_method: Option<String>,
    /// The API's address: the embedded server or the AWS deployment's endpoint.
    #[arg(
        long,
        env = "LAMBDARAG_BASE_URL",
        default_value = "http://127.0.0.1:9380"
    )]
    pub base_url: String,
    /// An API key of the tenant that owns (or will own) the dataset.
    #[arg(long, env = "LAMBDARAG_API_KEY", hide_env_values = true)]
    pub api_key: String,
    /// Files per upload request.
    #[arg(long, default_value_t = 16)]
    pub batch_files: usize,
    /// Bytes per upload request (a larger file goes alone). The default stays under a
    /// Lambda request's 6 MB once base64-encoded.
    #[arg(long, default_value_t = 4 << 20)]
    pub batch_bytes: u64,
    /// How often parse progress is polled, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub poll_ms: u64,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Upload attempts per file when the server's answers are lost.
const UPLOAD_ATTEMPTS: u32 = 2;
/// Documents per parse request.
const PARSE_BATCH: usize = 64;

/// Where one file stands.
struct Slot {
    file: LocalFile,
    doc: Option<RemoteDoc>,
    /// Ended: `Ok` DONE, `Err` failed with the reason.
    end: Option<Result<(), String>>,
    attempts: u32,
}

pub async fn run(args: IngestArgs) -> CliResult {
    tokio::select! {
        r = ingest(&args) => r,
        _ = tokio::signal::ctrl_c() => {
            Err("interrupted: run the same command again to resume (nothing is uploaded twice)".into())
        }
    }
}

async fn ingest(args: &IngestArgs) -> CliResult {
    let started = Instant::now();
    let (files, refused) = plan::walk(&args.folder)?;
    let client = Client::new(&args.base_url, &args.api_key)?;
    let (dataset, created) = dataset(&client, args).await?;
    let mut summary = Summary {
        dataset: dataset.name.clone(),
        dataset_id: dataset.id.clone(),
        chunk_method: dataset.chunk_method.clone(),
        created_dataset: created,
        files: files.len() + refused.len(),
        ..Default::default()
    };
    summary.failures = refused
        .into_iter()
        .map(|r| Failure {
            file: r.rel,
            reason: r.reason,
        })
        .collect();

    // Resume: what the server already holds for each file.
    let docs = client.list_documents(&dataset.id).await?;
    let matched = plan::match_uploaded(&files, &docs);
    let mut slots: Vec<Slot> = files
        .into_iter()
        .zip(matched)
        .map(|(file, m)| Slot {
            file,
            doc: m.map(|i| docs[i].clone()),
            end: None,
            attempts: 0,
        })
        .collect();
    let mut to_parse = Vec::new();
    let mut to_upload = Vec::new();
    for (i, s) in slots.iter_mut().enumerate() {
        match plan::next_step(s.doc.as_ref()) {
            Next::Upload => to_upload.push(i),
            Next::Parse => to_parse.push(i),
            Next::Wait => {}
            Next::Done => {
                s.end = Some(Ok(()));
                summary.already_done += 1;
            }
        }
    }
    summary.already_uploaded = slots.len() - to_upload.len();
    let mut progress = Progress::new(to_upload.len() as u64, slots.len() as u64);

    // Parses of documents from earlier runs start first, then each upload batch's.
    summary.parse_started += start_parses(&client, &dataset.id, &mut slots, &to_parse).await;
    upload_all(
        &client,
        args,
        &dataset.id,
        &mut slots,
        to_upload,
        &mut progress,
        &mut summary,
    )
    .await?;
    summary.upload_secs = started.elapsed().as_secs_f64();
    wait_for_parses(&client, args, &dataset.id, &mut slots, &mut progress).await?;
    progress.finish();

    for s in &slots {
        match &s.end {
            Some(Ok(())) => {
                summary.done += 1;
                if let Some(d) = &s.doc {
                    summary.chunks += d.chunk_count;
                    summary.tokens += d.token_count;
                }
            }
            Some(Err(reason)) => summary.failures.push(Failure {
                file: s.file.rel.clone(),
                reason: reason.clone(),
            }),
            None => {}
        }
    }
    summary.failures.sort_by(|a, b| a.file.cmp(&b.file));
    summary.failed = summary.failures.len();
    summary.elapsed_secs = started.elapsed().as_secs_f64();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", summary.render());
    }
    if summary.failed > 0 {
        return Err(format!("{} of {} files failed", summary.failed, summary.files).into());
    }
    Ok(())
}

/// The dataset of that name, or a new one (and whether it was created).
async fn dataset(client: &Client, args: &IngestArgs) -> CliResult<(RemoteDataset, bool)> {
    if let Some(d) = client.find_dataset(&args.dataset).await? {
        if let Some(m) = &args.chunk_method {
            if *m != d.chunk_method {
                eprintln!(
                    "note: dataset {} exists with chunk method {}; --chunk-method {m} applies to new datasets only",
                    d.name, d.chunk_method
                );
            }
        }
        return Ok((d, false));
    }
    let d = client
        .create_dataset(&args.dataset, args.chunk_method.as_deref())
        .await?;
    Ok((d, true))
}

/// Ask the server to parse these slots' documents; returns how many parses started.
/// A refused batch is retried one document at a time, so one bad id fails only itself.
async fn start_parses(
    client: &Client,
    dataset_id: &str,
    slots: &mut [Slot],
    which: &[usize],
) -> usize {
    let mut started = 0;
    for chunk in which.chunks(PARSE_BATCH) {
        let ids: Vec<String> = chunk
            .iter()
            .filter_map(|&i| slots[i].doc.as_ref().map(|d| d.id.clone()))
            .collect();
        if ids.is_empty() {
            continue;
        }
        if client.parse(dataset_id, &ids).await.is_ok() {
            for &i in chunk {
                mark_running(&mut slots[i]);
            }
            started += chunk.len();
            continue;
        }
        for &i in chunk {
            let Some(id) = slots[i].doc.as_ref().map(|d| d.id.clone()) else {
                continue;
            };
            let mut result = client.parse(dataset_id, std::slice::from_ref(&id)).await;
            if matches!(result, Err(ClientError::Transport(_))) {
                // A parse request is safe to repeat: the document is not being processed.
                tokio::time::sleep(Duration::from_secs(1)).await;
                result = client.parse(dataset_id, std::slice::from_ref(&id)).await;
            }
            match result {
                Ok(()) => {
                    mark_running(&mut slots[i]);
                    started += 1;
                }
                Err(e) => slots[i].end = Some(Err(format!("could not start parsing: {e}"))),
            }
        }
    }
    started
}

fn mark_running(slot: &mut Slot) {
    if let Some(d) = slot.doc.as_mut() {
        d.run = "RUNNING".into();
    }
}

/// Upload the files in batches, starting each batch's parses as soon as it is stored.
async fn upload_all(
    client: &Client,
    args: &IngestArgs,
    dataset_id: &str,
    slots: &mut [Slot],
    mut pending: Vec<usize>,
    progress: &mut Progress,
    summary: &mut Summary,
) -> CliResult {
    let (mut done, mut failed) = (0u64, 0u64);
    progress.uploaded(0, 0);
    while !pending.is_empty() {
        let sizes: Vec<(usize, u64)> = pending.iter().map(|&i| (i, slots[i].file.size)).collect();
        let mut retry = Vec::new();
        for batch in plan::batches(&sizes, args.batch_files, args.batch_bytes) {
            let mut parts = Vec::with_capacity(batch.len());
            let mut sent = Vec::with_capacity(batch.len());
            for &i in &batch {
                match std::fs::read(&slots[i].file.path) {
                    Ok(bytes) => {
                        parts.push((slots[i].file.name.clone(), bytes));
                        sent.push(i);
                    }
                    Err(e) => {
                        slots[i].end = Some(Err(format!("cannot read: {e}")));
                        failed += 1;
                    }
                }
                slots[i].attempts += 1;
            }
            if sent.is_empty() {
                continue;
            }
            let outcome = client.upload(dataset_id, parts).await;
            let error = match outcome {
                Ok(docs) if docs.len() == sent.len() => {
                    for (&i, d) in sent.iter().zip(docs) {
                        slots[i].doc = Some(d);
                    }
                    None
                }
                Ok(_) => Some(ClientError::Protocol(
                    "the upload answered a different number of documents".into(),
                )),
                Err(e) => Some(e),
            };
            if let Some(e) = &error {
                reconcile(client, dataset_id, slots, &sent, e).await?;
            }
            let stored: Vec<usize> = sent
                .iter()
                .copied()
                .filter(|&i| slots[i].doc.is_some())
                .collect();
            done += stored.len() as u64;
            summary.uploaded += stored.len();
            for &i in &sent {
                if slots[i].doc.is_some() || slots[i].end.is_some() {
                    if slots[i].end.is_some() {
                        failed += 1;
                    }
                } else if slots[i].attempts < UPLOAD_ATTEMPTS {
                    retry.push(i);
                } else {
                    let why = error.as_ref().map(|e| e.to_string()).unwrap_or_default();
                    slots[i].end = Some(Err(format!("upload failed: {why}")));
                    failed += 1;
                }
            }
            summary.parse_started += start_parses(client, dataset_id, slots, &stored).await;
            progress.uploaded(done, failed);
        }
        pending = retry;
    }
    Ok(())
}

/// After an upload request failed or its answer was lost, find out what it stored: the
/// server names refused files (`name: reason` lines); the others may have become documents.
async fn reconcile(
    client: &Client,
    dataset_id: &str,
    slots: &mut [Slot],
    sent: &[usize],
    error: &ClientError,
) -> CliResult {
    if let ClientError::Api { message, .. } = error {
        for line in message.lines() {
            for &i in sent {
                let name = &slots[i].file.name;
                if let Some(reason) = line
                    .strip_prefix(name.as_str())
                    .and_then(|r| r.strip_prefix(": "))
                {
                    slots[i].end = Some(Err(reason.to_string()));
                }
            }
        }
    }
    let docs = list_with_retry(client, dataset_id).await?;
    let claimed: std::collections::HashSet<&str> = slots
        .iter()
        .filter_map(|s| s.doc.as_ref().map(|d| d.id.as_str()))
        .collect();
    let free: Vec<RemoteDoc> = docs
        .into_iter()
        .filter(|d| !claimed.contains(d.id.as_str()))
        .collect();
    let open: Vec<usize> = sent
        .iter()
        .copied()
        .filter(|&i| slots[i].doc.is_none() && slots[i].end.is_none())
        .collect();
    let files: Vec<LocalFile> = open.iter().map(|&i| slots[i].file.clone()).collect();
    for (k, m) in plan::match_uploaded(&files, &free).into_iter().enumerate() {
        if let Some(di) = m {
            slots[open[k]].doc = Some(free[di].clone());
        }
    }
    Ok(())
}

/// The document list, retried a few times on transport errors (a server restarting, a
/// Lambda cold start timing out).
async fn list_with_retry(client: &Client, dataset_id: &str) -> CliResult<Vec<RemoteDoc>> {
    let mut delay = Duration::from_millis(500);
    for _ in 0..5 {
        match client.list_documents(dataset_id).await {
            Err(ClientError::Transport(e)) => {
                tracing::warn!(error = %e, "listing documents failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            other => return Ok(other?),
        }
    }
    Ok(client.list_documents(dataset_id).await?)
}

/// Poll the document list until every uploaded file's document has ended.
async fn wait_for_parses(
    client: &Client,
    args: &IngestArgs,
    dataset_id: &str,
    slots: &mut [Slot],
    progress: &mut Progress,
) -> CliResult {
    let poll = Duration::from_millis(args.poll_ms.max(50));
    loop {
        let open = slots
            .iter()
            .filter(|s| s.end.is_none() && s.doc.is_some())
            .count();
        let done = slots
            .iter()
            .filter(|s| matches!(s.end, Some(Ok(()))))
            .count() as u64;
        let failed = slots
            .iter()
            .filter(|s| matches!(s.end, Some(Err(_))))
            .count() as u64;
        progress.parsed(done, failed, open == 0);
        if open == 0 {
            return Ok(());
        }
        tokio::time::sleep(poll).await;
        let docs: HashMap<String, RemoteDoc> = list_with_retry(client, dataset_id)
            .await?
            .into_iter()
            .map(|d| (d.id.clone(), d))
            .collect();
        let mut unstarted = Vec::new();
        for (i, s) in slots
            .iter_mut()
            .enumerate()
            .filter(|(_, s)| s.end.is_none())
        {
            let Some(id) = s.doc.as_ref().map(|d| d.id.clone()) else {
                continue;
            };
            match docs.get(&id) {
                None => s.end = Some(Err("the document was deleted meanwhile".into())),
                Some(d) => {
                    s.end = plan::finished(d);
                    if d.run == "UNSTART" {
                        unstarted.push(i);
                    }
                    s.doc = Some(d.clone());
                }
            }
        }
        // A parse request answered with a lost reply that never took effect.
        start_parses(client, dataset_id, slots, &unstarted).await;
    }
}
