// The catalog page: while a job runs, refresh the counts, the progress bars and the job's state from
// /admin/catalog/status.json every two seconds; reload the page once the job has ended, so its result shows.
// Without this script the page shows the same when reloaded. Only textContent is written, never HTML.
(function () {
  "use strict";
  var root = document.getElementById("catalog-state");
  if (!root || !window.fetch) { return; }
  var url = root.getAttribute("data-status-url");
  var running = root.getAttribute("data-running") === "true";
  var delay = 2000;

  function set(name, value) {
    var nodes = root.querySelectorAll('[data-field="' + name + '"]');
    for (var i = 0; i < nodes.length; i++) { nodes[i].textContent = value === null || value === undefined ? "" : String(value); }
  }

  function show(data) {
    var c = data.catalog;
    ["products", "retired", "with_photo", "indexed", "waiting", "model_version"].forEach(function (k) { set(k, c[k]); });
    var bar = document.getElementById("index-progress");
    if (bar) { bar.max = Math.max(c.with_photo, 1); bar.value = c.indexed; bar.textContent = c.indexed + " of " + c.with_photo; }
    var text = document.getElementById("index-progress-text");
    if (text) { text.textContent = c.indexed + " of " + c.with_photo + " photos indexed."; }
    var job = data.job;
    if (!job) { return; }
    set("job_status", job.status);
    var jobBar = document.getElementById("job-progress");
    if (job.progress && jobBar) {
      jobBar.max = Math.max(job.progress.total, 1);
      jobBar.value = job.progress.done;
      set("job_progress_text", job.progress.done + " of " + job.progress.total + " photos embedded.");
    }
    if (job.status !== "running") {
      window.location.reload();  // the result, the summary and the buttons come with the page
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
      .then(function (data) { show(data); if (data.job && data.job.status === "running") { window.setTimeout(poll, delay); } })
      .catch(function () { window.setTimeout(poll, delay * 3); });
  }

  if (running) { window.setTimeout(poll, delay); }
}());
