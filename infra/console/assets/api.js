// The API client and the small DOM helpers every view shares.

const KEY = 'lambdarag.apiKey';

// The key lives in sessionStorage: it survives a reload but not the tab.
export const auth = {
  get key() { return sessionStorage.getItem(KEY) || ''; },
  set(k) { sessionStorage.setItem(KEY, k); },
  clear() { sessionStorage.removeItem(KEY); },
};

export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

export function apiUrl(path, query) {
  let url = '/api/v1' + path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== '') q.append(k, String(v));
    }
    const s = q.toString();
    if (s) url += '?' + s;
  }
  return url;
}

export function authHeaders(key = auth.key) {
  return { Authorization: `Bearer ${key}` };
}

// One API call. Resolves to the whole envelope when `code` is 0; otherwise throws an
// ApiError carrying the API's own message, which the views show as is.
export async function api(method, path, { body, query, form, key, signal } = {}) {
  const headers = authHeaders(key);
  let payload;
  if (form) {
    payload = form;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(apiUrl(path, query), { method, headers, body: payload, signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(`Network error: ${e.message}`, -1);
  }
  return envelope(resp);
}

export async function envelope(resp) {
  let json;
  try {
    json = await resp.json();
  } catch {
    throw new ApiError(`HTTP ${resp.status}: the reply is not JSON`, resp.status);
  }
  // The missing/malformed-Authorization replies carry code 0 with `data: false`.
  if (json.code !== 0 || (json.data === false && json.message)) {
    throw new ApiError(json.message || `Error (code ${json.code})`, json.code);
  }
  return json;
}

// Build an element: h('button', {class: 'x', onclick: f}, 'text', child...). Strings become
// text nodes, never HTML: everything the API returns is shown as text.
export function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k === 'value' || k === 'checked') e[k] = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

// What the current view left running (a poller, a stream), stopped when it is left.
let cleanup = null;

export function onLeave(fn) {
  cleanup = fn;
}

export function leaveView() {
  const c = cleanup;
  cleanup = null;
  if (c) c();
}

// Errors that belong to no form.
export function toast(err) {
  showError(document.getElementById('toast'), err);
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

// Show an error (or clear it with null) in a view's alert element.
export function showError(el, err) {
  if (!el) return;
  el.textContent = err ? (err.message || String(err)) : '';
  el.hidden = !err;
}

// Run an async action with its button disabled, reporting a failure in `errEl`.
export async function busy(button, errEl, fn) {
  showError(errEl, null);
  if (button) button.disabled = true;
  try {
    return await fn();
  } catch (e) {
    if (e.name !== 'AbortError') showError(errEl, e);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

export function fmtBytes(n) {
  if (!Number.isFinite(n)) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function fmtTime(ms) {
  if (!ms) return '';
  return new Date(ms).toLocaleString();
}

export function fmtScore(x) {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(4) : '–';
}

// The datasets of the signed-in tenant, for pickers (the API's largest page).
export async function allDatasets() {
  const out = [];
  for (let page = 1; page < 50; page++) {
    const r = await api('GET', '/datasets', { query: { page, page_size: 100 } });
    out.push(...r.data);
    if (r.data.length < 100) break;
  }
  return out;
}

// A fieldset of dataset checkboxes; returns a getter of the checked ids.
export function datasetPicker(container, datasets, { idPrefix, checked = [] }) {
  container.replaceChildren();
  if (!datasets.length) {
    container.append(h('p', { class: 'muted' }, 'No datasets yet: create one under Datasets.'));
  }
  for (const d of datasets) {
    const id = `${idPrefix}-${d.id}`;
    container.append(
      h('label', { class: 'check', for: id },
        h('input', { type: 'checkbox', id, value: d.id, checked: checked.includes(d.id) }),
        ` ${d.name} `,
        h('span', { class: 'muted' }, `(${d.chunk_count} chunks)`)),
    );
  }
  return () => $$('input[type=checkbox]:checked', container).map((i) => i.value);
}
