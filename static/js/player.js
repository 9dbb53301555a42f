// Activity player: resumes videos at the saved position and reports progress (heartbeats, views).
// Reports are small JSON POSTs with the page's CSRF token; failures are retried on the next beat.
(function () {
  "use strict";
  var player = document.getElementById("player");
  if (!player || player.dataset.enrolled !== "true") { return; }
  var url = player.dataset.progressUrl;
  var status = document.getElementById("progress-status");
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.content : "";

  function send(body, keepalive) {
    return fetch(url, {
      method: "POST", credentials: "same-origin", keepalive: !!keepalive,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
      body: JSON.stringify(body)
    }).then(function (r) {
      if (!r.ok) { throw new Error(String(r.status)); }
      if (status) { status.textContent = ""; }
      return r.json();
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
      send({ event: kind, position_seconds: position, duration_seconds: isFinite(video.duration) ? video.duration : null }, keepalive);
    }
    setInterval(function () { if (!video.paused) { beat("heartbeat"); } }, 10000);
    video.addEventListener("pause", function () { beat("heartbeat"); });
    video.addEventListener("ended", function () { beat("ended"); });
    window.addEventListener("pagehide", function () { beat("heartbeat", true); });
    document.addEventListener("visibilitychange", function () { if (document.hidden) { beat("heartbeat", true); } });
    return;
  }
  var sentView = false;
  function viewed() { if (!sentView) { sentView = true; send({ event: "viewed" }); } }
  document.querySelectorAll("[data-viewed]").forEach(function (el) { el.addEventListener("click", viewed); });
  if (document.querySelector("[data-viewed-on-load]")) { setTimeout(viewed, 3000); }
})();
