// The script inside every HTML report: draws the charts the page's JSON describes with uPlot, shades
// each fault's live window with a hatch pattern and its name, marks undo times, abort trips and the
// time to recover, and redraws when the theme or the page width changes, or for print. Keyboard:
// each chart takes focus and arrow keys move the cursor through the seconds, the legend's values
// following; each legend row toggles its series with Enter or Space.
// Kept as plain browser JavaScript in a string (no template literals inside): the page inlines it
// as is, and no bundler or transpiler stands between this text and the browser.
export const HTML_CLIENT_SCRIPT = String.raw`
(function () {
  'use strict';
  var holder = document.getElementById('faultline-data');
  var payload = holder ? JSON.parse(holder.textContent || 'null') : null;
  var charts = [];
  // Read by the browser tests: each chart's uPlot instance and what its last draw put on the canvas.
  window.faultlineCharts = charts;

  var copy = document.querySelectorAll('button.copy');
  Array.prototype.forEach.call(copy, function (button) {
    button.addEventListener('click', function () {
      var target = document.getElementById(button.getAttribute('data-copy'));
      if (!target || !navigator.clipboard) return;
      navigator.clipboard.writeText(target.textContent || '').then(function () { button.textContent = 'copied'; }, function () { button.textContent = 'select and copy'; });
    });
  });
  var panels = payload && payload.panels ? payload.panels : [];
  if (panels.length === 0 || typeof uPlot === 'undefined') return;

  var DASHES = [[], [8, 4], [2, 3], [12, 3, 2, 3], [1, 5], [16, 6], [4, 4]];

  function cssVar(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

  function palette() {
    return {
      fg: cssVar('--fg'), muted: cssVar('--muted'), grid: cssVar('--grid'), band: cssVar('--band'), bandFill: cssVar('--band-fill'),
      abort: cssVar('--abort'), recover: cssVar('--recover'),
      series: ['--c1', '--c2', '--c3', '--c4', '--c5', '--c6', '--c7'].map(cssVar)
    };
  }

  function formatSeconds(v) {
    if (v == null) return '-';
    var sign = v < 0 ? '-' : '+';
    var abs = Math.abs(v);
    if (abs < 60) return sign + (Math.round(abs * 10) / 10) + 's';
    var m = Math.floor(abs / 60);
    var s = Math.round(abs - m * 60);
    return sign + m + 'm' + (s ? s + 's' : '');
  }

  function formatValue(v, unit) {
    if (v == null) return '-';
    if (unit === 'ms') return v < 1000 ? (Math.round(v * 10) / 10) + ' ms' : (Math.round(v / 10) / 100) + ' s';
    if (unit === 's') return (Math.round(v * 100) / 100) + ' s';
    if (unit === '%') return (Math.round(v * 100) / 100) + '%';
    return (Math.round(v * 10) / 10) + ' ' + unit;
  }

  // Axis ticks: the unit is in the axis label, so ticks stay short enough for the gutter.
  function formatTick(v, unit) {
    if (v == null) return '';
    if (unit === 'ms') return v < 1000 ? Math.round(v) + 'ms' : (Math.round(v / 10) / 100) + 's';
    if (unit === '%') return (Math.round(v * 100) / 100) + '%';
    return String(Math.round(v * 100) / 100);
  }

  function formatX(panel, v) {
    if (panel.xTicks) return panel.xTicks[v] != null ? panel.xTicks[v] : '';
    return formatSeconds(v);
  }

  // Each band has its own hatch angle, so overlapping windows stay apart without colour.
  function hatch(ctx, index, colors) {
    var size = Math.round(10 * uPlot.pxRatio);
    var tile = document.createElement('canvas');
    tile.width = tile.height = size;
    var g = tile.getContext('2d');
    g.fillStyle = colors.bandFill;
    g.fillRect(0, 0, size, size);
    g.strokeStyle = colors.band;
    g.lineWidth = Math.max(1, uPlot.pxRatio);
    g.beginPath();
    var kind = index % 3;
    if (kind === 0) { g.moveTo(0, size); g.lineTo(size, 0); }
    else if (kind === 1) { g.moveTo(0, 0); g.lineTo(size, size); }
    else { g.moveTo(size / 2, 0); g.lineTo(size / 2, size); }
    g.stroke();
    return ctx.createPattern(tile, 'repeat');
  }

  function font(px, weight) { return (weight || '') + ' ' + Math.round(px * uPlot.pxRatio) + 'px system-ui, sans-serif'; }

  function overlay(state, colors) {
    var panel = state.panel;
    return {
      hooks: {
        drawClear: [function (u) {
          var ctx = u.ctx;
          var box = u.bbox;
          var drawn = 0;
          ctx.save();
          panel.bands.forEach(function (band, i) {
            var from = Math.max(u.valToPos(band.fromS, 'x', true), box.left);
            var to = Math.min(u.valToPos(band.toS, 'x', true), box.left + box.width);
            if (!(to >= from) || to < box.left || from > box.left + box.width) return;
            ctx.fillStyle = hatch(ctx, i, colors);
            ctx.fillRect(from, box.top, Math.max(to - from, uPlot.pxRatio * 2), box.height);
            drawn += 1;
          });
          ctx.restore();
          state.bands = drawn;
        }],
        draw: [function (u) {
          var ctx = u.ctx;
          var box = u.bbox;
          var px = uPlot.pxRatio;
          var marks = 0;
          ctx.save();
          // uPlot leaves the alignment of its last axis on the context.
          ctx.textAlign = 'left';
          ctx.textBaseline = 'top';
          panel.bands.forEach(function (band, i) {
            var from = u.valToPos(band.fromS, 'x', true);
            var to = u.valToPos(band.toS, 'x', true);
            if (to < box.left || from > box.left + box.width) return;
            ctx.strokeStyle = colors.band;
            ctx.lineWidth = 1.5 * px;
            ctx.setLineDash([]);
            line(ctx, from, box);
            // The undo time: a solid edge; a window cut by the end of the run: a dashed one.
            ctx.setLineDash(band.end === 'undone' ? [] : [4 * px, 3 * px]);
            line(ctx, to, box);
            ctx.setLineDash([]);
            ctx.font = font(11, '600');
            ctx.fillStyle = colors.fg;
            var text = (i + 1) + ' ' + band.label + (band.end === 'undone' ? '  \u21ba undone' : band.end === 'run end' ? '' : '  (' + band.end + ')');
            var y = box.top + (2 + (i % 3) * 14) * px;
            ctx.fillText(fit(ctx, text, Math.max(to - from, 60 * px) - 4 * px), Math.max(from, box.left) + 3 * px, y);
          });
          panel.markers.forEach(function (mark, i) {
            var x = u.valToPos(mark.atS, 'x', true);
            if (x < box.left || x > box.left + box.width) return;
            var color = mark.kind === 'abort' ? colors.abort : colors.recover;
            ctx.strokeStyle = color;
            ctx.lineWidth = 2 * px;
            ctx.setLineDash(mark.kind === 'abort' ? [6 * px, 4 * px] : [2 * px, 3 * px]);
            line(ctx, x, box);
            ctx.setLineDash([]);
            ctx.font = font(11, '700');
            ctx.fillStyle = color;
            var text = (mark.kind === 'abort' ? '\u26a0 ' : '\u2714 ') + mark.label;
            var width = ctx.measureText(text).width;
            var left = x + 4 * px + width > box.left + box.width ? x - 4 * px - width : x + 4 * px;
            ctx.fillText(text, left, box.top + box.height - (16 + (i % 2) * 14) * px);
            marks += 1;
          });
          ctx.restore();
          state.markers = marks;
          state.root.dataset.bands = String(state.bands);
          state.root.dataset.markers = String(marks);
          state.root.dataset.drawn = 'true';
        }]
      }
    };
  }

  function line(ctx, x, box) {
    ctx.beginPath();
    ctx.moveTo(x, box.top);
    ctx.lineTo(x, box.top + box.height);
    ctx.stroke();
  }

  function fit(ctx, text, width) {
    if (ctx.measureText(text).width <= width) return text;
    while (text.length > 1 && ctx.measureText(text + '\u2026').width > width) text = text.slice(0, -1);
    return text + '\u2026';
  }

  function build(root) {
    var panel = panels[Number(root.getAttribute('data-panel') || 0)];
    var spec = panel ? panel.charts.filter(function (c) { return c.id === root.getAttribute('data-chart'); })[0] : null;
    if (!spec) return;
    var colors = palette();
    var state = { root: root, panel: panel, spec: spec, bands: 0, markers: 0, index: -1, plot: null };
    var axis = { stroke: colors.muted, grid: { stroke: colors.grid, width: 1 }, ticks: { stroke: colors.grid, width: 1 } };
    var options = {
      width: Math.max(300, root.clientWidth || 800),
      height: 230,
      cursor: { sync: { key: 'faultline-' + (root.getAttribute('data-panel') || 0) }, focus: { prox: 16 } },
      focus: { alpha: 0.35 },
      // Every figure charted is a count, a share or a duration: from zero, so a small wobble does not look like a cliff.
      // A history's runs sit half a step in from the edges, so the first and last labels fit.
      scales: { x: panel.xTicks ? { time: false, range: function (u, min, max) { return [min - 0.4, max + 0.4]; } } : { time: false }, y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.08 : 1]; } } },
      legend: { live: true, markers: { show: true } },
      axes: [
        Object.assign({ label: panel.xLabel, labelSize: 20, values: function (u, values) { return values.map(function (v) { return formatX(panel, v); }); } }, axis, panel.xTicks ? { splits: function () { return panel.x; } } : {}),
        Object.assign({ label: spec.unit, labelSize: 20, size: 60, values: function (u, values) { return values.map(function (v) { return formatTick(v, spec.unit); }); } }, axis)
      ],
      series: [{ label: panel.xTicks ? 'run' : 'time', value: function (u, v) { return formatX(panel, v); } }].concat(spec.series.map(function (s, i) {
        return {
          label: s.label,
          stroke: colors.series[i % colors.series.length],
          width: i === 0 ? 2 : 1.75,
          dash: DASHES[i % DASHES.length],
          spanGaps: false,
          points: { show: panel.points, size: 7 },
          value: function (u, v) { return formatValue(v, spec.unit); }
        };
      })),
      plugins: [overlay(state, colors)]
    };
    root.innerHTML = '';
    var data = [panel.x].concat(spec.series.map(function (s) { return s.values; }));
    state.plot = new uPlot(options, data, root);
    root.dataset.series = String(spec.series.length);
    keyboardLegend(state);
    charts.push(state);
  }

  function keyboardLegend(state) {
    var rows = state.root.querySelectorAll('.u-legend tr.u-series');
    Array.prototype.forEach.call(rows, function (row, i) {
      if (i === 0) return;
      row.tabIndex = 0;
      row.setAttribute('role', 'button');
      row.setAttribute('aria-label', 'show or hide ' + state.spec.series[i - 1].label);
      row.addEventListener('keydown', function (event) {
        if (event.key !== 'Enter' && event.key !== ' ') return;
        event.preventDefault();
        state.plot.setSeries(i, { show: !state.plot.series[i].show });
      });
    });
  }

  function moveCursor(state, key) {
    var x = state.panel.x;
    var last = x.length - 1;
    if (last < 0) return false;
    var step = key === 'PageUp' || key === 'PageDown' ? 10 : 1;
    if (key === 'ArrowRight' || key === 'PageDown') state.index = Math.min(last, state.index < 0 ? 0 : state.index + step);
    else if (key === 'ArrowLeft' || key === 'PageUp') state.index = Math.max(0, state.index < 0 ? last : state.index - step);
    else if (key === 'Home') state.index = 0;
    else if (key === 'End') state.index = last;
    else return false;
    var u = state.plot;
    u.setCursor({ left: u.valToPos(x[state.index], 'x'), top: u.bbox.height / uPlot.pxRatio / 2 });
    return true;
  }

  function buildAll() {
    charts.forEach(function (state) { state.plot.destroy(); });
    charts.length = 0;
    Array.prototype.forEach.call(document.querySelectorAll('[data-chart]'), build);
  }

  document.addEventListener('keydown', function (event) {
    var root = event.target && event.target.closest ? event.target.closest('[data-chart]') : null;
    if (!root || event.target !== root) return;
    var state = charts.filter(function (c) { return c.root === root; })[0];
    if (state && moveCursor(state, event.key)) event.preventDefault();
  });

  buildAll();

  var width = window.innerWidth;
  var pending = 0;
  window.addEventListener('resize', function () {
    if (window.innerWidth === width) return;
    width = window.innerWidth;
    clearTimeout(pending);
    pending = setTimeout(function () {
      charts.forEach(function (state) { state.plot.setSize({ width: Math.max(300, state.root.clientWidth), height: 230 }); });
    }, 100);
  });
  // Colours come from the theme: a change of theme, or printing, draws the charts again in its colours.
  if (window.matchMedia) {
    ['(prefers-color-scheme: dark)', 'print'].forEach(function (query) {
      var list = window.matchMedia(query);
      if (list.addEventListener) list.addEventListener('change', buildAll);
    });
  }
  window.addEventListener('beforeprint', buildAll);
  window.addEventListener('afterprint', buildAll);

})();
`;
