//! Searching: query terms and filters, the BM25 and vector candidates, pages of records.

use super::*;

/// The live documents holding one of `values` in `field`, read from each segment's
/// postings term by term. For the few ids of a page this is much cheaper than a
/// `TermSetQuery`, which builds an automaton of the terms on every call.
pub(super) fn live_addresses(
    searcher: &Searcher,
    field: Field,
    values: &[String],
) -> Result<Vec<DocAddress>, StoreError> {
    let mut out = Vec::with_capacity(values.len());
    for (ord, segment) in (0u32..).zip(searcher.segment_readers()) {
        let postings_of = segment.inverted_index(field).map_err(tv)?;
        let io = |e: std::io::Error| StoreError::Backend(format!("tantivy postings: {e}"));
        let alive = segment.alive_bitset();
        for value in values {
            let term = Term::from_field_text(field, value);
            let Some(mut postings) = postings_of
                .read_postings(&term, IndexRecordOption::Basic)
                .map_err(io)?
            else {
                continue;
            };
            let mut doc = postings.doc();
            while doc != TERMINATED {
                if alive.is_none_or(|a| a.is_alive(doc)) {
                    out.push(DocAddress::new(ord, doc));
                }
                doc = postings.advance();
            }
        }
    }
    Ok(out)
}

/// Candidates listed best first: by BM25, then cosine, then id (only a convenience: callers
/// fuse the two scores and rank).
pub(super) fn by_scores(a: &ChunkHit, b: &ChunkHit) -> std::cmp::Ordering {
    b.term_score
        .total_cmp(&a.term_score)
        .then_with(|| b.vector_score.total_cmp(&a.vector_score))
        .then_with(|| a.chunk_id.cmp(&b.chunk_id))
}

impl Inner {
    pub(super) fn terms(&self, text: &str) -> Vec<String> {
        let mut analyzer = self.analyzer.clone();
        let mut stream = analyzer.token_stream(text);
        let mut seen = HashSet::new();
        let mut terms = vec![];
        while stream.advance() && terms.len() < MAX_QUERY_TERMS {
            let t = stream.token().text.clone();
            if seen.insert(t.clone()) {
                terms.push(t);
            }
        }
        terms
    }

    /// BM25 over the text fields: per word the best field (boosted) counts; words add up.
    pub(super) fn text_query(&self, terms: &[String]) -> Box<dyn Query> {
        let f = self.f;
        let clauses = terms
            .iter()
            .map(|t| {
                let fields = [
                    (f.content, BOOST_CONTENT),
                    (f.title, BOOST_TITLE),
                    (f.keywords, BOOST_KEYWORDS),
                    (f.questions, BOOST_QUESTIONS),
                ]
                .into_iter()
                .map(|(field, boost)| {
                    let q = TermQuery::new(
                        Term::from_field_text(field, t),
                        IndexRecordOption::WithFreqs,
                    );
                    Box::new(BoostQuery::new(Box::new(q), boost)) as Box<dyn Query>
                })
                .collect();
                (
                    Occur::Should,
                    Box::new(DisjunctionMaxQuery::new(fields)) as Box<dyn Query>,
                )
            })
            .collect();
        Box::new(BooleanQuery::new(clauses))
    }

    /// Filter clauses: always the tenant, then whatever else narrows the scope.
    pub(super) fn scope(
        &self,
        tenant_id: &str,
        datasets: &[String],
        documents: Option<&[String]>,
    ) -> Vec<(Occur, Box<dyn Query>)> {
        let f = self.f;
        let mut clauses = vec![must(term_query(f.tenant, tenant_id))];
        clauses.push(must(match datasets {
            [one] => term_query(f.dataset, one),
            many => any_of(f.dataset, many),
        }));
        if let Some(docs) = documents {
            clauses.push(must(match docs {
                [one] => term_query(f.document, one),
                many => any_of(f.document, many),
            }));
        }
        clauses
    }

