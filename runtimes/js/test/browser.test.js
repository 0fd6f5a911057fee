// Browser smoke test: headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) loads a page from a localhost server; the page imports the runtime's
// ES modules unchanged (src/index.js), fetches spec/examples/v1.0/mlp (model.json and its
// sidecar model.bin) with loadModelFromUrl, runs it, and compares with expected.json.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..", "..", "..");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const TYPES = { ".js": "text/javascript", ".json": "application/json", ".html": "text/html", ".bin": "application/octet-stream" };

const PAGE = `<!doctype html><meta charset="utf-8"><title>jag</title>
<script type="module">
import { loadModelFromUrl } from "/runtimes/js/src/index.js";
try {
  const base = "/spec/examples/v1.0/mlp/";
  const expected = await (await fetch(base + "expected.json")).json();
  const model = await loadModelFromUrl(base + "model.json");
  let worst = 0;
  for (const c of expected.cases) {
    const x = c.inputs.x;
    const out = model.run({ x: { dtype: x.dtype, shape: x.shape, data: Float32Array.from(x.data.flat()) } });
    const [name, want] = Object.entries(c.outputs)[0];
    const got = out[name];
    if (got.shape.join() !== want.shape.join()) throw new Error("shape " + got.shape + " vs " + want.shape);
    want.data.flat().forEach((w, i) => { worst = Math.max(worst, Math.abs(got.data[i] - w)); });
  }
  window.__result = { ok: worst <= 1e-5, worst, cases: expected.cases.length, sidecar: model.tensors.size };
} catch (e) {
  window.__result = { ok: false, error: String(e && e.message || e) };
}
</script>`;

test("the runtime runs in headless Chromium", { timeout: 60000 }, async () => {
  assert.ok(fs.existsSync(CHROMIUM), `Chromium is not installed at ${CHROMIUM} (make test installs Debian's chromium)`);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://localhost");
    if (url.pathname === "/") { res.writeHead(200, { "content-type": "text/html" }); res.end(PAGE); return; }
    const file = path.join(repo, path.normalize(url.pathname));
    if (!file.startsWith(repo + path.sep) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless=new"] });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => window.__result !== undefined, null, { timeout: 30000 });
    const result = await page.evaluate(() => window.__result);
    assert.deepEqual(errors, []);
    assert.ok(result.ok, JSON.stringify(result));
    assert.ok(result.cases >= 1 && result.sidecar >= 1, JSON.stringify(result));
  } finally {
    await browser.close();
    server.close();
  }
});
