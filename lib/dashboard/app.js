// The dashboard page: one EventSource on ./events (relative, so the page
// works under any prefix), tables for connections, subflows and the path
// manager, uPlot charts of each subflow's throughput and rtt, and a timeline
// of path-manager events. Nothing here changes any state on the server.
/* global uPlot */
'use strict';

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
const WINDOW = 300; // points kept in the charts
const $ = (sel) => document.querySelector(sel);

let selected = new URLSearchParams(location.hash.slice(1)).get('token');
let source = null;
let chartState = null; // per selected connection: { xs, subflows: Map, order: [], charts }
const pathColours = new Map(); // 'local>remote' -> colour
const closedByEvent = new Set(); // subflow keys the monitor reported closed (the socket may linger in FIN_WAIT)

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

const ep = (a, p) => (a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`);
const pathKey = (s) => `${s.localAddress}>${s.remoteAddress}`;
const subflowKey = (s) => `${ep(s.localAddress, s.localPort)}>${ep(s.remoteAddress, s.remotePort)}`;
function colourOf(s) {
  const k = pathKey(s);
  if (!pathColours.has(k)) pathColours.set(k, COLOURS[pathColours.size % COLOURS.length]);
  return pathColours.get(k);
}

function connect() {
  if (source) source.close();
  source = new EventSource(selected ? `events?token=${encodeURIComponent(selected)}` : 'events');
  $('#status').textContent = 'connecting';
  $('#status').dataset.state = 'connecting';
  source.onopen = () => {
    $('#status').textContent = 'live';
    $('#status').dataset.state = 'live';
  };
  source.onerror = () => {
    $('#status').textContent = 'disconnected, retrying';
    $('#status').dataset.state = 'error';
  };
  source.addEventListener('connections', (m) => onConnections(JSON.parse(m.data)));
  source.addEventListener('pm', (m) => onPm(JSON.parse(m.data)));
  source.addEventListener('mptcp', (m) => onEvent(JSON.parse(m.data)));
  source.addEventListener('problem', (m) => {
    const p = JSON.parse(m.data);
    addTimeline({ t: Date.now(), type: 'problem', token: null }, `${p.source}: ${p.message}`);
  });
}

function select(token) {
  if (token === selected) return;
  selected = token;
  history.replaceState(null, '', token ? `#token=${token}` : '#');
  resetChart();
  for (const li of document.querySelectorAll('#timeline li')) li.classList.toggle('other', !!li.dataset.token && li.dataset.token !== selected);
  connect();
}

// ------------------------------------------------------------ tables ----

function onConnections(msg) {
  const body = $('#connections tbody');
  body.replaceChildren(...msg.connections.map((c) => {
    const tr = el('tr', { 'data-token': c.token, class: c.token === selected ? 'selected' : '' },
      el('td', { class: 'mono' }, c.token),
      el('td', { class: 'mono' }, ep(c.localAddress, c.localPort)),
      el('td', { class: 'mono' }, ep(c.remoteAddress, c.remotePort)),
      el('td', {}, c.state),
      el('td', { class: 'num' }, c.subflowCount));
    tr.addEventListener('click', () => select(c.token));
    return tr;
  }));
  $('#no-connections').hidden = msg.connections.length > 0;
  if (msg.error) $('#no-connections').textContent = `connections: ${msg.error}`;
  $('#detail').hidden = !selected;
  if (!selected) return;
  $('#detail-token').textContent = selected;
  if (msg.selected) addSample(msg.t, msg.selected);
  else if (chartState) markGone(msg.t);
  else $('#subflows tbody').replaceChildren(el('tr', {}, el('td', { colSpan: 6, class: 'muted' }, `no connection with token ${selected}`)));
}

