// Activity player: resumes videos at the saved position and reports progress (heartbeats, views).
// Reports are small JSON POSTs with the page's CSRF token; failures are retried on the next beat.
// Every report says how long the video played / the page was visible since the previous one
// (`active_seconds`); the server credits at most that, and never more than the wall clock.
(function () {
  "use strict";
  // The outline is a collapsed <details> on a phone and an open side panel from 992 px.
  var outline = document.querySelector("details[data-outline]");
  if (outline && window.matchMedia) {
    var wide = window.matchMedia("(min-width: 992px)");
    var follow = function () { outline.open = wide.matches; };
    follow();
    if (wide.addEventListener) { wide.addEventListener("change", follow); }
  }
  var player = document.getElementById("player");
  if (!player || player.dataset.enrolled !== "true") { return; }
  var doneBox = document.getElementById("done-box");
  var doneState = document.getElementById("done-state");
  function showDone() {
    if (doneBox && !doneBox.classList.contains("is-done")) {
      doneBox.classList.add("is-done");
      if (doneState) { doneState.textContent = "✓ " + (doneBox.dataset.doneLabel || ""); }
      var mine = document.querySelector('.player-list li.current');
      if (mine) {
        mine.classList.remove("state-not_started", "state-in_progress");
        mine.classList.add("state-completed");
        var icon = mine.querySelector(".state-icon");
        var word = mine.querySelector(".state-word");
        if (icon) { icon.textContent = "✓"; }
        if (word) { word.textContent = doneBox.dataset.doneLabel || ""; }
        var list = mine.closest("ol");
        var heading = list && document.getElementById(list.getAttribute("aria-labelledby") || "");
        var tally = heading && heading.querySelector("small");
        if (tally) {
          tally.textContent = tally.textContent.replace(/\d+/, String(list.querySelectorAll("li.state-completed").length));
        }
      }
      document.querySelectorAll("[data-unlocks-on-done]").forEach(function (note) { note.remove(); });
      var count = document.querySelector("[data-done-count]");
      if (count) {
        var done = document.querySelectorAll(".player-list li.state-completed").length;
        count.textContent = count.textContent.replace(/\d+/, String(done));
      }
    }
  }
  var url = player.dataset.progressUrl;
  var status = document.getElementById("progress-status");
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.content : "";
  var BEAT_MS = 30000;
  var done = false;

  // Active time: seconds accrued since the last report, plus the running stretch if any.
  var accrued = 0, since = null;
  function now() { return Date.now() / 1000; }
  function start() { if (since === null) { since = now(); } }
  function stop() { if (since !== null) { accrued += now() - since; since = null; } }
  function takeActive() {
    var running = since !== null;
    stop();
    var value = Math.round(accrued * 10) / 10;
    accrued = 0;
    if (running) { start(); }
    return value;
  }

  // Reports go one after the other, so that the first two never race to create the record.
  var chain = Promise.resolve();
  function send(body, keepalive) {
    body.active_seconds = takeActive();
    if (keepalive) { return post(body, true); }  // the page is going away: do not wait
    chain = chain.then(function () { return post(body, false); });
    return chain;
  }
  function post(body, keepalive) {
    return fetch(url, {
      method: "POST", credentials: "same-origin", keepalive: !!keepalive,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
      body: JSON.stringify(body)
    }).then(function (r) {
      if (!r.ok) { throw new Error(String(r.status)); }
      if (status) { status.textContent = ""; }
      return r.json();
    }).then(function (data) {
      if (data && data.status === "completed") { done = true; showDone(); }
      return data;
    }).catch(function () {
      if (status) { status.textContent = player.dataset.offline || ""; }
    });
  }

  var video = document.getElementById("video");
  if (video) {
    var resume = parseFloat(video.dataset.resume || "0");
    var lastSent = -1;
    function seekToResume() {
      if (resume > 5 && resume < video.duration - 3) { video.currentTime = resume; }
    }
    // The metadata may already be there when this deferred script runs.
    if (video.readyState >= 1) { seekToResume(); } else { video.addEventListener("loadedmetadata", seekToResume, { once: true }); }
    function beat(kind, keepalive) {
      var position = Math.floor(video.currentTime * 10) / 10;
      if (kind === "heartbeat" && position === lastSent) { return; }
      lastSent = position;
      send({ event: kind, position_seconds: position, duration_seconds: isFinite(video.duration) && video.duration > 0 ? video.duration : null }, keepalive);
    }
    // A report when playback starts marks where watching begins (the server counts the
    // stretch between two reports as watched only if it took real time).
    video.addEventListener("play", function () { start(); lastSent = -1; beat("heartbeat"); });
    video.addEventListener("pause", function () { stop(); beat("heartbeat"); });
    video.addEventListener("seeked", function () { beat("heartbeat"); });
    video.addEventListener("ended", function () { stop(); beat("ended"); });
    setInterval(function () { if (!video.paused) { beat("heartbeat"); } }, BEAT_MS);
    window.addEventListener("pagehide", function () { stop(); beat("heartbeat", true); });
    document.addEventListener("visibilitychange", function () { if (document.hidden) { beat("heartbeat", true); } });
    return;
  }

  // Documents, pages, files, links: time counts while the page is visible; a minimum view time
  // set on the activity is met by these heartbeats.
  function visible() { return document.visibilityState === "visible"; }
  if (visible()) { start(); }
  var sentView = false;
  function viewed() { if (!sentView) { sentView = true; send({ event: "viewed" }); } }
  document.querySelectorAll("[data-viewed]").forEach(function (el) { el.addEventListener("click", viewed); });
  var timed = !!document.querySelector("[data-viewed-on-load]");
  if (!timed) { return; }
  send({ event: "heartbeat" });  // the start mark
  setTimeout(function () { if (visible()) { viewed(); } }, 3000);
  setInterval(function () { if (!done && visible()) { send({ event: "heartbeat" }); } }, BEAT_MS);
  document.addEventListener("visibilitychange", function () {
    if (visible()) { start(); if (!sentView) { setTimeout(viewed, 3000); } }
    else { stop(); if (!done) { send({ event: "heartbeat" }, true); } }
  });
  window.addEventListener("pagehide", function () { stop(); if (!done) { send({ event: "heartbeat" }, true); } });
})();
