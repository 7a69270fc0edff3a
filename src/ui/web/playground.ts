/**
 * Playground: draw a letter and the tfjs model predicts it in the browser, framed
 * exactly like the training data (src/data/framing.ts, bundled here); or upload
 * a line/page image and the server reads it.
 */
import { frameGlyph, inkImage, rgbaToGray } from '../../data/framing.js';
import { api, errorBox, h, section } from './dom.js';

interface ModelEntry { id: string; label: string; kind: string; type: 'letters' | 'line'; modelUrl: string; labelsUrl?: string }
interface TfTensor { dataSync(): Float32Array; dispose(): void }
interface TfModel { predict(x: TfTensor): TfTensor; outputs: { shape: (number | null)[] }[] }
interface Tf {
  loadLayersModel(url: string): Promise<TfModel>;
  tensor4d(data: Float32Array, shape: number[]): TfTensor;
  tidy<T>(fn: () => T): T;
  ready(): Promise<void>;
  getBackend(): string;
  setBackend(name: string): Promise<boolean>;
  wasm?: { setWasmPaths(prefix: string): void };
}
declare global {
  interface Window {
    tf?: Tf;
    inkflowPlayground?: { predict(): { top: { letter: string; probability: number }[]; ms: number; prepareMs: number } | undefined; clear(): void; ready: Promise<void> };
  }
}

let tfLoading: Promise<Tf> | undefined;

function script(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const el = h('script', { src });
    el.addEventListener('load', () => resolve());
    el.addEventListener('error', () => reject(new Error(`could not load ${src}`)));
    document.head.append(el);
  });
}

/**
 * tfjs with its WebAssembly backend (SIMD): one small drawing predicts in a few
 * milliseconds, where WebGL pays a GPU read-back per call and may be emulated.
 */
function loadTf(): Promise<Tf> {
  tfLoading ??= (async () => {
    await script('/vendor/tf.js');
    const tf = window.tf!;
    try {
      await script('/vendor/tf-backend-wasm.js');
      tf.wasm?.setWasmPaths('/vendor/');
      if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend did not initialise');
    } catch {
      // the default backend (WebGL or CPU) still works, only slower
    }
    await tf.ready();
    return tf;
  })();
  return tfLoading;
}

