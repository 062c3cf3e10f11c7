// The sketchrnn page: plain JS (no build step) over the JSON API in sketchrnn/serve/app.py.
// Canvas coordinates are sent in a fixed 400-unit square whatever the on-screen size, so a
// phone and a desktop send the same sketch at the same scale (training sketches span ~300 px).
"use strict";

const SIZE = 400;
const DEBOUNCE_MS = 300;
const MIN_STEP = 1.5; // logical units between recorded points; the server simplifies further
const $ = (id) => document.getElementById(id);

const state = {
  models: null, strokes: [], current: null, completion: [], prediction: null,
  seq: 0, timer: null, inflight: null, anim: null, finishSeed: 0,
  calls: { predict: 0, finish: 0, sample: 0 }, // read by the browser test
};
window.sketchrnnState = state;

// ---- API ------------------------------------------------------------------------------------
async function api(path, body, signal) {
  const init = body === undefined ? { signal } : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), signal,
  };
  const res = await fetch(path, init);
  let data = null;
  try { data = await res.json(); } catch (e) { /* non-JSON error page */ }
  if (!res.ok) throw new Error((data && data.error) || `HTTP ${res.status}`);
  return data;
}

function showNotice(text) {
  const box = $("notice");
  box.replaceChildren();
  if (!text) { box.hidden = true; return; }
  // `command` spans become <code> so the training command stands out and can be copied.
  text.split("`").forEach((part, i) => {
    const node = i % 2 ? document.createElement("code") : document.createElement("span");
    node.textContent = part;
    box.appendChild(node);
  });
  box.hidden = false;
}

// ---- canvas helpers -------------------------------------------------------------------------
function setupCanvas(canvas, size) {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = size * dpr; canvas.height = size * dpr;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.lineCap = "round"; ctx.lineJoin = "round";
  return ctx;
}

function strokeLine(ctx, line, color, width) {
  if (!line.length) return;
  ctx.strokeStyle = color; ctx.fillStyle = color; ctx.lineWidth = width;
  ctx.beginPath();
  ctx.moveTo(line[0][0], line[0][1]);
  if (line.length === 1) { ctx.arc(line[0][0], line[0][1], width / 2, 0, 2 * Math.PI); ctx.fill(); return; }
  for (const p of line.slice(1)) ctx.lineTo(p[0], p[1]);
  ctx.stroke();
}

const pad = $("pad");
const padCtx = setupCanvas(pad, SIZE);

function redraw() {
  padCtx.clearRect(0, 0, SIZE, SIZE);
  for (const line of state.strokes) strokeLine(padCtx, line, "#222", 3);
  for (const line of state.completion) strokeLine(padCtx, line, "#d2452c", 3);
}

function toLogical(e) {
  const r = pad.getBoundingClientRect();
  const x = ((e.clientX - r.left) * SIZE) / r.width, y = ((e.clientY - r.top) * SIZE) / r.height;
  return [Math.round(x * 10) / 10, Math.round(y * 10) / 10];
}

// ---- drawing --------------------------------------------------------------------------------
pad.addEventListener("pointerdown", (e) => {
  if (e.button > 0) return;
  pad.setPointerCapture(e.pointerId);
  stopCompletion();
  state.current = [toLogical(e)];
  state.strokes.push(state.current);
  redraw();
  e.preventDefault();
});
pad.addEventListener("pointermove", (e) => {
  if (!state.current) return;
  const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
  for (const ev of events.length ? events : [e]) {
    const p = toLogical(ev), q = state.current[state.current.length - 1];
    if (Math.hypot(p[0] - q[0], p[1] - q[1]) < MIN_STEP) continue;
    state.current.push(p);
    strokeLine(padCtx, [q, p], "#222", 3);
  }
  schedulePredict();
});
for (const type of ["pointerup", "pointercancel"]) {
  pad.addEventListener(type, () => { if (state.current) { state.current = null; schedulePredict(); } });
}

$("undo").addEventListener("click", () => {
  if (state.completion.length || state.anim) stopCompletion(true);
  else state.strokes.pop();
  redraw(); schedulePredict();
});
$("clear").addEventListener("click", () => {
  stopCompletion(true); state.strokes = []; redraw(); schedulePredict();
});

// ---- predictions ----------------------------------------------------------------------------
function pointCount() { return state.strokes.reduce((n, line) => n + line.length, 0); }

function schedulePredict() {
  clearTimeout(state.timer);
  state.timer = setTimeout(predict, DEBOUNCE_MS);
}

async function predict() {
  const seq = ++state.seq;
  if (state.inflight) state.inflight.abort();
  if (pointCount() < 2 || !state.models || !state.models.predict) { renderPredictions(null); return; }
  state.inflight = new AbortController();
  try {
    state.calls.predict++;
    const out = await api("/api/predict", { strokes: state.strokes, top_k: 3 }, state.inflight.signal);
    if (seq === state.seq) renderPredictions(out);
  } catch (err) {
    if (err.name !== "AbortError" && seq === state.seq) showNotice(err.message);
  }
}

