// The moderator's workbench. Claims happen behind the scenes: the page leases a batch of comments,
// keeps the leases alive while the moderator works, tops the batch up as comments are decided or
// arrive, and gives back what it did not decide.

import { Api, ApiError } from './api.js';
import { renderDashboard } from './dashboard.js';
import { card, duration, el, listItem } from './render.js';

const KEY_STORAGE = 'moderation.key';
const BATCH = 20; // comments held at once: enough to move fast, few enough not to hoard
const REFILL_BELOW = 10;

const $ = (id) => document.getElementById(id);
const addedAt = new Map(); // comment id -> when it (re)joined our list

const state = {
  api: null,
  me: null,
  tab: 'pending',
  filter: { site: '', article: '' },
  sort: 'oldest',
  items: [],
  index: 0,
  selected: new Set(),
  contexts: new Map(),
  focus: false,
  last: null, // { id, decision, at } of the latest single decision, for undo
  features: { ban: false, reported: false },
  stats: null,
  timers: [],
  stream: null,
  claiming: null,
  claimAgain: false,
  pendingKey: null, // first key of a two-key sequence (g d)
  busy: false,
};

// ---------- sign-in ----------

function showSignin(message = '') {
  $('app').hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = message;
  $('signin-key').value = '';
  $('signin-key').focus();
}

async function signIn(key) {
  const api = new Api(key, { onUnauthorized: () => signOut('Your key was not accepted any more. Sign in again.') });
  const me = await api.get('/v1/review/whoami');
  sessionStorage.setItem(KEY_STORAGE, key);
  state.api = api;
  state.me = me;
  await start();
}

async function signOut(message = '') {
  stop();
  await releaseAll();
  sessionStorage.removeItem(KEY_STORAGE);
  state.api = null;
  state.items = [];
  state.contexts.clear();
  state.selected.clear();
  showSignin(message);
}

// ---------- lifecycle ----------

async function start() {
  $('signin').hidden = true;
  $('app').hidden = false;
  $('who').textContent = state.me.name;
  $('who').title = `${state.me.role}${state.me.site_id ? ` · site ${state.me.site_id}` : ''}`;
  if (state.me.site_id) {
    $('filter-site').value = state.me.site_id;
    $('filter-site').disabled = true;
    state.filter.site = state.me.site_id;
  }
  await detectFeatures();
  setTab(location.hash === '#dashboard' ? 'dashboard' : 'pending');
  connectLive();
  // Keep leases alive well before they run out; re-read counts in case a notification was missed.
  const extendEvery = Math.max(5, state.me.lease_s / 3) * 1000;
  state.timers.push(setInterval(extendLeases, extendEvery));
  state.timers.push(setInterval(() => { refreshStats(); topUp(); }, 30000));
  state.timers.push(setInterval(renderList, 30000)); // keep "3m ago" honest
}

function stop() {
  for (const t of state.timers) clearInterval(t);
  state.timers = [];
  if (state.stream) state.stream.abort();
  state.stream = null;
}

// Optional parts of the API: the page offers them only when the service declares them.
async function detectFeatures() {
  try {
    const response = await fetch('/openapi.json', { cache: 'no-store', credentials: 'omit' });
    const doc = await response.json();
    const paths = doc.paths || {};
    state.features.ban = Boolean(paths['/v1/authors/{author_id}/ban'] && paths['/v1/authors/{author_id}/ban'].post);
    const claim = paths['/v1/review/claim'] && paths['/v1/review/claim'].post;
    const ref = claim && claim.requestBody && claim.requestBody.content['application/json'].schema.$ref;
    const schema = ref && doc.components.schemas[ref.split('/').pop()];
    const queue = schema && schema.properties && schema.properties.queue;
    const values = queue ? JSON.stringify(queue) : '';
    state.features.reported = values.includes('"reported"');
  } catch {
    state.features.ban = false;
    state.features.reported = false;
  }
  $('tab-reported').classList.toggle('unavailable-tab', !state.features.reported);
}

// ---------- tabs, filters ----------

function queueName() {
  return state.tab === 'reported' ? 'reported' : 'pending';
}

