// The desk's figures per day: data comes from the JSON block the page carries (CSP: no inline JS).
(function () {
  "use strict";
  function draw() {
    var block = document.getElementById("desk-data");
    var canvas = document.getElementById("chart-desk");
    if (!block || !canvas || typeof Chart === "undefined") { return; }
    var data = JSON.parse(block.textContent);
    var datasets = data.series.map(function (s) {
      return { type: "bar", label: s.label, data: s.data, backgroundColor: s.color, yAxisID: "y" };
    });
    datasets.push({
      type: "line", label: data.response.label, data: data.response.data, borderColor: "#6f42c1",
      backgroundColor: "#6f42c1", spanGaps: true, yAxisID: "minutes"
    });
    new Chart(canvas, {
      data: { labels: data.days, datasets: datasets },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: {
          y: { beginAtZero: true, ticks: { precision: 0 } },
          minutes: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } }
        },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } }
      }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
