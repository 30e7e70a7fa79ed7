// The seat map (SVG, live availability, price tiers), "best available N", the hold with
// its countdown, the sandbox checkout (approved / declined / pending each said as it
// is) and the confirmation.
'use strict';
(() => {
  const { data, lang, t, $, store, api, duration, money, uuid, esc, say } = BW;
  const ev = data.event;
  const accessKey = 'bw.access.' + ev.id;
  const access = store.get(accessKey);
  let grid = [], cursor = null;
  let map = null, hold = null, holdTicker = 0, refresher = 0, paying = false;
  const picked = new Set();
  const currency = () => (map && map.currency) || ev.currency;

  function noAccess() {
    $('shop').hidden = true;
    $('no-access').hidden = false;
    clearInterval(refresher);
  }
  // Without a kept token (entered without JavaScript), the access cookie the API set
  // still works; a 401 then says there is no access.
  const kept = access && Date.parse(access.expires_at) > Date.now();
  const token = kept ? access.token : undefined;
  $('shop').hidden = false;
  if (kept) {
    const sessionTick = () => { $('session').textContent = t('session_left', { t: duration((Date.parse(access.expires_at) - Date.now()) / 1000) }); };
    sessionTick();
    setInterval(sessionTick, 1000);
  }

  async function load() {
    const answer = await api('GET', '/api/v1/events/' + encodeURIComponent(ev.id) + '/seats', { token });
    if (answer.status === 401 || answer.status === 403) return noAccess();
    if (answer.status !== 200) return;
    map = answer.body;
    draw();
  }

  // Seated sections stacked, one row of squares per row; general admission as a bar.
  function draw() {
    const size = 10, gap = 2, step = size + gap, labelH = 18;
    let y = 0, parts = [], available = 0;
    grid = [];
    // Rows are centred on the widest.
    const width = Math.max(300, ...map.sections.map((s) => Math.max(0, ...(s.rows || []).map((r) => r.seats.length * step))));
    const tiers = [], sectionChoices = ['<option value="">' + esc(t('any_section')) + '</option>'];
    map.sections.forEach((section, i) => {
      const tier = 't' + (i % 6);
      available += section.available || 0;
      tiers.push('<li><span class="sw ' + tier + '" aria-hidden="true"></span>' + esc(section.name) + ' · ' +
        esc(money(section.price_cents, currency())) + ' · ' + esc(t('available_n', { n: (section.available || 0).toLocaleString(lang) })) + '</li>');
      sectionChoices.push('<option value="' + esc(section.id) + '">' + esc(section.name) + '</option>');
      parts.push('<text x="0" y="' + (y + 13) + '">' + esc(section.name) + '</text>');
      y += labelH;
      if (section.general_admission) {
        const w = 300, x = (width - w) / 2, share = section.capacity ? section.available / section.capacity : 0;
        parts.push('<rect x="' + x + '" y="' + y + '" width="' + w + '" height="' + size * 2 + '" class="h"/>' +
          '<rect x="' + x + '" y="' + y + '" width="' + Math.round(w * share) + '" height="' + size * 2 + '" class="' + tier + '"/>');
        y += size * 2 + step;
        return;
      }
      section.rows.forEach((row, r) => grid.push({ section, number: r + 1, seats: row.seats }));
      for (const row of section.rows) {
        const x = (width - row.seats.length * step) / 2;
        row.seats.forEach((seat, k) => {
          const state = picked.has(seat.id) ? 'p' : seat.status === 'available' ? 'a ' + tier : seat.status === 'held' ? 'h' : 's';
          parts.push('<rect x="' + (x + k * step) + '" y="' + y + '" width="' + size + '" height="' + size + '" rx="2" class="' + state + '" data-id="' + esc(seat.id) + '"/>');
        });
        y += step;
      }
      y += step;
    });
    const label = t('seat_map', { n: available.toLocaleString(lang) });
    $('map').innerHTML = '<svg viewBox="0 0 ' + width + ' ' + y + '" role="img" aria-label="' + esc(label) + '">' + parts.join('') + '</svg>';
    $('map').setAttribute('aria-label', label + ' ' + t('map_keys'));
    mark();
    $('tiers').innerHTML = tiers.join('');
    if ($('section').options.length !== sectionChoices.length) $('section').innerHTML = sectionChoices.join('');
    if (!$('qty').options.length) $('qty').innerHTML = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => '<option>' + n + '</option>').join('');
    updatePicked();
  }

  function updatePicked() {
    $('picked').textContent = picked.size ? t('picked_n', { n: picked.size }) : '';
    $('hold-picked').disabled = picked.size === 0 || !!hold;
  }

  // The keyboard on the map: arrows move a cursor over the seats, Space or Enter picks;
  // where it is is said in a polite live region (focus stays on the map).
  function seatAt(c) { const row = c && grid[c.r]; return row ? row.seats[Math.min(c.c, row.seats.length - 1)] : null; }
  function mark() {
    const old = $('map').querySelector('rect.k');
    if (old) old.classList.remove('k');
    const seat = seatAt(cursor);
    const el = seat && $('map').querySelector('rect[data-id="' + CSS.escape(seat.id) + '"]');
    if (el) el.classList.add('k');
  }
  function sayCursor() {
    const row = grid[cursor.r], seat = seatAt(cursor);
    if (!seat) return;
    const state = picked.has(seat.id) ? 'seat_picked' : 'seat_' + seat.status;
    $('cursor').textContent = t('row_seat', { section: row.section.name, row: row.number, seat: seat.number }) + ', ' + t(state) + ', ' + money(row.section.price_cents, currency());
  }
  $('map').addEventListener('keydown', (e) => {
    if (!grid.length || hold) return;
    const c = cursor || { r: 0, c: 0 };
    const moves = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
    if (moves[e.key]) {
      const r = Math.max(0, Math.min(grid.length - 1, c.r + moves[e.key][0]));
      cursor = { r, c: Math.max(0, Math.min(grid[r].seats.length - 1, Math.min(c.c, grid[c.r].seats.length - 1) + moves[e.key][1])) };
    } else if (e.key === 'Home' || e.key === 'End') {
      cursor = { r: c.r, c: e.key === 'Home' ? 0 : grid[c.r].seats.length - 1 };
    } else if ((e.key === ' ' || e.key === 'Enter') && cursor) {
      const seat = seatAt(cursor);
      if (picked.has(seat.id)) picked.delete(seat.id);
      else if (seat.status === 'available' && picked.size < 8) picked.add(seat.id);
      draw();
    } else {
      return;
    }
    e.preventDefault();
    mark();
    sayCursor();
  });
  $('zoom').addEventListener('change', () => $('map').classList.toggle('zoom', $('zoom').checked));
  $('map').addEventListener('click', (e) => {
    const id = e.target.dataset && e.target.dataset.id;
    if (!id || hold) return;
    const cls = e.target.getAttribute('class') || '';
    if (picked.has(id)) { picked.delete(id); e.target.setAttribute('class', 'a'); draw(); return; }
    if (!cls.startsWith('a') || picked.size >= 8) return;
    picked.add(id);
    e.target.setAttribute('class', 'p');
    updatePicked();
  });

  async function takeHold(body) {
    say(t('holding'));
    const answer = await api('POST', '/api/v1/events/' + encodeURIComponent(ev.id) + '/holds', { token, body, idem: uuid() });
    picked.clear();
    if (answer.status === 201) { say(''); showHold(answer.body); }
    else if (answer.status === 409) say(t('seats_taken'), true);
    else if (answer.status === 403 && answer.body.error === 'session_ended') noAccess();
    else say(t('error', { m: answer.body.message || answer.status }), true);
    load();
  }

  $('best').addEventListener('submit', (e) => {
    e.preventDefault();
    const body = { quantity: Number($('qty').value) };
    if ($('section').value) body.section_id = $('section').value;
    takeHold(body);
  });
  $('hold-picked').addEventListener('click', () => takeHold({ seat_ids: Array.from(picked) }));

  function seatText(seat) {
    const section = map && map.sections.find((s) => s.id === seat.section_id);
    const name = section ? section.name : seat.section_id;
    if (!seat.row_id) return name + (seat.number ? ' #' + seat.number : '');
    const row = section && section.rows ? section.rows.findIndex((r) => r.id === seat.row_id) + 1 : seat.row_id;
    return t('row_seat', { section: name, row, seat: seat.number });
  }

  function showHold(h) {
    hold = h;
    $('pick').hidden = true;
    $('hold').hidden = false;
    $('hold-seats').innerHTML = h.seats.map((s) => '<li>' + esc(seatText(s)) + ' · ' + esc(money(s.price_cents, h.currency)) + '</li>').join('');
    $('hold-total').textContent = t('total', { amount: money(h.total_cents, h.currency) });
    const tick = () => {
      const left = (Date.parse(h.expires_at) - Date.now()) / 1000;
      if (left <= 0 && !paying) { endHold(t('hold_expired')); return; }
      $('hold-left').textContent = t('hold_left', { t: duration(left) });
    };
    clearInterval(holdTicker);
    tick();
    holdTicker = setInterval(tick, 1000);
    updatePicked();
  }

  function endHold(message, isError) {
    clearInterval(holdTicker);
    hold = null;
    $('hold').hidden = true;
    $('pick').hidden = false;
    say(message, isError);
    load();
  }

  $('pay').addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!hold || paying) return;
    paying = true;
    const method = new FormData($('pay')).get('method');
    const button = $('pay').querySelector('button[type=submit]');
    button.disabled = true;
    say(t('paying'));
    const answer = await api('POST', '/api/v1/holds/' + encodeURIComponent(hold.id) + '/checkout', { token, body: { payment_method: method }, idem: uuid() });
    button.disabled = false;
    paying = false;
    if (answer.status === 201) return done(answer.body);
    if (answer.status === 402) return endHold(t('declined'), true);
    if (answer.status === 202) { say(t('pending')); return settle(answer.body.order_id); }
    if (answer.status === 409) return endHold(t('hold_expired'), true);
    say(t('error', { m: answer.body.message || answer.status }), true);
  });

  // A pending order settles by itself: ask until it has.
  async function settle(orderId) {
    const answer = await api('GET', '/api/v1/orders/' + encodeURIComponent(orderId), { token });
    const status = answer.body.status;
    if (status === 'confirmed') return done(answer.body);
    if (status === 'failed' || status === 'refunded') return endHold(t('failed'), true);
    setTimeout(() => settle(orderId), answer.retryAfter ? answer.retryAfter * 1000 : 2000);
  }

  async function done(order) {
    clearInterval(holdTicker);
    clearInterval(refresher);
    const id = order.order_id || order.id;
    let full = order;
    if (!order.seats) {
      const answer = await api('GET', '/api/v1/orders/' + encodeURIComponent(id), { token });
      if (answer.status === 200) full = answer.body;
    }
    const seats = full.seats || (hold && hold.seats) || [];
    $('pick').hidden = true;
    $('hold').hidden = true;
    $('done').hidden = false;
    $('done-h').textContent = t('confirmed');
    $('order').innerHTML = '<p>' + esc(t('order_id', { id })) + '</p><ul>' + seats.map((s) => '<li>' + esc(seatText(s)) + '</li>').join('') +
      '</ul><p class="big">' + esc(t('total', { amount: money(full.total_cents || (hold && hold.total_cents) || 0, full.currency || currency()) })) + '</p>';
    hold = null;
    say(t('confirmed'));
  }

  $('release').addEventListener('click', async () => {
    if (!hold) return;
    await api('DELETE', '/api/v1/holds/' + encodeURIComponent(hold.id), { token });
    endHold(t('released'));
  });

  load();
  // Live availability while choosing.
  refresher = setInterval(() => { if (!hold && !document.hidden) load(); }, 5000);
})();
