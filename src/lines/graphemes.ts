/** Splitting text into user-perceived characters (grapheme clusters), the unit of charsets, n-grams and CER. */
const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

const SIMPLE = /^[\x00-\x0c\x0e-\u02ff\u0370-\u0482\u048a-\u052f\u1e00-\u1eff\u2010-\u2027\u2030-\u205e\u20a0-\u20c0\u2100-\u214f]*$/;

/** The grapheme clusters of `text` after NFC normalisation. */
export function graphemes(text: string): string[] {
  const normalized = text.normalize('NFC');
  // Text made only of characters that never join a cluster (Latin with precomposed accents, common
  // punctuation, no CR LF pair) needs no segmenter, which is slow: this path matters in corpus loops.
  if (SIMPLE.test(normalized)) return normalized.split('');
  return Array.from(segmenter.segment(normalized), (s) => s.segment);
}

/** True for a grapheme whose base character is a letter (accented letters included). */
export function isLetter(grapheme: string): boolean {
  return /^\p{L}/u.test(grapheme);
}
