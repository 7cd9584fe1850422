// The console's shell: sign in / out, the hash router and view switching.

import { $, $$, api, auth, busy, leaveView, showError, toast } from '/console/api.js';
import { showDatasets, showDataset, showChunks } from '/console/datasets.js';
import { showRetrieval } from '/console/retrieval.js';
import { showChat } from '/console/chat.js';

// [hash pattern, view section, tab, show(...captures)]
const routes = [
  [/^#\/datasets\/([0-9a-f]+)\/documents\/([0-9a-f]+)$/, 'chunks', 'datasets', showChunks],
  [/^#\/datasets\/([0-9a-f]+)$/, 'dataset', 'datasets', showDataset],
  [/^#\/datasets$/, 'datasets', 'datasets', showDatasets],
  [/^#\/retrieval$/, 'retrieval', 'retrieval', showRetrieval],
  [/^#\/chat(?:\/([0-9a-f]+))?$/, 'chat', 'chat', showChat],
];

function showView(id) {
  for (const v of $$('.view')) v.hidden = v.id !== id;
}

async function route() {
  leaveView();
  toast(null);
  if (!auth.key) {
    signedOut();
    return;
  }
  const hash = location.hash || '#/datasets';
  for (const [re, view, tab, show] of routes) {
    const m = hash.match(re);
    if (!m) continue;
    for (const a of $$('#tabs a')) {
      if (a.dataset.tab === tab) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    showView(`view-${view}`);
    try {
      await show(...m.slice(1));
    } catch (e) {
      toast(e);
    }
    return;
  }
  location.hash = '#/datasets';
}

function signedIn() {
  $('#tabs').hidden = false;
  $('#account').hidden = false;
  const k = auth.key;
  $('#key-hint').textContent = `key …${k.slice(-4)}`;
}

function signedOut() {
  $('#tabs').hidden = true;
  $('#account').hidden = true;
  showView('view-signin');
  $('#api-key').focus();
}

$('#signin-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const key = $('#api-key').value.trim();
  const err = $('#signin-error');
  if (!key) {
    showError(err, new Error('Enter an API key.'));
    return;
  }
  busy(ev.submitter, err, async () => {
    // Any authenticated call checks the key; the API's own message explains a refusal.
    await api('GET', '/datasets', { query: { page: 1, page_size: 1 }, key });
    auth.set(key);
    $('#api-key').value = '';
    signedIn();
    // Straight to the page the address names (a bookmarked dataset, say), else Datasets.
    await route();
  });
});

$('#sign-out').addEventListener('click', () => {
  auth.clear();
  leaveView();
  signedOut();
});

window.addEventListener('hashchange', route);

if (auth.key) signedIn();
route();