function renderPredictions(out) {
  const list = $("predictions");
  state.prediction = out;
  list.replaceChildren();
  $("unsure").hidden = !out || out.in_distribution;
  if (!out) {
    const li = document.createElement("li");
    li.className = "hint"; li.textContent = "Draw something.";
    list.appendChild(li); list.dataset.state = "empty";
  } else {
    for (const item of out.top) {
      const li = document.createElement("li"), bar = document.createElement("div");
      const pct = Math.round(item.probability * 100);
      li.textContent = `${item.category} ${pct}%`;
      bar.className = "bar"; bar.style.width = `${Math.max(pct, 1)}%`;
      li.appendChild(bar); list.appendChild(li);
    }
    list.dataset.state = out.in_distribution ? "ready" : "unsure";
  }
  const drawable = new Set(((state.models && state.models.draw) || []).map((d) => d.category));
  $("finish").disabled = !out || !drawable.has(out.top[0].category);
}

// ---- finish it ------------------------------------------------------------------------------
function stopCompletion(erase) {
  if (state.anim) cancelAnimationFrame(state.anim);
  state.anim = null;
  if (erase) state.completion = [];
  else if (state.completion.length) { state.strokes.push(...state.completion); state.completion = []; }
}

$("finish").addEventListener("click", async () => {
  if (pointCount() < 2) return;
  const button = $("finish");
  button.disabled = true; pad.dataset.completion = "waiting";
  stopCompletion(true); redraw();
  try {
    state.calls.finish++;
    const category = state.prediction ? state.prediction.top[0].category : undefined;
    const out = await api("/api/predict", {
      strokes: state.strokes, top_k: 3, complete: true, category, seed: state.finishSeed++,
    });
    animateCompletion(out.completion ? out.completion.strokes : []);
  } catch (err) {
    showNotice(err.message); pad.dataset.completion = "error";
  } finally { button.disabled = false; }
});

function animateCompletion(lines) {
  // Two points per frame: the decoder's pen appears to move at drawing speed.
  const flat = lines.flatMap((line, i) => line.map((p, j) => [i, j, p]));
  let k = 0;
  pad.dataset.completion = "drawing";
  const step = () => {
    for (let n = 0; n < 2 && k < flat.length; n++, k++) {
      const [i, j, p] = flat[k];
      if (j === 0) state.completion.push([]);
      state.completion[i].push(p);
    }
    redraw();
    if (k < flat.length) state.anim = requestAnimationFrame(step);
    else { state.anim = null; pad.dataset.completion = "done"; }
  };
  step();
}

// ---- gallery --------------------------------------------------------------------------------
const CELL = 200;

function fit(lines, size, margin) {
  const pts = lines.flat();
  if (!pts.length) return (p) => p;
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const s = (size - 2 * margin) / Math.max(x1 - x0, y1 - y0, 1e-6);
  const ox = (size - s * (x1 - x0)) / 2, oy = (size - s * (y1 - y0)) / 2;
  return (p) => [ox + s * (p[0] - x0), oy + s * (p[1] - y0)];
}

$("g-temperature").addEventListener("input", (e) => {
  $("g-temperature-out").textContent = Number(e.target.value).toFixed(2);
});

$("gallery-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const grid = $("grid");
  grid.dataset.state = "waiting";
  try {
    state.calls.sample++;
    const out = await api("/api/sample", {
      category: $("g-category").value, n: Number($("g-count").value),
      temperature: Number($("g-temperature").value), seed: Number($("g-seed").value),
    });
    grid.replaceChildren();
    const jobs = out.sketches.map((lines) => {
      const canvas = document.createElement("canvas");
      canvas.setAttribute("aria-label", out.category);
      grid.appendChild(canvas);
      const map = fit(lines, CELL, 12);
      return { ctx: setupCanvas(canvas, CELL), lines: lines.map((l) => l.map(map)), i: 0, j: 1 };
    });
    grid.dataset.state = "drawing";
    const step = () => { // every sketch advances one segment per frame: all drawn at once
      let busy = false;
      for (const job of jobs) {
        for (let n = 0; n < 2 && job.i < job.lines.length; n++) {
          const line = job.lines[job.i];
          strokeLine(job.ctx, line.length > 1 ? [line[job.j - 1], line[job.j]] : line, "#222", 2);
          if (++job.j >= line.length) { job.i++; job.j = 1; }
        }
        busy = busy || job.i < job.lines.length;
      }
      if (busy) requestAnimationFrame(step); else grid.dataset.state = "done";
    };
    step();
  } catch (err) { showNotice(err.message); grid.dataset.state = "error"; }
});

// ---- modes and startup ----------------------------------------------------------------------
for (const tab of document.querySelectorAll("nav button")) {
  tab.addEventListener("click", () => {
    for (const other of document.querySelectorAll("nav button")) {
      other.setAttribute("aria-selected", String(other === tab));
      $(other.dataset.mode).hidden = other !== tab;
    }
  });
}

async function start() {
  try {
    state.models = await api("/api/models");
  } catch (err) { showNotice(err.message); document.body.dataset.ready = "no-models"; return; }
  showNotice(state.models.hint);
  const select = $("g-category");
  for (const d of state.models.draw) {
    const option = document.createElement("option");
    option.value = option.textContent = d.category;
    select.appendChild(option);
  }
  document.body.dataset.ready = "yes";
}
start();
