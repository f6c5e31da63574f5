// Scoring recognised text against a reference: character error rate and word recall, after the
// normalisation both OCR benchmarks and OCR tests use. No corpus is read here.

/** NFKC, case folded, one form of quotes and dashes, whitespace collapsed to one space. */
export function normalize(t: string): string {
  return t
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\u2018\u2019\u201a\u201b\u2032]/g, "'")
    .replace(/[\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb]/g, '"')
    .replace(/[\u2010-\u2015\u2212]/g, '-')
    .replace(/\s+/g, ' ')
    .trim();
}

export function levenshtein(a: string, b: string): number {
  let prev = new Uint32Array(b.length + 1);
  let cur = new Uint32Array(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (ca === b.charCodeAt(j - 1) ? 0 : 1));
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/**
 * CER (edit distance over the reference's length, order matters) and word recall (share of the
 * reference's words found, as a multiset) of `hyp` against `ref`, both normalised.
 */
export function score(hyp: string, ref: string): { cer: number; recall: number } {
  const h = normalize(hyp);
  const r = normalize(ref);
  return { cer: levenshtein(h, r) / Math.max(1, r.length), recall: wordRecall(h.split(' '), r.split(' ')) };
}

/** The share of the reference's words found among the hypothesis's, each found word used once. */
export function wordRecall(hyp: string[], ref: string[]): number {
  const bag = new Map<string, number>();
  for (const w of hyp) bag.set(w, (bag.get(w) ?? 0) + 1);
  let hit = 0;
  for (const w of ref) {
    const n = bag.get(w) ?? 0;
    if (n > 0) {
      hit++;
      bag.set(w, n - 1);
    }
  }
  return hit / Math.max(1, ref.length);
}
