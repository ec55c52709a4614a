"""The web view's page: one self-contained HTML document (uPlot inlined, nothing fetched but
the run's own ``/events`` stream and ``/control`` posts).

The page opens an ``EventSource`` on ``/events`` and redraws from each state
document (:meth:`simcore.ui.webfeed.WebFeed.state`): the header, the charts over
wall-clock time (UTC), and the tables. Controls post to ``/control/COMMAND``, as
``simcore ctl`` sends to the control socket. For tests and tools the page keeps
``data-updates`` (states received) and ``data-status`` on ``<html>``.
"""

from __future__ import annotations

from html import escape

from simcore.analysis.charts import chart_assets
from simcore.run.clock import format_speed
from simcore.run.control import SPEED_STEPS

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2433;background:#f6f7f9}
header{display:flex;flex-wrap:wrap;gap:18px;align-items:center;padding:10px 18px;background:#1f3a5f;color:#fff}
header b{font-size:16px}#status{padding:2px 8px;border-radius:4px;background:#59a14f;font-weight:600}
html[data-status=paused] #status{background:#edc948;color:#222}html[data-status=ended] #status{background:#888}
html[data-status=stopping] #status{background:#e15759}
.controls button,.controls select{font:inherit;margin-right:6px;padding:3px 10px}
main{padding:12px 18px}section{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:10px 14px;margin:0 0 14px}
h2{font-size:15px;margin:0 0 8px}table{border-collapse:collapse;font-size:13px}
td,th{padding:2px 10px 2px 0;text-align:right}td:first-child,th:first-child{text-align:left}
.grid{display:flex;flex-wrap:wrap;gap:14px}.grid section{flex:1 1 420px}
#ended{display:none;background:#fff3cd;border-color:#e0c36a}html[data-status=ended] #ended{display:block}
.live{width:620px;max-width:100%}.mono{font-family:ui-monospace,monospace}
"""

_SCRIPT = r"""
(function () {
  var H = window.simcoreCharts, charts = {}, updates = 0;
  var PALETTE = ['#4e79a7','#f28e2b','#e15759','#76b7b2','#59a14f','#edc948','#b07aa1','#ff9da7','#9c755f','#bab0ac','#1f3a5f','#8cd17d'];
  function color(i) { return i < PALETTE.length ? PALETTE[i] : 'hsl(' + Math.round(i * 137.5 % 360) + ',55%,48%)'; }
  function $(id) { return document.getElementById(id); }
  function text(id, v) { var e = $(id); if (e) e.textContent = v; }
  function spans(series) {
    var lo = Infinity, hi = 0;
    series.forEach(function (s) { s.forEach(function (v) { if (v > 0) { lo = Math.min(lo, v); hi = Math.max(hi, v); } }); });
    return hi > 0 && Math.log10(hi / lo) >= 2;
  }
  function draw(id, names, x, series, yLabel) {
    var el = $(id), log = spans(series), key = names.join('|') + (log ? ':log' : '');
    var data = [x].concat(series.map(function (s) { return log ? s.map(function (v) { return v > 0 ? v : null; }) : s; }));
    var c = charts[id];
    if (c && c.key === key) { c.plot.setData(data); el.dataset.points = String(x.length); return; }
    if (c) c.plot.destroy();
    var opts = {width: Math.min(620, el.clientWidth || 620), height: 240,
      series: [{label: 'time (UTC)', value: function (u, v) { return v == null ? '' : new Date(v * 1e3).toISOString().slice(11, 19); }}]
        .concat(names.map(function (n, i) { return {label: n, stroke: color(i), width: 2, spanGaps: true,
          value: function (u, v) { return H.human(v); }}; })),
      scales: {x: {time: true}, y: log ? {distr: 3, log: 10} : {}},
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'); },
      axes: [{}, {size: 56, label: yLabel, labelSize: 18, values: function (u, v) { return v.map(H.compact); }}]};
    charts[id] = {key: key, plot: new uPlot(opts, data, el)};
    el.dataset.points = String(x.length);
  }
  function column(points, key) { return points.map(function (p) { return p[key]; }); }
  function rows(id, items, cells) {
    var body = $(id); if (!body) return;
    body.innerHTML = '';
    items.forEach(function (item) {
      var tr = document.createElement('tr');
      cells(item).forEach(function (v) { var td = document.createElement('td'); td.textContent = v == null ? '–' : v; tr.appendChild(td); });
      body.appendChild(tr);
    });
  }
  function ms(v) { return v == null ? '–' : H.human(v); }
  function update(s) {
    updates++;
    document.documentElement.dataset.updates = String(updates);
    document.documentElement.dataset.status = s.status;
    text('status', s.status); text('simtime', s.simulated_time.replace('T', ' ')); text('day', 'day ' + s.day);
    text('tick', 'tick ' + s.tick.toLocaleString('en-US') + ' / ' + s.ticks.toLocaleString('en-US'));
    text('speed', 'speed ' + s.speed); text('rate', s.rate === 'off' ? '' : 'rate ' + s.rate); text('lag', s.lag == null ? '' : 'lag ' + s.lag.toFixed(2) + ' s (max ' + s.max_lag.toFixed(2) + ' s)');
    text('actions', s.actions.toLocaleString('en-US') + ' actions');
    var pts = s.points, x = column(pts, 't');
    var used = s.kinds.filter(function (k) { return pts.some(function (p) { return p.actions[k] > 0; }); });
    draw('chart-actions', used, x, used.map(function (k) { return pts.map(function (p) { return p.actions[k]; }); }), 'actions / s');
    draw('chart-latency', ['p50', 'p95', 'p99'], x, [column(pts, 'p50'), column(pts, 'p95'), column(pts, 'p99')], 'ms');
    draw('chart-failures', ['failures'], x, [column(pts, 'failures')], 'failures / s');
    draw('chart-users', ['users'], x, [column(pts, 'users')], 'users');
    text('latency-note', s.real_time ? '' : 'no latency on the mock: it answers at once');
    rows('states', Object.keys(s.states).map(function (k) { return [k, s.states[k]]; }), function (r) { return [r[0], r[1].toLocaleString('en-US')]; });
    rows('endpoints', s.endpoints, function (e) { return [e.endpoint, (e.method + ' ' + e.path).trim(), e.count.toLocaleString('en-US'), e.failures.toLocaleString('en-US'), ms(e.p50_ms), ms(e.p95_ms), ms(e.p99_ms), ms(e.max_ms)]; });
    rows('posters', s.top_posters, function (p) { return ['user ' + p.user, p.posts]; });
    rows('posts', s.top_posts, function (p) { return ['post ' + p.post, p.views]; });
    rows('latest', s.latest.slice().reverse(), function (a) { return [a.seq, a.time.slice(11), 'user ' + a.user, a.method + ' ' + a.path, a.status, ms(a.latency_ms)]; });
    var failures = Object.keys(s.failures).map(function (k) { var e = s.failures[k][0]; return [k, e.seq, e.method + ' ' + e.path, e.status, e.error]; });
    rows('errors', failures, function (r) { return r; });
    if (s.status === 'ended' && s.report) { var a = $('report-link'); a.href = s.report; a.textContent = 'report'; }
  }
  function send(command, value) {
    var body = JSON.stringify(value == null ? {} : {value: String(value)});
    return fetch('control/' + command, {method: 'POST', body: body, headers: {'Content-Type': 'application/json'}})
      .then(function (r) { return r.json(); })
      .then(function (r) {
        var note = r.ok && r.status.snapshot_pending ? ' (written at the next tick boundary)' : '';
        text('control-reply', r.ok ? command + ': ok' + note : 'error: ' + r.error);
      });
  }
  document.querySelectorAll('[data-command]').forEach(function (b) {
    b.addEventListener('click', function () { send(b.dataset.command, b.dataset.value); });
  });
  $('rate-set').addEventListener('click', function () { send('rate', $('rate-input').value || 'off'); });
  $('speed-select').addEventListener('change', function (e) { send('speed', e.target.value); });
  var source = new EventSource('events');
  source.onmessage = function (e) { var s = JSON.parse(e.data); update(s); if (s.status === 'ended') source.close(); };
})();
"""


def page(title: str) -> str:
    """The whole page (``title``: the run's directory)."""
    speeds = "".join(
        f'<option value="{format_speed(s)}">{format_speed(s)}</option>' for s in SPEED_STEPS
    )
    return f"""<!doctype html>
<html lang="en" data-updates="0" data-status="starting"><head><meta charset="utf-8">
<title>simcore · {escape(title)}</title><link rel="icon" href="data:,">
<style>{_STYLE}</style>
{chart_assets()}
</head><body>
<header><b>simcore</b><span class="mono">{escape(title)}</span><span id="status">starting</span>
<span id="simtime"></span><span id="day"></span><span id="tick"></span><span id="speed"></span><span id="lag"></span>
<span id="actions"></span>
<span class="controls"><button data-command="pause">pause</button><button data-command="resume">resume</button>
<button data-command="snapshot">snapshot now</button><button data-command="stop">stop</button>
<select id="speed-select" title="speed"><option value="" selected disabled>speed…</option>{speeds}
<option value="max">max</option></select>
<input id="rate-input" type="number" min="0" step="any" placeholder="actions/s" size="8" title="rate target">
<button id="rate-set">set rate</button><button data-command="rate" data-value="off">rate off</button></span>
<span id="rate"></span><span id="control-reply"></span></header>
<main>
<section id="ended"><b>The run has ended.</b> <a id="report-link" href="#">report</a></section>
<div class="grid">
<section><h2>Actions per second by kind</h2><div class="live" id="chart-actions"></div></section>
<section><h2>Latency p50 / p95 / p99</h2><p id="latency-note"></p><div class="live" id="chart-latency"></div></section>
<section><h2>Failures per second</h2><div class="live" id="chart-failures"></div></section>
<section><h2>Users</h2><div class="live" id="chart-users"></div>
<table><tbody id="states"></tbody></table></section>
</div>
<section><h2>Endpoints</h2><table><thead><tr><th>kind</th><th>route</th><th>count</th><th>failures</th>
<th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th></tr></thead><tbody id="endpoints"></tbody></table></section>
<div class="grid">
<section><h2>Top posters</h2><table><tbody id="posters"></tbody></table></section>
<section><h2>Most viewed posts</h2><table><tbody id="posts"></tbody></table></section>
</div>
<section><h2>Latest actions</h2><table><thead><tr><th>seq</th><th>sim time</th><th>user</th><th>request</th>
<th>status</th><th>ms</th></tr></thead><tbody id="latest"></tbody></table></section>
<section><h2>Errors, with an example each</h2><table><thead><tr><th>kind / error</th><th>seq</th><th>request</th>
<th>status</th><th>error</th></tr></thead><tbody id="errors"></tbody></table></section>
</main>
<script>{_SCRIPT}</script>
</body></html>
"""