    /// The candidates of `search` with where they are, best first. With `available_only`,
    /// unavailable chunks are filtered out of both rankings, so they take no top_k slot.
    /// Scores are those of `search`: the filters are constant-score clauses and BM25's
    /// statistics are the index's, so a filter changes which docs match, never a score.
    pub(super) fn candidates(
        &self,
        searcher: &Searcher,
        tenant_id: &str,
        req: &SearchRequest,
        available_only: bool,
    ) -> Result<Vec<(DocAddress, ChunkHit)>, StoreError> {
        let documents = req.document_ids.as_deref();
        if req.top_k == 0 || req.dataset_ids.is_empty() || documents.is_some_and(<[_]>::is_empty) {
            return Ok(vec![]);
        }
        let ids = self.ids.of(searcher)?;
        let identify = |addr: DocAddress| {
            ids.get(addr.segment_ord as usize)?
                .get(addr.doc_id as usize)?
                .as_ref()
        };
        let hit = |c: &ChunkIds, term_score: f32, vector_score: f32| ChunkHit {
            chunk_id: c.chunk_id.clone(),
            dataset_id: c.dataset_id.clone(),
            document_id: c.document_id.clone(),
            term_score,
            vector_score,
        };
        let scope = || {
            let mut clauses = self.scope(tenant_id, &req.dataset_ids, documents);
            if available_only {
                clauses.push(must(Box::new(TermQuery::new(
                    Term::from_field_bool(self.f.available, true),
                    IndexRecordOption::Basic,
                ))));
            }
            clauses
        };
        let terms = self.terms(&req.text);
        let query_vec = req.vector.as_deref().and_then(unit);
        let mut hits: Vec<(DocAddress, ChunkHit)> = vec![];

        if !terms.is_empty() {
            let mut clauses = scope();
            clauses.push((Occur::Must, self.text_query(&terms)));
            let top = searcher
                .search(
                    &BooleanQuery::new(clauses),
                    &TopDocs::with_limit(req.top_k).order_by_score(),
                )
                .map_err(tv)?;
            let vectors = self.vectors.read().map_err(|_| poisoned())?;
            let mine = vectors.get(tenant_id);
            for (score, addr) in top {
                let Some(c) = identify(addr) else {
                    continue;
                };
                // The cosine of a text hit, whether or not it is among the nearest.
                let cosine = match (query_vec.as_deref(), mine) {
                    (Some(q), Some(mine)) => mine
                        .vector(&c.chunk_id)
                        .filter(|v| v.len() == q.len())
                        .map_or(0.0, |v| dot(q, v)),
                    _ => 0.0,
                };
                hits.push((addr, hit(c, score, cosine)));
            }
        }

        if let Some(q) = query_vec.as_deref() {
            let vector_scope = VectorScope {
                datasets: req.dataset_ids.iter().map(String::as_str).collect(),
                documents: documents.map(|d| d.iter().map(String::as_str).collect()),
                available_only,
            };
            // Ids stay borrowed from the vector index (read-locked until the end of this
            // block) rather than copied: up to top_k of them per query.
            let vectors = self.vectors.read().map_err(|_| poisoned())?;
            let nearest = vectors
                .get(tenant_id)
                .and_then(|chunks| chunks.block(q.len()))
                .map(|block| {
                    block.top(
                        q,
                        &vector_scope.datasets,
                        |m| vector_scope.admits(m),
                        req.top_k,
                    )
                })
                .unwrap_or_default();
            let cosine: foldhash::HashMap<&str, f32> = {
                let seen: foldhash::HashSet<&str> =
                    hits.iter().map(|(_, h)| &*h.chunk_id).collect();
                nearest
                    .into_iter()
                    .filter(|(id, _)| !seen.contains(id))
                    .collect()
            };
            if !cosine.is_empty() {
                // The vector-only candidates, found by their uids (the vector scope already
                // applied the dataset, document and availability filters; the uid holds
                // the tenant), with their BM25 score when the text matches them too (it
                // did, just below the text top_k).
                let uids: Vec<String> = cosine.keys().map(|id| uid(tenant_id, id)).collect();
                let found = live_addresses(searcher, self.f.uid, &uids)?;
                let scores = self.text_scores(searcher, &terms, &found)?;
                for (addr, score) in found.into_iter().zip(scores) {
                    let Some(c) = identify(addr) else {
                        continue;
                    };
                    let v = cosine.get(&*c.chunk_id).copied().unwrap_or(0.0);
                    hits.push((addr, hit(c, score, v)));
                }
            }
        }
        hits.sort_by(|a, b| by_scores(&a.1, &b.1));
        Ok(hits)
    }

    /// The text query's BM25 score of each of these documents (0 where it does not match),
    /// with the searcher's statistics, as a search would score them: one scorer per
    /// segment, advanced in doc order (cheaper than a query over the documents' uids).
    pub(super) fn text_scores(
        &self,
        searcher: &Searcher,
        terms: &[String],
        addrs: &[DocAddress],
    ) -> Result<Vec<f32>, StoreError> {
        let mut out = vec![0.0f32; addrs.len()];
        if terms.is_empty() || addrs.is_empty() {
            return Ok(out);
        }
        let weight = self
            .text_query(terms)
            .weight(EnableScoring::enabled_from_searcher(searcher))
            .map_err(tv)?;
        let mut order: Vec<usize> = (0..addrs.len()).collect();
        order.sort_by_key(|&i| addrs[i]);
        let mut current: Option<(u32, Box<dyn Scorer>)> = None;
        for i in order {
            let DocAddress {
                segment_ord,
                doc_id,
            } = addrs[i];
            let scorer = match &mut current {
                Some((ord, scorer)) if *ord == segment_ord => scorer,
                _ => {
                    let segment = searcher.segment_reader(segment_ord);
                    let (_, scorer) =
                        current.insert((segment_ord, weight.scorer(segment, 1.0).map_err(tv)?));
                    scorer
                }
            };
            let at = if scorer.doc() < doc_id {
                scorer.seek(doc_id)
            } else {
                scorer.doc()
            };
            if at == doc_id {
                out[i] = scorer.score();
            }
        }
        Ok(out)
    }

