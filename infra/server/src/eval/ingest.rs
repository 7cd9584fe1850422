//! Loading the corpus through the product's upload and parse path.

use super::*;

/// A document name from a title: path separators and control characters replaced, cut to
/// fit the 255-byte name limit with its `.txt`.
pub(super) fn title_name(title: &str, id: &str) -> String {
    let clean: String = title
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                ' '
            } else {
                c
            }
        })
        .collect();
    let clean = clean.trim();
    if clean.is_empty() {
        return format!("{id}.txt");
    }
    let mut cut = clean.len().min(200);
    while !clean.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}.txt", clean[..cut].trim_end())
}

pub(super) struct Ingest {
    pub(super) reused: bool,
    pub(super) upload_s: f64,
    pub(super) parse: Option<bench::ParseRun>,
}

pub(super) async fn ingest(
    dep: &bench::Deployment,
    tenant_id: &str,
    coll: &Collection,
    args: &BeirArgs,
) -> BenchResult<(Dataset, Ingest)> {
    let tw = args
        .title_weight
        .map_or_else(|| "default".to_string(), |w| w.to_string());
    let ds_name = format!(
        "beir-{}-{:?}-tw{}-n{}",
        coll.name,
        args.doc_name,
        tw,
        coll.corpus.len()
    )
    .to_lowercase();
    if let Some(ds) = dep
        .state
        .meta
        .find_dataset_by_name(tenant_id, &ds_name)
        .await?
    {
        let docs = bench::all_documents(&dep.state, tenant_id, &ds.id).await?;
        let done = docs.iter().filter(|d| d.run == RunStatus::Done).count();
        if done == coll.corpus.len() {
            eprintln!("reusing dataset {ds_name} ({done} documents parsed)");
            return Ok((
                ds,
                Ingest {
                    reused: true,
                    upload_s: 0.0,
                    parse: None,
                },
            ));
        }
        return Err(format!(
            "dataset {ds_name} exists in {} with {done}/{} documents parsed; use a fresh --data-dir",
            dep.dir.display(),
            coll.corpus.len()
        )
        .into());
    }
    let mut dataset = bench::create_dataset(&dep.state, tenant_id, &ds_name, "one").await?;
    if let (Some(w), Value::Object(pc)) = (args.title_weight, &mut dataset.parser_config) {
        pc.insert("filename_embd_weight".into(), json!(w));
        dep.state.meta.update_dataset(&dataset).await?;
    }
    let files: Vec<UploadFile> = coll
        .corpus
        .iter()
        .map(|d| {
            let name = match args.doc_name {
                DocName::Id => format!("{}.txt", d.id),
                DocName::Title => title_name(&d.title, &d.id),
            };
            let body = if d.title.trim().is_empty() {
                d.text.clone()
            } else {
                format!("{}\n{}", d.title, d.text)
            };
            UploadFile {
                name,
                bytes: Bytes::from(body),
            }
        })
        .collect();
    let total = files.len();
    eprintln!("uploading {total} documents into dataset {ds_name}");
    let began = Instant::now();
    let docs = bench::upload_all(&dep.state, tenant_id, &dataset, files, |i| {
        if i % 1000 == 0 {
            eprintln!("  uploaded {i}/{total}");
        }
    })
    .await?;
    // Record each document's corpus id, whatever its name.
    for (doc, entry) in docs.iter().zip(&coll.corpus) {
        let mut d = doc.clone();
        d.meta_fields = json!({"corpus_id": entry.id});
        dep.state.docs.update_document(&d).await?;
    }
    let upload_s = began.elapsed().as_secs_f64();
    eprintln!("parsing {total} documents with {} workers", args.workers);
    let ids: Vec<String> = docs.iter().map(|d| d.id.clone()).collect();
    let run = bench::parse_all(dep, tenant_id, &dataset.id, &ids, args.workers).await?;
    if !run.failed.is_empty() {
        for (n, m) in run.failed.iter().take(5) {
            eprintln!("  FAILED {n}: {m}");
        }
        return Err(format!("{} documents failed to parse", run.failed.len()).into());
    }
    Ok((
        dataset,
        Ingest {
            reused: false,
            upload_s,
            parse: Some(run),
        },
    ))
}
