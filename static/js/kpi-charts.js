/* Draws the KPI charts with Chart.js (static/vendor/chart.umd.min.js, no build step).
 * Each <canvas data-testid="kpi-chart" data-kind="..." data-spec="<json id>"> reads its
 * figures from the <script type="application/json"> with that id (Django's json_script).
 * Kinds: trend (daily line + dashed target), pareto (bars + running share), bar, histogram.
 * Clicking a bar or a point opens the records behind it. Sets data-rendered="yes". */
(function () {
  "use strict";
  if (typeof Chart === "undefined") return;

  var BLUE = "#1f5fa8", RED = "#c0392b", GREY = "#6c757d", ORANGE = "#e67e22";

  function go(url) { if (url) window.location.assign(url); }

  function clickTo(spec) {
    return function (event, elements) {
      if (!elements.length) { go(spec.link); return; }
      var i = elements[0].index;
      go(spec.links ? spec.links[i] : spec.link);
    };
  }

  function unitTick(unit) {
    return function (value) { return unit === "%" ? value + " %" : value; };
  }

  function trend(spec) {
    var datasets = [{
      label: spec.label, data: spec.values, borderColor: BLUE, backgroundColor: BLUE,
      pointRadius: 2, spanGaps: false, tension: 0.2
    }];
    if (spec.target !== null && spec.target !== undefined) {
      datasets.push({
        label: "target", data: spec.labels.map(function () { return spec.target; }),
        borderColor: RED, borderDash: [6, 4], pointRadius: 0, fill: false
      });
    }
    return {
      type: "line",
      data: { labels: spec.labels, datasets: datasets },
      options: { scales: { y: { beginAtZero: true, ticks: { callback: unitTick(spec.unit) } },
                           x: { ticks: { maxTicksLimit: 10 } } },
                 plugins: { legend: { display: datasets.length > 1 } } }
    };
  }

  function pareto(spec) {
    return {
      type: "bar",
      data: {
        labels: spec.labels,
        datasets: [
          { type: "bar", label: spec.unit, data: spec.values, backgroundColor: BLUE, yAxisID: "y" },
          { type: "line", label: "cumulative %", data: spec.cumulative, borderColor: ORANGE,
            backgroundColor: ORANGE, yAxisID: "share", pointRadius: 3 }
        ]
      },
      options: { scales: {
        y: { beginAtZero: true, position: "left" },
        share: { beginAtZero: true, max: 100, position: "right", grid: { drawOnChartArea: false },
                 ticks: { callback: function (v) { return v + " %"; } } }
      } }
    };
  }

  function bars(spec, color) {
    return {
      type: "bar",
      data: { labels: spec.labels, datasets: [{ label: spec.unit, data: spec.values, backgroundColor: color }] },
      options: { scales: { y: { beginAtZero: true, ticks: { callback: unitTick(spec.unit) } } },
                 plugins: { legend: { display: false } } }
    };
  }

  var BUILD = {
    trend: trend,
    pareto: pareto,
    bar: function (spec) { return bars(spec, BLUE); },
    histogram: function (spec) { return bars(spec, GREY); }
  };

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.spec);
    var build = BUILD[canvas.dataset.kind];
    if (!source || !build) return;
    var spec = JSON.parse(source.textContent);
    var config = build(spec);
    config.options = Object.assign({
      animation: false, responsive: true, maintainAspectRatio: false, onClick: clickTo(spec),
      onHover: function (event, elements) {
        event.native.target.style.cursor = elements.length || spec.link ? "pointer" : "default";
      }
    }, config.options);
    new Chart(canvas, config);
    canvas.dataset.rendered = "yes";
  }

  document.querySelectorAll("canvas[data-testid='kpi-chart']").forEach(draw);
})();
