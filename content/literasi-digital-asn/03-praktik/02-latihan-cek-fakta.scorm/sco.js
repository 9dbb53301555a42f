/* Runtime SCORM 1.2 kecil untuk paket demo LMS Diklat ASN (Apache-2.0).
 *
 * Di index.html (elemen [data-sco-shell]): mencari API LMS (findAPI standar ADL), memanggil
 * LMSInitialize, memuat halaman ke iframe, menyimpan penanda halaman di
 * cmi.core.lesson_location, jawaban latihan di cmi.suspend_data, nilai di cmi.core.score.raw,
 * status incomplete -> passed/failed, lalu cmi.core.session_time, cmi.core.exit ("suspend" bila
 * belum selesai), LMSCommit dan LMSFinish saat halaman ditutup. Dilanjutkan dari penanda bila
 * cmi.core.entry = "resume" atau lesson_location terisi.
 * Di halaman latihan (form[data-latihan]): memulihkan dan menyimpan jawaban lewat parent.SCO.
 * Tanpa LMS (dibuka langsung), paket tetap dapat dibaca dalam mode pratinjau.
 */
(function () {
  "use strict";

  var DEFAULT_MASTERY = 80;

  // --- mencari API (SCORM 1.2 RTE, "API discovery") ---------------------------------------

  function findAPI(win) {
    var tries = 0;
    try {
      while ((win.API === undefined || win.API === null) && win.parent && win.parent !== win) {
        tries += 1;
        if (tries > 7) { return null; }
        win = win.parent;
      }
      return win.API || null;
    } catch (e) {
      return null; // induk di origin lain: tidak ada API yang boleh dipakai
    }
  }

  function getAPI() {
    var api = findAPI(window);
    if (!api && window.opener) { api = findAPI(window.opener); }
    return api;
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function timespan(ms) { // CMITimespan HHHH:MM:SS
    var s = Math.max(0, Math.round(ms / 1000));
    return pad(Math.floor(s / 3600)) + ":" + pad(Math.floor(s / 60) % 60) + ":" + pad(s % 60);
  }

  // --- shell: index.html --------------------------------------------------------------------

  function startShell(root) {
    var api = getAPI();
    var started = Date.now();
    var finished = false;
    var frame = root.querySelector("iframe");
    var pages = [].map.call(root.querySelectorAll("[data-page]"), function (el) {
      return { href: el.getAttribute("data-page"), title: el.textContent };
    });
    var prev = root.querySelector("[data-prev]");
    var next = root.querySelector("[data-next]");
    var where = root.querySelector("[data-where]");
    var note = root.querySelector("[data-note]");
    var current = 0;
    var state = { answers: {}, score: null };

    function get(name) { return api ? String(api.LMSGetValue(name) || "") : ""; }
    function set(name, value) { if (api) { api.LMSSetValue(name, String(value)); } }
    function commit() { if (api) { api.LMSCommit(""); } }
    function saveState() { set("cmi.suspend_data", JSON.stringify(state)); }
    function done(status) { return status === "passed" || status === "completed"; }

    if (api && String(api.LMSInitialize("")) !== "true") { api = null; }
    if (!api && note) { note.hidden = false; }

    var status = get("cmi.core.lesson_status");
    if (api && (status === "" || status === "not attempted")) {
      set("cmi.core.lesson_status", "incomplete");
    }
    try {
      var saved = JSON.parse(get("cmi.suspend_data") || "{}");
      if (saved && typeof saved === "object") {
        state.answers = saved.answers || {};
        state.score = typeof saved.score === "number" ? saved.score : null;
      }
    } catch (e) { /* data rusak: mulai dengan jawaban kosong */ }
    var mastery = parseFloat(get("cmi.student_data.mastery_score"));
    if (isNaN(mastery)) { mastery = parseFloat(root.getAttribute("data-mastery")) || DEFAULT_MASTERY; }

    var bookmark = get("cmi.core.lesson_location");
    if (get("cmi.core.entry") === "resume" || bookmark) {
      for (var i = 0; i < pages.length; i += 1) {
        if (pages[i].href === bookmark) { current = i; }
      }
    }

    function show(index) {
      current = Math.max(0, Math.min(pages.length - 1, index));
      frame.src = pages[current].href;
      frame.title = pages[current].title;
      where.textContent = "Halaman " + (current + 1) + " dari " + pages.length;
      where.title = pages[current].title;
      prev.disabled = current === 0;
      next.disabled = current === pages.length - 1;
      set("cmi.core.lesson_location", pages[current].href);
      commit();
    }

    function finish() {
      if (finished || !api) { return; }
      finished = true;
      set("cmi.core.session_time", timespan(Date.now() - started));
      set("cmi.core.exit", done(get("cmi.core.lesson_status")) ? "" : "suspend");
      commit();
      api.LMSFinish("");
    }

    // Dipakai halaman latihan di dalam iframe (origin yang sama).
    window.SCO = {
      answers: function () { return state.answers; },
      score: function () { return state.score; },
      mastery: function () { return mastery; },
      saveAnswer: function (name, value) {
        state.answers[name] = value;
        saveState();
        commit();
      },
      submit: function (score) {
        var status = get("cmi.core.lesson_status");
        var best = state.score === null ? score : Math.max(state.score, score);
        state.score = best;
        saveState();
        set("cmi.core.score.min", "0");
        set("cmi.core.score.max", "100");
        set("cmi.core.score.raw", String(best));
        // Sekali lulus tetap lulus; mengulang latihan tidak menurunkan status.
        if (status !== "passed") { set("cmi.core.lesson_status", best >= mastery ? "passed" : "failed"); }
        commit();
        return best >= mastery;
      }
    };

    prev.addEventListener("click", function () { show(current - 1); });
    next.addEventListener("click", function () { show(current + 1); });
    window.addEventListener("pagehide", finish);
    window.addEventListener("beforeunload", finish);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden" && !finished) {
        set("cmi.core.session_time", timespan(Date.now() - started));
        commit();
      }
    });
    show(current);
  }

  // --- halaman latihan: form[data-latihan] ---------------------------------------------------

  function startQuiz(form) {
    var sco = null;
    try { sco = window.parent !== window ? window.parent.SCO : null; } catch (e) { sco = null; }
    var answers = sco ? sco.answers() : {};
    var mastery = sco ? sco.mastery() : DEFAULT_MASTERY;
    var result = form.querySelector("[data-nilai]");

    Object.keys(answers).forEach(function (name) {
      var input = form.querySelector('input[name="' + name + '"][value="' + answers[name] + '"]');
      if (input) { input.checked = true; }
    });
    form.addEventListener("change", function (event) {
      if (sco && event.target.name) { sco.saveAnswer(event.target.name, event.target.value); }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var questions = form.querySelectorAll("fieldset");
      var right = 0;
      [].forEach.call(questions, function (fieldset) {
        var chosen = fieldset.querySelector("input:checked");
        var ok = !!chosen && chosen.hasAttribute("data-benar");
        if (ok) { right += 1; }
        fieldset.setAttribute("data-hasil", ok ? "benar" : "salah");
        var why = fieldset.querySelector(".penjelasan");
        if (why) { why.hidden = false; }
      });
      var score = Math.round((100 * right) / questions.length);
      var passed = sco ? sco.submit(score) : score >= mastery;
      result.hidden = false;
      result.textContent = "Nilai Anda " + score + " (" + right + " dari " + questions.length +
        " benar). " + (passed ? "Selamat, Anda lulus latihan ini." :
        "Batas lulus " + mastery + ". Baca penjelasan di atas, lalu coba lagi.");
    });
    if (sco && sco.score() !== null && result) {
      result.hidden = false;
      result.textContent = "Nilai terbaik Anda sejauh ini: " + sco.score() + ".";
    }
  }

  var shell = document.querySelector("[data-sco-shell]");
  if (shell) { startShell(shell); }
  var quiz = document.querySelector("form[data-latihan]");
  if (quiz) { startQuiz(quiz); }
})();
