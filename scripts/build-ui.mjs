#!/usr/bin/env node
// Bundles the dashboard's browser code (src/ui/web) into dist/ui/app.js and app.css.
// vega, vega-lite, vega-embed and tfjs stay separate: the server hands out their own builds from node_modules.
import { build } from 'esbuild';

await build({
  entryPoints: { app: 'src/ui/web/main.ts' },
  bundle: true,
  format: 'iife',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  outdir: 'dist/ui',
  logLevel: 'warning',
});
