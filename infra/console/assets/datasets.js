// Datasets: the list and create form, one dataset's upload and documents (with live parsing
// progress), and one document's chunks (paging and editing).

import { $, api, busy, fmtBytes, fmtTime, h, onLeave, showError } from '/console/api.js';

// ---- the list ---------------------------------------------------------------------------

export async function showDatasets() {
  const err = $('#datasets-error');
  showError(err, null);
  const r = await api('GET', '/datasets', { query: { page: 1, page_size: 100 } });
  const rows = r.data.map((d) =>
    h('tr', { dataset: { id: d.id } },
      h('td', {}, h('a', { href: `#/datasets/${d.id}` }, d.name)),
      h('td', {}, d.chunk_method),
      h('td', { class: 'num' }, d.document_count),
      h('td', { class: 'num' }, d.chunk_count),
      h('td', {}, d.embedding_model),
      h('td', {}, fmtTime(d.create_time))));
  $('#datasets-table tbody').replaceChildren(...rows);
  $('#datasets-table').hidden = rows.length === 0;
  $('#datasets-empty').hidden = rows.length !== 0;
}

$('#create-dataset').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const name = $('#dataset-name').value;
  const chunk_method = $('#chunk-method').value;
  busy(ev.submitter, $('#create-dataset-error'), async () => {
    const r = await api('POST', '/datasets', { body: { name, chunk_method } });
    $('#dataset-name').value = '';
    location.hash = `#/datasets/${r.data.id}`;
  });
});

// ---- one dataset: upload, parse, progress ------------------------------------------------

const RUNNING = new Set(['RUNNING', '1', 'SCHEDULE', '5']);
const PARSABLE = new Set(['UNSTART', '0', 'CANCEL', '2', 'FAIL', '4']);
const POLL_MS = 600;

let current = null; // {id, name, generation}
let pollTimer = null;
let generation = 0;

async function datasetById(id) {
  const r = await api('GET', '/datasets', { query: { id } });
  return r.data[0];
}

export async function showDataset(id) {
  generation += 1;
  current = { id, generation };
  onLeave(() => {
    clearTimeout(pollTimer);
    generation += 1;
  });
  for (const sel of ['#upload-error', '#docs-error']) showError($(sel), null);
  $('#upload-status').textContent = '';
  $('#parse-status').textContent = '';
  $('#documents-table tbody').replaceChildren();
  const d = await datasetById(id);
  if (!current || current.id !== id) return;
  Object.assign(current, { name: d.name, chunkMethod: d.chunk_method, embeddingModel: d.embedding_model });
  $('#dataset-title').textContent = d.name;
  $('#dataset-crumb').textContent = d.name;
  await loadDocs();
}

function lastLine(text) {
  const lines = String(text || '').split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.length ? lines[lines.length - 1] : '';
}

// Fetch the documents and update the table in place (rows keyed by id), so a poll does not
// disturb a button being clicked or a metadata editor being typed in.
async function loadDocs() {
  const gen = generation;
  const ds = current.id;
  let r;
  try {
    r = await api('GET', `/datasets/${ds}/documents`, {
      query: { page: 1, page_size: 100, orderby: 'create_time', desc: 'false' },
    });
  } catch (e) {
    if (gen === generation) showError($('#docs-error'), e);
    return;
  }
  if (gen !== generation) return;
  showError($('#docs-error'), null);
  const docs = r.data.docs;
  const tbody = $('#documents-table tbody');
  const seen = new Set();
  for (const doc of docs) {
    seen.add(doc.id);
    let tr = tbody.querySelector(`tr[data-id="${doc.id}"]`);
    if (!tr) {
      tr = docRow(ds, doc);
      tbody.append(tr);
    }
    updateDocRow(tr, doc);
  }
  for (const tr of [...tbody.rows]) if (!seen.has(tr.dataset.id)) tr.remove();
  $('#documents-table').hidden = docs.length === 0;
  $('#docs-empty').hidden = docs.length !== 0;

  const running = docs.filter((d) => RUNNING.has(String(d.run))).length;
  const done = docs.filter((d) => d.run === 'DONE').length;
  const failed = docs.filter((d) => d.run === 'FAIL').length;
  $('#parse-status').textContent = running
    ? `Parsing ${running} document${running > 1 ? 's' : ''}…`
    : docs.length ? `${done} of ${docs.length} parsed${failed ? `, ${failed} failed` : ''}.` : '';
  $('#parse-all').disabled = !docs.some((d) => PARSABLE.has(String(d.run)));
  const chunks = docs.reduce((n, d) => n + (Number(d.chunk_count) || 0), 0);
  $('#dataset-meta').textContent =
    `Chunk method ${current.chunkMethod} · embedding model ${current.embeddingModel} · ${r.data.total} documents · ${chunks} chunks`;
  clearTimeout(pollTimer);
  if (running) pollTimer = setTimeout(loadDocs, POLL_MS);
}

