// My orders: every order of every sale this browser entered.
'use strict';
(() => {
  const { lang, t, $, store, api, money, esc, say } = BW;
  async function show() {
    const tokens = [];
    for (let i = 0; i < localStorage.length; i += 1) {
      const key = localStorage.key(i);
      if (key && key.startsWith('bw.access.')) { const a = store.get(key); if (a && a.token) tokens.push(a.token); }
    }
    const seen = new Map();
    for (const token of tokens) {
      const answer = await api('GET', '/api/v1/orders', { token });
      for (const order of (answer.body && answer.body.orders) || []) seen.set(order.id, order);
    }
    const orders = Array.from(seen.values()).sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
    if (!orders.length) { $('orders').innerHTML = '<p>' + esc(t('no_orders')) + '</p>'; return; }
    const date = new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' });
    $('orders').innerHTML = '<ul class="cards">' + orders.map((o) => '<li class="card"><h2>' + esc(t('order_id', { id: o.id })) + '</h2><p><span class="badge">' +
      esc(t('order_' + o.status)) + '</span> ' + esc(o.event) + ' · ' + esc(money(o.total_cents, o.currency)) + ' · ' + o.seats.length + ' 🎟 · ' +
      esc(o.created_at ? date.format(new Date(o.created_at)) : '') + '</p></li>').join('') + '</ul>';
    say('');
  }
  show();
})();
