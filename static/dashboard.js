// The dashboard's charts: data comes from the JSON block the page carries (CSP: no inline JS).
(function () {
  "use strict";

  function draw() {
    var block = document.getElementById("dashboard-data");
    if (!block || typeof Chart === "undefined") { return; }
    var data = JSON.parse(block.textContent);
    var common = { responsive: true, maintainAspectRatio: false, animation: false };

    var ads = document.getElementById("chart-ads");
    if (ads) {
      new Chart(ads, {
        type: "bar",
        data: {
          labels: data.days,
          datasets: data.ads.map(function (s) {
            return { label: s.label, data: s.data, backgroundColor: s.color, stack: "ads" };
          })
        },
        options: Object.assign({}, common, {
          scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
          plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } }
        })
      });
    }

    var reposts = document.getElementById("chart-reposts");
    if (reposts) {
      new Chart(reposts, {
        type: "line",
        data: { labels: data.days, datasets: [{ label: data.reposts.label, data: data.reposts.data,
          borderColor: "#0d6efd", backgroundColor: "rgba(13,110,253,.15)", fill: true, tension: 0.2 }] },
        options: Object.assign({}, common, {
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
          plugins: { legend: { display: false } }
        })
      });
    }

    var decisions = document.getElementById("chart-decisions");
    if (decisions) {
      var d = data.decisions;
      new Chart(decisions, {
        type: "bar",
        data: { labels: d.channels, datasets: [
          { label: d.labels.p50, data: d.p50, backgroundColor: "#198754" },
          { label: d.labels.p95, data: d.p95, backgroundColor: "#fd7e14" }
        ] },
        options: Object.assign({}, common, {
          indexAxis: "y",
          scales: { x: { beginAtZero: true } },
          plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } }
        })
      });
    }

    // Every other area: a line per series; amounts (points, Stars) on the right-hand axis.
    (data.areas || []).forEach(function (area) {
      var canvas = document.getElementById("chart-area-" + area.id);
      if (!canvas) { return; }
      var amounts = area.series.some(function (s) { return s.amount; });
      var scales = { y: { beginAtZero: true, ticks: { precision: 0 } } };
      if (amounts) { scales.y1 = { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } }; }
      new Chart(canvas, {
        type: "line",
        data: {
          labels: data.days,
          datasets: area.series.map(function (s) {
            return { label: s.label, data: s.data, borderColor: s.color, backgroundColor: s.color,
              tension: 0.2, pointRadius: data.days.length > 60 ? 0 : 2, yAxisID: s.amount ? "y1" : "y" };
          })
        },
        options: Object.assign({}, common, {
          scales: scales,
          plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } }
        })
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