function docRow(ds, doc) {
  const name = doc.name;
  return h('tr', { dataset: { id: doc.id, name } },
    h('td', { class: 'name' }, name),
    h('td', { class: 'num size' }),
    h('td', {}, h('span', { class: 'badge status' })),
    h('td', { class: 'progress-cell' },
      h('progress', { max: 1, value: 0, 'aria-label': `Parsing progress of ${name}` }),
      h('span', { class: 'pct' })),
    h('td', { class: 'msg' }),
    h('td', { class: 'num chunks' }),
    h('td', { class: 'meta' }),
    h('td', { class: 'actions' },
      h('button', { type: 'button', class: 'small parse', 'aria-label': `Parse ${name}`, onclick: () => parse([doc.id]) }, 'Parse'),
      h('button', { type: 'button', class: 'small secondary stop', 'aria-label': `Stop parsing ${name}`, onclick: () => stop(doc.id) }, 'Stop'),
      h('a', { class: 'button small secondary', href: `#/datasets/${ds}/documents/${doc.id}`, 'aria-label': `Chunks of ${name}` }, 'Chunks')));
}

function updateDocRow(tr, doc) {
  const run = String(doc.run);
  const p = Math.max(0, Math.min(1, Number(doc.progress) || 0));
  tr.dataset.run = run;
  tr.querySelector('.size').textContent = fmtBytes(doc.size);
  const badge = tr.querySelector('.status');
  badge.textContent = run;
  badge.className = `badge status status-${run}`;
  tr.querySelector('progress').value = run === 'DONE' ? 1 : p;
  tr.querySelector('.pct').textContent = `${Math.round((run === 'DONE' ? 1 : p) * 100)}%`;
  const msg = tr.querySelector('.msg');
  msg.textContent = lastLine(doc.progress_msg);
  msg.title = doc.progress_msg || '';
  tr.querySelector('.chunks').textContent = doc.chunk_count;
  tr.querySelector('.parse').hidden = RUNNING.has(run);
  tr.querySelector('.parse').textContent = run === 'DONE' ? 'Re-parse' : 'Parse';
  tr.querySelector('.parse').classList.toggle('secondary', run === 'DONE');
  tr.querySelector('.stop').hidden = !RUNNING.has(run);
  const meta = tr.querySelector('.meta');
  if (!meta.querySelector('textarea')) renderMeta(meta, doc);
}

function renderMeta(cell, doc) {
  const fields = doc.meta_fields || {};
  const text = Object.keys(fields).length ? JSON.stringify(fields) : '—';
  cell.replaceChildren(
    h('code', { class: 'meta-text' }, text),
    h('button', {
      type: 'button', class: 'small secondary', 'aria-label': `Edit metadata of ${doc.name}`,
      onclick: () => editMeta(cell, doc),
    }, 'Edit'));
}