async function setTab(tab) {
  if (tab === 'reported' && !state.features.reported) {
    state.tab = tab;
    showPane('unavailable');
    markTabs();
    return;
  }
  const queueChanged = (tab === 'reported') !== (state.tab === 'reported');
  state.tab = tab;
  markTabs();
  history.replaceState(null, '', tab === 'dashboard' ? '#dashboard' : '#');
  if (tab === 'dashboard') {
    showPane('dashboard');
    try {
      await renderDashboard($('dashboard'), state.api, state.filter);
    } catch (err) {
      $('dashboard').replaceChildren(el('p', { class: 'form-error pad', text: `Could not load the dashboard: ${err.message}` }));
    }
    return;
  }
  showPane('review');
  if (queueChanged || !state.items.length) await reload();
  else renderAll();
}

function markTabs() {
  for (const b of document.querySelectorAll('.tab')) {
    b.setAttribute('aria-selected', String(b.dataset.tab === state.tab));
  }
  // Deciding "all matching" works on the pending queue; reported comments are decided one by one.
  $('select-matching').hidden = state.tab === 'reported';
}

function showPane(name) {
  $('review').hidden = name !== 'review';
  $('dashboard').hidden = name !== 'dashboard';
  $('unavailable').hidden = name !== 'unavailable';
  $('filters').classList.toggle('dim', name === 'unavailable');
}

// Start over with the current filter and order: give back what we hold, claim afresh.
async function reload() {
  await releaseAll();
  state.items = [];
  state.index = 0;
  state.selected.clear();
  renderAll();
  await Promise.all([claim(BATCH), refreshStats()]);
}

function scopeBody() {
  const body = {};
  if (state.filter.site) body.site_id = state.filter.site;
  if (state.filter.article) body.article_id = state.filter.article;
  if (state.tab === 'reported') body.queue = 'reported';
  return body;
}

// ---------- claims and leases ----------

function sortItems() {
  const key = {
    oldest: (a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id),
    newest: (a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id),
    score: (a, b) => b.max_score - a.max_score || b.id.localeCompare(a.id),
  }[state.sort];
  const current = state.items[state.index];
  state.items.sort(key);
  if (current) state.index = Math.max(0, state.items.indexOf(current));
}

async function claim(limit) {
  if (state.tab === 'dashboard' || limit <= 0) return state.claiming;
  if (state.claiming) {
    // Comments may have arrived after that claim chose its rows: look again when it is done.
    state.claimAgain = true;
    return state.claiming;
  }
  const body = { ...scopeBody(), limit: Math.min(limit, state.me.claim_max), sort: state.sort };
  state.claiming = (async () => {
    try {
      const { items } = await state.api.post('/v1/review/claim', body);
      const have = new Set(state.items.map((i) => i.id));
      const fresh = items.filter((i) => !have.has(i.id));
      for (const item of fresh) addedAt.set(item.id, Date.now());
      if (fresh.length) {
        state.items.push(...fresh);
        sortItems();
        renderAll();
        for (const item of fresh.slice(0, 3)) loadContext(item.id);
      } else if (!state.items.length) {
        renderAll();
      }
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) toast(`Could not fetch comments: ${err.message}`);
    } finally {
      state.claiming = null;
      if (state.claimAgain) {
        state.claimAgain = false;
        topUp();
      }
    }
  })();
  return state.claiming;
}

function topUp() {
  if (state.tab === 'dashboard' || !state.api) return;
  if (state.items.length < REFILL_BELOW) claim(BATCH - state.items.length);
}

async function extendLeases() {
  if (!state.items.length) return;
  const ids = state.items.map((i) => i.id);
  const asked = Date.now();
  try {
    const { extended } = await state.api.post('/v1/review/leases/extend', { ids });
    const still = new Set(extended.map((e) => e.id));
    // Only comments we held when we asked: one claimed or undone meanwhile is surely ours.
    const lost = state.items.filter((i) => ids.includes(i.id) && !still.has(i.id) && (addedAt.get(i.id) || 0) < asked);
    if (lost.length) {
      // Decided elsewhere or lease lost while the tab slept: drop them rather than fail later.
      removeItems(new Set(lost.map((i) => i.id)));
      toast(`${lost.length} comment${lost.length > 1 ? 's were' : ' was'} no longer yours and left your list.`);
    }
  } catch {
    // A missed extension is retried on the next tick; the lease is several ticks long.
  }
}

