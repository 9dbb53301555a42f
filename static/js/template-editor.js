// Certificate template editor: draws each preview the server sends (a base64 PDF of sample
// data, in [data-pdf-preview]) with the vendored pdf.js. A module file, not an inline script,
// so the page runs under the site's script-src 'self'.
let pdfjs = null;

async function draw(root) {
  if (!root || root.dataset.drawn) { return; }
  root.dataset.drawn = "1";
  if (!pdfjs) {
    pdfjs = await import(root.dataset.pdfjs);
    pdfjs.GlobalWorkerOptions.workerSrc = root.dataset.worker;
  }
  const bytes = Uint8Array.from(atob(root.dataset.pdf), (c) => c.charCodeAt(0));
  // isEvalSupported: false — pdf.js would otherwise try `new Function` (blocked by the CSP).
  const doc = await pdfjs.getDocument({ data: bytes, isEvalSupported: false }).promise;
  const label = root.dataset.pageLabel || "";
  const canvases = [];
  for (let n = 1; n <= doc.numPages; n += 1) {
    const page = await doc.getPage(n);
    const base = page.getViewport({ scale: 1 });
    const ratio = window.devicePixelRatio || 1;
    const scale = Math.min(2, (root.clientWidth || 600) / base.width) * ratio;
    const viewport = page.getViewport({ scale });
    const canvas = document.createElement("canvas");
    canvas.width = Math.floor(viewport.width);
    canvas.height = Math.floor(viewport.height);
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", label + " " + n);
    await page.render({ canvasContext: canvas.getContext("2d"), viewport }).promise;
    canvases.push(canvas);
  }
  root.replaceChildren(...canvases);
}

document.body.addEventListener("htmx:afterSwap", () => draw(document.querySelector("[data-pdf-preview]")));
draw(document.querySelector("[data-pdf-preview]"));