function editMeta(cell, doc) {
  const area = h('textarea', { rows: 3, 'aria-label': `Metadata of ${doc.name} (JSON object)` });
  area.value = JSON.stringify(doc.meta_fields || {}, null, 1);
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  const save = h('button', { type: 'button', class: 'small' }, 'Save metadata');
  save.addEventListener('click', () => busy(save, err, async () => {
    let meta_fields;
    try {
      meta_fields = JSON.parse(area.value || '{}');
    } catch (e) {
      throw new Error(`Not valid JSON: ${e.message}`);
    }
    const r = await api('PUT', `/datasets/${current.id}/documents/${doc.id}`, { body: { meta_fields } });
    renderMeta(cell, r.data || { ...doc, meta_fields });
  }));
  const cancel = h('button', { type: 'button', class: 'small secondary', onclick: () => renderMeta(cell, doc) }, 'Cancel');
  cell.replaceChildren(area, save, cancel, err);
  area.focus();
}

async function parse(ids) {
  await busy($('#parse-all'), $('#docs-error'), async () => {
    await api('POST', `/datasets/${current.id}/chunks`, { body: { document_ids: ids } });
  });
  await loadDocs();
}

async function stop(id) {
  await busy(null, $('#docs-error'), async () => {
    await api('DELETE', `/datasets/${current.id}/chunks`, { body: { document_ids: [id] } });
  });
  await loadDocs();
}

$('#parse-all').addEventListener('click', () => {
  const ids = [...$('#documents-table tbody').rows]
    .filter((tr) => PARSABLE.has(tr.dataset.run))
    .map((tr) => tr.dataset.id);
  if (ids.length) parse(ids);
});

$('#refresh-docs').addEventListener('click', () => loadDocs());

async function upload(files) {
  if (!files.length || !current) return;
  const form = new FormData();
  for (const f of files) form.append('file', f, f.name);
  const names = files.map((f) => f.name).join(', ');
  $('#upload-status').textContent = `Uploading ${names}…`;
  const r = await busy(null, $('#upload-error'), () =>
    api('POST', `/datasets/${current.id}/documents`, { form }));
  $('#upload-status').textContent = r ? `Uploaded ${r.data.map((d) => d.name).join(', ')}.` : '';
  await loadDocs();
}

const drop = $('#dropzone');
const picker = $('#file-input');
drop.addEventListener('click', () => picker.click());
drop.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' || ev.key === ' ') {
    ev.preventDefault();
    picker.click();
  }
});
for (const t of ['dragenter', 'dragover']) {
  drop.addEventListener(t, (ev) => {
    ev.preventDefault();
    drop.classList.add('over');
  });
}
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (ev) => {
  ev.preventDefault();
  drop.classList.remove('over');
  upload([...(ev.dataTransfer?.files || [])]);
});
picker.addEventListener('change', () => {
  upload([...picker.files]);
  picker.value = '';
});

// ---- one document's chunks ----------------------------------------------------------------

const chunkState = { ds: null, doc: null, page: 1, total: 0, saved: null };

export async function showChunks(ds, doc) {
  if (chunkState.ds !== ds || chunkState.doc !== doc) {
    Object.assign(chunkState, { ds, doc, page: 1, total: 0, saved: null });
  }
  $('#chunks-crumb-dataset').href = `#/datasets/${ds}`;
  $('#chunks-crumb-dataset').textContent = '…';
  $('#chunk-list').replaceChildren();
  datasetById(ds).then((d) => { $('#chunks-crumb-dataset').textContent = d.name; }, () => {});
  await loadChunks();
}

function pageSize() {
  return Number($('#chunks-page-size').value) || 10;
}

