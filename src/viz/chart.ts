/** Drawing constants shared by the canvas-drawn image grids (charts are Vega-Lite specs: src/viz/specs.ts). */
export const FONT = 'sans-serif';
