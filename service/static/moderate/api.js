// The review API, with the moderator's key in the Authorization header of every call.

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

export class Api {
  constructor(key, { onUnauthorized } = {}) {
    this.key = key;
    this.onUnauthorized = onUnauthorized || (() => {});
  }

  headers(json) {
    const h = { Authorization: `Bearer ${this.key}`, Accept: 'application/json' };
    if (json) h['Content-Type'] = 'application/json';
    return h;
  }

  async call(method, path, { body, query, keepalive = false, signal } = {}) {
    let url = path;
    if (query) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) {
        if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
      }
      const qs = params.toString();
      if (qs) url += `?${qs}`;
    }
    const response = await fetch(url, {
      method,
      headers: this.headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      keepalive,
      signal,
      credentials: 'omit',
      cache: 'no-store',
    });
    const type = response.headers.get('Content-Type') || '';
    const data = type.includes('json') ? await response.json() : null;
    if (!response.ok) {
      if (response.status === 401) this.onUnauthorized();
      throw new ApiError(response.status, data && data.code, data && data.detail);
    }
    return data;
  }

  get(path, query) { return this.call('GET', path, { query }); }
  post(path, body, opts = {}) { return this.call('POST', path, { ...opts, body }); }

  // Server-sent events read with fetch(): EventSource cannot send the Authorization header, and
  // a key in the URL would end up in logs and history. Resolves when the stream ends.
  async stream(path, onEvent, signal) {
    const response = await fetch(path, {
      headers: { Authorization: `Bearer ${this.key}`, Accept: 'text/event-stream' },
      signal,
      credentials: 'omit',
      cache: 'no-store',
    });
    if (!response.ok || !response.body) {
      if (response.status === 401) this.onUnauthorized();
      throw new ApiError(response.status, 'stream_failed', 'live updates unavailable');
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n?/g, '\n');
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const event = parseEvent(block);
        if (event) onEvent(event);
      }
    }
  }
}

function parseEvent(block) {
  let type = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue; // comment lines are heartbeats
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
  }
  if (!data.length) return null;
  try {
    return { type, data: JSON.parse(data.join('\n')) };
  } catch {
    return null;
  }
}
