// Quiz attempt page: autosave, an offline queue, the countdown, sequential navigation and the
// submit confirmation. Without this script the page still works: the form posts every answer to
// /attempts/{id}/submit ("Simpan jawaban" saves, "Kumpulkan" submits).
//
// Autosave: a changed question is queued (and kept in sessionStorage, so a reload cannot lose it)
// and sent ~800 ms after the last change, or at once when focus leaves the question. Only queued
// questions are sent, in one PUT with the page's CSRF token. Failures are retried with backoff.
// The countdown runs on performance.now() from the server's remaining_seconds, so the device's
// clock does not matter; at zero the queue is flushed and the attempt submitted.
(function () {
  "use strict";
  var form = document.getElementById("attempt-form");
  if (!form || form.dataset.readonly === "true") { return; }

  var d = form.dataset;
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.content : "";
  var storageKey = "lms-quiz-attempt-" + d.attemptId;
  var statusEl = document.getElementById("save-status");
  var offlineEl = document.getElementById("offline-notice");
  var announceEl = document.getElementById("quiz-announce");
  var timerEl = document.getElementById("quiz-timer");
  var dialog = document.getElementById("submit-dialog");
  var confirmBtn = document.getElementById("submit-confirm");
  var cancelBtn = document.getElementById("submit-cancel");
  var dialogError = document.getElementById("submit-dialog-error");
  var unansweredEl = document.getElementById("submit-dialog-unanswered");
  var questions = Array.prototype.slice.call(form.querySelectorAll("fieldset[data-question-id]"));
  var byId = {};
  questions.forEach(function (fs) { byId[fs.dataset.questionId] = fs; });

  var pending = {};       // question id -> answer the server does not have yet
  var lastSaved = {};     // question id -> JSON of the answer the server has
  var position = null;    // sequential: the position to report (null: nothing to report)
  var debounce = {};      // question id -> timer
  var inflight = null;    // the running save (a Promise), one at a time
  var retryTimer = null;
  var retryDelay = 0;
  var blocked = false;    // the session ended: wait for the user to reload
  var finished = false;   // time is up or the attempt was submitted: no more changes
  var serverClosed = false;
  var submitting = false;

  // --- small helpers ----------------------------------------------------------------------------

  function fmt(message) {
    var args = arguments;
    var i = 1;
    return String(message || "").replace(/%s/g, function () { return i < args.length ? String(args[i++]) : ""; });
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function hhmm(iso) {
    var t = iso ? new Date(iso) : new Date();
    if (isNaN(t.getTime())) { t = new Date(); }
    try {  // in the institution's zone (data-timezone), as the pages show times; not the device's
      return new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23",
        timeZone: d.timezone || undefined }).format(t);
    } catch (e) {
      return pad(t.getHours()) + ":" + pad(t.getMinutes());
    }
  }
  function clock(seconds) {
    var h = Math.floor(seconds / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = seconds % 60;
    return h ? h + ":" + pad(m) + ":" + pad(s) : pad(m) + ":" + pad(s);
  }
  function setStatus(text, failed, final) {
    if (!statusEl || (finished && !final)) { return; }  // "Waktu habis" stays
    if (statusEl.textContent !== text) { statusEl.textContent = text; }
    statusEl.classList.toggle("save-failed", !!failed);
  }
  function announce(text) {
    if (!announceEl) { return; }
    announceEl.textContent = "";
    setTimeout(function () { announceEl.textContent = text; }, 50);
  }
  function showOffline(offline) { if (offlineEl) { offlineEl.hidden = !offline; } }
  function count(obj) { return Object.keys(obj).length; }

  // --- answers in the page ----------------------------------------------------------------------

  function readAnswer(fs) {
    var id = Number(fs.dataset.questionId);
    var type = fs.dataset.type;
    if (type === "single" || type === "truefalse" || type === "multiple") {
      var ids = [];
      fs.querySelectorAll("input:checked").forEach(function (input) { ids.push(input.value); });
      return { question_id: id, choice_ids: ids };
    }
    if (type === "matching") {
      var pairs = [];
      fs.querySelectorAll("select[data-pair-id]").forEach(function (select) {
        pairs.push({ id: select.dataset.pairId, right: select.value });
      });
      return { question_id: id, pairs: pairs };
    }
    var field = fs.querySelector("input[type=text], textarea");
    return { question_id: id, text: field ? field.value : "" };
  }

  function applyAnswer(fs, answer) {
    var type = fs.dataset.type;
    if (type === "single" || type === "truefalse" || type === "multiple") {
      var picked = answer.choice_ids || [];
      fs.querySelectorAll("input[type=radio], input[type=checkbox]").forEach(function (input) {
        input.checked = picked.indexOf(input.value) !== -1;
      });
    } else if (type === "matching") {
      var rights = {};
      (answer.pairs || []).forEach(function (p) { rights[p.id] = p.right || ""; });
      fs.querySelectorAll("select[data-pair-id]").forEach(function (select) {
        select.value = rights[select.dataset.pairId] || "";
      });
    } else {
      var field = fs.querySelector("input[type=text], textarea");
      if (field) { field.value = answer.text || ""; }
    }
  }

  function isAnswered(fs) {
    var type = fs.dataset.type;
    if (type === "description") { return true; }
    if (type === "single" || type === "truefalse" || type === "multiple") {
      return !!fs.querySelector("input:checked");
    }
    if (type === "matching") {
      var selects = fs.querySelectorAll("select[data-pair-id]");
      return selects.length > 0 && Array.prototype.every.call(selects, function (s) { return s.value !== ""; });
    }
    var field = fs.querySelector("input[type=text], textarea");
    return !!(field && field.value.trim());
  }

  function markNav(fs) {
    var link = document.querySelector('[data-nav-for="' + fs.dataset.questionId + '"]');
    if (!link) { return; }
    var yes = isAnswered(fs);
    link.classList.toggle("answered", yes);
    link.setAttribute("aria-label", fmt(yes ? d.msgNavAnswered : d.msgNavUnanswered, fs.dataset.number));
  }

  // --- the queue, kept in sessionStorage --------------------------------------------------------

  function store() {
    try {
      if (!count(pending) && position === null) {
        sessionStorage.removeItem(storageKey);
      } else {
        sessionStorage.setItem(storageKey, JSON.stringify({ answers: pending, position: position }));
      }
    } catch (e) { /* private mode or full: the queue still lives in memory */ }
  }

  function forget() {
    pending = {};
    position = null;
    try { sessionStorage.removeItem(storageKey); } catch (e) { /* ignore */ }
  }

  function restore() {
    var data = null;
    try { data = JSON.parse(sessionStorage.getItem(storageKey) || "null"); } catch (e) { data = null; }
    if (!data) { return null; }
    Object.keys(data.answers || {}).forEach(function (id) {
      var fs = byId[id];
      if (!fs || fs.disabled) { return; }
      applyAnswer(fs, data.answers[id]);
      pending[id] = readAnswer(fs);
      markNav(fs);
    });
    if (typeof data.position === "number") { position = data.position; }
    return data;
  }

  function queue(fs) {
    var id = fs.dataset.questionId;
    var answer = readAnswer(fs);
    if (JSON.stringify(answer) === lastSaved[id]) { delete pending[id]; } else { pending[id] = answer; }
    store();
    markNav(fs);
  }

  function changed(fs) {
    if (finished || fs.disabled) { return; }
    queue(fs);
    var id = fs.dataset.questionId;
    clearTimeout(debounce[id]);
    if (pending[id]) { debounce[id] = setTimeout(function () { flush(); }, 800); }
  }

  // --- saving -----------------------------------------------------------------------------------

  function request(url, method, body, keepalive) {
    var text = body === undefined ? undefined : JSON.stringify(body);
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      keepalive: !!keepalive && (!text || text.length < 60000),
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": token },
      body: text
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { ok: response.ok, status: response.status, data: data || {} };
      });
    });
  }

  function scheduleRetry(network) {
    if (network || !navigator.onLine) { showOffline(true); }
    setStatus(d.msgFailed, true);
    retryDelay = Math.min(retryDelay ? retryDelay * 2 : 2000, 30000);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(function () { retryTimer = null; flush(); }, retryDelay + Math.random() * 500);
  }

  // Send every queued answer. Resolves true when the server has them all (or nothing was queued).
  function flush(keepalive) {
    if (blocked || serverClosed) { return Promise.resolve(false); }
    if (inflight) { return inflight.then(function () { return flush(keepalive); }); }
    var ids = Object.keys(pending);
    if (!ids.length && position === null) { return Promise.resolve(true); }
    clearTimeout(retryTimer);
    retryTimer = null;
    ids.forEach(function (id) { clearTimeout(debounce[id]); });
    var sent = {};
    ids.forEach(function (id) { sent[id] = JSON.stringify(pending[id]); });
    var sentPosition = position;
    var body = { answers: ids.map(function (id) { return pending[id]; }) };
    if (sentPosition !== null) { body.position = sentPosition; }
    setStatus(d.msgSaving, false);
    inflight = request(d.saveUrl, "PUT", body, keepalive).then(function (res) {
      inflight = null;
      if (res.ok) {
        ids.forEach(function (id) {
          lastSaved[id] = sent[id];
          if (pending[id] && JSON.stringify(pending[id]) === sent[id]) { delete pending[id]; }
        });
        if (position === sentPosition) { position = null; }
        store();
        retryDelay = 0;
        showOffline(false);
        setStatus(fmt(d.msgSaved, hhmm(res.data.saved_at)), false);
        if (typeof res.data.remaining_seconds === "number") { syncTimer(res.data.remaining_seconds); }
        return !count(pending) && position === null;
      }
      if (res.status === 409 && res.data.error === "attempt_closed") {
        serverClosed = true;
        timeUp(true);
        return false;
      }
      if (res.status === 409 && res.data.error === "sequential") {
        ids.forEach(function (id) { delete pending[id]; });  // earlier questions cannot change
        store();
        setStatus("", false);
        return true;
      }
      if (res.status === 401 || res.status === 403) {
        blocked = true;
        setStatus(d.msgSession, true);
        return false;
      }
      if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
        ids.forEach(function (id) { if (pending[id] && JSON.stringify(pending[id]) === sent[id]) { delete pending[id]; } });
        store();
        setStatus(fmt(d.msgInvalid, res.data.detail || res.status), true);
        return false;
      }
      scheduleRetry(false);
      return false;
    }, function () {
      inflight = null;
      scheduleRetry(true);
      return false;
    });
    return inflight;
  }

  form.addEventListener("input", function (event) {
    var fs = event.target.closest && event.target.closest("fieldset[data-question-id]");
    if (fs) { changed(fs); }
  });
  form.addEventListener("change", function (event) {
    var fs = event.target.closest && event.target.closest("fieldset[data-question-id]");
    if (fs) { changed(fs); }
  });
  form.addEventListener("focusout", function (event) {
    var fs = event.target.closest && event.target.closest("fieldset[data-question-id]");
    if (!fs || (event.relatedTarget && fs.contains(event.relatedTarget))) { return; }
    if (pending[fs.dataset.questionId]) { flush(); }
  });
  form.querySelectorAll("[data-clear]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var fs = button.closest("fieldset[data-question-id]");
      fs.querySelectorAll("input[type=radio]").forEach(function (input) { input.checked = false; });
      changed(fs);
    });
  });
  window.addEventListener("online", function () { retryDelay = 0; showOffline(false); flush(); });
  window.addEventListener("offline", function () { showOffline(true); });
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { flush(true); } else { tick(); }
  });
  window.addEventListener("pagehide", function () { flush(true); });
  // Back to this page from the history cache: its state is old, ask the server again.
  window.addEventListener("pageshow", function (event) { if (event.persisted) { window.location.reload(); } });

  // --- the countdown ----------------------------------------------------------------------------

  var deadlineAt = null;  // performance.now() at which the time is up
  var ticker = null;
  var announced = { five: false, one: false };

  function secondsLeft() {
    return Math.max(0, Math.ceil((deadlineAt - performance.now()) / 1000));
  }
  function syncTimer(seconds) {
    if (deadlineAt === null) { return; }
    deadlineAt = performance.now() + seconds * 1000;
  }
  function tick() {
    if (deadlineAt === null || !timerEl) { return; }
    var left = secondsLeft();
    timerEl.textContent = clock(left);
    timerEl.classList.toggle("timer-low", left <= 60);
    if (left <= 300 && !announced.five) { announced.five = true; announce(d.msgFive); }
    if (left <= 60 && !announced.one) { announced.one = true; announce(d.msgOne); }
    if (left <= 0) { timeUp(false); }
  }

  function lockPage() {
    finished = true;
    questions.forEach(function (fs) { fs.disabled = true; });
    form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
  }

  function goReview(timeout) {
    forget();
    window.location.assign(d.reviewUrl + (timeout ? "?timeout=1" : ""));
  }

  function submitRequest() {
    return request(d.submitUrl, "POST").then(function (res) {
      if (!res.ok) { throw new Error(String(res.status)); }
      return res.data;
    });
  }

  // Time is up (here, or the server said the attempt is closed): send what is left, submit, go.
  function timeUp(fromServer) {
    if (ticker !== null) { clearInterval(ticker); ticker = null; }
    if (timerEl) { timerEl.textContent = clock(0); timerEl.classList.add("timer-low"); }
    if (finished && !fromServer) { return; }
    var first = !finished;
    lockPage();
    if (dialog && dialog.open) { dialog.close(); }
    setStatus(d.msgTimeup, true, true);
    if (first || fromServer) { announce(d.msgTimeupLong); }
    if (fromServer) { setTimeout(function () { goReview(true); }, 2000); return; }
    var attempt = function () {
      flush().then(function (saved) {
        if (serverClosed) { return; }
        if (!saved && count(pending)) { setTimeout(attempt, 3000); return; }
        submitRequest().then(function () { setTimeout(function () { goReview(true); }, 2000); }, function () {
          setTimeout(attempt, 3000);
        });
      });
    };
    attempt();
  }

  // --- sequential navigation --------------------------------------------------------------------

  var current = 0;
  var seqNav = form.querySelector(".seq-nav");
  var nextBtn = document.getElementById("next-btn");
  var seqProgress = document.getElementById("seq-progress");

  function show(index) {
    current = Math.max(0, Math.min(index, questions.length - 1));
    questions.forEach(function (fs, i) { fs.hidden = i !== current; });
    if (seqProgress) { seqProgress.textContent = fmt(d.msgPosition, current + 1, questions.length); }
    if (nextBtn) { nextBtn.hidden = current >= questions.length - 1; }
  }

  // --- submitting -------------------------------------------------------------------------------

  function unansweredNumbers() {
    return questions.filter(function (fs) { return !isAnswered(fs); }).map(function (fs) { return fs.dataset.number; });
  }

  function openDialog() {
    if (finished || (dialog && dialog.open)) { return; }
    questions.forEach(function (fs) { if (!fs.disabled) { queue(fs); } });
    flush();
    var missing = unansweredNumbers();
    unansweredEl.textContent = missing.length ? fmt(d.msgUnanswered, missing.join(", ")) : d.msgAllAnswered;
    dialogError.hidden = true;
    dialogError.textContent = "";
    if (typeof dialog.showModal === "function") {
      dialog.showModal();
      cancelBtn.focus();
    } else if (window.confirm(unansweredEl.textContent)) {
      confirmSubmit();
    }
  }

  function confirmSubmit() {
    if (submitting || finished) { return; }
    submitting = true;
    var label = confirmBtn.textContent;
    confirmBtn.disabled = true;
    confirmBtn.setAttribute("aria-busy", "true");
    confirmBtn.textContent = d.msgSubmitting;
    questions.forEach(function (fs) { if (!fs.disabled) { queue(fs); } });
    flush().then(function (saved) {
      if (serverClosed) { return null; }
      if (!saved) { throw new Error("save"); }
      return submitRequest();
    }).then(function (result) {
      if (result === null) { return; }
      lockPage();
      goReview(false);
    }).catch(function () {
      submitting = false;
      confirmBtn.disabled = false;
      confirmBtn.removeAttribute("aria-busy");
      confirmBtn.textContent = label;
      dialogError.textContent = d.msgSubmitFailed;
      dialogError.hidden = false;
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (finished) { return; }
    var submitter = event.submitter;
    if (submitter && submitter.id === "submit-btn") {
      openDialog();
    } else {  // "Simpan jawaban", or Enter in a text field
      questions.forEach(function (fs) { if (!fs.disabled) { queue(fs); } });
      flush();
    }
  });
  if (dialog) {
    cancelBtn.addEventListener("click", function () { if (!submitting) { dialog.close(); } });
    confirmBtn.addEventListener("click", confirmSubmit);
    dialog.addEventListener("cancel", function (event) { if (submitting) { event.preventDefault(); } });
  }

  // --- start ------------------------------------------------------------------------------------

  questions.forEach(function (fs) { lastSaved[fs.dataset.questionId] = JSON.stringify(readAnswer(fs)); });
  var stored = restore();

  if (d.sequential === "true") {
    var start = Number(d.furthest) || 0;
    if (stored && typeof stored.position === "number" && stored.position > start) { start = stored.position; }
    show(start);
    if (seqNav) { seqNav.hidden = false; }
    if (nextBtn) {
      nextBtn.addEventListener("click", function () {
        if (finished || current >= questions.length - 1) { return; }
        var fs = questions[current];
        if (!fs.disabled) { queue(fs); }
        fs.disabled = true;
        position = current + 1;
        store();
        show(current + 1);
        flush();
        questions[current].focus();
      });
    }
    questions.forEach(function (fs, i) { if (i < current) { fs.disabled = true; } });
  }

  if (d.remaining !== "" && d.remaining !== undefined) {
    var remaining = Number(d.remaining);
    deadlineAt = performance.now() + remaining * 1000;
    announced.five = remaining <= 300;
    announced.one = remaining <= 60;
    tick();
    if (!finished) { ticker = setInterval(tick, 250); }
  }
  if (!navigator.onLine) { showOffline(true); }
  if (!finished && (count(pending) || position !== null)) { flush(); }
})();
