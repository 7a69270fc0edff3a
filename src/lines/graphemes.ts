/** Splitting text into user-perceived characters (grapheme clusters), the unit of charsets, n-grams and CER. */
const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** The grapheme clusters of `text` after NFC normalisation. */
export function graphemes(text: string): string[] {
  const normalized = text.normalize('NFC');
  // Plain ASCII needs no segmenter, and most lines are nearly ASCII: the fast path matters in corpus loops.
  if (/^[\x00-\x7f]*$/.test(normalized)) return normalized.split('');
  return Array.from(segmenter.segment(normalized), (s) => s.segment);
}

/** True for a grapheme whose base character is a letter (accented letters included). */
export function isLetter(grapheme: string): boolean {
  return /^\p{L}/u.test(grapheme);
}