export async function playgroundPage(root: HTMLElement): Promise<() => void> {
  const all = await api<ModelEntry[]>('/api/models');
  const models = all.filter((m) => m.type === 'letters');
  const readers = [...all.filter((m) => m.type === 'line'), ...models];
  const option = (m: ModelEntry) => h('option', { value: m.id }, `${m.kind === 'promoted' ? '★ ' : ''}${m.type === 'line' ? '[line] ' : ''}${m.label}`);
  const picker = h('select', { 'aria-label': 'model' }, models.map(option));
  const readerPicker = h('select', { 'aria-label': 'reader model' }, readers.map(option));
  const canvas = h('canvas', { width: 280, height: 280, class: 'pad', 'aria-label': 'drawing pad' });
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  const SAMPLE = 112;
  const small = h('canvas', { width: SAMPLE, height: SAMPLE }).getContext('2d', { willReadFrequently: true })!;
  small.imageSmoothingQuality = 'high';
  const top = h('ol', { class: 'top3', 'aria-live': 'polite' });
  const status = h('p', { class: 'muted' });
  const preview = h('canvas', { width: 28, height: 28, class: 'preview', title: 'what the model sees (28×28)' });
  const clear = () => {
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    top.replaceChildren();
    delete document.body.dataset.prediction;
  };
  clear();

  const upload = h('input', { type: 'file', accept: 'image/png,image/jpeg', capture: 'environment', 'aria-label': 'line or page image' });
  const reading = h('div', { class: 'reading' });
  root.replaceChildren(
    h('h1', {}, 'Playground'),
    models.length ? h('div', { class: 'toolbar' }, h('label', {}, 'Letter model ', picker)) : h('p', { class: 'error' }, 'No saved letter model yet: run a pipeline that saves one (e.g. pipelines/quick.yaml).'),
    h('div', { class: 'grid2' },
      section('Draw a letter', h('div', { class: 'pad-wrap' }, canvas), h('div', { class: 'toolbar' }, h('button', { onclick: clear }, 'Clear'), h('span', { class: 'muted' }, 'model input: '), preview), status),
      section('Prediction (top 3)', top),
    ),
    section('Read a line or page', h('p', { class: 'muted' }, 'Upload or photograph handwriting; the server reads it with the chosen model: a line model (CTC) reads lines and finds them on a page, a letter model segments a phrase and reads letter by letter.'),
      readers.length ? h('div', { class: 'toolbar' }, h('label', {}, 'Reader ', readerPicker), upload) : h('p', { class: 'error' }, 'No saved model yet.'), reading),
  );
  upload.addEventListener('change', async () => {
    const file = upload.files?.[0];
    if (!file) return;
    reading.replaceChildren(h('p', { class: 'muted' }, `reading ${file.name}…`));
    try {
      const res = await fetch(`/api/read?model=${encodeURIComponent(readerPicker.value)}`, { method: 'POST', headers: { 'x-inkflow': '1', 'content-type': 'application/octet-stream' }, body: file });
      const body = (await res.json()) as { lines?: string[]; reader?: string; model?: string; error?: string };
      if (!res.ok) throw new Error(body.error ?? res.statusText);
      reading.replaceChildren(h('img', { class: 'plot', src: URL.createObjectURL(file), alt: file.name }),
        h('div', { class: 'read-text' }, (body.lines ?? []).filter(Boolean).length ? (body.lines ?? []).map((l) => h('p', {}, l)) : '(nothing read)'),
        h('p', { class: 'muted' }, `${body.reader} · ${body.model}`));
      document.body.dataset.reading = (body.lines ?? []).join('\n');
    } catch (err) {
      reading.replaceChildren(errorBox(err));
    }
  });
  if (!models.length) {
    document.body.dataset.ready = 'playground';
    return () => undefined;
  }

  let model: TfModel | undefined;
  let classes: string[] = [];
  const tfReady = loadTf();
  const load = async () => {
    const entry = models.find((m) => m.id === picker.value)!;
    status.textContent = `loading ${entry.label}…`;
    const tf = await tfReady;
    model = await tf.loadLayersModel(entry.modelUrl);
    const k = model.outputs[0]?.shape[1] ?? 0;
    const labels = entry.labelsUrl ? (await api<Record<string, string>>(entry.labelsUrl).catch(() => undefined)) : undefined;
    classes = labels ? Object.entries(labels).sort(([a], [b]) => Number(a) - Number(b)).map(([, letter]) => letter) : k === 26 ? [...'abcdefghijklmnopqrstuvwxyz'] : Array.from({ length: k }, (_, i) => String(i));
    tf.tidy(() => model!.predict(tf.tensor4d(new Float32Array(28 * 28), [1, 28, 28, 1])).dataSync());
    status.textContent = `${entry.label} · tfjs ${tf.getBackend()} backend`;
  };
  const ready = load().catch((err) => { status.replaceWith(errorBox(err)); });
  picker.addEventListener('change', () => void load());

  const predict = () => {
    const tf = window.tf;
    if (!tf || !model) return undefined;
    const t0 = performance.now();
    // The model sees 28x28: reading the pad at 4x that (not 280x280) keeps the framing's median and area sums cheap.
    small.drawImage(canvas, 0, 0, SAMPLE, SAMPLE);
    const rgba = small.getImageData(0, 0, SAMPLE, SAMPLE);
    const ink = inkImage(rgbaToGray(rgba.data, rgba.width, rgba.height), 'auto');
    const framed = frameGlyph(ink, 28);
    const input = Float32Array.from(framed, (v) => v / 255);
    const prepareMs = performance.now() - t0;
    const probs = tf.tidy(() => model!.predict(tf.tensor4d(input, [1, 28, 28, 1])).dataSync());
    const ranked = Array.from(probs, (p, i) => ({ letter: classes[i] ?? String(i), probability: p })).sort((a, b) => b.probability - a.probability).slice(0, 3);
    const ms = performance.now() - t0;
    const img = preview.getContext('2d')!.createImageData(28, 28);
    framed.forEach((v, i) => { img.data[i * 4] = img.data[i * 4 + 1] = img.data[i * 4 + 2] = 255 - v; img.data[i * 4 + 3] = 255; });
    preview.getContext('2d')!.putImageData(img, 0, 0);
    top.replaceChildren(...ranked.map((r) => h('li', {}, h('span', { class: 'letter' }, r.letter), h('span', { class: 'bar', style: `width:${Math.round(r.probability * 100)}%` }), h('span', { class: 'p' }, `${(r.probability * 100).toFixed(1)}%`))));
    top.append(h('li', { class: 'muted timing' }, `${ms.toFixed(1)} ms in the browser`));
    document.body.dataset.prediction = ranked.map((r) => r.letter).join('');
    return { top: ranked, ms, prepareMs };
  };

  let drawing = false;
  const point = (e: PointerEvent) => {
    const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * (canvas.width / r.width), (e.clientY - r.top) * (canvas.height / r.height)] as const;
  };
  canvas.addEventListener('pointerdown', (e) => {
    drawing = true;
    canvas.setPointerCapture(e.pointerId);
    const [x, y] = point(e);
    ctx.strokeStyle = '#111';
    ctx.lineWidth = 18;
    ctx.lineCap = ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(x, y);
    e.preventDefault();
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!drawing) return;
    const [x, y] = point(e);
    ctx.lineTo(x, y);
    ctx.stroke();
  });
  const end = () => {
    if (!drawing) return;
    drawing = false;
    void ready.then(predict);
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  window.inkflowPlayground = { predict, clear, ready: ready.then(() => undefined) };

  document.body.dataset.ready = 'playground';
  return () => undefined;
}
