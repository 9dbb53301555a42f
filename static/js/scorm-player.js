// LMS Diklat ASN: SCORM 1.2 player. Owns the SCORM API (scorm-again) for the package and sends
// its cmi to the server on LMSCommit / LMSFinish / autocommit and when the page is hidden.
// The package runs on the content origin (no cookies there), in the launcher page framed below
// (static/js/scorm-launcher.js): the launcher asks for the cmi ("lms-scorm:ready" -> we answer
// "lms-scorm:init") and relays the SCO's state-changing calls ("lms-scorm:call"), which we replay
// on our API. Only messages from that frame's window AND the content origin are heard.
// POST body: {"launch_id", "seq", "finished", "cmi": {"cmi.core.lesson_status": ..., ...}}
// Only the newest snapshot is ever sent (each one carries the whole state), one request at a
// time, retried with backoff; "seq" lets the server ignore an older snapshot that arrives late.
(function () {
  "use strict";
  var KEEPALIVE_MAX = 60000; // browsers refuse keepalive bodies above 64 KiB

  function start(root) {
    if (root.dataset.started) { return; }
    root.dataset.started = "1";
    var frame = root.querySelector("iframe");
    var statusLine = root.querySelector("[data-scorm-status]");
    var commitUrl = root.dataset.commitUrl;
    var csrf = root.dataset.csrfToken;
    var launchId = root.dataset.launchId;
    var seq = 0;
    var pending = null;
    var inflight = false;
    var timer = null;
    var delay = 0;

    var api = new window.Scorm12API({
      autocommit: true,        // SCOs that never call LMSCommit are still saved
      autocommitSeconds: 30,
      logLevel: 5,             // silent; problems show in the status line
      lmsCommitUrl: false      // we post ourselves, asynchronously, with retries
    });
    var initialCmi = JSON.parse(root.dataset.cmi || "{}");
    api.loadFromJSON(initialCmi);
    var contentOrigin = root.dataset.contentOrigin;
    var REPLAYED = { LMSInitialize: 1, LMSSetValue: 1, LMSCommit: 1, LMSFinish: 1 };

    window.addEventListener("message", function (event) {
      if (event.origin !== contentOrigin || event.source !== frame.contentWindow) { return; }
      var data = event.data;
      if (!data || typeof data.type !== "string") { return; }
      if (data.type === "lms-scorm:ready") {
        frame.contentWindow.postMessage({ type: "lms-scorm:init", cmi: initialCmi }, contentOrigin);
      } else if (data.type === "lms-scorm:call" && REPLAYED.hasOwnProperty(data.method) &&
                 Array.isArray(data.args) && data.args.length <= 2) {
        var args = data.args.map(function (value) { return String(value); });
        api[data.method].apply(api, args); // validated again here; a refused value changes nothing
      }
    });

    function say(key, detail) {
      if (!statusLine) { return; }
      statusLine.textContent = detail || root.dataset["msg" + key] || "";
      statusLine.dataset.state = key.toLowerCase();
    }

    function snapshot(finished) {
      var cmi = api.renderCMIToJSONObject().cmi || {};
      var core = cmi.core || {};
      var score = core.score || {};
      seq += 1;
      return {
        launch_id: launchId,
        seq: seq,
        finished: !!finished,
        cmi: {
          "cmi.core.lesson_status": core.lesson_status,
          "cmi.core.lesson_location": core.lesson_location,
          "cmi.core.score.raw": score.raw,
          "cmi.core.score.min": score.min,
          "cmi.core.score.max": score.max,
          "cmi.core.session_time": core.session_time,
          "cmi.core.exit": core.exit,
          "cmi.suspend_data": cmi.suspend_data
        }
      };
    }

    function post(body) {
      var text = JSON.stringify(body);
      if (!commitUrl) {
        // Staff preview: nothing is recorded, so answer like a successful save.
        return Promise.resolve(new Response("{}", { status: 200, headers: { "Content-Type": "application/json" } }));
      }
      return fetch(commitUrl, {
        method: "POST",
        credentials: "same-origin",
        keepalive: text.length < KEEPALIVE_MAX, // lets the last commit outlive the page
        headers: {
          "Content-Type": "application/json",
          "Accept": "application/json",
          "X-CSRF-Token": csrf
        },
        body: text
      });
    }

    function flush() {
      if (inflight || timer || !pending) { return; }
      var body = pending;
      inflight = true;
      say("Saving");
      post(body).then(function (response) {
        if (response.ok) {
          if (pending === body) { pending = null; }
          delay = 0;
          say("Saved");
          return;
        }
        if (response.status >= 400 && response.status < 500 &&
            response.status !== 408 && response.status !== 429) {
          // Retrying cannot help (signed out, refused value): say why and keep the data local.
          if (pending === body) { pending = null; }
          return response.json().then(function (data) {
            say("Rejected", data && data.detail);
          }, function () { say("Rejected"); });
        }
        throw new Error("HTTP " + response.status);
      }).catch(function () {
        delay = Math.min(delay ? delay * 2 : 2000, 60000);
        say("Retry");
        timer = setTimeout(function () { timer = null; flush(); }, delay);
      }).then(function () {
        inflight = false;
        if (pending && !timer) { flush(); }
      });
    }

    function commit(finished) {
      if (!api.isInitialized() && !api.isTerminated()) { return; }
      pending = snapshot(finished);
      flush();
    }

    function commitNow() {
      // The page is going away: send the newest state at once, even if a request is in flight.
      if (!api.isInitialized() && !api.isTerminated()) { return; }
      if (api.isTerminated() && !pending) { return; } // LMSFinish already sent everything
      pending = snapshot(api.isTerminated());
      post(pending).catch(function () { /* the page is leaving; nothing more can be done */ });
    }

    api.on("LMSCommit", function () { commit(false); });
    api.on("LMSFinish", function () { commit(true); });
    window.addEventListener("pagehide", commitNow);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") { commitNow(); }
    });
    window.addEventListener("online", function () {
      if (timer) { clearTimeout(timer); timer = null; }
      delay = 0;
      flush();
    });

    var full = root.querySelector("[data-scorm-fullscreen]");
    if (full) {
      full.addEventListener("click", function () {
        if (document.fullscreenElement) { document.exitFullscreen(); return; }
        if (root.requestFullscreen && !root.classList.contains("is-maximized")) {
          root.requestFullscreen().catch(function () { root.classList.toggle("is-maximized"); });
        } else {
          root.classList.toggle("is-maximized"); // iPhone Safari: no element fullscreen
        }
      });
    }

    frame.src = frame.dataset.src;
  }

  function boot() {
    var root = document.querySelector("[data-scorm-player]");
    if (root) { start(root); }
  }

  if (window.Scorm12API) {
    boot();
  } else {
    var vendor = document.querySelector("script[data-scorm-again]");
    if (vendor) { vendor.addEventListener("load", boot); }
  }
})();