async function releaseAll(keepalive = false) {
  if (!state.api || !state.items.length) return;
  const ids = state.items.map((i) => i.id);
  try {
    await state.api.post('/v1/review/leases/release', { ids }, { keepalive });
  } catch {
    // Leases run out by themselves.
  }
}

// ---------- context ----------

async function loadContext(id) {
  if (state.contexts.has(id)) return state.contexts.get(id);
  const promise = state.api.get(`/v1/review/${id}/context`).then((ctx) => {
    state.contexts.set(id, ctx);
    if (currentItem() && currentItem().id === id) renderDetail();
    return ctx;
  }).catch(() => { state.contexts.delete(id); return null; });
  state.contexts.set(id, promise);
  return promise;
}

function contextOf(id) {
  const ctx = state.contexts.get(id);
  return ctx && !(ctx instanceof Promise) ? ctx : null;
}

// ---------- rendering ----------

function currentItem() {
  return state.items[state.index] || null;
}

function renderAll() {
  renderList();
  renderDetail();
  renderBulkbar();
  renderCounts();
}

function renderList() {
  const list = $('list');
  list.replaceChildren(...state.items.map((item, i) => listItem(item, { current: i === state.index, selected: state.selected.has(item.id) })));
  $('list-empty').hidden = state.items.length > 0 || Boolean(state.claiming);
  const current = list.querySelector('.current');
  if (current) current.scrollIntoView({ block: 'nearest' });
}

function renderDetail() {
  const item = currentItem();
  const detail = $('detail');
  document.body.classList.toggle('focus-mode', state.focus);
  if (!item) {
    detail.replaceChildren(el('div', { class: 'empty detail-empty' },
      el('p', { class: 'empty-title', text: state.stats && state.stats.depth ? 'Others are on the rest' : 'Nothing waiting' }),
      el('p', { class: 'muted', text: state.stats && state.stats.depth ? 'Every pending comment is being reviewed by someone. Comments come to you as they free up.' : 'Take a breath. New comments appear as soon as they arrive.' })));
    return;
  }
  detail.replaceChildren(card(item, contextOf(item.id), {
    banAvailable: state.features.ban,
    focus: state.focus,
    position: `${state.index + 1} of ${state.items.length}`,
  }));
  loadContext(item.id);
  const next = state.items[state.index + 1];
  if (next) loadContext(next.id);
}

function renderCounts() {
  const s = state.stats;
  const countNode = $(state.tab === 'reported' ? 'count-reported' : 'count-pending');
  if (s) countNode.textContent = s.depth.toLocaleString();
  const parts = [];
  if (s) {
    parts.push(el('strong', { text: s.depth.toLocaleString() }), ` ${queueName()}`);
    if (s.depth) parts.push(` · oldest ${duration(s.oldest_age_s)}`);
  }
  $('queue-summary').replaceChildren(...parts);
}

function renderBulkbar() {
  const n = state.selected.size;
  $('bulkbar').hidden = n === 0;
  $('bulk-count').textContent = `${n} selected`;
}

async function refreshStats() {
  if (!state.api) return;
  try {
    const query = { site_id: state.filter.site, article_id: state.filter.article };
    const [pending, reported] = await Promise.all([
      state.api.get('/v1/review/stats', query),
      state.features.reported ? state.api.get('/v1/review/stats', { ...query, queue: 'reported' }) : null,
    ]);
    $('count-pending').textContent = pending.depth.toLocaleString();
    if (reported) $('count-reported').textContent = reported.depth.toLocaleString();
    state.stats = state.tab === 'reported' ? reported : pending;
    renderCounts();
    if (!currentItem()) renderDetail(); // the empty state depends on whether others hold comments
  } catch {
    // Counts refresh on the next change or tick.
  }
}

let statsTimer = null;
function refreshStatsSoon() {
  clearTimeout(statsTimer);
  statsTimer = setTimeout(refreshStats, 250);
}