    pub(super) fn search(
        &self,
        tenant_id: &str,
        req: &SearchRequest,
    ) -> Result<Vec<ScoredChunk>, StoreError> {
        let searcher = self.reader.searcher();
        let hits = self.candidates(&searcher, tenant_id, req, false)?;
        // Read in store order: neighbours share a compressed block, decompressed once.
        let mut order: Vec<usize> = (0..hits.len()).collect();
        order.sort_by_key(|&i| hits[i].0);
        let mut records: Vec<Option<ChunkRecord>> = (0..hits.len()).map(|_| None).collect();
        for i in order {
            records[i] = Some(self.record(&searcher, hits[i].0)?);
        }
        Ok(hits
            .into_iter()
            .zip(records)
            .filter_map(|((_, h), chunk)| {
                Some(ScoredChunk {
                    chunk: chunk?,
                    term_score: h.term_score,
                    vector_score: h.vector_score,
                })
            })
            .collect())
    }

    pub(super) fn search_hits(
        &self,
        tenant_id: &str,
        req: &SearchRequest,
    ) -> Result<Vec<ChunkHit>, StoreError> {
        let searcher = self.reader.searcher();
        Ok(self
            .candidates(&searcher, tenant_id, req, true)?
            .into_iter()
            .map(|(_, h)| h)
            .collect())
    }

    /// One query for all the ids, then the records in the order asked.
    pub(super) fn get_chunks(
        &self,
        tenant_id: &str,
        ids: &[(String, String)],
    ) -> Result<Vec<ChunkRecord>, StoreError> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let searcher = self.reader.searcher();
        // The uid holds the tenant, so only this tenant's chunks can be found.
        let uids: Vec<String> = ids
            .iter()
            .map(|(_, id)| uid(tenant_id, id))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut found = live_addresses(&searcher, self.f.uid, &uids)?;
        // In store order: neighbours share a compressed block.
        found.sort();
        let mut records: HashMap<(String, String), ChunkRecord> = HashMap::new();
        for addr in found {
            let c = self.record(&searcher, addr)?;
            records.insert((c.dataset_id.clone(), c.id.clone()), c);
        }
        // A chunk of another dataset than asked is not found, as with `get`. Records move
        // out; an id asked twice (rare) gets a copy of the first.
        let mut out: Vec<ChunkRecord> = Vec::with_capacity(ids.len());
        for (dataset_id, id) in ids {
            let key = (dataset_id.clone(), id.clone());
            if let Some(c) = records.remove(&key) {
                out.push(c);
            } else if let Some(c) = out.iter().find(|c| c.dataset_id == key.0 && c.id == key.1) {
                out.push(c.clone());
            }
        }
        Ok(out)
    }

    pub(super) fn list_document(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        doc_id: &str,
        query: &ChunkListQuery,
    ) -> Result<(Vec<ChunkRecord>, u64), StoreError> {
        let searcher = self.reader.searcher();
        let mut clauses = self.scope(
            tenant_id,
            &[dataset_id.to_string()],
            Some(&[doc_id.to_string()]),
        );
        // Keywords with no searchable word in them (blank, stop words only) filter nothing.
        let terms = query
            .keywords
            .as_deref()
            .map(|k| self.terms(k))
            .unwrap_or_default();
        if !terms.is_empty() {
            clauses.push(must(self.text_query(&terms)));
        }
        let matched = searcher
            .search(&BooleanQuery::new(clauses), &DocSetCollector)
            .map_err(tv)?;
        // Order by `position` (a fast field), so only the page's records are read.
        let mut keyed = Vec::with_capacity(matched.len());
        let mut columns = HashMap::new();
        for addr in matched {
            let column = match columns.entry(addr.segment_ord) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(
                    searcher
                        .segment_reader(addr.segment_ord)
                        .fast_fields()
                        .i64("position")
                        .map_err(tv)?,
                ),
            };
            keyed.push((column.first(addr.doc_id).unwrap_or(0), addr));
        }
        // Equal positions (not produced by our parsers) fall back to index order.
        keyed.sort();
        let total = keyed.len() as u64;
        let page: Vec<DocAddress> = if query.page_size == 0 {
            keyed.into_iter().map(|(_, a)| a).collect()
        } else {
            let start = query.page.saturating_sub(1).saturating_mul(query.page_size);
            keyed
                .into_iter()
                .skip(usize::try_from(start).unwrap_or(usize::MAX))
                .take(usize::try_from(query.page_size).unwrap_or(usize::MAX))
                .map(|(_, a)| a)
                .collect()
        };
        let chunks = page
            .into_iter()
            .map(|a| self.record(&searcher, a))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((chunks, total))
    }
}