async function loadChunks() {
  const { ds, doc, page } = chunkState;
  const err = $('#chunks-error');
  showError(err, null);
  let r;
  try {
    r = await api('GET', `/datasets/${ds}/documents/${doc}/chunks`, { query: { page, page_size: pageSize() } });
  } catch (e) {
    showError(err, e);
    return;
  }
  const { total, chunks } = r.data;
  const name = r.data.doc?.name || doc;
  chunkState.total = total;
  $('#chunks-title').textContent = `Chunks of ${name}`;
  $('#chunks-crumb-doc').textContent = name;
  const pages = Math.max(1, Math.ceil(total / pageSize()));
  $('#chunks-total').textContent = `${total} chunk${total === 1 ? '' : 's'}`;
  $('#chunks-page').textContent = `Page ${page} of ${pages}`;
  $('#chunks-prev').disabled = page <= 1;
  $('#chunks-next').disabled = page >= pages;
  const offset = (page - 1) * pageSize();
  $('#chunk-list').replaceChildren(...chunks.map((c, i) => chunkCard(c, offset + i + 1)));
}

function chunkCard(c, n) {
  const li = h('li', { class: 'card chunk', dataset: { id: c.id }, 'aria-label': `Chunk ${n}` });
  const view = () => {
    li.replaceChildren(...[
      h('div', { class: 'card-head' },
        h('strong', {}, `Chunk ${n}`),
        h('code', { class: 'muted small' }, c.id),
        h('span', { class: `badge ${c.available ? 'ok' : 'off'}` }, c.available ? 'available' : 'disabled'),
        chunkState.saved === c.id ? h('span', { class: 'badge ok saved', role: 'status' }, 'Saved') : null,
        h('button', { type: 'button', class: 'small secondary', 'aria-label': `Edit chunk ${n}`, onclick: edit }, 'Edit')),
      h('p', { class: 'content' }, c.content),
      (c.important_keywords || []).length
        ? h('p', { class: 'keywords', 'aria-label': 'Keywords' }, c.important_keywords.map((k) => h('span', { class: 'chip' }, k)))
        : null,
    ].filter(Boolean));
  };
  const edit = () => {
    const id = (s) => `chunk-${n}-${s}`;
    const content = h('textarea', { id: id('content'), rows: 6 });
    content.value = c.content;
    const keywords = h('input', { id: id('keywords'), value: (c.important_keywords || []).join(', ') });
    const available = h('input', { id: id('available'), type: 'checkbox', checked: !!c.available });
    const err = h('p', { class: 'error', role: 'alert', hidden: true });
    const form = h('form', { class: 'stack', 'aria-label': `Edit chunk ${n}` },
      h('label', { for: id('content') }, 'Content'), content,
      h('label', { for: id('keywords') }, 'Keywords (comma-separated)'), keywords,
      h('label', { class: 'check', for: id('available') }, available, ' Available'),
      err,
      h('div', { class: 'row' },
        h('button', { type: 'submit' }, 'Save chunk'),
        h('button', { type: 'button', class: 'secondary', onclick: view }, 'Cancel')));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const body = {
        content: content.value,
        important_keywords: keywords.value.split(',').map((k) => k.trim()).filter(Boolean),
        available: available.checked,
      };
      busy(ev.submitter, err, async () => {
        await api('PUT', `/datasets/${chunkState.ds}/documents/${chunkState.doc}/chunks/${c.id}`, { body });
        chunkState.saved = c.id;
        await loadChunks();
      });
    });
    li.replaceChildren(h('div', { class: 'card-head' }, h('strong', {}, `Editing chunk ${n}`)), form);
    content.focus();
  };
  view();
  return li;
}

$('#chunks-prev').addEventListener('click', () => {
  chunkState.page = Math.max(1, chunkState.page - 1);
  chunkState.saved = null;
  loadChunks();
});
$('#chunks-next').addEventListener('click', () => {
  chunkState.page += 1;
  chunkState.saved = null;
  loadChunks();
});
$('#chunks-page-size').addEventListener('change', () => {
  chunkState.page = 1;
  loadChunks();
});