// ---------- decisions ----------

function removeItems(ids) {
  const current = currentItem();
  state.items = state.items.filter((i) => !ids.has(i.id));
  for (const id of ids) { state.selected.delete(id); state.contexts.delete(id); }
  const at = current ? state.items.indexOf(current) : -1;
  state.index = at >= 0 ? at : Math.min(state.index, Math.max(0, state.items.length - 1));
  renderAll();
}

async function decide(decision, reason) {
  const item = currentItem();
  if (!item || state.busy) return;
  const position = state.index;
  // Optimistic: move on at once; put the comment back if the service refuses.
  state.items.splice(position, 1);
  state.selected.delete(item.id);
  if (state.index >= state.items.length) state.index = Math.max(0, state.items.length - 1);
  renderAll();
  try {
    await state.api.post(`/v1/review/${item.id}/decision`, reason ? { decision, reason } : { decision });
    state.last = { id: item.id, decision, at: Date.now() };
    state.contexts.delete(item.id);
    toast(decision === 'approve' ? 'Approved.' : `Rejected${reason ? `: ${reason}` : ''}.`, { undo: true });
    refreshStatsSoon();
    topUp();
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) {
      toast(`Not decided: ${err.message}. The comment left your list.`);
    } else {
      state.items.splice(position, 0, item);
      state.index = position;
      renderAll();
      toast(`Not decided: ${err.message}`);
    }
  }
}

async function undo() {
  const last = state.last;
  if (!last) { toast('Nothing to undo.'); return; }
  if (Date.now() - last.at > state.me.undo_window_s * 1000) { toast('Too late to undo that decision.'); state.last = null; return; }
  try {
    const item = await state.api.post(`/v1/review/${last.id}/undo`, {});
    addedAt.set(item.id, Date.now());
    state.last = null;
    state.items.splice(state.index, 0, item);
    renderAll();
    toast('Undone. The comment is back with you.');
  } catch (err) {
    toast(`Could not undo: ${err.message}`);
  }
}

async function ban() {
  const item = currentItem();
  if (!item) return;
  if (!state.features.ban) { toast('Banning is not available on this server.'); return; }
  const ok = await confirmDialog({
    title: 'Ban this author?',
    body: `${item.author_id} will not be able to comment on ${item.site_id}, and this comment is rejected.`,
    actions: [{ label: 'Ban and reject', className: 'reject', value: true }],
  });
  if (!ok) return;
  try {
    await state.api.post(`/v1/authors/${encodeURIComponent(item.author_id)}/ban`, { site_id: item.site_id, reason: 'Banned from the moderator page' });
  } catch (err) {
    toast(`Could not ban: ${err.message}`);
    return;
  }
  await decide('reject', 'Author banned');
}

// ---------- reject reasons ----------

function pickReason(subtitle) {
  const dialog = $('reject-dialog');
  const list = $('reject-reasons');
  const other = $('reject-other');
  let chosen = 0;
  const reasons = state.me.reject_reasons;
  $('reject-subtitle').textContent = subtitle || '';
  const paint = () => {
    list.replaceChildren(...reasons.map((r, i) => el('li', { class: i === chosen ? 'chosen' : '', dataset: { i: String(i) } },
      el('kbd', { text: String(i + 1) }), el('span', { text: r }))));
  };
  paint();
  other.value = '';
  return new Promise((resolve) => {
    const finish = (value) => {
      dialog.removeEventListener('keydown', onKey);
      list.removeEventListener('click', onClick);
      $('reject-confirm').onclick = null;
      $('reject-cancel').onclick = null;
      dialog.onclose = null;
      if (dialog.open) dialog.close();
      resolve(value);
    };
    const confirm = () => finish(other.value.trim() || reasons[chosen] || null);
    const onKey = (e) => {
      if (e.key === 'Escape') { e.preventDefault(); finish(null); return; }
      if (e.key === 'Enter') { e.preventDefault(); confirm(); return; }
      if (document.activeElement === other) return;
      if (/^[1-9]$/.test(e.key) && Number(e.key) <= reasons.length) {
        e.preventDefault();
        chosen = Number(e.key) - 1;
        paint();
        confirm();
      } else if (e.key === 'j' || e.key === 'ArrowDown') { e.preventDefault(); chosen = Math.min(reasons.length - 1, chosen + 1); paint(); }
      else if (e.key === 'k' || e.key === 'ArrowUp') { e.preventDefault(); chosen = Math.max(0, chosen - 1); paint(); }
    };
    const onClick = (e) => {
      const li = e.target.closest('li');
      if (li) { chosen = Number(li.dataset.i); paint(); confirm(); }
    };
    dialog.addEventListener('keydown', onKey);
    list.addEventListener('click', onClick);
    $('reject-confirm').onclick = confirm;
    $('reject-cancel').onclick = () => finish(null);
    dialog.onclose = () => finish(null);
    dialog.showModal();
    $('reject-confirm').focus();
  });
}

