// Building the page from data. Every string from the API goes in as a text node (textContent):
// nothing a reader wrote is ever parsed as HTML, and nothing here uses innerHTML.

// Characters that reorder or hide text: shown as visible markers instead of being obeyed.
const CONTROL_NAMES = new Map([
  [0x200e, 'LRM'], [0x200f, 'RLM'],
  [0x202a, 'LRE'], [0x202b, 'RLE'], [0x202c, 'PDF'], [0x202d, 'LRO'], [0x202e, 'RLO'],
  [0x2066, 'LRI'], [0x2067, 'RLI'], [0x2068, 'FSI'], [0x2069, 'PDI'],
  [0x200b, 'ZWSP'], [0x2060, 'WJ'], [0xfeff, 'BOM'],
]);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = value;
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function controlMarker(cp) {
  const name = CONTROL_NAMES.get(cp);
  const hex = cp.toString(16).toUpperCase().padStart(4, '0');
  return el('span', { class: 'ctl', title: `Hidden control character U+${hex} (${name}), shown, not applied` }, name);
}

// Text nodes and markers for a run of code points.
function appendPlain(parent, codePoints) {
  let chunk = '';
  for (const ch of codePoints) {
    const cp = ch.codePointAt(0);
    if (CONTROL_NAMES.has(cp)) {
      if (chunk) parent.append(document.createTextNode(chunk));
      chunk = '';
      parent.append(controlMarker(cp));
    } else {
      chunk += ch;
    }
  }
  if (chunk) parent.append(document.createTextNode(chunk));
}

function weightLevel(weight) {
  if (weight >= 0.66) return 3;
  if (weight >= 0.33) return 2;
  return 1;
}

// The comment's text with the spans that drove its score highlighted. Span offsets count
// Unicode code points (as the service's Python strings do), not UTF-16 units.
export function commentText(text, spans = [], { className = 'comment-text' } = {}) {
  const box = el('div', { class: className, dir: 'auto' });
  const cps = Array.from(text || '');
  const weight = new Float64Array(cps.length);
  const label = new Array(cps.length).fill(null);
  for (const span of spans || []) {
    const start = Math.max(0, Math.min(cps.length, Number(span.start) | 0));
    const end = Math.max(start, Math.min(cps.length, Number(span.end) | 0));
    const w = Math.abs(Number(span.weight) || 0) || 0.5;
    for (let i = start; i < end; i++) {
      if (w > weight[i]) { weight[i] = w; label[i] = String(span.label || ''); }
    }
  }
  let i = 0;
  while (i < cps.length) {
    let j = i + 1;
    const lab = label[i];
    const level = lab === null ? 0 : weightLevel(weight[i]);
    while (j < cps.length && label[j] === lab && (lab === null ? 0 : weightLevel(weight[j])) === level) j++;
    const run = cps.slice(i, j);
    if (lab === null) {
      appendPlain(box, run);
    } else {
      const mark = el('mark', { class: `hl hl-${level}`, title: `${lab.replace(/_/g, ' ')} · weight ${weight[i].toFixed(2)}` });
      mark.dataset.label = lab;
      appendPlain(mark, run);
      box.append(mark);
    }
    i = j;
  }
  return box;
}

export function ago(iso) {
  const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  return duration(seconds) + ' ago';
}

export function duration(seconds) {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function pct(x) {
  return x === null || x === undefined ? '–' : `${Math.round(x * 100)}%`;
}

export function labelName(label) {
  return String(label).replace(/_/g, ' ');
}

function scoreLevel(score) {
  if (score >= 0.8) return 'high';
  if (score >= 0.5) return 'mid';
  return 'low';
}

// Only http(s) links are made clickable; anything else (javascript:, data:) stays text.
export function safeUrl(url) {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
  } catch {
    return null;
  }
}

function topScore(item) {
  const entries = Object.entries(item.scores || {});
  if (!entries.length) return null;
  return entries.reduce((a, b) => (b[1] > a[1] ? b : a));
}

