// The web console end to end in headless Chromium: sign in, create a dataset, drag and drop
// two text files, parse them and watch the progress reach DONE live, browse and edit a
// chunk, run retrieval (scores, metadata filter), and chat with a streamed, cited answer.
//
// Started by run.sh, which provides: BASE_URL (a fresh `lambdarag serve`), API_KEY, CHROMIUM
// (the browser binary), CHAT_MODEL (the stand-in LLM's model) and SCREENSHOT_DIR.

import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE_URL = need('BASE_URL');
const API_KEY = need('API_KEY');
const CHAT_MODEL = need('CHAT_MODEL');
const SHOTS = process.env.SCREENSHOT_DIR || 'target/console-screenshots';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run tests/browser/run.sh)`);
  return v;
}

function assert(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

// Poll `fn` until it returns a truthy value; fail with `what` after `timeout` ms.
async function until(fn, what, timeout = 20000) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function apiGet(path) {
  const r = await fetch(`${BASE_URL}/api/v1${path}`, { headers: { Authorization: `Bearer ${API_KEY}` } });
  return r.json();
}

// Text files with enough paragraphs that the first spans several chunks (for paging).
function solarText() {
  const parts = [];
  for (let i = 1; i <= 60; i++) {
    parts.push(`Solar note ${i}. Photovoltaic panels convert sunlight into renewable electricity; ` +
      `panel row ${i} needs its glass cleaned, its inverter checked and its mounting bolts ` +
      `tightened before the summer season so the array keeps its rated output of ${200 + i} watts.`);
  }
  return parts.join('\n');
}
const WIND_TEXT = [
  'Wind turbines generate renewable electricity when moving air turns their rotor blades.',
  'The rotor spins a shaft connected to a generator inside the nacelle at the top of the tower.',
  'A yaw system points the turbine into the wind and a pitch system feathers the blades in storms.',
].join('\n');

const steps = [];
let shotNo = 0;
async function shot(page, name) {
  shotNo += 1;
  const file = join(SHOTS, `${String(shotNo).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

async function step(name, page, fn) {
  const t0 = Date.now();
  await fn();
  const file = await shot(page, name);
  steps.push({ name, ms: Date.now() - t0, file });
  console.log(`ok  ${name} (${Date.now() - t0} ms) → ${file}`);
}

async function main() {
  mkdirSync(SHOTS, { recursive: true });
  // Only this run's pictures: earlier runs' step files would mix with them.
  for (const f of readdirSync(SHOTS)) if (/^\d\d-[a-z-]+\.png$/.test(f)) rmSync(join(SHOTS, f));
  await until(async () => (await fetch(`${BASE_URL}/`)).ok, 'the server to answer', 60000);

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`); });
  page.setDefaultTimeout(20000);

  try {
    await run(page);
  } finally {
    await browser.close();
  }
  // A request the page made and the API refused on purpose (the bad key) logs nothing; any
  // other console error or uncaught exception is a bug.
  assert(pageErrors.length === 0, `no page errors, got:\n${pageErrors.join('\n')}`);
  console.log(`\nall ${steps.length} steps passed; screenshots in ${SHOTS}`);
}

async function run(page) {
  let datasetId;
  const dsName = `console-e2e-${Date.now()}`;

  await step('sign-in-refused', page, async () => {
    await page.goto(`${BASE_URL}/`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('API key').fill('ragflow-not-a-real-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const err = page.locator('#signin-error');
    await err.waitFor();
    const text = await err.textContent();
    assert(text === 'Authentication error: API key is invalid!', `the API's message is shown, got ${text}`);
    assert(await page.getByRole('heading', { name: 'Datasets' }).isHidden(), 'not signed in');
  });

  await step('signed-in', page, async () => {
    await page.getByLabel('API key').fill(API_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Datasets' }).waitFor();
    const stored = await page.evaluate(() => sessionStorage.getItem('lambdarag.apiKey'));
    assert(stored === API_KEY, 'the key is kept in sessionStorage');
    assert(await page.locator('#signin-error').isHidden(), 'the old error is gone');
  });

  await step('dataset-created', page, async () => {
    await page.getByLabel('Dataset name').fill(dsName);
    await page.getByLabel('Chunk method').selectOption('naive');
    await page.getByRole('button', { name: 'Create dataset' }).click();
    await page.waitForURL(/#\/datasets\/[0-9a-f]{32}$/);
    datasetId = page.url().split('/').pop();
    await until(async () => (await page.locator('#dataset-title').textContent()) === dsName, 'the dataset page');
    const api = await apiGet(`/datasets?id=${datasetId}`);
    assert(api.data[0].name === dsName && api.data[0].chunk_method === 'naive', 'the API has the dataset');
  });

  await step('files-dropped', page, async () => {
    // A real drop event carrying a DataTransfer with two files, as a drag from the desktop.
    const files = [
      { name: 'solar.txt', text: solarText() },
      { name: 'wind.txt', text: WIND_TEXT },
    ];
    const dt = await page.evaluateHandle((fs) => {
      const d = new DataTransfer();
      for (const f of fs) d.items.add(new File([f.text], f.name, { type: 'text/plain' }));
      return d;
    }, files);
    const zone = page.getByRole('button', { name: /Upload files/ });
    await zone.dispatchEvent('dragenter', { dataTransfer: dt });
    await zone.dispatchEvent('dragover', { dataTransfer: dt });
    assert(await zone.evaluate((el) => el.classList.contains('over')), 'the drop zone highlights');
    await zone.dispatchEvent('drop', { dataTransfer: dt });
    await until(async () => /Uploaded solar\.txt, wind\.txt/.test(await page.locator('#upload-status').textContent()),
      'the upload confirmation');
    const rows = page.locator('#documents-table tbody tr');
    await until(async () => (await rows.count()) === 2, 'two document rows');
    for (const name of ['solar.txt', 'wind.txt']) {
      const status = await page.locator(`#documents-table tr[data-name="${name}"] .status`).textContent();
      assert(status === 'UNSTART', `${name} is UNSTART, got ${status}`);
    }
  });

  await step('upload-refused', page, async () => {
    // Through the file picker this time: a type the API refuses, with its message shown.
    await page.getByLabel('Choose files to upload').setInputFiles({
      name: 'setup.exe', mimeType: 'application/octet-stream', buffer: Buffer.from('MZ not a document'),
    });
    const err = page.locator('#upload-error');
    await err.waitFor();
    const text = await err.textContent();
    assert(text === 'setup.exe: This type of file has not been supported yet!', `the API's message is shown, got ${text}`);
    assert(await page.locator('#documents-table tbody tr').count() === 2, 'no third document');
  });

  await step('parsing-live', page, async () => {
    // Record every status the table shows, to check it moves on its own (polling, no reload).
    await page.evaluate(() => {
      window.__statuses = [];
      const tbody = document.querySelector('#documents-table tbody');
      new MutationObserver(() => {
        for (const b of tbody.querySelectorAll('.status')) {
          window.__statuses.push(`${b.closest('tr').dataset.name}:${b.textContent}`);
        }
      }).observe(tbody, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    const navigations = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));
    await page.getByRole('button', { name: 'Parse new documents' }).click();
    await until(async () => (await page.locator('#parse-status').textContent()).startsWith('Parsing'), 'the parsing status');
  });

  await step('parsed-done', page, async () => {
    await until(async () => (await page.locator('#parse-status').textContent()) === '2 of 2 parsed.',
      'both documents DONE', 180000);
    const seen = await page.evaluate(() => window.__statuses);
    for (const name of ['solar.txt', 'wind.txt']) {
      assert(seen.includes(`${name}:RUNNING`) && seen.includes(`${name}:DONE`),
        `${name} went RUNNING → DONE on the page (saw ${[...new Set(seen)].join(', ')})`);
      const row = page.locator(`#documents-table tr[data-name="${name}"]`);
      assert(await row.locator('progress').evaluate((p) => p.value) === 1, `${name} progress bar full`);
      assert(await row.locator('.pct').textContent() === '100%', `${name} shows 100%`);
      assert((await row.locator('.msg').textContent()).length > 0, `${name} shows a progress message`);
      assert(Number(await row.locator('.chunks').textContent()) > 0, `${name} has chunks`);
    }
  });

  let firstChunkId;
  await step('chunks-paged', page, async () => {
    await page.getByRole('link', { name: 'Chunks of solar.txt' }).click();
    await page.getByRole('heading', { name: 'Chunks of solar.txt' }).waitFor();
    await page.getByLabel('Per page').selectOption('5');
    const total = Number((await until(async () => {
      const t = await page.locator('#chunks-total').textContent();
      return /^\d+ chunks?$/.test(t) && t;
    }, 'the chunk total')).split(' ')[0]);
    assert(total > 5, `solar.txt has more than one page of chunks (total ${total})`);
    await until(async () => (await page.locator('#chunk-list > li').count()) === 5, 'five chunks on page 1');
    firstChunkId = await page.locator('#chunk-list > li').first().getAttribute('data-id');
    await page.getByRole('button', { name: 'Next page' }).click();
    await until(async () => (await page.locator('#chunks-page').textContent()).startsWith('Page 2 of'), 'page 2');
    await page.getByRole('listitem', { name: 'Chunk 6' }).waitFor();
    const page2First = await page.locator('#chunk-list > li').first().getAttribute('data-id');
    assert(page2First !== firstChunkId, 'page 2 shows other chunks');
  });

  await step('chunk-edited', page, async () => {
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.getByRole('listitem', { name: 'Chunk 1', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Edit chunk 1', exact: true }).click();
    const edited = 'EDITED BY THE CONSOLE TEST: clean the photovoltaic panels every spring.';
    await page.getByLabel('Content', { exact: true }).fill(edited);
    await page.getByLabel('Keywords (comma-separated)').fill('maintenance, spring');
    await page.getByLabel('Available', { exact: true }).uncheck();
    await page.getByRole('button', { name: 'Save chunk' }).click();
    const card = page.getByRole('listitem', { name: 'Chunk 1', exact: true });
    await card.locator('.saved').waitFor();
    assert(await card.locator('.content').textContent() === edited, 'the list shows the new content');
    assert(await card.locator('.chip').allTextContents().then((k) => k.join(',')) === 'maintenance,spring', 'keywords');
    assert(await card.locator('.badge.off').textContent() === 'disabled', 'shown as disabled');
    const solarId = page.url().match(/documents\/([0-9a-f]{32})$/)[1];
    const api = await apiGet(`/datasets/${datasetId}/documents/${solarId}/chunks?id=${firstChunkId}`);
    const c = api.data.chunks[0];
    assert(c.content === edited && c.available === false, `the API has the edit: ${JSON.stringify(c)}`);
    assert(JSON.stringify(c.important_keywords) === '["maintenance","spring"]', 'the API has the keywords');
  });

  await step('metadata-set', page, async () => {
    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: dsName }).click();
    await page.getByRole('button', { name: 'Edit metadata of wind.txt' }).click();
    await page.getByLabel('Metadata of wind.txt (JSON object)').fill('{"topic": "wind"}');
    await page.getByRole('button', { name: 'Save metadata' }).click();
    await until(async () => (await page.locator('#documents-table tr[data-name="wind.txt"] .meta-text').textContent()) === '{"topic":"wind"}',
      'the metadata shown');
  });

  await step('retrieval-scores', page, async () => {
    await page.getByRole('link', { name: 'Retrieval', exact: true }).click();
    await page.getByRole('heading', { name: 'Retrieval test' }).waitFor();
    await page.locator('#retrieval-datasets').getByRole('checkbox', { name: dsName }).check();
    await page.getByLabel('Question', { exact: true }).fill('renewable electricity from wind turbines and solar panels');
    await page.getByLabel('Similarity threshold').fill('0.1');
    await page.getByLabel('Vector similarity weight').fill('0.5');
    await page.getByLabel('Top K').fill('64');
    await page.getByRole('button', { name: 'Search' }).click();
    const results = page.locator('#retrieval-results > li');
    await until(async () => (await results.count()) > 1, 'several results');
    const docs = new Set(await results.locator('.doc-name').allTextContents());
    assert(docs.has('wind.txt') && docs.has('solar.txt'), `both documents retrieved: ${[...docs]}`);
    for (const li of await results.all()) {
      const s = await li.evaluate((el) => Object.fromEntries(
        [...el.querySelectorAll('.score')].map((x) => [x.classList[1], Number(x.dataset.score)])));
      assert(['similarity', 'vector', 'term'].every((k) => Number.isFinite(s[k])), `three scores: ${JSON.stringify(s)}`);
      assert(s.similarity >= 0.1, `similarity above the threshold: ${s.similarity}`);
      // Fusion with the weight chosen in the form: 0.5·vector + 0.5·term.
      assert(Math.abs(s.similarity - (0.5 * s.vector + 0.5 * s.term)) < 0.02, `similarity is the weighted fusion: ${JSON.stringify(s)}`);
    }
    assert((await page.locator('#retrieval-summary').textContent()).includes('above the threshold'), 'summary');
  });

  await step('retrieval-metadata-filter', page, async () => {
    await page.getByRole('button', { name: 'Add condition' }).click();
    await page.getByLabel('Metadata key').fill('topic');
    await page.getByLabel('Operator').selectOption('is');
    await page.getByLabel('Value', { exact: true }).fill('wind');
    await page.getByRole('button', { name: 'Search' }).click();
    const results = page.locator('#retrieval-results > li');
    await until(async () => {
      const names = await results.locator('.doc-name').allTextContents();
      return names.length > 0 && names.every((n) => n === 'wind.txt');
    }, 'only wind.txt after the metadata filter');
  });

  await step('chat-streaming', page, async () => {
    await page.getByRole('link', { name: 'Chat', exact: true }).click();
    await page.getByLabel('Assistant name').fill('Console helper');
    await page.locator('#chat-datasets').getByRole('checkbox', { name: dsName }).check();
    await page.getByLabel('Chat model (optional)').fill(CHAT_MODEL);
    await page.getByRole('button', { name: 'Create assistant' }).click();
    await page.waitForURL(/#\/chat\/[0-9a-f]{32}$/);
    await until(async () => (await page.locator('#conversation-title').textContent()) === 'Console helper', 'the conversation');
    await page.getByLabel('Your question').fill('How do wind turbines generate electricity?');
    await page.getByRole('button', { name: 'Send' }).click();
    // Part of the answer is on the page while the stream is still open.
    const partial = await until(() => page.evaluate(() => {
      const li = document.querySelector('#messages .msg.assistant[aria-busy="true"]');
      const n = li?.querySelector('.answer').textContent.length || 0;
      return n > 0 ? n : 0;
    }), 'a partial answer while streaming', 60000);
    globalThis.partialLength = partial;
  });

  await step('chat-answer-cited', page, async () => {
    const msg = page.locator('#messages .msg.assistant').last();
    await until(async () => (await msg.getAttribute('data-done')) === 'true', 'the end of the stream', 120000);
    const answer = await msg.locator('.answer').textContent();
    const frames = Number(await msg.getAttribute('data-frames'));
    assert(answer.length > globalThis.partialLength, `the answer grew after the first render (${globalThis.partialLength} → ${answer.length})`);
    assert(frames > 1, `several SSE frames rendered (${frames})`);
    assert(answer.includes('How do wind turbines generate electricity?'), 'the stand-in LLM echoed the question');
    assert(await page.locator('#conversation-error').isHidden(), 'no error');
    const cites = msg.locator('.answer button.cite');
    assert(await cites.count() > 0, 'citation badges in the answer');
    const refs = msg.getByRole('list', { name: 'References' }).locator('li');
    assert(await refs.count() > 0, 'reference chunks listed');
    const refTexts = (await refs.allTextContents()).join('\n');
    assert(/Wind turbines generate renewable electricity/.test(refTexts), 'a reference quotes wind.txt');
    const first = cites.first();
    const n = await first.getAttribute('data-ref');
    await first.click();
    assert(await msg.locator(`.refs li[data-ref="${n}"]`).evaluate((el) => el.classList.contains('flash')),
      'clicking a citation highlights its reference');
    assert((await page.locator('#chat-status').textContent()).startsWith('Answer complete'), 'status');
  });

  await step('signed-out', page, async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert(await page.evaluate(() => sessionStorage.getItem('lambdarag.apiKey')) === null, 'the key is forgotten');
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  });
}

main().catch((e) => {
  console.error(`FAIL: ${e.stack || e}`);
  process.exit(1);
});