function confirmDialog({ title, body, actions, extra }) {
  const dialog = $('confirm-dialog');
  $('confirm-title').textContent = title;
  $('confirm-body').textContent = body;
  $('confirm-extra').replaceChildren(...(extra ? [extra] : []));
  return new Promise((resolve) => {
    const finish = (value) => {
      dialog.onclose = null;
      if (dialog.open) dialog.close();
      resolve(value);
    };
    const buttons = [el('button', { type: 'button', class: 'quiet', onclick: () => finish(null) }, 'Cancel ', el('kbd', { text: 'Esc' })),
      ...actions.map((a) => el('button', { type: 'button', class: a.className, onclick: () => finish(a.value) }, a.label))];
    $('confirm-actions').replaceChildren(...buttons);
    dialog.onclose = () => finish(null);
    dialog.showModal();
    // Enter must not settle a bulk action or a ban by accident: the safe choice has the focus.
    buttons[0].focus();
  });
}

// ---------- bulk ----------

async function bulkSelected(decision) {
  const ids = [...state.selected];
  if (!ids.length) return;
  let reason = null;
  if (decision === 'reject') {
    reason = await pickReason(`${ids.length} selected comment${ids.length > 1 ? 's' : ''}`);
    if (!reason) return;
  }
  const verb = decision === 'approve' ? 'Approve' : 'Reject';
  const ok = await confirmDialog({
    title: `${verb} ${ids.length} comment${ids.length > 1 ? 's' : ''}?`,
    body: `All ${ids.length} selected comments will be ${decision === 'approve' ? 'approved' : `rejected (${reason})`} at once.`,
    actions: [{ label: `${verb} ${ids.length}`, className: decision === 'approve' ? 'approve' : 'reject', value: true }],
  });
  if (!ok) return;
  try {
    const result = await state.api.post('/v1/review/bulk', { ids, decision, reason });
    removeItems(new Set(result.ids));
    state.last = null;
    toast(`${decision === 'approve' ? 'Approved' : 'Rejected'} ${result.decided} comment${result.decided === 1 ? '' : 's'}${result.skipped ? ` · ${result.skipped} skipped` : ''}.`);
    topUp();
  } catch (err) {
    toast(`Bulk decision failed, nothing changed: ${err.message}`);
  }
}

