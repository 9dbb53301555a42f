// A geofenced session: ask the browser for the learner's location and send it with the scan.
(function () {
  "use strict";
  var form = document.getElementById("attend-located");
  if (!form) { return; }
  var status = document.getElementById("attend-geo-status");
  function say(text) { if (status) { status.textContent = text; } }
  if (!navigator.geolocation) { say("Peramban tidak mendukung lokasi."); return; }
  form.addEventListener("submit", function (event) {
    if (form.elements.lat.value) { return; }
    event.preventDefault();
    say("Mengambil lokasi…");
    navigator.geolocation.getCurrentPosition(function (pos) {
      form.elements.lat.value = pos.coords.latitude;
      form.elements.lon.value = pos.coords.longitude;
      form.submit();
    }, function () {
      say("Lokasi tidak dapat diambil. Izinkan akses lokasi lalu coba lagi.");
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 });
  });
})();
