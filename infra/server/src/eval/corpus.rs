//! Reading a BEIR-layout collection: corpus, queries and qrels (JSONL + TSV).

use super::*;

pub(super) struct CorpusDoc {
    pub(super) id: String,
    pub(super) title: String,
    pub(super) text: String,
}

pub(super) struct Collection {
    pub(super) name: String,
    pub(super) corpus: Vec<CorpusDoc>,
    /// (query id, text), in file order, only judged ones.
    pub(super) queries: Vec<(String, String)>,
    pub(super) qrels: HashMap<String, Qrels>,
}

pub(super) fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(super) fn read_jsonl(path: &Path, mut each: impl FnMut(Value) -> BenchResult) -> BenchResult {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(&line)
            .map_err(|e| format!("{} line {}: {e}", path.display(), i + 1))?;
        each(v)?;
    }
    Ok(())
}

pub(super) fn load_collection(args: &BeirArgs) -> BenchResult<Collection> {
    let dir = &args.dir;
    let mut corpus = Vec::new();
    read_jsonl(&dir.join("corpus.jsonl"), |v| {
        let id = id_of(&v["_id"]).ok_or("corpus entry without `_id`")?;
        let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
        corpus.push(CorpusDoc {
            id,
            title: s("title"),
            text: s("text"),
        });
        Ok(())
    })?;
    if let Some(n) = args.limit_docs {
        corpus.truncate(n);
    }
    let in_corpus: HashSet<&str> = corpus.iter().map(|d| d.id.as_str()).collect();

    let qrels_path = dir.join("qrels").join(format!("{}.tsv", args.queries));
    let text = std::fs::read_to_string(&qrels_path)
        .map_err(|e| format!("{}: {e}", qrels_path.display()))?;
    let mut qrels: HashMap<String, Qrels> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let cols: Vec<&str> = line.trim_end_matches('\r').split('\t').collect();
        if cols.len() < 3 || (i == 0 && cols[2].trim().parse::<i64>().is_err()) {
            continue; // header or blank
        }
        let grade: i64 = cols[2]
            .trim()
            .parse()
            .map_err(|_| format!("{} line {}: bad score", qrels_path.display(), i + 1))?;
        if grade > 0 && in_corpus.contains(cols[1]) {
            qrels
                .entry(cols[0].to_string())
                .or_default()
                .insert(cols[1].to_string(), grade);
        }
    }

    let mut queries = Vec::new();
    read_jsonl(&dir.join("queries.jsonl"), |v| {
        let id = id_of(&v["_id"]).ok_or("query without `_id`")?;
        if qrels.contains_key(&id) {
            queries.push((id, v["text"].as_str().unwrap_or("").to_string()));
        }
        Ok(())
    })?;
    if let Some(n) = args.limit_queries {
        queries.truncate(n);
    }
    let kept: HashSet<&str> = queries.iter().map(|(q, _)| q.as_str()).collect();
    qrels.retain(|q, _| kept.contains(q.as_str()));
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "beir".into());
    Ok(Collection {
        name,
        corpus,
        queries,
        qrels,
    })
}
