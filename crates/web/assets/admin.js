// The operator dashboard: the admin key is asked once and kept in this tab's
// sessionStorage (never in a URL); events, create and edit, pause and resume, and a live
// view whose figures and sparklines move while a sale runs.
'use strict';
(() => {
  const { lang, t, $, api, money, duration, esc, say } = BW;
  const KEY = 'bw.adminKey';
  const POINTS = 90;
  let key = sessionStorage.getItem(KEY);
  let events = [], current = null, prev = null, timer = 0, series = {};

  const call = (method, path, body) => api(method, path, { token: key, body });
  const num = (n, digits) => Number(n || 0).toLocaleString(lang, { maximumFractionDigits: digits || 0 });

  function keyForm() {
    $('key-form').hidden = false;
    $('console').hidden = true;
    clearTimeout(timer);
  }

  async function refreshList() {
    const answer = await call('GET', '/admin/v1/events');
    if (answer.status === 401) { sessionStorage.removeItem(KEY); key = null; keyForm(); say(t('wrong_key'), true); return false; }
    if (answer.status !== 200) { say(t('error', { m: answer.status }), true); return false; }
    events = answer.body;
    $('key-form').hidden = true;
    $('console').hidden = false;
    const head = ['f_id', 'f_name', 'm_state', 'f_rate', 'f_cap'].map((k) => '<th scope="col">' + esc(t(k)) + '</th>').join('');
    $('events').innerHTML = '<thead><tr>' + head + '<th scope="col"><span class="sr-only">' + esc(t('view')) + '</span></th></tr></thead><tbody>' +
      events.map((e) => '<tr><td>' + esc(e.id) + '</td><td>' + esc(e.name) + '</td><td><span class="badge ' + esc(e.state) + '">' + esc(t('state_' + e.state)) +
        '</span></td><td>' + num(e.admission_rate_per_second, 2) + '</td><td>' + num(e.max_active_users) + '</td><td><button type="button" class="secondary" data-id="' +
        esc(e.id) + '" aria-label="' + esc(t('view') + ': ' + e.name) + '">' + esc(t('view')) + '</button></td></tr>').join('') + '</tbody>';
    return true;
  }

  function field(id, label, value, type, extra) {
    const attrs = type === 'textarea' ? '' : ' type="' + (type || 'text') + '" value="' + esc(value == null ? '' : value) + '"';
    const input = type === 'textarea' ? '<textarea id="' + id + '" rows="4">' + esc(value || '') + '</textarea>' : '<input id="' + id + '"' + attrs + (extra || '') + '>';
    return '<label for="' + id + '">' + esc(t(label)) + '</label>' + input;
  }

  const SETTINGS = [
    ['name', 'f_name', 'text'], ['admission_rate_per_second', 'f_rate', 'number', ' step="any" min="0"'], ['max_active_users', 'f_cap', 'number', ' min="1"'],
    ['claim_window_seconds', 'f_claim', 'number', ' min="1"'], ['heartbeat_timeout_seconds', 'f_heartbeat', 'number', ' min="1"'],
    ['session_seconds', 'f_session', 'number', ' min="1"'], ['opens_at', 'f_opens', 'text'],
    ['join_proof_bits', 'f_proof', 'number', ' min="0" max="28"'],
  ];

  function editForm(e) {
    $('edit').innerHTML = SETTINGS.map(([k, label, type, extra]) => field('e-' + k, label, e[k], type, extra)).join('') +
      field('e-hold_seconds', 'f_hold', '', 'number', ' min="1"') + field('e-ticket_limit_per_buyer', 'f_limit', '', 'number', ' min="1"') +
      '<span></span><button type="submit">' + esc(t('save')) + '</button>';
  }

  function createForm() {
    $('create').innerHTML = field('c-id', 'f_id', '', 'text', ' required pattern="[a-z0-9_\\-]{1,64}"') + field('c-name', 'f_name', '', 'text', ' required') +
      field('c-rate', 'f_rate', '10', 'number', ' step="any" min="0"') + field('c-cap', 'f_cap', '100', 'number', ' min="1"') +
      field('c-claim', 'f_claim', '60', 'number', ' min="1"') + field('c-opens', 'f_opens', '', 'text', ' placeholder="2030-01-01T19:00:00Z"') +
      field('c-proof', 'f_proof', '0', 'number', ' min="0" max="28"') +
      field('c-venue', 'f_venue', 'Floor; 15000; 10; 20\nStanding; 5000; 300', 'textarea') +
      '<span></span><button type="submit">' + esc(t('create')) + '</button>';
  }

  function venue(text) {
    const sections = [];
    for (const line of text.split('\n')) {
      const parts = line.split(';').map((p) => p.trim());
      if (!parts[0]) continue;
      const section = { name: parts[0], price_cents: Number(parts[1]) };
      if (parts.length >= 4) { section.rows = Number(parts[2]); section.seats_per_row = Number(parts[3]); } else section.capacity = Number(parts[2]);
      sections.push(section);
    }
    return { sections };
  }

  function select(id) {
    const e = events.find((x) => x.id === id);
    if (!e) return;
    current = id; prev = null; series = { waiting: [], joins: [], admits: [], sold: [] };
    $('live').hidden = false;
    $('live-h').textContent = e.name + ' (' + e.id + ')';
    editForm(e);
    clearTimeout(timer);
    tick();
  }

  function sparkline(name, label, value) {
    const values = series[name];
    const max = Math.max(1, ...values);
    const points = values.map((v, i) => (120 - (values.length - 1 - i) * (120 / (POINTS - 1))).toFixed(1) + ',' + (38 - (v / max) * 36).toFixed(1)).join(' ');
    return '<figure class="chart" data-name="' + name + '"><figcaption>' + esc(label) + ': <b>' + esc(value) + '</b></figcaption>' +
      '<svg viewBox="0 0 120 40" preserveAspectRatio="none" aria-hidden="true"><polyline points="' + points + '"/></svg></figure>';
  }

  async function tick() {
    clearTimeout(timer);
    if (!current || !key) return;
    const id = current;
    const [stats, sales] = await Promise.all([
      call('GET', '/admin/v1/events/' + encodeURIComponent(id) + '/stats'),
      call('GET', '/admin/v1/events/' + encodeURIComponent(id) + '/sales'),
    ]);
    if (id !== current) return;
    if (stats.status === 401) { keyForm(); return; }
    if (stats.status === 200) render(stats.body, sales.status === 200 ? sales.body : {});
    timer = setTimeout(tick, 1000);
  }

  function render(s, sales) {
    const at = performance.now();
    let joins = 0, admits = 0;
    if (prev) {
      const dt = Math.max(0.001, (at - prev.at) / 1000);
      joins = Math.max(0, (s.joined_total - prev.joined) / dt);
      admits = Math.max(0, (s.admitted_total - prev.admitted) / dt);
    }
    prev = { at, joined: s.joined_total, admitted: s.admitted_total };
    const push = (name, v) => { series[name].push(v); if (series[name].length > POINTS) series[name].shift(); };
    push('waiting', s.waiting); push('joins', joins); push('admits', admits); push('sold', sales.sold || 0);
    const paused = s.state === 'paused';
    $('pause').textContent = paused ? t('resume') : t('pause');
    $('pause').dataset.paused = paused ? '1' : '';
    $('live-state').className = 'badge ' + s.state;
    $('live-state').textContent = t('state_' + s.state);
    const currency = (events.find((e) => e.id === current) || {}).currency || 'USD';
    const rate = t('m_admits', { r: num(s.admission_rate_per_second, 2) });
    const figures = [
      ['m_waiting', num(s.waiting)], ['m_joins', num(joins, 1)], ['m_admits', num(admits, 1), rate],
      ['m_ready', num(s.ready)], ['m_entered', num(s.entered)], ['m_forfeited', num(s.forfeited_total)],
      ['m_held', num(sales.held)], ['m_sold', num(sales.sold)], ['m_revenue', money(sales.revenue_cents || 0, currency)],
      ['m_drain', duration(s.drain_seconds || 0)],
    ];
    $('figures').innerHTML = figures.map(([name, value, label]) => '<div class="fig" data-name="' + name + '">' + esc(label || t(name)) + '<b>' + esc(value) + '</b></div>').join('');
    $('charts').innerHTML = sparkline('waiting', t('m_waiting'), num(s.waiting)) + sparkline('joins', t('m_joins'), num(joins, 1)) +
      sparkline('admits', rate, num(admits, 1)) + sparkline('sold', t('m_sold'), num(sales.sold));
  }

  $('key-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    key = $('key').value.trim();
    $('key').value = '';
    sessionStorage.setItem(KEY, key);
    if (await refreshList()) { say(''); createForm(); }
  });
  $('sign-out').addEventListener('click', () => { sessionStorage.removeItem(KEY); key = null; current = null; keyForm(); });
  $('events').addEventListener('click', (e) => { const id = e.target.dataset && e.target.dataset.id; if (id) select(id); });
  $('pause').addEventListener('click', async () => {
    const answer = await call('PATCH', '/admin/v1/events/' + encodeURIComponent(current), { paused: !$('pause').dataset.paused });
    say(answer.status === 200 ? t('saved') : t('error', { m: answer.body.message || answer.status }), answer.status !== 200);
    await refreshList();
    tick();
  });
  $('edit').addEventListener('submit', async (e) => {
    e.preventDefault();
    const before = events.find((x) => x.id === current) || {};
    const patch = {};
    for (const [k, , type] of SETTINGS) {
      const v = $('e-' + k).value.trim();
      const value = type === 'number' ? Number(v) : v;
      if (v !== '' && value !== before[k]) patch[k] = value;
    }
    for (const k of ['hold_seconds', 'ticket_limit_per_buyer']) { const v = $('e-' + k).value.trim(); if (v) patch[k] = Number(v); }
    const answer = await call('PATCH', '/admin/v1/events/' + encodeURIComponent(current), patch);
    say(answer.status === 200 ? t('saved') : t('error', { m: answer.body.message || answer.status }), answer.status !== 200);
    if (answer.status === 200) { await refreshList(); tick(); }
  });
  $('create').addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {
      id: $('c-id').value.trim(), name: $('c-name').value.trim(), admission_rate_per_second: Number($('c-rate').value),
      max_active_users: Number($('c-cap').value), claim_window_seconds: Number($('c-claim').value), venue: venue($('c-venue').value),
      join_proof_bits: Number($('c-proof').value),
    };
    if ($('c-opens').value.trim()) body.opens_at = $('c-opens').value.trim();
    const answer = await call('POST', '/admin/v1/events', body);
    say(answer.status === 201 ? t('created') : t('error', { m: answer.body.message || answer.status }), answer.status !== 201);
    if (answer.status === 201) { await refreshList(); select(body.id); }
  });

  if (key) refreshList().then((ok) => { if (ok) createForm(); }); else keyForm();
})();
