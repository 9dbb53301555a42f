// LMS Diklat ASN: large-file uploads with progress and resume (progressive enhancement).
//
// Two ways to mark a form up (attributes are read from the file input first, then the form):
//
// <form data-uploader data-kind="video" data-direct="s3|disk" data-start-url="/api/v1/uploads"
//       [data-stream-url="/api/v1/uploads/stream"] [data-max-bytes="2147483648"] [data-autosubmit]>
//   <input type="file" name="file">  <input type="hidden" name="file_id">
//   <progress hidden></progress>  <span data-uploader-status aria-live="polite"></span>
//   <button type="button" data-uploader-cancel hidden>Batal</button>
//   <button type="submit" data-uploader-submit>Simpan</button>
// </form>
//
// or, as templates/studio/_section.html does, a form[data-uploader-form] holding
//   <input type="file" name="file" data-uploader data-uploader-kind-field="kind">
//   <input type="hidden" name="file_id" data-uploader-file-id>   (+ <progress>, [data-progress-status])
// where the kind is the current value of the field named by data-uploader-kind-field, and
// data-direct / data-start-url / data-stream-url sit on the form or the input.
//
// Nothing happens unless data-direct is "s3" or "disk", and only for the kinds listed in
// data-uploader-kinds (default "video document file cover": SCORM packages are unpacked by the
// server, so they keep coming through the form). Without this script, or on a browser too old
// to parse it, the form posts the file as usual.
//
// s3:   POST start -> sign parts in small batches -> PUT each part (3 at a time, 3 retries)
//       -> POST complete. Progress is kept in localStorage; choosing the same file again
//       after a broken connection asks the server which parts exist and sends only the rest.
// disk: one POST whose body is the file itself (application/octet-stream).
// On success: the hidden file_id is filled, the file input loses its name (so the form does
// not send the bytes twice), submit buttons are enabled, `uploader:done` fires with the
// server's JSON as `detail`, and the form is submitted when it has data-autosubmit.
// Submitting while an upload runs is blocked. Texts are Indonesian; each can be replaced
// with a data-msg-* attribute on the form.
(function () {
  "use strict";

  var PARALLEL = 3;
  var RETRIES = 3;
  var SIGN_BATCH = 6;
  var STORE_PREFIX = "lms-upload:";
  var DEFAULT_KINDS = "video document file cover";
  var MESSAGES = {
    uploading: "Mengunggah… {percent}%",
    resuming: "Melanjutkan unggahan sebelumnya…",
    finishing: "Memeriksa berkas di server…",
    done: "Berkas terunggah: {name}",
    failed: "Unggahan gagal: {reason}",
    network: "koneksi terputus. Pilih berkas yang sama untuk melanjutkan.",
    tooLarge: "Berkas terlalu besar (maksimal {max}).",
    cancelled: "Unggahan dibatalkan.",
    wait: "Tunggu sampai unggahan selesai.",
    resumeHint: "Unggahan \"{name}\" belum selesai ({percent}%). Pilih berkas yang sama untuk melanjutkan."
  };

  function text(form, key, values) {
    var attr = "msg" + key.charAt(0).toUpperCase() + key.slice(1);
    var template = form.dataset[attr] || MESSAGES[key];
    return template.replace(/\{(\w+)\}/g, function (_m, name) {
      return values && values[name] !== undefined ? String(values[name]) : "";
    });
  }

  function humanSize(bytes) {
    var units = [["GB", 1073741824], ["MB", 1048576], ["KB", 1024]];
    for (var i = 0; i < units.length; i++) {
      if (bytes >= units[i][1]) { return (bytes / units[i][1]).toFixed(1).replace(/\.0$/, "") + " " + units[i][0]; }
    }
    return bytes + " B";
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  class HttpError extends Error {
    constructor(status, detail, code) {
      super(detail || ("HTTP " + status));
      this.status = status;
      this.code = code || "";
    }
  }

  // JSON to/from the app (same origin: cookies and the CSRF header go along).
  async function api(method, url, body) {
    var response = await fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "X-CSRF-Token": csrfToken()
      },
      body: body === undefined ? undefined : JSON.stringify(body)
    });
    var data = null;
    try { data = await response.json(); } catch (_e) { data = null; }
    if (!response.ok) {
      throw new HttpError(response.status, data && data.detail, data && data.error);
    }
    return data;
  }

  // One XHR, because fetch() cannot report upload progress.
  function send(method, url, body, headers, onProgress, registry) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      Object.keys(headers || {}).forEach(function (name) { xhr.setRequestHeader(name, headers[name]); });
      xhr.upload.onprogress = function (event) { if (event.lengthComputable) { onProgress(event.loaded); } };
      xhr.onload = function () {
        registry.delete(xhr);
        if (xhr.status >= 200 && xhr.status < 300) { resolve(xhr); return; }
        var detail = null, code = null;
        try { var data = JSON.parse(xhr.responseText); detail = data.detail; code = data.error; } catch (_e) { /* S3 answers XML */ }
        reject(new HttpError(xhr.status, detail, code));
      };
      xhr.onerror = xhr.ontimeout = function () { registry.delete(xhr); reject(new HttpError(0, "network")); };
      xhr.onabort = function () { registry.delete(xhr); reject(new HttpError(-1, "aborted")); };
      registry.add(xhr);
      xhr.send(body);
    });
  }

  function storeKey(kind, file) {
    return STORE_PREFIX + kind + ":" + file.name + ":" + file.size + ":" + file.lastModified;
  }

  function loadState(key) {
    try { return JSON.parse(localStorage.getItem(key) || "null"); } catch (_e) { return null; }
  }

  function saveState(key, state) {
    try { localStorage.setItem(key, JSON.stringify(state)); } catch (_e) { /* private mode: no resume */ }
  }

  function dropState(key) {
    try { localStorage.removeItem(key); } catch (_e) { /* ignore */ }
  }

  function Uploader(form, input, mode) {
    this.form = form;
    this.input = input;
    this.mode = mode;
    this.kind = this.currentKind();
    this.bar = form.querySelector("progress");
    this.status = form.querySelector("[data-uploader-status]") || form.querySelector("[data-progress-status]");
    this.hidden = form.querySelector("[data-uploader-file-id]") || form.querySelector('input[name="file_id"]');
    this.cancelButton = form.querySelector("[data-uploader-cancel]");
    this.xhrs = new Set();
    this.busy = false;
    this.cancelled = false;
    this.fileId = null;
    if (this.status && !this.status.hasAttribute("aria-live")) { this.status.setAttribute("aria-live", "polite"); }
    input.addEventListener("change", this.onChange.bind(this));
    if (this.cancelButton) { this.cancelButton.addEventListener("click", this.cancel.bind(this)); }
    (form.uploaders = form.uploaders || []).push(this);
    this.showResumeHint();
  }

  Uploader.prototype.option = function (name) {
    return this.input.dataset[name] || this.form.dataset[name] || "";
  };

  Uploader.prototype.currentKind = function () {
    var fieldName = this.option("uploaderKindField");
    var field = fieldName ? this.form.elements.namedItem(fieldName) : null;
    return this.option("kind") || (field && field.value) || "file";
  };

  Uploader.prototype.handles = function (kind) {
    return (this.option("uploaderKinds") || DEFAULT_KINDS).split(/\s+/).indexOf(kind) >= 0;
  };

  Uploader.prototype.say = function (key, values) {
    if (this.status) { this.status.textContent = text(this.form, key, values); }
  };

  Uploader.prototype.setProgress = function (loaded, total) {
    if (!this.bar) { return; }
    this.bar.hidden = false;
    this.bar.max = total || 1;
    this.bar.value = Math.min(loaded, total);
    this.say("uploading", { percent: total ? Math.floor((loaded / total) * 100) : 0 });
  };

  Uploader.prototype.setSubmitEnabled = function (enabled) {
    var buttons = this.form.querySelectorAll("[data-uploader-submit]");
    if (!buttons.length) { buttons = this.form.querySelectorAll('button[type="submit"], input[type="submit"]'); }
    buttons.forEach(function (button) { button.disabled = !enabled; });
  };

  Uploader.prototype.showResumeHint = function () {
    if (this.mode !== "s3") { return; }
    var keys = [];
    try {
      for (var i = 0; i < localStorage.length; i++) { keys.push(localStorage.key(i)); }
    } catch (_e) { return; }
    for (var j = 0; j < keys.length; j++) {
      if (!keys[j] || keys[j].indexOf(STORE_PREFIX + this.kind + ":") !== 0) { continue; }
      var state = loadState(keys[j]);
      if (!state || !state.partCount) { continue; }
      var percent = Math.floor((Object.keys(state.done || {}).length / state.partCount) * 100);
      this.say("resumeHint", { name: state.fileName, percent: percent });
      return;
    }
  };

  Uploader.prototype.onChange = function () {
    var file = this.input.files && this.input.files[0];
    if (this.busy) { return; }
    // A new choice: the input posts its file again unless this upload succeeds.
    if (!this.input.name && this.input.dataset.name) { this.input.name = this.input.dataset.name; }
    if (this.hidden) { this.hidden.value = ""; }
    this.kind = this.currentKind();
    if (!file || !this.handles(this.kind)) { return; }
    var max = parseInt(this.option("maxBytes") || "0", 10);
    if (max && file.size > max) {
      this.say("tooLarge", { max: humanSize(max) });
      this.input.value = "";
      return;
    }
    this.run(file);
  };

  Uploader.prototype.run = async function (file) {
    this.busy = true;
    this.cancelled = false;
    this.setSubmitEnabled(false);
    if (this.cancelButton) { this.cancelButton.hidden = false; }
    try {
      var result = this.mode === "s3" ? await this.uploadS3(file) : await this.uploadDisk(file);
      this.finish(file, result);
    } catch (error) {
      if (this.cancelled) { this.say("cancelled"); }
      else {
        var reason = error.status === 0 ? text(this.form, "network") : error.message;
        this.say("failed", { reason: reason });
      }
      this.form.dispatchEvent(new CustomEvent("uploader:error", { bubbles: true, detail: { status: error.status, code: error.code, message: error.message } }));
    } finally {
      this.busy = false;
      if (this.cancelButton) { this.cancelButton.hidden = true; }
    }
  };

  Uploader.prototype.finish = function (file, result) {
    this.fileId = result.file_id;
    if (this.hidden) { this.hidden.value = result.file_id; }
    var nameField = this.form.querySelector("[data-uploader-file-name]");
    if (nameField) { nameField.value = file.name; }
    // The bytes are on the server already; the form must not send them again.
    if (this.input.name) { this.input.dataset.name = this.input.name; }
    this.input.removeAttribute("name");
    if (this.bar) { this.bar.max = 1; this.bar.value = 1; }
    this.say("done", { name: file.name });
    this.setSubmitEnabled(true);
    this.form.dispatchEvent(new CustomEvent("uploader:done", { bubbles: true, detail: result }));
    if (this.form.hasAttribute("data-autosubmit")) { this.form.requestSubmit(); }
  };

  Uploader.prototype.cancel = async function () {
    if (!this.busy) { return; }
    this.cancelled = true;
    this.xhrs.forEach(function (xhr) { xhr.abort(); });
    var state = this.state;
    if (state && state.urls && state.urls.abort) {
      dropState(this.stateKey);
      try { await api("DELETE", state.urls.abort); } catch (_e) { /* the server sweeps expired sessions */ }
    }
  };

  // --- disk: the file is the request body ------------------------------------------------

  Uploader.prototype.uploadDisk = async function (file) {
    var base = this.option("streamUrl") || this.option("startUrl");
    var url = base + (base.indexOf("?") < 0 ? "?" : "&") + "kind=" + encodeURIComponent(this.kind);
    var self = this;
    this.setProgress(0, file.size);
    var xhr = await send("POST", url, file, {
      "Content-Type": "application/octet-stream",
      "Accept": "application/json",
      "X-File-Name": encodeURIComponent(file.name),
      "X-CSRF-Token": csrfToken()
    }, function (loaded) {
      self.setProgress(loaded, file.size);
      if (loaded >= file.size) { self.say("finishing"); }
    }, this.xhrs);
    return JSON.parse(xhr.responseText);
  };

  // --- s3: presigned multipart ----------------------------------------------------------

  Uploader.prototype.uploadS3 = async function (file) {
    var key = storeKey(this.kind, file);
    this.stateKey = key;
    var state = loadState(key);
    if (state) {
      this.say("resuming");
      try {
        var listing = await api("GET", state.urls.parts);
        state.done = {};
        listing.parts.forEach(function (part) { state.done[part.part_number] = part.etag; });
      } catch (error) {
        if (error.status === 0) { throw error; }
        state = null; // expired, finished or someone else's: start over
        dropState(key);
      }
    }
    if (!state) {
      var started = await api("POST", this.option("startUrl"), {
        kind: this.kind, filename: file.name, size: file.size, last_modified: file.lastModified
      });
      var base = this.option("startUrl").replace(/\/$/, "") + "/" + started.upload_id;
      state = {
        uploadId: started.upload_id,
        fileName: file.name,
        size: file.size,
        lastModified: file.lastModified,
        partSize: started.part_size,
        partCount: started.part_count,
        urls: {
          sign: started.sign_url || base + "/sign",
          parts: started.parts_url || base + "/parts",
          complete: started.complete_url || base + "/complete",
          abort: started.abort_url || base
        },
        done: {}
      };
      saveState(key, state);
    }
    this.state = state;
    await this.sendParts(file, state, key);
    this.say("finishing");
    var parts = [];
    var allTags = true;
    for (var n = 1; n <= state.partCount; n++) {
      var etag = state.done[n];
      if (!etag) { allTags = false; }
      parts.push({ part_number: n, etag: etag || "" });
    }
    // Without ETags (bucket CORS does not expose them) the server lists the parts itself.
    var result = await api("POST", state.urls.complete, allTags ? { parts: parts } : {});
    dropState(key);
    return result;
  };

  Uploader.prototype.sendParts = async function (file, state, key) {
    var self = this;
    var pending = [];
    for (var n = 1; n <= state.partCount; n++) { if (!(n in state.done)) { pending.push(n); } }
    var doneBytes = 0;
    Object.keys(state.done).forEach(function (number) { doneBytes += partLength(state, Number(number)); });
    var inFlight = {};
    var signed = {};
    var stopped = false;
    function report() {
      var loaded = doneBytes;
      Object.keys(inFlight).forEach(function (number) { loaded += inFlight[number]; });
      self.setProgress(loaded, state.size);
    }
    function sign(number) {
      if (!signed[number]) {
        // Sign this part and the next few waiting ones: URLs live only minutes, so not all at once.
        var batch = [number].concat(pending.filter(function (n) { return !signed[n]; }).slice(0, SIGN_BATCH - 1));
        var request = api("POST", state.urls.sign, { part_numbers: batch }).then(function (data) { return data.urls; });
        batch.forEach(function (n) {
          signed[n] = request.then(function (urls) { return urls[String(n)]; });
          signed[n].catch(function () { delete signed[n]; });
        });
      }
      return signed[number];
    }
    async function uploadPart(number) {
      var start = (number - 1) * state.partSize;
      var blob = file.slice(start, Math.min(start + state.partSize, state.size));
      for (var attempt = 0; ; attempt++) {
        try {
          var url = await sign(number);
          inFlight[number] = 0;
          var xhr = await send("PUT", url, blob, {}, function (loaded) { inFlight[number] = loaded; report(); }, self.xhrs);
          delete inFlight[number];
          state.done[number] = xhr.getResponseHeader("ETag") || "";
          doneBytes += blob.size;
          saveState(key, state);
          report();
          return;
        } catch (error) {
          delete inFlight[number];
          if (self.cancelled || error.status === -1) { throw error; }
          if (error.status >= 400 && error.status < 500 && error.status !== 403) { throw error; }
          if (attempt >= RETRIES) { throw error; }
          delete signed[number]; // 403: the URL may have expired; sign it again
          await sleep(1000 * Math.pow(2, attempt));
        }
      }
    }
    async function worker() {
      try {
        while (pending.length && !stopped) { await uploadPart(pending.shift()); }
      } catch (error) {
        stopped = true; // the other workers finish their current part (kept for resume), then stop
        throw error;
      }
    }
    report();
    var workers = [];
    for (var i = 0; i < PARALLEL; i++) { workers.push(worker()); }
    await Promise.all(workers);
  };

  function partLength(state, number) {
    var start = (number - 1) * state.partSize;
    return Math.max(0, Math.min(state.partSize, state.size - start));
  }

  function init(root) {
    var scope = root && root.querySelectorAll ? root : document;
    var pairs = [];
    scope.querySelectorAll("form[data-uploader]").forEach(function (form) {
      var input = form.querySelector('input[type="file"]');
      if (input) { pairs.push([form, input]); }
    });
    scope.querySelectorAll('form[data-uploader-form] input[type="file"][data-uploader]').forEach(function (input) {
      pairs.push([input.form, input]);
    });
    pairs.forEach(function (pair) {
      var form = pair[0], input = pair[1];
      if (!form || input.uploader) { return; }
      var mode = input.dataset.direct || form.dataset.direct;
      if (mode !== "s3" && mode !== "disk") { return; } // not configured: the form sends the file
      input.uploader = new Uploader(form, input, mode);
    });
  }

  // Capture phase, on the document: runs before htmx's own submit handler on the form.
  document.addEventListener("submit", function (event) {
    var running = (event.target.uploaders || []).filter(function (u) { return u.busy; });
    if (running.length) {
      event.preventDefault();
      event.stopPropagation();
      running[0].say("wait");
    }
  }, true);
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  // Forms swapped in by htmx get an uploader too.
  document.addEventListener("htmx:load", function (event) { init(event.target.parentNode || document); });
  if (document.readyState !== "loading") { init(document); }
})();