async function bulkMatching() {
  const filter = {};
  if (state.filter.site) filter.site_id = state.filter.site;
  if (state.filter.article) filter.article_id = state.filter.article;
  let preview;
  try {
    preview = await state.api.post('/v1/review/bulk', { filter, decision: 'approve', dry_run: true });
  } catch (err) {
    toast(`Could not count: ${err.message}`);
    return;
  }
  const n = preview.matched;
  const where = [state.filter.site && `site “${state.filter.site}”`, state.filter.article && `article “${state.filter.article}”`].filter(Boolean).join(', ') || 'every site and article';
  if (!n) { toast('No pending comment matches the filter (or others hold them all).'); return; }
  const capped = Math.min(n, state.me.bulk_max);
  const decision = await confirmDialog({
    title: `Decide all ${n.toLocaleString()} matching comments?`,
    body: `Pending comments on ${where}, as of now, that no other moderator is holding.${n > capped ? ` At most ${capped.toLocaleString()} are decided per action.` : ''}`,
    actions: [
      { label: `Reject ${capped.toLocaleString()}…`, className: 'reject', value: 'reject' },
      { label: `Approve ${capped.toLocaleString()}`, className: 'approve', value: 'approve' },
    ],
  });
  if (!decision) return;
  let reason = null;
  if (decision === 'reject') {
    reason = await pickReason(`${capped.toLocaleString()} matching comments`);
    if (!reason) return;
  }
  try {
    const result = await state.api.post('/v1/review/bulk', { filter: { ...filter, created_before: preview.as_of }, decision, reason });
    toast(`${decision === 'approve' ? 'Approved' : 'Rejected'} ${result.decided.toLocaleString()} comment${result.decided === 1 ? '' : 's'}${result.skipped ? ` · ${result.skipped} skipped` : ''}.`);
    state.last = null;
    state.items = [];
    state.selected.clear();
    await Promise.all([claim(BATCH), refreshStats()]);
  } catch (err) {
    toast(`Bulk decision failed, nothing changed: ${err.message}`);
  }
}

// ---------- live updates ----------

function setLive(s) {
  $('live').dataset.state = s;
  $('live').title = { on: 'Live: new comments appear as they arrive', off: 'Live updates paused; reconnecting', poll: 'Live updates unavailable; refreshing every 30 s' }[s];
}

function connectLive() {
  let delay = 1000;
  const controller = new AbortController();
  state.stream = controller;
  const loop = async () => {
    while (!controller.signal.aborted) {
      try {
        await state.api.stream('/v1/review/events', (event) => {
          delay = 1000;
          if (event.type === 'hello') setLive(event.data.live ? 'on' : 'poll');
          else if (event.type === 'queue') {
            setLive('on');
            refreshStatsSoon();
            // Only comments that entered the queue or were given back can be claimed.
            const sites = Object.values(event.data.sites || {});
            const arrived = state.tab === 'reported' ? (c) => c.reported || c.released : (c) => c.entered || c.released;
            if (sites.some(arrived)) topUp();
          } else if (event.type === 'resync') {
            setLive('on');
            refreshStatsSoon();
            topUp();
            extendLeases();
          }
        }, controller.signal);
      } catch (err) {
        if (controller.signal.aborted) return;
        if (err instanceof ApiError && err.status === 401) return;
      }
      setLive('off');
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 30000);
      refreshStats();
      topUp();
    }
  };
  loop();
}

// ---------- toast ----------

let toastTimer = null;
function toast(text, { undo = false } = {}) {
  $('toast-text').textContent = text;
  $('toast-undo').hidden = !undo;
  $('toast').hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { $('toast').hidden = true; }, undo ? Math.min(8000, state.me.undo_window_s * 1000) : 4000);
}

// ---------- keyboard ----------

function move(delta) {
  if (!state.items.length) return;
  state.index = Math.max(0, Math.min(state.items.length - 1, state.index + delta));
  renderList();
  renderDetail();
}

function toggleSelect(all = false) {
  if (all) {
    const everything = state.items.every((i) => state.selected.has(i.id));
    state.selected = everything ? new Set() : new Set(state.items.map((i) => i.id));
  } else {
    const item = currentItem();
    if (!item) return;
    if (state.selected.has(item.id)) state.selected.delete(item.id);
    else state.selected.add(item.id);
    move(1);
  }
  renderList();
  renderBulkbar();
}

