// A task's figures per day: data comes from the JSON block the page carries (CSP: no inline JS).
(function () {
  "use strict";
  function draw() {
    var block = document.getElementById("task-data");
    var canvas = document.getElementById("chart-task");
    if (!block || !canvas || typeof Chart === "undefined") { return; }
    var data = JSON.parse(block.textContent);
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.days,
        datasets: data.series.map(function (s) {
          return { label: s.label, data: s.data, backgroundColor: s.color, stack: "task" };
        })
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: { x: { stacked: true }, y: { stacked: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } }
      }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
