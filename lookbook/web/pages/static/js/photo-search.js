// Search by photo: drag and drop, paste, a preview and upload progress on top of a plain form.
// Without this script the form still works (the browser posts it and follows the redirect).
"use strict";

(function () {
  function setup(form) {
    var inputs = Array.prototype.slice.call(form.querySelectorAll("input[type=file]"));  // a file, the camera
    var input = inputs[0];
    var zone = form.querySelector("[data-drop-zone]");
    var preview = form.querySelector("[data-preview]");
    var progress = form.querySelector("[data-progress]");
    var status = form.querySelector("[data-status]");
    var button = form.querySelector("button[type=submit]");
    var chosen = null;  // a File from the picker, a drop or a paste

    function say(message, isError) {
      status.textContent = message;
      status.classList.toggle("error", Boolean(isError));
    }

    function choose(file) {
      if (!file) { return; }
      if (file.type && file.type.indexOf("image/") !== 0) {
        say("That file is not a photo. Choose a JPEG, PNG, WEBP or GIF image.", true);
        return;
      }
      chosen = file;
      if (preview.src) { URL.revokeObjectURL(preview.src); }
      preview.src = URL.createObjectURL(file);
      preview.hidden = false;
      say("Ready: " + (file.name || "pasted photo") + ". Press \u201cFind similar items\u201d.", false);
    }

    inputs.forEach(function (each) {
      each.addEventListener("change", function () { choose(each.files[0]); });
    });
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (event) { event.preventDefault(); zone.classList.add("dragging"); });
    });
    ["dragleave", "drop"].forEach(function (type) {
      zone.addEventListener(type, function () { zone.classList.remove("dragging"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer.files.length) { choose(event.dataTransfer.files[0]); }
    });
    document.addEventListener("paste", function (event) {
      var items = (event.clipboardData || {}).files || [];
      if (items.length && items[0].type.indexOf("image/") === 0) {
        var details = form.closest("details");
        if (details) { details.open = true; }
        choose(items[0]);
      }
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!chosen) { say("Choose a photo first.", true); input.focus(); return; }
      var data = new FormData(form);
      data.set("image", chosen, chosen.name || "photo.png");  // replaces every "image" field of the form
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.setRequestHeader("Accept", "application/json");
      request.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) { progress.value = Math.round(100 * e.loaded / e.total); }
      });
      request.addEventListener("load", function () {
        var answer = {};
        try { answer = JSON.parse(request.responseText); } catch (ignored) { answer = {}; }
        if (request.status === 200 && answer.location) {
          say("Found matches; opening them\u2026", false);
          window.location.assign(answer.location);
          return;
        }
        done();
        say(answer.message || "We could not search with that photo. Try another one.", true);
      });
      request.addEventListener("error", function () {
        done();
        say("The upload did not reach the shop. Check your connection and try again.", true);
      });
      progress.hidden = false;
      progress.value = 0;
      button.disabled = true;
      say("Uploading your photo\u2026", false);
      request.send(data);
    });

    function done() { button.disabled = false; progress.hidden = true; }
  }

  document.querySelectorAll("form[data-photo-search]").forEach(setup);
}());
