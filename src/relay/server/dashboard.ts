import { SUBPROTOCOL } from '../wire.ts';

/**
 * The dashboard: one static page and one plain script (no framework, no
 * build step), served by the relay without a token. They hold no data: the
 * script asks for a token, checks it against /api/v1/whoami, then loads
 * /api/v1/hosts and follows /api/v1/events over a WebSocket (the token rides
 * in the subprotocol list, since browsers cannot set headers there). The
 * token stays in sessionStorage (gone when the tab closes).
 */
export const DASHBOARD_CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function dashboardHtml(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>mltoolbox relay</title>
<style>
body{font:14px system-ui,sans-serif;margin:0;background:#0f1115;color:#e6e6e6}
header{display:flex;gap:1em;align-items:center;padding:.6em 1em;background:#171a21;border-bottom:1px solid #2a2f3a}
header h1{font-size:1.05em;margin:0} #who{margin-left:auto;color:#9aa4b2}
main{padding:1em;display:grid;gap:1em}
.card{background:#171a21;border:1px solid #2a2f3a;border-radius:6px;padding:.8em}
.host h2{margin:0 0 .4em;font-size:1.05em;display:flex;gap:.5em;align-items:center}
.dot{width:.7em;height:.7em;border-radius:50%;display:inline-block;background:#6b7280}.on{background:#22c55e}
.gpus{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:.6em;margin:.6em 0}
.gpu{border:1px solid #2a2f3a;border-radius:4px;padding:.4em}.gpu svg{width:100%;height:40px;background:#0f1115}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.25em .5em;border-bottom:1px solid #2a2f3a}
button{background:#2563eb;color:white;border:0;border-radius:4px;padding:.3em .8em;cursor:pointer}
input{background:#0f1115;color:#e6e6e6;border:1px solid #2a2f3a;border-radius:4px;padding:.4em;width:28em}
#logs{white-space:pre-wrap;font:12px ui-monospace,monospace;max-height:40vh;overflow:auto;background:#0b0d11;padding:.5em}
.error{color:#f87171}.muted{color:#9aa4b2}
.bar{background:#0f1115;border:1px solid #2a2f3a;border-radius:3px;height:.6em;width:10em;display:inline-block;vertical-align:middle}
.bar>span{display:block;height:100%;background:#38bdf8}.failed,.lost{color:#f87171}.succeeded{color:#22c55e}.cancelling,.cancelled{color:#fbbf24}
button.op-cancel{background:#7f1d1d;padding:.1em .6em}
</style></head>
<body>
<header><h1>mltoolbox relay</h1><span id="who"></span></header>
<main>
<section id="login" class="card"><form id="login-form"><label>Relay token <input id="token" type="password" autocomplete="off" placeholder="mltr_u_…"></label>
<button type="submit">Log in</button></form><p id="login-error" class="error"></p></section>
<section id="operations" class="card" hidden><h2>Operations</h2><div id="operations-list"></div></section>
<section id="instances" class="card" hidden><h2>Provisioned instances</h2><div id="instances-list"></div></section>
<section id="hosts" hidden></section>
<section id="log-panel" class="card" hidden><h2 id="log-title"></h2><button id="log-close" type="button">Stop following</button><div id="logs"></div></section>
</main>
<script src="/dashboard.js"></script>
</body></html>`;
}

export function dashboardScript(): string {
  return `'use strict';
(function () {
  var SUBPROTOCOL = ${JSON.stringify(SUBPROTOCOL)};
  var state = { token: sessionStorage.getItem('mltr') || '', hosts: {}, history: {}, stream: null, socket: null, instances: [], operations: {} };
  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { if (k === 'text') node.textContent = attrs[k]; else node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  function api(path) {
    return fetch(path, { headers: { authorization: 'Bearer ' + state.token } }).then(function (r) {
      if (r.status === 401) throw new Error('refused: the relay did not accept this token (401)');
      if (!r.ok) throw new Error('the relay answered ' + r.status);
      return r.json();
    });
  }
  function fmtBytes(n) { return n == null ? '?' : (n / 1073741824).toFixed(1) + ' GiB'; }
  function pct(n) { return n == null ? 'n/a' : Math.round(n) + '%'; }
  function chart(values) {
    var ns = 'http://www.w3.org/2000/svg', svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 120 40'); svg.setAttribute('preserveAspectRatio', 'none');
    var pts = values.slice(-120).map(function (v, i) { return i + ',' + (40 - (v == null ? 0 : v) * 0.4).toFixed(1); }).join(' ');
    var line = document.createElementNS(ns, 'polyline');
    line.setAttribute('points', pts); line.setAttribute('fill', 'none'); line.setAttribute('stroke', '#38bdf8'); line.setAttribute('stroke-width', '1.5');
    svg.appendChild(line);
    return svg;
  }
  function renderHost(host) {
    var m = host.metrics, hist = state.history[host.name] || [];
    var card = el('article', { class: 'card host', 'data-host': host.name }, [
      el('h2', {}, [el('span', { class: 'dot' + (host.online ? ' on' : ''), title: host.online ? 'online' : 'offline' }), el('span', { text: host.name }),
        el('span', { class: 'muted', text: host.online ? 'online' : 'offline' + (host.lastSeen ? ', last seen ' + new Date(host.lastSeen).toLocaleString() : '') })]),
      m ? el('div', { class: 'muted', text: 'CPU ' + pct(m.cpuPercent) + ' · memory ' + fmtBytes(m.memoryUsedBytes) + ' / ' + fmtBytes(m.memoryTotalBytes) + (m.gpuNote ? ' · ' + m.gpuNote : '') }) : null
    ]);
    if (m && m.gpus.length) {
      card.appendChild(el('div', { class: 'gpus' }, m.gpus.map(function (g) {
        var series = hist.map(function (s) { var x = s.gpus[g.index]; return x ? x.utilizationPercent : null; });
        return el('div', { class: 'gpu', 'data-gpu': String(g.index) }, [
          el('div', { text: 'GPU ' + g.index + ' · ' + g.name }),
          el('div', { class: 'gpu-figures', text: 'util ' + pct(g.utilizationPercent) + ' · mem ' + (g.memoryUsedMiB == null ? '?' : g.memoryUsedMiB) + ' / ' + (g.memoryTotalMiB == null ? '?' : g.memoryTotalMiB) + ' MiB' + (g.temperatureC == null ? '' : ' · ' + g.temperatureC + '°C') }),
          chart(series)
        ]);
      })));
    }
    var rows = host.containers.map(function (c) {
      var ports = c.ports.filter(function (p) { return p.hostPort; }).map(function (p) { return (p.hostIp || '') + ':' + p.hostPort + '→' + p.containerPort + '/' + p.protocol; }).join(', ');
      var button = el('button', { type: 'button', class: 'follow', 'data-container': c.name, text: 'Logs' });
      button.addEventListener('click', function () { follow(host.name, c.name); });
      return el('tr', {}, [el('td', { text: c.project }), el('td', { text: c.name }), el('td', { text: c.state }), el('td', { text: c.status }), el('td', { text: ports || '—' }), el('td', {}, [button])]);
    });
    card.appendChild(rows.length
      ? el('table', {}, [el('thead', {}, [el('tr', {}, ['project', 'container', 'state', 'status', 'ports', ''].map(function (h) { return el('th', { text: h }); }))]), el('tbody', {}, rows)])
      : el('p', { class: 'muted', text: 'no mltoolbox containers' }));
    return card;
  }
  // Many hosts send metrics every second: draw at most four times a second.
  var renderTimer = null;
  function scheduleRender() {
    if (renderTimer === null) renderTimer = setTimeout(function () { renderTimer = null; render(); }, 250);
  }
  function money(n) { return '$' + n.toFixed(2); }
  // Spend goes on between reports: the last reported figure plus the hourly price since then, while it bills.
  function spendNow(i) {
    var billing = !i.endedAt && i.state !== 'stopped' && i.state !== 'failed' && i.state !== 'terminated';
    return i.spendUsd + (billing ? i.pricePerHour * Math.max(0, Date.now() - i.reportedAt) / 3600000 : 0);
  }
  function idleText(i) {
    if (!i.idleTimeoutMinutes) return 'off';
    return i.idleAction + ' after ' + i.idleTimeoutMinutes + ' min idle' + (i.idleMinutesLeft == null ? ' (time left not read yet: mltoolbox instances list reads it from the host)' : ', ' + Math.round(i.idleMinutesLeft) + ' min left when last read');
  }
  function renderInstances() {
    var list = state.instances;
    $('instances').hidden = list.length === 0;
    if (!list.length) return;
    var rows = list.map(function (i) {
      return el('tr', { 'data-instance': i.name }, [el('td', { text: i.name }), el('td', { text: i.backend }), el('td', { text: i.gpuCount + '× ' + i.gpu }), el('td', { text: i.state }),
        el('td', { class: 'price', text: money(i.pricePerHour) + '/h' }), el('td', { class: 'spend', text: money(spendNow(i)) }), el('td', { class: 'idle', text: idleText(i) })]);
    });
    $('instances-list').replaceChildren(el('table', {}, [el('thead', {}, [el('tr', {}, ['instance', 'backend', 'GPUs', 'state', 'price', 'spend', 'idle timer'].map(function (h) { return el('th', { text: h }); }))]), el('tbody', {}, rows)]));
  }
  function renderOperations() {
    var list = Object.keys(state.operations).map(function (k) { return state.operations[k]; }).sort(function (a, b) { return a.createdAt < b.createdAt ? 1 : -1; }).slice(0, 20);
    $('operations').hidden = list.length === 0;
    if (!list.length) return;
    var rows = list.map(function (o) {
      // Full only when it succeeded: a failed or cancelled operation shows how far it got.
      var pctDone = o.percent == null ? (o.state === 'succeeded' ? 100 : 0) : o.percent;
      var bar = el('span', { class: 'bar' }, [el('span', { style: 'width:' + Math.max(0, Math.min(100, pctDone)) + '%' })]);
      var cancel = null;
      if (o.state === 'running') {
        // The same request as mltoolbox ops cancel ID; the row turns cancelling, then cancelled, as the worker reports.
        cancel = el('button', { class: 'op-cancel', type: 'button', title: 'stop it (as Ctrl-C would)', text: 'cancel' });
        cancel.addEventListener('click', function () {
          cancel.disabled = true;
          fetch('/api/v1/operations/' + encodeURIComponent(o.id) + '/cancel', { method: 'POST', headers: { authorization: 'Bearer ' + state.token } }).catch(function () { cancel.disabled = false; });
        });
      }
      return el('tr', { 'data-operation': o.id }, [el('td', { text: o.id }), el('td', { text: o.title }), el('td', { class: 'op-state ' + o.state, text: o.state }), el('td', {}, [bar]),
        el('td', { class: 'op-progress', text: o.error ? o.error.code + ': ' + o.error.message : (o.progress || '') }), el('td', { class: 'muted', text: new Date(o.createdAt).toLocaleTimeString() }), el('td', {}, [cancel])]);
    });
    $('operations-list').replaceChildren(el('table', {}, [el('thead', {}, [el('tr', {}, ['id', 'command', 'state', 'progress', '', 'started', ''].map(function (h) { return el('th', { text: h }); }))]), el('tbody', {}, rows)]));
  }
  function render() {
    renderInstances(); renderOperations();
    var root = $('hosts'), names = Object.keys(state.hosts).sort();
    root.replaceChildren.apply(root, names.length ? names.map(function (n) { return renderHost(state.hosts[n]); }) : [el('p', { class: 'muted', text: 'No hosts yet: run mltoolbox relay add-host TARGET.' })]);
  }
  function follow(host, container) {
    if (state.stream) state.socket.send(JSON.stringify({ type: 'unfollow', stream: state.stream }));
    state.stream = null;
    $('logs').textContent = '';
    $('log-title').textContent = 'Logs: ' + host + ' / ' + container;
    $('log-panel').hidden = false;
    state.socket.send(JSON.stringify({ type: 'follow', host: host, container: container, tail: 100 }));
  }
  $('log-close').addEventListener('click', function () {
    if (state.stream) state.socket.send(JSON.stringify({ type: 'unfollow', stream: state.stream }));
    state.stream = null; $('log-panel').hidden = true;
  });
  function onEvent(event) {
    var e = JSON.parse(event.data);
    if (e.type === 'snapshot') {
      e.hosts.forEach(function (h) { state.hosts[h.name] = h; });
      state.instances = e.instances || state.instances;
      (e.operations || []).forEach(function (o) { state.operations[o.id] = o; });
      render();
    }
    else if (e.type === 'instances') { state.instances = e.instances; scheduleRender(); }
    else if (e.type === 'operation') { state.operations[e.operation.id] = e.operation; scheduleRender(); }
    else if (e.type === 'host') { state.hosts[e.host.name] = e.host; scheduleRender(); }
    else if (e.type === 'metrics') {
      var h = state.hosts[e.host]; if (!h) return;
      h.metrics = e.sample; (state.history[e.host] = state.history[e.host] || []).push(e.sample);
      if (state.history[e.host].length > 300) state.history[e.host].shift();
      scheduleRender();
    } else if (e.type === 'containers') { if (state.hosts[e.host]) { state.hosts[e.host].containers = e.containers; scheduleRender(); } }
    else if (e.type === 'log-start') { state.stream = e.stream; }
    else if (e.type === 'log' && e.stream === state.stream) {
      var box = $('logs'); box.appendChild(document.createTextNode(e.lines.join('\\n') + '\\n')); box.scrollTop = box.scrollHeight;
    } else if (e.type === 'log-end' && e.stream === state.stream) { $('logs').appendChild(el('div', { class: 'muted', text: '— ' + e.reason + ' —' })); state.stream = null; }
  }
  function connect(attempt) {
    var scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    var socket = new WebSocket(scheme + location.host + '/api/v1/events', [SUBPROTOCOL, 'bearer.' + state.token]);
    state.socket = socket;
    socket.onmessage = onEvent;
    socket.onopen = function () { attempt = 0; $('who').dataset.live = 'yes'; };
    socket.onclose = function (e) {
      $('who').dataset.live = 'no';
      if (e.code === 4401) { logout('the token was revoked'); return; }
      setTimeout(function () { connect(attempt + 1); }, Math.min(10000, 500 * Math.pow(2, attempt)));
    };
  }
  function start() {
    return api('/api/v1/whoami').then(function (me) {
      $('login').hidden = true; $('hosts').hidden = false;
      $('who').textContent = 'signed in as ' + me.name;
      return api('/api/v1/hosts');
    }).then(function (body) {
      body.hosts.forEach(function (h) { state.hosts[h.name] = h; });
      return Promise.all([api('/api/v1/instances'), api('/api/v1/operations?limit=20')]).then(function (more) {
        state.instances = more[0].instances;
        more[1].operations.forEach(function (o) { state.operations[o.id] = o; });
        return body;
      });
    }).then(function (body) {
      return Promise.all(body.hosts.map(function (h) {
        return api('/api/v1/hosts/' + encodeURIComponent(h.name)).then(function (d) { state.history[h.name] = d.history; });
      }));
    }).then(function () { render(); connect(0); setInterval(function () { if (state.instances.length) renderInstances(); }, 5000); });
  }
  function logout(reason) {
    sessionStorage.removeItem('mltr'); state.token = '';
    $('login').hidden = false; $('hosts').hidden = true; $('operations').hidden = true; $('instances').hidden = true; $('who').textContent = '';
    $('login-error').textContent = reason;
  }
  $('login-form').addEventListener('submit', function (e) {
    e.preventDefault();
    state.token = $('token').value.trim(); $('token').value = '';
    start().then(function () { sessionStorage.setItem('mltr', state.token); }, function (err) { logout(err.message); });
  });
  if (state.token) start().catch(function (err) { logout(err.message); });
})();
`;
}
