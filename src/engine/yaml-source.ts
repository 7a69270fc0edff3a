import type { Diagnostic } from '../errors.js';
import { firstLine } from '../util/text.js';
import { LineCounter, parseDocument, isMap, isSeq, isPair, isScalar, visit, type Document, type Node } from 'yaml';

/** A parsed YAML file that can turn a path inside it into `file:line:col`. */
export class YamlSource {
  readonly doc: Document;
  private readonly lines = new LineCounter();

  constructor(readonly file: string, text: string) {
    // The yaml library's own unique-key check compares every key with every other (quadratic in a
    // 100,000-stage file); duplicateKeys() does the same check with a set.
    this.doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: false, prettyErrors: false });
  }

  syntaxErrors(): Diagnostic[] {
    const errors = this.doc.errors.map((e) => ({ offset: e.pos[0], message: firstLine(e.message) }));
    return [...errors, ...this.duplicateKeys()].sort((a, b) => a.offset - b.offset).map((e) => ({ where: this.at(e.offset), message: e.message }));
  }

  private duplicateKeys(): { offset: number; message: string }[] {
    const found: { offset: number; message: string }[] = [];
    visit(this.doc, {
      Map(_, map) {
        const seen = new Set<unknown>();
        for (const pair of map.items) {
          if (!isScalar(pair.key)) continue;
          if (seen.has(pair.key.value)) found.push({ offset: pair.key.range?.[0] ?? 0, message: 'Map keys must be unique' });
          seen.add(pair.key.value);
        }
      },
    });
    return found;
  }

  at(offset: number): string {
    const { line, col } = this.lines.linePos(offset);
    return `${this.file}:${line}:${col}`;
  }

  /**
   * Location of the node at `path`, or of its nearest existing ancestor.
   * With `key`, the location of the mapping key rather than its value.
   */
  locate(path: readonly (string | number)[], key = false): string {
    let node: unknown = this.doc.contents;
    let best: number = rangeStart(node) ?? 0;
    for (let i = 0; i < path.length; i++) {
      const segment = path[i];
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
        if (!pair) break;
        const keyStart = rangeStart(pair.key);
        if (key && i === path.length - 1 && keyStart !== undefined) return this.at(keyStart);
        node = pair.value;
        best = rangeStart(node) ?? keyStart ?? best;
      } else if (isSeq(node)) {
        node = node.items[Number(segment)];
        best = rangeStart(node) ?? best;
      } else break;
    }
    return this.at(best);
  }
}

function rangeStart(node: unknown): number | undefined {
  return (node as Node | undefined)?.range?.[0];
}