export function listItem(item, { current, selected }) {
  const top = topScore(item);
  const snippet = el('div', { class: 'li-text', dir: 'auto' });
  appendPlain(snippet, Array.from((item.text || '').slice(0, 240)));
  return el('li', {
    class: `li${current ? ' current' : ''}${selected ? ' selected' : ''}`,
    dataset: { id: item.id },
    'aria-current': current ? 'true' : null,
  },
  el('div', { class: 'li-head' },
    el('span', { class: 'li-check', 'aria-hidden': 'true' }),
    el('span', { class: 'li-author', text: item.author_id }),
    el('span', { class: 'li-age', text: ago(item.created_at) }),
  ),
  snippet,
  el('div', { class: 'li-foot' },
    el('span', { class: 'li-article', text: item.article_id }),
    item.open_reports && Object.keys(item.open_reports).length
      ? el('span', { class: 'chip mid', text: `${Object.values(item.open_reports).reduce((a, b) => a + b, 0)} reports` })
      : null,
    top ? el('span', { class: `chip ${scoreLevel(top[1])}`, text: `${labelName(top[0])} ${pct(top[1])}` }) : null,
  ));
}

function scoresBlock(scores) {
  const rows = Object.entries(scores || {}).sort((a, b) => b[1] - a[1]);
  if (!rows.length) return el('p', { class: 'muted', text: 'No scores.' });
  return el('div', { class: 'scores' }, rows.map(([lab, score]) => {
    const bar = el('span', { class: `bar-fill ${scoreLevel(score)}` });
    bar.style.width = `${Math.max(1, Math.round(score * 100))}%`; // CSSOM, allowed by the CSP
    return el('div', { class: 'score-row' },
      el('span', { class: 'score-label', text: labelName(lab) }),
      el('span', { class: 'bar' }, bar),
      el('span', { class: 'score-value', text: score.toFixed(2) }));
  }));
}

function reasonMeta(r) {
  if (!r.label) return labelName(r.code);
  const parts = [labelName(r.label)];
  if (r.score !== undefined && r.score !== null) parts.push(Number(r.score).toFixed(2));
  if (r.threshold !== undefined && r.threshold !== null) parts.push(`≥ ${Number(r.threshold).toFixed(2)}`);
  return parts.join(' ');
}

function reasonsBlock(reasons) {
  if (!reasons || !reasons.length) return el('p', { class: 'muted', text: 'No reasons recorded.' });
  return el('ul', { class: 'reasons' }, reasons.map((r) => el('li', {},
    el('span', { class: 'reason-msg', text: r.message }),
    el('span', { class: 'reason-meta', text: reasonMeta(r) }))));
}

function reportsBlock(reports) {
  const rows = Object.entries(reports || {}).sort((a, b) => b[1] - a[1]);
  if (!rows.length) return null;
  return el('section', { class: 'panel wide reports' }, el('h3', { text: 'Reader reports' }),
    el('ul', { class: 'reasons' }, rows.map(([reason, n]) => el('li', {},
      el('span', { class: 'reason-msg', text: labelName(reason) }),
      el('span', { class: 'reason-meta', text: `${n} reader${n === 1 ? '' : 's'}` })))));
}

function legend(spans) {
  const labels = [...new Set((spans || []).map((s) => String(s.label)))];
  if (!labels.length) return null;
  return el('div', { class: 'legend' }, el('span', { class: 'muted', text: 'Highlighted: ' }),
    labels.map((l) => el('span', { class: 'legend-item', text: labelName(l) })));
}

function statusDot(status) {
  return el('span', { class: `dot ${status}`, title: status });
}

