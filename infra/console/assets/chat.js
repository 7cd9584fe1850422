// Chat: create an assistant over datasets, open sessions, and stream answers
// (POST /chats/{id}/completions with stream: true, read with fetch + ReadableStream) with
// their citations rendered as badges that point at the reference chunks.

import {
  $, allDatasets, api, apiUrl, authHeaders, busy, datasetPicker, envelope, fmtScore, h, onLeave,
  showError,
} from '/console/api.js';

let checkedDatasets = () => [];
let chat = null; // the open assistant
let sessions = [];
let streaming = null; // AbortController of the answer being streamed

export async function showChat(chatId) {
  onLeave(() => streaming?.abort());
  const datasets = await allDatasets();
  // Only parsed datasets can back an assistant (the API refuses the others).
  checkedDatasets = datasetPicker($('#chat-datasets'), datasets.filter((d) => d.chunk_count > 0), {
    idPrefix: 'chat-ds',
  });
  await loadChats(chatId);
}

async function loadChats(openId) {
  const err = $('#chats-error');
  showError(err, null);
  let list = [];
  try {
    list = (await api('GET', '/chats', { query: { page: 1, page_size: 100 } })).data || [];
  } catch (e) {
    showError(err, e);
  }
  $('#chat-list').replaceChildren(...list.map((c) =>
    h('li', {},
      h('a', { href: `#/chat/${c.id}`, 'aria-current': c.id === openId ? 'page' : null },
        c.name, ' ', h('span', { class: 'muted small' }, `(${(c.datasets || []).map((d) => d.name).join(', ') || 'no datasets'})`)))));
  if (!list.length) $('#chat-list').append(h('li', { class: 'muted' }, 'No assistants yet.'));
  chat = list.find((c) => c.id === openId) || null;
  $('#conversation').hidden = !chat;
  $('#no-chat').hidden = !!chat;
  if (chat) await openChat();
}

$('#create-chat').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const body = { name: $('#chat-name').value, dataset_ids: checkedDatasets() };
  const model = $('#chat-model').value.trim();
  if (model) body.llm = { model_name: model };
  busy(ev.submitter, $('#create-chat-error'), async () => {
    const r = await api('POST', '/chats', { body });
    $('#chat-name').value = '';
    location.hash = `#/chat/${r.data.id}`;
  });
});

async function openChat(sessionId) {
  $('#conversation-title').textContent = chat.name;
  showError($('#conversation-error'), null);
  $('#chat-status').textContent = '';
  sessions = (await api('GET', `/chats/${chat.id}/sessions`, { query: { page: 1, page_size: 100 } })).data || [];
  const select = $('#session-select');
  select.replaceChildren(...sessions.map((s) =>
    h('option', { value: s.id }, `${s.name} · ${new Date(s.create_time).toLocaleTimeString()}`)));
  if (!sessions.length) {
    select.append(h('option', { value: '' }, '(none: send a question to start one)'));
  }
  if (sessionId) select.value = sessionId;
  renderSession(sessions.find((s) => s.id === select.value));
}

function renderSession(session) {
  const list = $('#messages');
  list.replaceChildren();
  for (const m of session?.messages || []) {
    if (m.role === 'user') list.append(userMessage(m.content));
    else list.append(assistantMessage(m.content, m.reference || []).li);
  }
}

$('#session-select').addEventListener('change', () => {
  renderSession(sessions.find((s) => s.id === $('#session-select').value));
});

async function newSession() {
  const r = await api('POST', `/chats/${chat.id}/sessions`, { body: { name: `Session ${sessions.length + 1}` } });
  await openChat(r.data.id);
  return r.data.id;
}

$('#new-session').addEventListener('click', (ev) => {
  busy(ev.currentTarget, $('#conversation-error'), newSession);
});

function userMessage(text) {
  return h('li', { class: 'msg user' }, h('div', { class: 'who' }, 'You'), h('p', { class: 'text' }, text));
}

// The answer's citation markers: `[ID:n]`, and RAGFlow's older `##n$$`.
const MARKER = /\[ID:(\d+)\]|##(\d+)\$\$/g;

// Render answer text with each marker as a badge button that highlights reference n.
function renderAnswer(el, text, refs, refList) {
  const parts = [];
  let last = 0;
  for (const m of text.matchAll(MARKER)) {
    parts.push(text.slice(last, m.index));
    const n = Number(m[1] ?? m[2]);
    const ref = refs[n];
    if (ref) {
      parts.push(h('button', {
        type: 'button', class: 'cite', dataset: { ref: String(n) },
        'aria-label': `Citation ${n + 1}: ${ref.document_name || ref.document_id}`,
        title: ref.document_name || '',
        onclick: () => focusRef(refList, n),
      }, String(n + 1)));
    } else {
      // No such reference (yet, while streaming, or ever): keep the marker readable.
      parts.push(h('span', { class: 'cite pending', title: 'reference not available' }, m[0]));
    }
    last = m.index + m[0].length;
  }
  parts.push(text.slice(last));
  el.replaceChildren(...parts);
}

