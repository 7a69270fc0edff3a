import type { Diagnostic } from '../errors.js';
import { LineCounter, parseDocument, isMap, isSeq, isPair, isScalar, type Document, type Node } from 'yaml';

/** A parsed YAML file that can turn a path inside it into `file:line:col`. */
export class YamlSource {
  readonly doc: Document;
  private readonly lines = new LineCounter();

  constructor(readonly file: string, text: string) {
    this.doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: false });
  }

  syntaxErrors(): Diagnostic[] {
    return this.doc.errors.map((e) => ({ where: this.at(e.pos[0]), message: e.message.split('\n')[0] }));
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
