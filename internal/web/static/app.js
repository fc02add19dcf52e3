// apicron dashboard: draws the charts whose data a page carries in a
// <script type="application/json"> element; everything else is HTML (and
// htmx's polling). No inline script: the CSP allows this origin's files only.
"use strict";

// drawChart draws the chart of box id from the JSON element id-data: its
// first row the times (unix seconds), then one row per series named in the
// box's data-series, coloured by the CSS variables in data-colors. Without
// data-lines the series are filled areas (counts), with it lines (null: a gap).
function drawChart(id) {
  const box = document.getElementById(id);
  const src = document.getElementById(id + "-data");
  if (!box || !src || typeof uPlot === "undefined") return;
  const data = JSON.parse(src.textContent);
  const css = getComputedStyle(document.documentElement);
  const v = (name) => css.getPropertyValue(name).trim();
  const fg = v("--fg");
  const line = v("--line");
  const axis = { stroke: fg, grid: { stroke: line, width: 1 }, ticks: { stroke: line } };
  const names = (box.dataset.series || "").split(",");
  const colors = (box.dataset.colors || "").split(",");
  const lines = box.dataset.lines === "true";
  const series = [{}];
  names.forEach((name, i) => {
    const stroke = v(colors[i] || "--p0");
    series.push(lines
      ? { label: name, stroke: stroke, width: 2, spanGaps: false, points: { show: false } }
      : { label: name, stroke: stroke, width: 1.5, fill: stroke + "33", points: { show: false } });
  });
  const opts = {
    width: Math.max(box.clientWidth, 240),
    height: 220,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
    scales: { y: { range: (u, min, max) => [0, Math.max(max || 0, 1)] } },
    axes: [axis, Object.assign({ size: 56 }, axis)],
    series: series,
    legend: { show: true },
  };
  const plot = new uPlot(opts, data.slice(0, series.length), box);
  box.dataset.drawn = "true";
  new ResizeObserver(() => plot.setSize({ width: Math.max(box.clientWidth, 240), height: 220 })).observe(box);
}

function drawCharts() {
  ["runs-chart", "latency-chart", "lateness-chart", "schedule-chart"].forEach(drawChart);
}

document.addEventListener("DOMContentLoaded", drawCharts);