function onPm(pm) {
  const l = pm.limits;
  $('#limits').textContent = pm.error ? `path manager: ${pm.error}`
    : `limits: subflows ${l.subflows}, add_addr_accepted ${l.addAddrAccepted}`;
  const body = $('#endpoints tbody');
  body.replaceChildren(...pm.endpoints.map((e) => el('tr', {},
    el('td', { class: 'num' }, e.id), el('td', { class: 'mono' }, e.address), el('td', { class: 'num' }, e.port ?? ''),
    el('td', {}, e.ifname ?? e.ifindex ?? ''), el('td', {}, (e.flags ?? []).join(' ')))));
  if (!pm.endpoints.length) body.append(el('tr', {}, el('td', { colSpan: 5, class: 'muted' }, 'no endpoints')));
}

// ----------------------------------------------------------- timeline ----

function describe(e) {
  const l = e.localAddress !== undefined ? ep(e.localAddress, e.localPort ?? 0) : null;
  const r = e.remoteAddress !== undefined ? ep(e.remoteAddress, e.remotePort ?? 0) : null;
  const ids = e.localId !== undefined || e.remoteId !== undefined ? ` (ids ${e.localId ?? '-'}/${e.remoteId ?? '-'})` : '';
  switch (e.type) {
    case 'subflowEstablished': case 'subflowClosed':
      return `${l} > ${r}${ids}${e.backup ? ', backup' : ''}${e.resetReasonName ? `, reset: ${e.resetReasonName}` : ''}${e.error ? `, error ${e.error}` : ''}`;
    case 'subflowPriority':
      return `${l} > ${r}${ids}: backup ${e.backup ? 'on' : 'off'}`;
    case 'announced':
      return `peer address ${r ?? ''} id ${e.remoteId}`;
    case 'removed':
      return `peer address id ${e.remoteId}`;
    default:
      return [l, r].filter(Boolean).join(' > ');
  }
}

function addTimeline(e, text) {
  const list = $('#timeline');
  const li = el('li', { 'data-type': e.type, 'data-token': e.token ?? '' },
    el('span', { class: 'time' }, new Date(e.t).toLocaleTimeString()),
    el('span', { class: 'type' }, e.type),
    el('span', { class: 'mono' }, e.token ? `${e.token} ` : ''),
    text);
  if (e.token && selected && e.token !== selected) li.classList.add('other');
  list.prepend(li);
  while (list.children.length > 300) list.lastChild.remove();
}

let lastSeq = 0; // the server replays its recent events to each new stream
let lastRun = null;
function onEvent(e) {
  if (e.run !== lastRun) lastSeq = 0;
  lastRun = e.run;
  if (e.seq <= lastSeq) return;
  lastSeq = e.seq;
  addTimeline(e, describe(e));
  if (e.localAddress === undefined || e.remoteAddress === undefined) return;
  const key = subflowKey(e);
  if (e.type === 'subflowClosed') closedByEvent.add(key);
  else if (e.type === 'subflowEstablished') closedByEvent.delete(key);
  if (chartState && chartState.subflows.has(key)) drawSubflows();
}

// ------------------------------------------------------------- charts ----

function resetChart() {
  if (chartState) for (const c of chartState.charts) c.destroy();
  chartState = null;
  $('#throughput-chart').replaceChildren();
  $('#rtt-chart').replaceChildren();
  for (const id of ['#throughput-chart', '#rtt-chart']) {
    $(id).dataset.points = '0';
    $(id).dataset.series = '0';
  }
  $('#subflows tbody').replaceChildren();
}

const num = (v) => (v === null || v === undefined ? 0 : Number(v));