function focusRef(refList, n) {
  const item = refList.querySelector(`li[data-ref="${n}"]`);
  if (!item) return;
  refList.closest('details')?.setAttribute('open', '');
  for (const x of refList.querySelectorAll('.flash')) x.classList.remove('flash');
  item.classList.add('flash');
  item.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  item.focus();
}

function renderRefs(refList, refs) {
  refList.replaceChildren(...refs.map((r, n) =>
    h('li', { class: 'ref', dataset: { ref: String(n) }, tabindex: -1 },
      h('div', { class: 'ref-head' },
        h('span', { class: 'cite' }, String(n + 1)),
        h('strong', {}, r.document_name || r.document_id),
        typeof r.similarity === 'number' ? h('span', { class: 'muted small' }, ` similarity ${fmtScore(r.similarity)}`) : null),
      h('p', { class: 'content small' }, r.content))));
}

// An assistant bubble and the function that redraws it from the text so far.
function assistantMessage(text, refs) {
  const answer = h('p', { class: 'text answer' });
  const reasoning = h('p', { class: 'text small muted' });
  const reasoningBox = h('details', { class: 'reasoning', hidden: true }, h('summary', {}, 'Reasoning'), reasoning);
  const refList = h('ol', { class: 'refs', 'aria-label': 'References' });
  const refBox = h('details', { class: 'references', open: true, hidden: true },
    h('summary', {}, 'References'), refList);
  const li = h('li', { class: 'msg assistant' }, h('div', { class: 'who' }, 'Assistant'), reasoningBox, answer, refBox);
  const state = { text, refs, thinking: '' };
  const draw = () => {
    reasoning.textContent = state.thinking;
    reasoningBox.hidden = !state.thinking;
    renderAnswer(answer, state.text, state.refs, refList);
    renderRefs(refList, state.refs);
    refBox.hidden = !state.refs.length;
  };
  draw();
  return { li, state, draw };
}

// Server-sent events from a fetch body: yields each event's `data` text as it arrives.
async function* sseData(resp) {
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    buf += decoder.decode(value || new Uint8Array(), { stream: !done });
    let cut;
    while ((cut = buf.search(/\r?\n\r?\n/)) >= 0) {
      const event = buf.slice(0, cut);
      buf = buf.slice(cut).replace(/^\r?\n\r?\n/, '');
      const data = event.split(/\r?\n/).filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, '')).join('\n');
      if (data) yield data;
    }
    if (done) break;
  }
}

async function ask(question) {
  let sessionId = $('#session-select').value;
  if (!sessionId) sessionId = await newSession();
  const list = $('#messages');
  list.append(userMessage(question));
  const msg = assistantMessage('', []);
  msg.li.setAttribute('aria-busy', 'true');
  msg.li.dataset.frames = '0';
  list.append(msg.li);
  msg.li.scrollIntoView({ block: 'end' });

  streaming = new AbortController();
  $('#stop').hidden = false;
  $('#chat-status').textContent = 'Streaming the answer…';
  let thinking = false;
  let frames = 0;
  try {
    const resp = await fetch(apiUrl(`/chats/${chat.id}/completions`), {
      method: 'POST',
      headers: { ...authHeaders(), 'Content-Type': 'application/json' },
      body: JSON.stringify({ question, stream: true, session_id: sessionId }),
      signal: streaming.signal,
    });
    // Refusals (a deleted chat, a bad key) come back as one JSON envelope, not a stream.
    if (!(resp.headers.get('content-type') || '').includes('text/event-stream')) await envelope(resp);
    for await (const data of sseData(resp)) {
      const frame = JSON.parse(data);
      if (frame.data === true) break;
      if (frame.code !== 0) {
        showError($('#conversation-error'), new Error(frame.message || 'The answer failed.'));
        if (frame.data?.answer) msg.state.text += frame.data.answer;
        msg.draw();
        continue;
      }
      const d = frame.data || {};
      frames += 1;
      msg.li.dataset.frames = String(frames);
      if (d.start_to_think) thinking = true;
      else if (d.end_to_think) thinking = false;
      else if (d.answer) {
        if (thinking) msg.state.thinking += d.answer;
        else msg.state.text += d.answer;
      }
      if (Array.isArray(d.reference?.chunks)) msg.state.refs = d.reference.chunks;
      msg.draw();
      list.scrollTop = list.scrollHeight;
    }
    $('#chat-status').textContent = `Answer complete (${frames} frames).`;
  } catch (e) {
    if (e.name === 'AbortError') $('#chat-status').textContent = 'Stopped.';
    else {
      showError($('#conversation-error'), e);
      $('#chat-status').textContent = '';
    }
  } finally {
    streaming = null;
    $('#stop').hidden = true;
    msg.li.setAttribute('aria-busy', 'false');
    msg.li.dataset.done = 'true';
  }
}

$('#ask-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const q = $('#question').value.trim();
  if (!q || streaming) return;
  $('#question').value = '';
  busy($('#send'), $('#conversation-error'), () => ask(q));
});

$('#question').addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey) {
    ev.preventDefault();
    $('#ask-form').requestSubmit();
  }
});

$('#stop').addEventListener('click', () => streaming?.abort());