async function onKey(e) {
  if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
  if (document.querySelector('dialog[open]')) return;
  const target = e.target;
  if (target instanceof HTMLInputElement || target instanceof HTMLSelectElement || target instanceof HTMLTextAreaElement) {
    if (e.key === 'Escape') target.blur();
    return;
  }
  if (!state.api) return;
  if (state.pendingKey === 'g') {
    state.pendingKey = null;
    const tab = { d: 'dashboard', p: 'pending', r: 'reported' }[e.key];
    if (tab) { e.preventDefault(); setTab(tab); }
    return;
  }
  if (e.key === '?') { e.preventDefault(); $('help-dialog').showModal(); return; }
  if (e.key === 'g') { state.pendingKey = 'g'; setTimeout(() => { state.pendingKey = null; }, 1500); return; }
  if (state.tab === 'dashboard' || state.tab === 'reported' && !state.features.reported) return;
  const handled = {
    j: () => move(1),
    ArrowDown: () => move(1),
    k: () => move(-1),
    ArrowUp: () => move(-1),
    a: () => (state.selected.size ? bulkSelected('approve') : decide('approve')),
    r: async () => {
      if (state.selected.size) return bulkSelected('reject');
      if (!currentItem()) return;
      const reason = await pickReason(`Comment by ${currentItem().author_id}`);
      if (reason) await decide('reject', reason);
    },
    b: () => ban(),
    z: () => { state.focus = !state.focus; renderDetail(); },
    u: () => undo(),
    x: () => toggleSelect(false),
    X: () => toggleSelect(true),
    Escape: () => { if (state.focus) { state.focus = false; renderDetail(); } state.selected.clear(); renderList(); renderBulkbar(); },
  }[e.key];
  if (handled) {
    e.preventDefault();
    await handled();
  }
}

// ---------- wiring ----------

function wire() {
  $('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const key = $('signin-key').value.trim();
    if (!key) { $('signin-error').textContent = 'Paste your moderator key.'; return; }
    $('signin-submit').disabled = true;
    try {
      await signIn(key);
    } catch (err) {
      $('signin-error').textContent = err instanceof ApiError && err.status === 401
        ? 'That key was not accepted.'
        : err instanceof ApiError && err.status === 403 ? 'That key cannot moderate.' : `Could not sign in: ${err.message}`;
    } finally {
      $('signin-submit').disabled = false;
    }
  });
  $('signout').addEventListener('click', () => signOut());
  for (const b of document.querySelectorAll('.tab')) b.addEventListener('click', () => setTab(b.dataset.tab));
  let filterTimer = null;
  const onFilter = () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => {
      state.filter = { site: $('filter-site').value.trim(), article: $('filter-article').value.trim() };
      if (state.tab === 'dashboard') setTab('dashboard'); else reload();
    }, 400);
  };
  $('filter-site').addEventListener('input', onFilter);
  $('filter-article').addEventListener('input', onFilter);
  $('sort').addEventListener('change', () => { state.sort = $('sort').value; $('sort').blur(); reload(); });
  $('list').addEventListener('click', (e) => {
    const li = e.target.closest('li[data-id]');
    if (!li) return;
    const i = state.items.findIndex((x) => x.id === li.dataset.id);
    if (i < 0) return;
    if (e.target.closest('.li-check')) {
      if (state.selected.has(li.dataset.id)) state.selected.delete(li.dataset.id); else state.selected.add(li.dataset.id);
      renderList();
      renderBulkbar();
      return;
    }
    state.index = i;
    renderList();
    renderDetail();
  });
  $('detail').addEventListener('click', async (e) => {
    const action = e.target.closest('[data-action]');
    if (!action) return;
    if (action.dataset.action === 'approve') await decide('approve');
    else if (action.dataset.action === 'reject') {
      const reason = await pickReason(currentItem() ? `Comment by ${currentItem().author_id}` : '');
      if (reason) await decide('reject', reason);
    } else if (action.dataset.action === 'ban') await ban();
  });
  $('bulk-approve').addEventListener('click', () => bulkSelected('approve'));
  $('bulk-reject').addEventListener('click', () => bulkSelected('reject'));
  $('bulk-clear').addEventListener('click', () => { state.selected.clear(); renderList(); renderBulkbar(); });
  $('select-matching').addEventListener('click', () => bulkMatching());
  $('help-close').addEventListener('click', () => $('help-dialog').close());
  $('toast-undo').addEventListener('click', () => undo());
  document.addEventListener('keydown', onKey);
  // Give back what we hold when the tab goes away; keepalive lets the request outlive the page.
  window.addEventListener('pagehide', () => { releaseAll(true); });
}

async function boot() {
  wire();
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (!key) { showSignin(); return; }
  try {
    await signIn(key);
  } catch {
    sessionStorage.removeItem(KEY_STORAGE);
    showSignin('Sign in again.');
  }
}

boot();