function authorBlock(author) {
  if (!author) return el('p', { class: 'muted', text: 'Loading…' });
  const decided = author.approved_count + author.rejected_count;
  const standing = author.sanctions.length
    ? author.sanctions.map((s) => el('span', { class: 'badge danger', text: s.replace('_', ' ') }))
    : [el('span', { class: `badge ${author.standing === 'trusted' ? 'good' : ''}`, text: author.standing })];
  return el('div', { class: 'author' },
    el('div', { class: 'author-line' },
      el('span', { class: 'author-id', text: author.id }), ...standing),
    el('div', { class: 'author-stats' },
      decided
        ? el('div', {}, el('strong', { text: pct(author.approval_rate) }), el('span', { class: 'muted', text: ' approved' }))
        : el('div', {}, el('strong', { text: 'New' }), el('span', { class: 'muted', text: ' no decided comments yet' })),
      decided ? el('div', { class: 'muted', text: `${author.approved_count} approved · ${author.rejected_count} rejected` }) : null,
      author.first_seen ? el('div', { class: 'muted', text: `first seen ${ago(author.first_seen)}` }) : null),
    author.actions && author.actions.length
      ? el('ul', { class: 'sanctions' }, author.actions.slice(0, 3).map((a) => el('li', {},
        el('span', { class: 'badge' + (['banned', 'suspended'].includes(a.to_standing) ? ' danger' : ''), text: a.action.replace(/_/g, ' ') }),
        el('span', { class: 'muted', text: ` by ${a.actor_name} ${ago(a.at)}${a.reason ? ` — ${a.reason}` : ''}` }))))
      : null,
    author.recent.length
      ? el('ol', { class: 'recent' }, author.recent.map((c) => {
        const t = el('span', { class: 'recent-text', dir: 'auto' });
        appendPlain(t, Array.from(c.text.slice(0, 160)));
        return el('li', {}, statusDot(c.status), t,
          el('span', { class: 'recent-meta', text: `${c.article_id} · ${ago(c.created_at)}` }));
      }))
      : el('p', { class: 'muted', text: 'No other comments.' }));
}

export function card(item, context, { banAvailable, focus, position }) {
  const article = context ? context.article : { id: item.article_id, title: null, url: null };
  const href = safeUrl(article.url);
  const title = article.title || article.id;
  const articleNode = href
    ? el('a', { href, target: '_blank', rel: 'noopener noreferrer', class: 'article-link', text: title })
    : el('span', { class: 'article-link', text: title });
  const parent = context && context.parent;
  return el('article', { class: `card${focus ? ' focus' : ''}`, dataset: { id: item.id } },
    el('header', { class: 'card-head' },
      el('div', { class: 'card-article' }, el('span', { class: 'muted', text: 'On ' }), articleNode,
        el('span', { class: 'site', text: item.site_id })),
      el('div', { class: 'card-meta' },
        el('span', { class: 'author-id', text: item.author_id }),
        el('span', { class: 'muted', text: ` · ${ago(item.created_at)}` }),
        focus && position ? el('span', { class: 'position', text: position }) : null)),
    parent ? el('section', { class: 'parent' },
      el('div', { class: 'parent-head' }, el('span', { class: 'muted', text: 'In reply to ' }),
        el('span', { class: 'author-id', text: parent.author_id }), statusDot(parent.status)),
      commentText(parent.text, [], { className: 'comment-text parent-text' })) : null,
    commentText(item.text, item.spans),
    legend(item.spans),
    el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'approve', 'data-action': 'approve' }, 'Approve ', el('kbd', { text: 'a' })),
      el('button', { type: 'button', class: 'reject', 'data-action': 'reject' }, 'Reject… ', el('kbd', { text: 'r' })),
      el('button', { type: 'button', class: 'quiet', 'data-action': 'ban', disabled: banAvailable ? null : true, title: banAvailable ? 'Ban the author and reject this comment' : 'Banning is not available on this server' }, 'Ban author ', el('kbd', { text: 'b' }))),
    el('div', { class: 'card-grid' },
      reportsBlock(item.open_reports),
      el('section', { class: 'panel' }, el('h3', { text: 'Why it is here' }), reasonsBlock(item.reasons)),
      el('section', { class: 'panel' }, el('h3', { text: 'Scores' }), scoresBlock(item.scores)),
      el('section', { class: 'panel wide' }, el('h3', { text: 'Author' }), authorBlock(context && context.author))));
}
