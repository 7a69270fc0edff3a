/** Transcription clean-up before training and scoring: Unicode NFC always, then optional mappings. */

export interface TextOptions {
  /** Remove accents and other combining marks (é → e). */
  strip_accents?: boolean;
  lowercase?: boolean;
  /** Character (or string) replacements applied first, e.g. { "’": "'" }. */
  map?: Record<string, string>;
  /** Collapse runs of white space to one space and trim the ends. */
  collapse_spaces?: boolean;
}

export function normalizeText(text: string, options: TextOptions = {}): string {
  let out = text.normalize('NFC');
  for (const [from, to] of Object.entries(options.map ?? {})) out = out.split(from).join(to);
  if (options.strip_accents) out = out.normalize('NFD').replace(/\p{M}+/gu, '').normalize('NFC');
  if (options.lowercase) out = out.toLowerCase();
  if (options.collapse_spaces ?? true) out = out.replace(/\s+/gu, ' ').trim();
  return out;
}

/** The characters of a text as the line model sees them: NFC code points. */
export function characters(text: string): string[] {
  return [...text];
}
