// Retrieval test: a question over chosen datasets with the scoring knobs and a metadata filter;
// each chunk is shown with its similarity, vector similarity and term similarity.

import { $, $$, allDatasets, api, busy, datasetPicker, fmtScore, h } from '/console/api.js';

// The operators of `metadata_condition` (contract section 6.5).
const OPERATORS = ['is', 'not is', '=', '≠', '>', '<', '≥', '≤', 'contains', 'not contains',
  'in', 'not in', 'start with', 'end with', 'empty', 'not empty'];

let checkedDatasets = () => [];
let conditionSeq = 0;

export async function showRetrieval() {
  const before = checkedDatasets();
  const datasets = await allDatasets();
  checkedDatasets = datasetPicker($('#retrieval-datasets'), datasets, {
    idPrefix: 'retrieval-ds',
    checked: before.length ? before : datasets.length === 1 ? [datasets[0].id] : [],
  });
}

function addCondition() {
  conditionSeq += 1;
  const n = conditionSeq;
  const id = (s) => `condition-${n}-${s}`;
  const li = h('li', { class: 'row condition' },
    h('div', { class: 'field' }, h('label', { for: id('key') }, 'Metadata key'),
      h('input', { id: id('key'), class: 'cond-key', required: true, spellcheck: 'false' })),
    h('div', { class: 'field' }, h('label', { for: id('op') }, 'Operator'),
      h('select', { id: id('op'), class: 'cond-op' }, OPERATORS.map((o) => h('option', { value: o }, o)))),
    h('div', { class: 'field grow' }, h('label', { for: id('value') }, 'Value'),
      h('input', { id: id('value'), class: 'cond-value' })),
    h('button', { type: 'button', class: 'small secondary', 'aria-label': `Remove condition ${n}`, onclick: () => li.remove() }, 'Remove'));
  $('#conditions').append(li);
  li.querySelector('input').focus();
}

$('#add-condition').addEventListener('click', addCondition);

function metadataCondition() {
  const conditions = $$('#conditions .condition').map((li) => ({
    name: li.querySelector('.cond-key').value.trim(),
    comparison_operator: li.querySelector('.cond-op').value,
    value: li.querySelector('.cond-value').value,
  })).filter((c) => c.name);
  return conditions.length ? { logic: $('#metadata-logic').value, conditions } : undefined;
}

function numberOf(sel) {
  const v = $(sel).value;
  return v === '' ? undefined : Number(v);
}

$('#retrieval-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const err = $('#retrieval-error');
  const dataset_ids = checkedDatasets();
  if (!dataset_ids.length) {
    err.textContent = 'Choose at least one dataset.';
    err.hidden = false;
    return;
  }
  const body = {
    question: $('#retrieval-question').value,
    dataset_ids,
    similarity_threshold: numberOf('#similarity-threshold'),
    vector_similarity_weight: numberOf('#vector-weight'),
    top_k: numberOf('#top-k'),
    page_size: numberOf('#retrieval-page-size'),
    metadata_condition: metadataCondition(),
    // Plain content is shown; the `<em>` highlight would need HTML rendering.
    highlight: 'false',
  };
  $('#retrieval-summary').textContent = 'Searching…';
  busy(ev.submitter, err, async () => {
    try {
      const r = await api('POST', '/retrieval', { body });
      render(r.data);
    } catch (e) {
      $('#retrieval-summary').textContent = '';
      $('#retrieval-results').replaceChildren();
      throw e;
    }
  });
});

function score(label, cls, x) {
  return h('span', { class: `score ${cls}`, dataset: { score: String(x) } },
    h('span', { class: 'score-label' }, label), ' ', h('span', { class: 'score-value' }, fmtScore(x)));
}

function render(data) {
  const chunks = data.chunks || [];
  $('#retrieval-summary').textContent = chunks.length
    ? `${data.total} chunk${data.total === 1 ? '' : 's'} above the threshold; showing ${chunks.length}.`
    : 'No chunk matched.';
  $('#retrieval-results').replaceChildren(...chunks.map((c, i) =>
    h('li', { class: 'card result', dataset: { id: c.id }, 'aria-label': `Result ${i + 1}` },
      h('div', { class: 'card-head' },
        h('strong', {}, `${i + 1}. `, h('span', { class: 'doc-name' }, c.document_keyword || c.document_id)),
        h('span', { class: 'scores' },
          score('similarity', 'similarity', c.similarity),
          score('vector', 'vector', c.vector_similarity),
          score('term', 'term', c.term_similarity))),
      h('p', { class: 'content' }, c.content),
      (c.important_keywords || []).length
        ? h('p', { class: 'keywords' }, c.important_keywords.map((k) => h('span', { class: 'chip' }, k)))
        : null)));
}
