// PDF activity viewer: the vendored pdf.js renders pages into canvases that fit the screen,
// so PDFs open inside the page on phones too (Android's browser has no built-in PDF viewer).
// Pages are fetched with HTTP ranges and drawn only when they scroll into view.
const root = document.querySelector("[data-pdf-viewer]");
if (root) {
  const status = root.querySelector("[data-pdf-status]");
  const pages = root.querySelector("[data-pdf-pages]");
  const say = (text) => { if (status) { status.textContent = text; } };
  try {
    const pdfjs = await import(root.dataset.pdfjs);
    pdfjs.GlobalWorkerOptions.workerSrc = root.dataset.worker;
    const doc = await pdfjs.getDocument({
      url: root.dataset.src, withCredentials: true, rangeChunkSize: 262144, disableAutoFetch: true
    }).promise;
    say((root.dataset.msgPages || "%s").replace("%s", String(doc.numPages)));
    const draw = async (holder) => {
      if (holder.dataset.drawn) { return; }
      holder.dataset.drawn = "1";
      const page = await doc.getPage(Number(holder.dataset.page));
      const base = page.getViewport({ scale: 1 });
      const scale = Math.min(2, pages.clientWidth / base.width);
      const ratio = window.devicePixelRatio || 1;
      const viewport = page.getViewport({ scale: scale * ratio });
      const canvas = document.createElement("canvas");
      canvas.width = Math.floor(viewport.width);
      canvas.height = Math.floor(viewport.height);
      canvas.style.width = Math.floor(viewport.width / ratio) + "px";
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", (root.dataset.msgPage || "%s").replace("%s", holder.dataset.page));
      holder.replaceChildren(canvas);
      await page.render({ canvasContext: canvas.getContext("2d"), viewport }).promise;
    };
    const seen = new IntersectionObserver((entries) => {
      for (const entry of entries) { if (entry.isIntersecting) { draw(entry.target); } }
    }, { rootMargin: "400px 0px" });
    for (let n = 1; n <= doc.numPages; n += 1) {
      const holder = document.createElement("div");
      holder.className = "pdf-page";
      holder.dataset.page = String(n);
      holder.style.minHeight = "60vh";
      pages.append(holder);
      seen.observe(holder);
    }
    root.dataset.ready = "true";
  } catch (error) {
    say(root.dataset.msgFailed || "PDF");
    root.dataset.ready = "error";
  }
}
