/** Small, legible charts drawn with @napi-rs/canvas: line charts with axes, ticks, legend and markers; heatmaps. */
import type { SKRSContext2D } from '@napi-rs/canvas';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Series {
  name: string;
  color: string;
  points: [number, number][];
  dashed?: boolean;
}

export const FONT = 'sans-serif';

/** "Nice" tick values covering [min, max]. */
export function niceTicks(min: number, max: number, target = 6): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (min === max) [min, max] = [min - 0.5, max + 0.5];
  const raw = (max - min) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function label(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1000 || a < 0.001 ? v.toExponential(1) : String(Number(v.toPrecision(4)));
}

export function lineChart(
  ctx: SKRSContext2D,
  area: Rect,
  series: Series[],
  options: { title: string; xLabel: string; yLabel: string; markers?: { x: number; label: string }[]; yRange?: [number, number]; integerX?: boolean },
): void {
  const plot = { x: area.x + 70, y: area.y + 40, width: area.width - 100, height: area.height - 100 };
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  let [y0, y1] = options.yRange ?? (ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1]);
  if (!options.yRange) {
    const pad = (y1 - y0) * 0.08 || 0.05;
    [y0, y1] = [y0 - pad, y1 + pad];
  }
  const xTicks = options.integerX ? integerTicks(x0, x1) : niceTicks(x0, x1);
  const yTicks = niceTicks(y0, y1).filter((t) => t >= y0 && t <= y1);
  const sx = (v: number) => plot.x + (x1 === x0 ? plot.width / 2 : ((v - x0) / (x1 - x0)) * plot.width);
  const sy = (v: number) => plot.y + plot.height - ((v - y0) / (y1 - y0)) * plot.height;

  ctx.fillStyle = '#111';
  ctx.font = `bold 18px ${FONT}`;
  ctx.textAlign = 'center';
  ctx.fillText(options.title, area.x + area.width / 2, area.y + 24);

  ctx.strokeStyle = '#e3e3e3';
  ctx.lineWidth = 1;
  ctx.font = `13px ${FONT}`;
  ctx.fillStyle = '#333';
  for (const t of yTicks) {
    ctx.beginPath();
    ctx.moveTo(plot.x, sy(t));
    ctx.lineTo(plot.x + plot.width, sy(t));
    ctx.stroke();
    ctx.textAlign = 'right';
    ctx.fillText(label(t), plot.x - 8, sy(t) + 4);
  }
  for (const t of xTicks) {
    ctx.textAlign = 'center';
    ctx.fillText(label(t), sx(t), plot.y + plot.height + 20);
  }
  ctx.strokeStyle = '#333';
  ctx.lineWidth = 1.5;
  ctx.strokeRect(plot.x, plot.y, plot.width, plot.height);

  ctx.font = `14px ${FONT}`;
  ctx.textAlign = 'center';
  ctx.fillText(options.xLabel, plot.x + plot.width / 2, plot.y + plot.height + 44);
  ctx.save();
  ctx.translate(area.x + 18, plot.y + plot.height / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(options.yLabel, 0, 0);
  ctx.restore();

  for (const m of options.markers ?? []) {
    ctx.strokeStyle = '#c0392b';
    ctx.setLineDash([5, 4]);
    ctx.beginPath();
    ctx.moveTo(sx(m.x), plot.y);
    ctx.lineTo(sx(m.x), plot.y + plot.height);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = '#c0392b';
    ctx.font = `12px ${FONT}`;
    // Near the right edge the label goes left of its line, so it is not cut off.
    const rightSide = sx(m.x) + 4 + ctx.measureText(m.label).width < plot.x + plot.width;
    ctx.textAlign = rightSide ? 'left' : 'right';
    ctx.fillText(m.label, sx(m.x) + (rightSide ? 4 : -4), plot.y + 14);
  }

  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    ctx.lineWidth = 2.5;
    ctx.setLineDash(s.dashed ? [8, 5] : []);
    ctx.beginPath();
    s.points.forEach(([x, y], i) => (i ? ctx.lineTo(sx(x), sy(y)) : ctx.moveTo(sx(x), sy(y))));
    ctx.stroke();
    ctx.setLineDash([]);
    for (const [x, y] of s.points) {
      ctx.beginPath();
      ctx.arc(sx(x), sy(y), 3.5, 0, Math.PI * 2);
      ctx.fill();
    }
  }

  // Legend inside the plot.
  ctx.font = `13px ${FONT}`;
  const width = Math.max(...series.map((s) => ctx.measureText(s.name).width)) + 46;
  const legendHeight = series.length * 20 + 8;
  const lx = plot.x + plot.width - width - 10;
  // Top right unless the data runs there (rising accuracy curves); then bottom right.
  const traced = series.flatMap((s) => s.points.slice(1).flatMap(([x, y], i) => {
    const [px, py] = s.points[i];
    return Array.from({ length: 21 }, (_, t) => [sx(px + ((x - px) * t) / 20), sy(py + ((y - py) * t) / 20)]);
  }).concat(s.points.map(([x, y]) => [sx(x), sy(y)])));
  const inLegend = (top: number) => traced.filter(([x, y]) => x >= lx - 10 && y >= top - 10 && y <= top + legendHeight + 10).length;
  // Below the row of learning-rate labels, when there is one.
  const top = plot.y + (options.markers?.length ? 24 : 10);
  const bottom = plot.y + plot.height - legendHeight - 10;
  const ly = inLegend(top) <= inLegend(bottom) ? top : bottom;
  ctx.fillStyle = 'rgba(255,255,255,0.9)';
  ctx.fillRect(lx, ly, width, legendHeight);
  ctx.strokeStyle = '#999';
  ctx.lineWidth = 1;
  ctx.strokeRect(lx, ly, width, legendHeight);
  series.forEach((s, i) => {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 2.5;
    ctx.setLineDash(s.dashed ? [6, 4] : []);
    ctx.beginPath();
    ctx.moveTo(lx + 8, ly + 16 + i * 20);
    ctx.lineTo(lx + 32, ly + 16 + i * 20);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = '#111';
    ctx.textAlign = 'left';
    ctx.fillText(s.name, lx + 38, ly + 20 + i * 20);
  });
}

