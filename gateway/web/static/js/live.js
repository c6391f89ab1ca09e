// Live alert events over Server-Sent Events, read with fetch() so the bearer token goes in a
// header. Reconnects with Last-Event-ID; reports 'live' / 'lost' for the connection banner.
import { authHeader, end } from './session.js';

const HEARTBEAT_S = 5;
const SILENCE_MS = 3 * HEARTBEAT_S * 1000;

export class LiveStream {
  constructor(onEvent, onStatus) {
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.lastId = null;
    this.stopped = true;
    this.controller = null;
    this.status = 'idle';
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop();
  }

  stop() {
    this.stopped = true;
    if (this.controller) this.controller.abort();
  }

  setStatus(s) {
    if (s === this.status) return;
    this.status = s;
    this.onStatus(s);
  }

  async loop() {
    let backoff = 500;
    while (!this.stopped) {
      try {
        await this.connect();
        backoff = 500;
      } catch (e) {
        if (e && e.status === 401) { end('expired'); return; }
      }
      if (this.stopped) return;
      this.setStatus('lost');
      await new Promise((res) => setTimeout(res, backoff));
      backoff = Math.min(backoff * 2, 10000);
    }
  }

  async connect() {
    this.controller = new AbortController();
    const headers = { Accept: 'text/event-stream', ...authHeader() };
    if (this.lastId !== null) headers['Last-Event-ID'] = String(this.lastId);
    const r = await fetch(`/stream/alerts?heartbeat_s=${HEARTBEAT_S}`, {
      headers, signal: this.controller.signal, cache: 'no-store', credentials: 'omit',
    });
    if (!r.ok) {
      const err = new Error(`stream ${r.status}`);
      err.status = r.status;
      throw err;
    }
    this.setStatus('live');
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let watchdog = setTimeout(() => this.controller.abort(), SILENCE_MS);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        clearTimeout(watchdog);
        watchdog = setTimeout(() => this.controller.abort(), SILENCE_MS);
        buffer += value.replace(/\r\n/g, '\n');
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          this.frame(frame);
        }
      }
    } finally {
      clearTimeout(watchdog);
    }
  }

  frame(text) {
    let id = null;
    let type = 'message';
    const data = [];
    for (const line of text.split('\n')) {
      if (line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const val = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'id') id = val;
      else if (field === 'event') type = val;
      else if (field === 'data') data.push(val);
    }
    if (id !== null && /^\d+$/.test(id)) this.lastId = Number(id);
    if (!data.length) return;
    try {
      this.onEvent(type, JSON.parse(data.join('\n')));
    } catch { /* a malformed frame is skipped; the queue refetch catches up */ }
  }
}