function addSample(t, conn) {
  if (!chartState) chartState = { xs: [], subflows: new Map(), order: [], charts: [], shape: '' };
  const st = chartState;
  const x = t / 1000;
  st.xs.push(x);
  const seen = new Set();
  for (const s of conn.subflows) {
    const key = subflowKey(s);
    seen.add(key);
    let sf = st.subflows.get(key);
    const bytes = num(s.bytesAcked) + num(s.bytesReceived);
    if (!sf) {
      sf = { key, colour: colourOf(s), thr: new Array(st.xs.length - 1).fill(null), rtt: new Array(st.xs.length - 1).fill(null), lastBytes: bytes, lastT: x };
      st.subflows.set(key, sf);
      st.order.push(key);
    }
    const dt = x - sf.lastT;
    sf.thr.push(dt > 0 ? Math.max(0, ((bytes - sf.lastBytes) * 8) / dt / 1e6) : null);
    sf.rtt.push(s.rtt / 1000);
    Object.assign(sf, { lastBytes: bytes, lastT: x, info: s, closed: false });
    if (closedByEvent.has(key) || s.state === 'CLOSE') {
      sf.thr[sf.thr.length - 1] = null;
      sf.rtt[sf.rtt.length - 1] = null;
    }
  }
  for (const sf of st.subflows.values()) {
    if (seen.has(sf.key)) continue;
    sf.thr.push(null);
    sf.rtt.push(null);
    sf.closed = true;
  }
  if (st.xs.length > WINDOW) {
    st.xs.shift();
    for (const sf of st.subflows.values()) { sf.thr.shift(); sf.rtt.shift(); }
  }
  drawCharts();
  drawSubflows();
}

function markGone(t) {
  for (const sf of chartState.subflows.values()) sf.closed = true;
  addSample(t, { subflows: [] });
}

function label(sf) {
  return `${ep(sf.info.localAddress, sf.info.localPort)} > ${ep(sf.info.remoteAddress, sf.info.remotePort)}`;
}

function drawCharts() {
  const st = chartState;
  const shape = st.order.join('|');
  const sfs = st.order.map((k) => st.subflows.get(k));
  const data = (field) => [st.xs, ...sfs.map((sf) => sf[field])];
  if (shape !== st.shape) {
    for (const c of st.charts) c.destroy();
    st.shape = shape;
    const make = (id, field, unit) => {
      const box = $(id);
      box.replaceChildren();
      return new uPlot({
        width: Math.max(300, box.clientWidth || 600),
        height: 200,
        scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(max * 1.1, field === 'thr' ? 1 : 0.1)] } },
        series: [{}, ...sfs.map((sf) => ({ label: label(sf), stroke: sf.colour, width: 2, spanGaps: false, value: (_u, v) => (v === null ? '-' : `${v.toFixed(field === 'thr' ? 1 : 2)} ${unit}`) }))],
        axes: [{}, { size: 50 }],
      }, data(field), box);
    };
    st.charts = [make('#throughput-chart', 'thr', 'Mbit/s'), make('#rtt-chart', 'rtt', 'ms')];
  } else {
    st.charts[0].setData(data('thr'));
    st.charts[1].setData(data('rtt'));
  }
  for (const id of ['#throughput-chart', '#rtt-chart']) {
    $(id).dataset.points = String(st.xs.length);
    $(id).dataset.series = String(sfs.length);
  }
}

function drawSubflows() {
  const st = chartState;
  $('#subflows tbody').replaceChildren(...st.order.map((k) => {
    const sf = st.subflows.get(k);
    const s = sf.info;
    const thr = sf.thr.at(-1);
    const closed = sf.closed || closedByEvent.has(k) || s.state === 'CLOSE';
    return el('tr', { class: closed ? 'closed' : '', 'data-local': s.localAddress, 'data-remote': s.remoteAddress, 'data-state': closed ? 'closed' : s.state },
      el('td', { class: 'mono' }, el('span', { class: 'swatch', style: `background:${sf.colour}` }), ep(s.localAddress, s.localPort)),
      el('td', { class: 'mono' }, ep(s.remoteAddress, s.remotePort)),
      el('td', { class: 'num' }, `${s.localId}/${s.remoteId}${s.backup ? ' backup' : ''}`),
      el('td', { class: 'state' }, closed ? 'closed' : s.state),
      el('td', { class: 'num' }, closed ? '' : `${(s.rtt / 1000).toFixed(2)} ms`),
      el('td', { class: 'num' }, closed || thr === null ? '' : `${thr.toFixed(1)} Mbit/s`));
  }));
}

resetChart();
connect();
