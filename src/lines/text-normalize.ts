/** Transcription clean-up before training and scoring: Unicode NFC always, then optional mappings. */
import { NamedMap, StrictObject, Type, type Static } from '../engine/schema.js';

export const textOptions = StrictObject({
  /** Remove accents and other combining marks (é → e). */
  strip_accents: Type.Boolean({ default: false }),
  lowercase: Type.Boolean({ default: false }),
  /** Collapse runs of white space to one space and trim the ends. */
  collapse_spaces: Type.Boolean({ default: true }),
  /** Character (or string) replacements applied first. */
  map: Type.Optional(NamedMap(Type.String(), { description: 'replacements, e.g. { "’": "\'" }' })),
}, { default: {} });

export type TextOptions = Partial<Static<typeof textOptions>>;

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
