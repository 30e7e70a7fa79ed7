// The event page and the waiting room: join, poll as the API advises (with jitter, and
// backing off on 429/503 as Retry-After says), the turn, and sold out. The line token is
// kept in localStorage per event, so a reload or a second tab keeps the one place.
'use strict';
(() => {
  const { data, lang, t, $, store, api, duration } = BW;
  const ev = data.event;
  const base = '/api/v1/events/' + encodeURIComponent(ev.id);
  const lineKey = 'bw.line.' + ev.id, accessKey = 'bw.access.' + ev.id, startKey = 'bw.start.' + ev.id;
  const title = document.title;
  let timer = 0, ticker = 0, failures = 0, polls = 0, last = null, lastSaid = null, lastSaidAt = 0, paused = false;

  const line = () => store.get(lineKey);
  const access = () => { const a = store.get(accessKey); return a && Date.parse(a.expires_at) > Date.now() ? a : null; };
  const parts = ['waiting', 'ready', 'inside', 'soldout', 'expired'];

  function view(name) {
    $('room').hidden = name === 'none';
    for (const part of parts) $(part).hidden = part !== name;
    $('join').hidden = ev.state === 'closed' || !(name === 'none' || name === 'expired');
    $('leave').hidden = !(name === 'waiting' || name === 'ready');
    $('prequeued').hidden = true;
    if (name !== 'waiting') $('paused').hidden = true;
    if (name !== 'ready') { clearInterval(ticker); ticker = 0; document.title = title; }
  }
  function announce(text) {
    if (text === lastSaid) return;
    lastSaid = text; lastSaidAt = Date.now();
    $('announce').textContent = text;
  }
  function problem(text) { $('problem').textContent = text; $('problem').hidden = !text; }
  // While the tab is hidden the next poll is timed by a worker (fetched only then): a
  // hidden page's own timers may be slowed past the heartbeat window.
  let worker = null, due = 0;
  function later(fn, ms) {
    clearTimeout(timer);
    due += 1;
    if (document.hidden && window.Worker && data.tick) {
      try {
        if (!worker) worker = new Worker(data.tick);
        const mine = due;
        worker.onmessage = () => { if (mine === due) fn(); };
        worker.postMessage(ms);
        return;
      } catch (_) { worker = null; }
    }
    timer = setTimeout(fn, ms);
  }
  function schedule(ms) { later(poll, Math.max(250, ms * (0.85 + Math.random() * 0.3))); }

  async function poll() {
    const held = line();
    const answer = await api('GET', base + '/queue', { token: held && held.token });
    handle(answer, !!held);
  }

  function handle(answer, hadToken) {
    const s = answer.status;
    if (s === 200 || s === 201) { failures = 0; problem(''); render(answer.body); return; }
    if (s === 401 || s === 403 || s === 404 || s === 410) {
      store.del(lineKey);
      clearTimeout(timer);
      due += 1;
      if (answer.body.error === 'sold_out') return render({ state: 'sold_out' });
      if (access()) return view('inside');
      view(hadToken ? 'expired' : 'none');
      return;
    }
    failures += 1;
    const wait = answer.retryAfter ? answer.retryAfter * 1000 : Math.min(60000, 1000 * 2 ** Math.min(failures, 6));
    problem(s ? t('busy', { t: Math.ceil(wait / 1000) }) : t('offline'));
    later(poll, wait + Math.random() * 1000);
  }

  function render(status) {
    polls += 1;
    $('updated').textContent = t('updated', { t: new Date().toLocaleTimeString(lang) });
    switch (status.state) {
      case 'waiting': view('waiting'); waiting(status); break;
      case 'ready': view('ready'); ready(status); break;
      case 'entered': view('inside'); break;
      case 'sold_out':
        view('soldout');
        document.title = t('sold_out') + ' – ' + title;
        announce(t('sold_out'));
        store.del(startKey);
        break;
      default:
        store.del(lineKey); store.del(startKey);
        view('expired');
        return;
    }
    // Poll again when the API says; an entered buyer has nothing more to wait for.
    if (status.poll_after_ms && status.state !== 'entered') schedule(status.poll_after_ms);
  }

  function minutes(seconds) { return Math.max(1, Math.ceil(seconds / 60)); }

  function waiting(s) {
    $('progress').parentNode.hidden = s.position == null;
    if (s.position == null) {
      $('prequeued').hidden = false;
      $('position').textContent = '';
      $('eta').textContent = '';
      announce(t('prequeued'));
    } else {
      const ahead = s.position - 1;
      const start = Math.max(store.get(startKey) || 0, s.position);
      store.set(startKey, start);
      $('position').textContent = ahead > 1 ? t('people_ahead', { n: ahead.toLocaleString(lang) }) : t(ahead === 1 ? 'one_ahead' : 'you_are_next');
      $('progress').value = Math.round(100 * (start - s.position + 1) / (start + 1));
      const low = s.eta_low_seconds, high = s.eta_high_seconds;
      $('eta').textContent = low == null ? '' : high != null && high < 60 ? t('eta_short')
        : high != null ? t('eta_range', { low: minutes(low), high: minutes(high) }) : t('eta_at_least', { low: minutes(low) });
      // Say the place only when it moved meaningfully: a tenth of the way, the last few,
      // or half a minute later.
      const meaningful = last == null || ahead <= 3 || Math.abs(last - ahead) >= Math.max(1, Math.floor(last / 10)) || Date.now() - lastSaidAt > 30000;
      if (meaningful && ahead !== last) { announce($('position').textContent); last = ahead; }
    }
    $('seats-left').textContent = s.seats_left != null ? t('seats_left', { n: s.seats_left.toLocaleString(lang) }) : '';
    // Status leaves the estimate out while the line is paused: ask the event then, and
    // now and then to notice a resume.
    if ((s.position != null && s.eta_seconds == null) || paused || polls % 10 === 0) checkPaused();
  }

  async function checkPaused() {
    const answer = await api('GET', base);
    if (answer.status !== 200) return;
    const now = answer.body.state === 'paused';
    if (now !== paused) { paused = now; if (now) announce(t('paused_notice')); }
    const badge = $('ev-state').firstElementChild;
    if (badge && badge.className !== 'badge ' + answer.body.state) {
      badge.className = 'badge ' + answer.body.state;
      badge.textContent = t('state_' + answer.body.state);
    }
    $('paused').hidden = !paused || $('waiting').hidden;
  }

  function ready(s) {
    if (paused) checkPaused(); // the line moved, so it was resumed: say so
    const by = Date.parse(s.enter_by);
    const tick = () => {
      const left = (by - Date.now()) / 1000;
      $('deadline').textContent = t('enter_within', { t: duration(left) });
      document.title = (Math.floor(Date.now() / 1000) % 2 ? '▶ ' : '● ') + t('your_turn_title') + ' – ' + title;
    };
    if (!ticker) { tick(); ticker = setInterval(tick, 1000); }
    $('progress').value = 100;
    announce(t('your_turn'));
  }

  async function enter() {
    const held = line();
    $('enter').disabled = true;
    const answer = await api('POST', base + '/queue/enter', { token: held && held.token });
    $('enter').disabled = false;
    if (answer.status === 200) {
      store.set(accessKey, { token: answer.body.access_token, expires_at: answer.body.expires_at });
      store.del(startKey);
      location.href = '/events/' + encodeURIComponent(ev.id) + '/seats';
      return;
    }
    if (answer.status === 409 && answer.body.state) return render(answer.body);
    handle(answer, true);
  }

  // The event may ask a proof of work with each join: a challenge, solved in a worker so
  // the page stays responsive. Resolves to the proof, or undefined when none is asked.
  async function proofOfWork(always) {
    if (!ev.join_proof_bits && !always) return undefined;
    const answer = await api('POST', base + '/challenge');
    if (answer.status !== 201 || !answer.body.bits) return undefined;
    $('join').querySelector('button').textContent = t('proving');
    const solver = new Worker(data.proof);
    try {
      return await new Promise((resolve) => {
        solver.onmessage = (m) => resolve(m.data);
        solver.onerror = () => resolve(undefined);
        solver.postMessage({ challenge: answer.body.challenge, bits: answer.body.bits });
      });
    } finally {
      solver.terminate();
    }
  }

  async function join(e) {
    e.preventDefault();
    const button = $('join').querySelector('button');
    button.disabled = true;
    button.textContent = t('joining');
    const once = async () => {
      if (line()) return poll(); // another tab joined meanwhile: share its place
      let answer = await api('POST', base + '/queue', { proof: await proofOfWork() });
      // The difficulty rose meanwhile (a flood): solve a fresh challenge once more.
      if (answer.status === 400 || answer.status === 428) {
        answer = await api('POST', base + '/queue', { proof: await proofOfWork(true) });
      }
      if (answer.status === 201) {
        store.set(lineKey, { token: answer.body.token });
        store.del(startKey);
        last = null;
        render(answer.body);
      } else if (answer.status === 200) {
        render(answer.body);
      } else {
        problem(t('error', { m: answer.body.message || answer.status }));
        $('room').hidden = false;
      }
    };
    // One join at a time across this browser's tabs.
    if (navigator.locks) await navigator.locks.request('bw-join-' + ev.id, once); else await once();
    button.disabled = false;
    button.textContent = t('join');
  }

  async function leave() {
    const held = line();
    await api('DELETE', base + '/queue', { token: held && held.token });
    store.del(lineKey); store.del(startKey);
    clearTimeout(timer);
    due += 1;
    view('none');
  }

  function countdown() {
    const el = $('countdown');
    if (!el) return;
    const opens = Date.parse(ev.opens_at);
    const tick = () => {
      const left = (opens - Date.now()) / 1000;
      el.textContent = left > 0 ? t('opens_in', { t: duration(left) }) : '';
    };
    tick();
    setInterval(tick, 1000);
  }

  $('join').addEventListener('submit', join);
  $('enter').addEventListener('click', enter);
  $('leave').addEventListener('click', leave);
  // Another tab joined, entered or left: follow it at once.
  window.addEventListener('storage', (e) => { if (e.key === lineKey || e.key === accessKey) poll(); });
  countdown();
  if (access() && !line()) view('inside');
  else poll(); // with the kept token, or the page's cookie; a 401 just shows the join button
})();