function integerTicks(min: number, max: number): number[] {
  const span = max - min;
  const step = Math.max(1, Math.ceil(span / 10));
  const out: number[] = [];
  for (let v = Math.ceil(min); v <= max; v += step) out.push(v);
  return out;
}

/** Row-normalised confusion matrix as a labelled heatmap with counts in the cells. */
export function confusionHeatmap(ctx: SKRSContext2D, area: Rect, matrix: number[][], classes: string[], title: string): void {
  const k = classes.length;
  const cell = Math.floor(Math.min((area.width - 90) / k, (area.height - 120) / k));
  const ox = area.x + 60;
  const oy = area.y + 72;
  ctx.fillStyle = '#111';
  ctx.font = `bold 18px ${FONT}`;
  ctx.textAlign = 'center';
  ctx.fillText(title, area.x + area.width / 2, area.y + 24);
  ctx.font = `14px ${FONT}`;
  ctx.fillText('predicted', ox + (cell * k) / 2, oy - 30);
  ctx.save();
  ctx.translate(area.x + 16, oy + (cell * k) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText('true', 0, 0);
  ctx.restore();
  for (let t = 0; t < k; t++) {
    const total = matrix[t].reduce((a, b) => a + b, 0) || 1;
    for (let p = 0; p < k; p++) {
      const share = matrix[t][p] / total;
      const v = Math.round(255 * (1 - Math.sqrt(share)));
      ctx.fillStyle = t === p ? `rgb(${v},${Math.round(255 - (255 - v) * 0.55)},${255})` : `rgb(255,${v},${v})`;
      ctx.fillRect(ox + p * cell, oy + t * cell, cell, cell);
      if (matrix[t][p] > 0 && cell >= 18) {
        ctx.fillStyle = share > 0.5 ? '#fff' : '#222';
        ctx.font = `${Math.max(8, Math.floor(cell * 0.3))}px ${FONT}`;
        ctx.textAlign = 'center';
        ctx.fillText(String(matrix[t][p]), ox + p * cell + cell / 2, oy + t * cell + cell / 2 + 4);
      }
    }
  }
  ctx.fillStyle = '#111';
  ctx.font = `bold ${Math.max(10, Math.floor(cell * 0.5))}px ${FONT}`;
  for (let i = 0; i < k; i++) {
    ctx.textAlign = 'center';
    ctx.fillText(classes[i], ox + i * cell + cell / 2, oy - 6);
    ctx.textAlign = 'right';
    ctx.fillText(classes[i], ox - 6, oy + i * cell + cell / 2 + 5);
  }
  ctx.strokeStyle = '#666';
  ctx.strokeRect(ox, oy, cell * k, cell * k);
}
