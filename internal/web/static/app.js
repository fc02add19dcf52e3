// apicron dashboard: draws the charts whose data a page carries in a
// <script type="application/json"> element; everything else is HTML (and
// htmx's polling). No inline script: the CSP allows this origin's files only.
"use strict";

function drawRunsChart() {
  const box = document.getElementById("runs-chart");
  const src = document.getElementById("runs-chart-data");
  if (!box || !src || typeof uPlot === "undefined") return;
  const data = JSON.parse(src.textContent);
  const css = getComputedStyle(document.documentElement);
  const fg = css.getPropertyValue("--fg").trim();
  const line = css.getPropertyValue("--line").trim();
  const stroke = css.getPropertyValue("--p0").trim();
  const axis = { stroke: fg, grid: { stroke: line, width: 1 }, ticks: { stroke: line } };
  const opts = {
    width: Math.max(box.clientWidth, 240),
    height: 220,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
    scales: { y: { range: (u, min, max) => [0, Math.max(max, 1)] } },
    axes: [axis, Object.assign({ size: 50 }, axis)],
    series: [{}, { label: "runs", stroke: stroke, width: 2, fill: stroke + "33", points: { show: false } }],
    legend: { show: true },
  };
  const plot = new uPlot(opts, data, box);
  box.dataset.drawn = "true";
  new ResizeObserver(() => plot.setSize({ width: Math.max(box.clientWidth, 240), height: 220 })).observe(box);
}

document.addEventListener("DOMContentLoaded", drawRunsChart);
