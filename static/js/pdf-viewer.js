// PDF activity viewer: the vendored pdf.js (loaded by this page only) draws the pages into
// canvases, so PDFs open inside the page on phones too (Android's browser has no PDF viewer).
// The first page is drawn as soon as the document opens; the others when they scroll into view,
// fetched with HTTP ranges. Zoom in / out and "fit to width" are buttons (keyboard reachable);
// when zoomed past the width the page box scrolls sideways inside itself, never the page.
const root = document.querySelector("[data-pdf-viewer]");
if (root) {
  const status = root.querySelector("[data-pdf-status]");
  const pages = root.querySelector("[data-pdf-pages]");
  const toolbar = root.querySelector("[data-pdf-toolbar]");
  const level = root.querySelector("[data-pdf-zoom-level]");
  const say = (text) => { if (status) { status.textContent = text; } };
  const fmt = (text, value) => (text || "%s").replace("%s", String(value));
  const MIN = 0.5, MAX = 4, STEP = 1.25;
  const RANGE_CHUNK = 262144;
  const WHOLE_MAX = 2 * RANGE_CHUNK;  // pdf.js reads a file this small whole anyway
  let zoom = 1;            // relative to "fit to width"
  let doc = null;
  let baseWidth = 0;       // the first page's width at scale 1 (PDF points)
  let generation = 0;      // bumps on every zoom change; stale renders are dropped
  const holders = [];

  const fitScale = () => {
    const width = Math.max(200, pages.clientWidth - 16);
    return width / baseWidth;
  };

  const draw = async (holder) => {
    const mine = generation;
    if (holder.dataset.drawn === String(mine)) { return; }
    holder.dataset.drawn = String(mine);
    const page = await doc.getPage(Number(holder.dataset.page));
    if (mine !== generation) { return; }
    const scale = fitScale() * zoom;
    const ratio = window.devicePixelRatio || 1;
    const viewport = page.getViewport({ scale: scale * ratio });
    const canvas = document.createElement("canvas");
    canvas.width = Math.floor(viewport.width);
    canvas.height = Math.floor(viewport.height);
    canvas.style.width = Math.floor(viewport.width / ratio) + "px";
    canvas.style.height = Math.floor(viewport.height / ratio) + "px";
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", fmt(root.dataset.msgPage, holder.dataset.page));
    await page.render({ canvasContext: canvas.getContext("2d"), viewport }).promise;
    if (mine !== generation) { return; }
    holder.replaceChildren(canvas);
    holder.style.minHeight = "";
  };

  const placeholderHeight = () => Math.round(fitScale() * zoom * baseWidth * 1.3) + "px";

  const seen = new IntersectionObserver((entries) => {
    for (const entry of entries) { if (entry.isIntersecting) { draw(entry.target); } }
  }, { rootMargin: "400px 0px" });

  const redraw = () => {
    generation += 1;
    if (level) { level.textContent = Math.round(zoom * 100) + "%"; }
    for (const holder of holders) {
      const rect = holder.getBoundingClientRect();
      const near = rect.bottom > -400 && rect.top < window.innerHeight + 400;
      if (!holder.firstChild) { holder.style.minHeight = placeholderHeight(); }
      if (near) { draw(holder); }
    }
  };

  const setZoom = (value) => {
    const next = Math.min(MAX, Math.max(MIN, value));
    if (Math.abs(next - zoom) < 0.001) { return; }
    zoom = next;
    redraw();
  };

  // On a slow link the viewer's time is bytes and round trips: pdf.js's worker (the largest
  // part) starts downloading now, next to pdf.js itself, instead of after it; a small PDF is
  // fetched whole at the same time instead of after the worker is up. A large one is read in
  // ranges, page by page.
  let worker = null;
  try { worker = new Worker(root.dataset.worker, { type: "module" }); } catch (error) { worker = null; }
  const size = Number(root.dataset.size || 0);
  const early = size > 0 && size <= WHOLE_MAX
    ? fetch(root.dataset.src, { credentials: "same-origin" })
        .then((response) => (response.ok ? response.arrayBuffer() : null))
        .catch(() => null)
    : Promise.resolve(null);
  try {
    const pdfjs = await import(root.dataset.pdfjs);
    pdfjs.GlobalWorkerOptions.workerSrc = root.dataset.worker;
    if (worker) { pdfjs.GlobalWorkerOptions.workerPort = worker; }
    const whole = await early;
    const source = whole
      ? { data: new Uint8Array(whole) }
      : { url: root.dataset.src, withCredentials: true, rangeChunkSize: RANGE_CHUNK, disableAutoFetch: true };
    // isEvalSupported: false — no `new Function` for fonts: the CSP has no 'unsafe-eval'.
    doc = await pdfjs.getDocument({ ...source, isEvalSupported: false }).promise;
    const first = await doc.getPage(1);
    baseWidth = first.getViewport({ scale: 1 }).width;
    for (let n = 1; n <= doc.numPages; n += 1) {
      const holder = document.createElement("div");
      holder.className = "pdf-page";
      holder.dataset.page = String(n);
      holder.style.minHeight = placeholderHeight();
      pages.append(holder);
      holders.push(holder);
    }
    await draw(holders[0]);  // the first page first, before anything else is fetched
    say(fmt(root.dataset.msgPages, doc.numPages));
    holders.slice(1).forEach((holder) => seen.observe(holder));
    if (toolbar) {
      toolbar.hidden = false;
      toolbar.addEventListener("click", (event) => {
        const button = event.target.closest("button[data-zoom]");
        if (!button) { return; }
        const action = button.dataset.zoom;
        if (action === "in") { setZoom(zoom * STEP); }
        else if (action === "out") { setZoom(zoom / STEP); }
        else { setZoom(1); }
      });
    }
    if (level) { level.textContent = "100%"; }
    let lastWidth = pages.clientWidth;
    let timer = null;
    window.addEventListener("resize", () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (pages.clientWidth !== lastWidth) { lastWidth = pages.clientWidth; redraw(); }
      }, 200);
    });
    root.dataset.ready = "true";
  } catch (error) {
    say(root.dataset.msgFailed || "PDF");
    root.dataset.ready = "error";
  }
}
