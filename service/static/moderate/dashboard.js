// The dashboard: queue depth and age over time, decisions per moderator per day, and how often
// moderators overturn the model. Charts are SVG built node by node.

import { duration, el, labelName, pct } from './render.js';

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  for (const c of children) if (c) node.append(c);
  return node;
}

function lineChart(points, { value, format, title, className }) {
  const width = 640;
  const height = 180;
  const pad = { left: 48, right: 12, top: 12, bottom: 24 };
  const box = el('figure', { class: `chart ${className}` }, el('figcaption', { text: title }));
  if (points.length < 2) {
    box.append(el('p', { class: 'muted chart-empty', text: points.length ? 'One sample so far; the line starts with the next.' : 'No samples yet: the service records the queue every minute.' }));
    return box;
  }
  const xs = points.map((p) => new Date(p.at).getTime());
  const ys = points.map(value);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const yMax = Math.max(1, ...ys) * 1.1;
  const sx = (x) => pad.left + ((x - x0) / Math.max(1, x1 - x0)) * (width - pad.left - pad.right);
  const sy = (y) => height - pad.bottom - (y / yMax) * (height - pad.top - pad.bottom);
  const line = xs.map((x, i) => `${i ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(ys[i]).toFixed(1)}`).join('');
  const area = `${line}L${sx(x1).toFixed(1)},${sy(0)}L${sx(x0).toFixed(1)},${sy(0)}Z`;
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title, class: 'chart-svg' });
  for (const f of [0, 0.5, 1]) {
    const y = sy(yMax / 1.1 * f);
    chart.append(svg('line', { x1: pad.left, x2: width - pad.right, y1: y, y2: y, class: 'grid' }));
    const t = svg('text', { x: pad.left - 6, y: y + 4, 'text-anchor': 'end', class: 'axis' });
    t.textContent = format(yMax / 1.1 * f);
    chart.append(t);
  }
  for (const [x, anchor] of [[x0, 'start'], [x1, 'end']]) {
    const t = svg('text', { x: sx(x), y: height - 6, 'text-anchor': anchor, class: 'axis' });
    t.textContent = new Date(x).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
    chart.append(t);
  }
  chart.append(svg('path', { d: area, class: 'area' }), svg('path', { d: line, class: 'line' }));
  box.append(chart);
  return box;
}

function stat(label, value, hint) {
  return el('div', { class: 'stat' }, el('div', { class: 'stat-value', text: value }),
    el('div', { class: 'stat-label', text: label }), hint ? el('div', { class: 'stat-hint muted', text: hint }) : null);
}

function moderatorTable(rows, days) {
  if (!rows.length) return el('p', { class: 'muted', text: `No moderator decisions in the last ${days} days.` });
  const dayKeys = [...new Set(rows.map((r) => r.day))].sort().slice(-10);
  const mods = [...new Set(rows.map((r) => r.moderator))].sort();
  const cell = new Map(rows.map((r) => [`${r.moderator}|${r.day}`, r]));
  const max = Math.max(1, ...rows.map((r) => r.approved + r.rejected));
  const head = el('tr', {}, el('th', { text: 'Moderator' }),
    dayKeys.map((d) => el('th', { class: 'num', text: new Date(`${d}T00:00:00Z`).toLocaleDateString([], { month: 'short', day: 'numeric', timeZone: 'UTC' }) })),
    el('th', { class: 'num', text: 'Total' }));
  const body = mods.map((m) => {
    let total = 0;
    const tds = dayKeys.map((d) => {
      const r = cell.get(`${m}|${d}`);
      const n = r ? r.approved + r.rejected : 0;
      total += n;
      const td = el('td', { class: 'num heat', title: r ? `${r.approved} approved, ${r.rejected} rejected` : 'none', text: n ? String(n) : '·' });
      td.style.setProperty('--heat', String(n / max));
      return td;
    });
    return el('tr', {}, el('th', { scope: 'row', text: m }), tds, el('td', { class: 'num total', text: String(total) }));
  });
  return el('table', { class: 'table compact' }, el('thead', {}, head), el('tbody', {}, body));
}

function overturnTable(title, rows, keyName, note) {
  const section = el('section', { class: 'panel' }, el('h3', { text: title }), note ? el('p', { class: 'muted small', text: note }) : null);
  if (!rows.length) {
    section.append(el('p', { class: 'muted', text: 'Nothing decided yet.' }));
    return section;
  }
  section.append(el('table', { class: 'table' },
    el('thead', {}, el('tr', {}, el('th', { text: keyName }), el('th', { class: 'num', text: 'Overturned' }),
      el('th', { class: 'rate-head', text: 'Rate' }))),
    el('tbody', {}, rows.map((r) => {
      const fill = el('span', { class: 'bar-fill mid' });
      fill.style.width = `${Math.round((r.rate || 0) * 100)}%`;
      return el('tr', {}, el('th', { scope: 'row', class: 'key', text: labelName(r.key), title: labelName(r.key) }),
        el('td', { class: 'num', text: `${r.overturned} of ${r.decided}` }),
        el('td', { class: 'rate' }, el('span', { class: 'bar' }, fill), el('span', { class: 'rate-value', text: pct(r.rate) })));
    }))));
  return section;
}

export async function renderDashboard(root, api, filter) {
  root.replaceChildren(el('p', { class: 'muted pad', text: 'Loading the dashboard…' }));
  const data = await api.get('/v1/review/dashboard', { site_id: filter.site, hours: 48, days: 14 });
  const today = new Date().toISOString().slice(0, 10);
  const decidedToday = data.decisions.filter((d) => d.day === today).reduce((n, d) => n + d.approved + d.rejected, 0);
  const o = data.overturns;
  root.replaceChildren(
    el('div', { class: 'stats' },
      stat('pending now', data.now.depth.toLocaleString(), `${data.now.leased} being reviewed`),
      stat('oldest waiting', data.now.depth ? duration(data.now.oldest_age_s) : '–'),
      stat('decided today', decidedToday.toLocaleString(), 'by moderators (UTC day)'),
      stat('model overturned', pct(o.overall.rate), `${o.overall.overturned} of ${o.overall.decided} decisions, ${data.days} days`)),
    el('div', { class: 'charts' },
      lineChart(data.queue, { value: (p) => p.depth, format: (v) => Math.round(v).toLocaleString(), title: `Queue depth, last ${data.hours} hours`, className: 'depth' }),
      lineChart(data.queue, { value: (p) => p.oldest_age_s, format: (v) => duration(v), title: `Oldest comment's age, last ${data.hours} hours`, className: 'age' })),
    el('section', { class: 'panel' }, el('h3', { text: `Decisions per moderator per day (UTC), last ${data.days} days` }), moderatorTable(data.decisions, data.days)),
    el('div', { class: 'overturns' },
      overturnTable('Overturns by label', o.by_label, 'Label', 'Approved although the model flagged the label; “(none)”: rejected although the model flagged nothing.'),
      overturnTable('Overturns by model reason', o.by_model_reason, 'Held because'),
      overturnTable('Rejections by moderator reason', o.by_moderator_reason, 'Reason', 'Overturned: the model had flagged nothing — what the model misses.')));
}
