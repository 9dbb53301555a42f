// LMS Diklat ASN: SCORM 1.2 launcher, on the CONTENT origin (templates/courses/scorm_launcher.html,
// app/courses/content_origin.py). The package cannot reach the LMS page (another origin), so:
//
//   1. we tell the LMS player (our parent) we are ready:        {type: "lms-scorm:ready"}
//   2. it answers with the learner's cmi for this launch:       {type: "lms-scorm:init", cmi}
//   3. we load that cmi into scorm-again's Scorm12API here and put a window.API in front of it,
//      so the SCO (in our iframe) finds window.parent.API and gets synchronous, exact answers;
//   4. every call that changes state and succeeded here (LMSInitialize, LMSSetValue, LMSCommit,
//      LMSFinish) is relayed to the player:                     {type: "lms-scorm:call", method, args}
//      which replays it on its own Scorm12API and saves to the server.
//
// Messages go only to the LMS origin (never "*"), and only the LMS origin's parent window is
// listened to. Nothing secret is here: the cmi is the learner's own launch data.
(function () {
  "use strict";
  var RELAYED = { LMSInitialize: 1, LMSSetValue: 1, LMSCommit: 1, LMSFinish: 1 };
  var body = document.body;
  var lmsOrigin = body.dataset.lmsOrigin;
  var scoUrl = body.dataset.scoUrl;
  var frame = document.querySelector("iframe");
  var started = false;

  if (window.parent === window) { // opened on its own: there is no LMS to talk to
    document.querySelector("[data-launcher-wait]").hidden = true;
    document.querySelector("[data-launcher-alone]").hidden = false;
    return;
  }

  function relay(method, args) {
    window.parent.postMessage({ type: "lms-scorm:call", method: method, args: args }, lmsOrigin);
  }

  function plain(value) { // what may cross: strings; numbers and booleans as SCOs pass them
    var kind = typeof value;
    return kind === "string" || kind === "number" || kind === "boolean" ? value : String(value);
  }

  function shim(api) {
    var facade = {};
    ["LMSInitialize", "LMSFinish", "LMSGetValue", "LMSSetValue", "LMSCommit",
     "LMSGetLastError", "LMSGetErrorString", "LMSGetDiagnostic"].forEach(function (name) {
      facade[name] = function () {
        var args = Array.prototype.slice.call(arguments).map(plain);
        var result = api[name].apply(api, args);
        if (RELAYED[name] && String(result) === "true") { relay(name, args); }
        return result;
      };
    });
    return facade;
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== lmsOrigin || event.source !== window.parent) { return; }
    var data = event.data;
    if (!data || data.type !== "lms-scorm:init" || started) { return; }
    started = true;
    var api = new window.Scorm12API({
      autocommit: false,  // the player decides when to save
      logLevel: 5,        // silent
      lmsCommitUrl: false // nothing leaves this origin but the relayed calls
    });
    api.loadFromJSON(data.cmi && typeof data.cmi === "object" ? data.cmi : {});
    window.API = shim(api); // before the SCO loads: it looks for API in its parent
    document.querySelector("[data-launcher-wait]").hidden = true;
    frame.hidden = false;
    frame.src = scoUrl;
  });
  window.parent.postMessage({ type: "lms-scorm:ready" }, lmsOrigin);
})();
