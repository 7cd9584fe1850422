//! The queries behind `search` and `search_hits`: candidates of the text and vector
//! rankings, the scores of the other side, and sorted pages.

use super::*;

impl OpenSearchIndex {
    /// Candidates and their scores from one query (`None`: the index does not exist).
    async fn hits(&self, index: &str, body: Value) -> Result<Option<Vec<Hit>>, StoreError> {
        Ok(self.search_body(index, body).await?.map(|b| hits_of(&b)))
    }

    /// The BM25 scores of `ids` for `text` (ids that do not match are absent).
    async fn term_scores(
        &self,
        index: &str,
        text: &str,
        filters: &[Value],
        ids: &[String],
    ) -> Result<HashMap<String, f32>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut filters = filters.to_vec();
        filters.push(json!({"ids": {"values": ids}}));
        let body = json!({
            "size": ids.len(),
            "_source": false,
            "query": {"bool": {"must": [multi_match(text)], "filter": filters}}
        });
        Ok(self
            .hits(index, body)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(|h| (h.id, h.score as f32))
            .collect())
    }

    /// The cosine of `query` with the stored vectors of `ids` (from `_source`).
    async fn cosines(
        &self,
        index: &str,
        field: &str,
        query: &[f32],
        ids: &[String],
    ) -> Result<HashMap<String, f32>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let body = json!({
            "size": ids.len(),
            "_source": {"includes": [field]},
            "query": {"ids": {"values": ids}}
        });
        Ok(self
            .hits(index, body)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(|h| {
                let v: Vec<f32> = h
                    .source
                    .get(field)
                    .and_then(|v| serde_json::from_value(v.clone()).ok())
                    .unwrap_or_default();
                (h.id, cosine(query, &v))
            })
            .collect())
    }

    /// A listing query, paged: `skip` hits, then at most `take` (`None` = all). Uses
    /// `from`/`size` inside the result window and `search_after` beyond it.
    pub(super) async fn sorted_page(
        &self,
        index: &str,
        query: Value,
        skip: usize,
        take: Option<usize>,
    ) -> Result<(Vec<Hit>, u64), StoreError> {
        let sort = json!([{"position": "asc"}, {"chunk_id": "asc"}]);
        if let Some(take) = take.filter(|t| skip + t <= MAX_WINDOW) {
            let body = json!({
                "from": skip,
                "size": take,
                "track_total_hits": true,
                "sort": sort,
                "_source": no_vectors(),
                "query": query
            });
            let Some(reply) = self.search_body(index, body).await? else {
                return Ok((vec![], 0));
            };
            return Ok((hits_of(&reply), total_of(&reply)));
        }
        let mut out = vec![];
        let mut skipped = 0usize;
        let mut after: Option<Value> = None;
        loop {
            let mut body = json!({
                "size": SCAN_PAGE,
                "track_total_hits": true,
                "sort": sort,
                "_source": no_vectors(),
                "query": query
            });
            if let Some(a) = after.take() {
                body["search_after"] = a;
            }
            let Some(reply) = self.search_body(index, body).await? else {
                return Ok((vec![], 0));
            };
            let total = total_of(&reply);
            let raw = reply
                .pointer("/hits/hits")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            after = raw.last().and_then(|h| h.get("sort")).cloned();
            let page = hits_of(&reply);
            let n = page.len();
            for hit in page {
                if skipped < skip {
                    skipped += 1;
                } else if take.is_none_or(|t| out.len() < t) {
                    out.push(hit);
                }
            }
            if n < SCAN_PAGE || after.is_none() || take.is_some_and(|t| out.len() >= t) {
                return Ok((out, total));
            }
        }
    }

    /// The candidates of a search, each with both scores, in no order. With
    /// `available_only`, unavailable chunks are filtered inside both queries (they take no
    /// `k` slot); a filter never changes a score. `source` is what the hits carry.
    pub(super) async fn candidates(
        &self,
        tenant_id: &str,
        req: &SearchRequest,
        available_only: bool,
        source: Value,
    ) -> Result<Vec<Candidate>, StoreError> {
        let documents = req.document_ids.as_deref();
        if req.top_k == 0 || req.dataset_ids.is_empty() || documents.is_some_and(<[_]>::is_empty) {
            return Ok(vec![]);
        }
        let index = self.index_name(tenant_id);
        let k = req.top_k.min(MAX_WINDOW);
        let text = query_text(&req.text);
        let mut filters = scope(tenant_id, &req.dataset_ids, documents);
        if available_only {
            filters.push(json!({"term": {"available": true}}));
        }
        let query_vec = req
            .vector
            .as_deref()
            .filter(|v| v.iter().any(|x| *x != 0.0));
        let field = match query_vec {
            Some(v) if self.has_vector_field(&index, v.len()).await? => Some(vector_field(v.len())),
            _ => None,
        };

        let text_query = async {
            let Some(text) = &text else {
                return Ok::<_, StoreError>(vec![]);
            };
            let body = json!({
                "size": k,
                "_source": source,
                "query": {"bool": {"must": [multi_match(text)], "filter": filters}}
            });
            Ok(self.hits(&index, body).await?.unwrap_or_default())
        };
        let knn_query = async {
            let (Some(field), Some(v)) = (&field, query_vec) else {
                return Ok::<_, StoreError>(vec![]);
            };
            let mut knn = Map::new();
            knn.insert(
                field.clone(),
                json!({"vector": v, "k": k, "filter": {"bool": {"filter": filters}}}),
            );
            let body = json!({"size": k, "_source": source, "query": {"knn": knn}});
            Ok(self.hits(&index, body).await?.unwrap_or_default())
        };
        let (text_hits, knn_hits) = tokio::try_join!(text_query, knn_query)?;

        let mut term: HashMap<String, f32> = HashMap::new();
        let mut vector: HashMap<String, f32> = HashMap::new();
        let mut hits: Vec<Hit> = vec![];
        for h in text_hits {
            term.insert(h.id.clone(), h.score as f32);
            hits.push(h);
        }
        for h in knn_hits {
            vector.insert(h.id.clone(), cosine_from_score(h.score));
            if !term.contains_key(&h.id) {
                hits.push(h);
            }
        }
        // Complete each candidate's other score.
        let vector_only: Vec<String> = vector
            .keys()
            .filter(|id| !term.contains_key(*id))
            .cloned()
            .collect();
        let text_only: Vec<String> = term
            .keys()
            .filter(|id| !vector.contains_key(*id))
            .cloned()
            .collect();
        let more_terms = async {
            match &text {
                Some(t) => self.term_scores(&index, t, &filters, &vector_only).await,
                None => Ok(HashMap::new()),
            }
        };
        let more_cosines = async {
            match (&field, query_vec) {
                (Some(f), Some(v)) => self.cosines(&index, f, v, &text_only).await,
                _ => Ok(HashMap::new()),
            }
        };
        let (more_terms, more_cosines) = tokio::try_join!(more_terms, more_cosines)?;
        term.extend(more_terms);
        vector.extend(more_cosines);

        Ok(hits
            .into_iter()
            .map(|hit| Candidate {
                term_score: term.get(&hit.id).copied().unwrap_or(0.0),
                vector_score: vector.get(&hit.id).copied().unwrap_or(0.0),
                hit,
            })
            .collect())
    }
}
