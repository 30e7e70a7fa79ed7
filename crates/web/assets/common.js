// Shared by every page: the page's data and texts, API calls, times and money.
'use strict';
const BW = (() => {
  const data = JSON.parse(document.getElementById('bw-data').textContent);
  const lang = data.lang;
  const t = (key, vars) => {
    let text = data.t[key] || key;
    for (const name in vars || {}) text = text.split('{' + name + '}').join(vars[name]);
    return text;
  };
  const $ = (id) => document.getElementById(id);
  const store = {
    get(key) { try { return JSON.parse(localStorage.getItem(key)); } catch (_) { return null; } },
    set(key, value) { try { localStorage.setItem(key, JSON.stringify(value)); } catch (_) { /* private mode */ } },
    del(key) { try { localStorage.removeItem(key); } catch (_) { /* private mode */ } },
  };
  // One API call; never throws. `status` 0 means the network failed.
  async function api(method, path, opts) {
    const o = opts || {};
    const headers = { accept: 'application/json' };
    if (o.token) headers.authorization = 'Bearer ' + o.token;
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    if (o.idem) headers['idempotency-key'] = o.idem;
    if (o.proof) headers['breakwater-proof'] = o.proof;
    try {
      const res = await fetch(path, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
      let body = null;
      try { body = await res.json(); } catch (_) { /* empty */ }
      const retry = Number(res.headers.get('retry-after'));
      return { status: res.status, body: body || {}, retryAfter: retry > 0 ? retry : 0 };
    } catch (_) {
      return { status: 0, body: {}, retryAfter: 0 };
    }
  }
  const pad = (n) => String(n).padStart(2, '0');
  function duration(seconds) {
    const s = Math.max(0, Math.round(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return (h ? h + ':' + pad(m) : m) + ':' + pad(s % 60);
  }
  function money(cents, currency) {
    try { return new Intl.NumberFormat(lang, { style: 'currency', currency }).format(cents / 100); }
    catch (_) { return (cents / 100).toFixed(2) + ' ' + currency; }
  }
  function localTimes(root) {
    const format = new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' });
    (root || document).querySelectorAll('time[datetime]').forEach((el) => {
      const at = new Date(el.dateTime);
      if (!isNaN(at)) el.textContent = format.format(at);
    });
  }
  const uuid = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2));
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
  function say(text, isError) {
    const el = $('status');
    if (!el) return;
    el.textContent = text;
    el.classList.toggle('error', !!isError);
  }
  localTimes();
  return { data, lang, t, $, store, api, duration, money, localTimes, uuid, esc, say };
})();
