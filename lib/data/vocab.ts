/**
 * Character vocabularies: index ↔ character, with the boundary token at index 0.
 */
import { describeChar } from './files';

export const LOWERCASE = 'abcdefghijklmnopqrstuvwxyz';

/**
 * Character vocabulary. With a boundary token ('.' in the lecture) it takes index 0 and the sorted
 * characters follow, so names.txt gives 27 symbols: '.', 'a' … 'z'.
 */
export class Vocab {
  readonly itos: readonly string[];
  private readonly stoiMap: Map<string, number>;

  constructor(
    chars: Iterable<string>,
    readonly boundary: string | null = '.',
  ) {
    const sorted = [...new Set(chars)].filter((c) => c !== boundary).sort();
    this.itos = boundary === null ? sorted : [boundary, ...sorted];
    this.stoiMap = new Map(this.itos.map((c, i) => [c, i]));
  }

  /** The vocabulary of a list of words, with the boundary token at 0. */
  static fromWords(words: readonly string[], boundary: string | null = '.'): Vocab {
    const chars = new Set<string>();
    for (const w of words) for (const ch of w) chars.add(ch);
    return new Vocab(chars, boundary);
  }

  get size(): number {
    return this.itos.length;
  }

  has(ch: string): boolean {
    return this.stoiMap.has(ch);
  }

  stoi(ch: string): number {
    const i = this.stoiMap.get(ch);
    if (i === undefined)
      throw new Error(
        `character ${describeChar(ch)} is not in the vocabulary (${this.size} symbols: ${JSON.stringify(this.itos.join(''))})`,
      );
    return i;
  }

  /** Indices of every character; an unknown character is an error naming it and its position. */
  encode(text: string): number[] {
    const out: number[] = [];
    let pos = 0;
    for (const ch of text) {
      const i = this.stoiMap.get(ch);
      if (i === undefined)
        throw new Error(
          `character ${describeChar(ch)} at position ${pos} of ${JSON.stringify(text.length > 60 ? text.slice(0, 60) + '…' : text)} is not in the vocabulary`,
        );
      out.push(i);
      pos++;
    }
    return out;
  }

  decode(ids: Iterable<number>): string {
    let s = '';
    for (const i of ids) {
      const ch = this.itos[i];
      if (ch === undefined) throw new Error(`index ${i} is outside the vocabulary (size ${this.size})`);
      s += ch;
    }
    return s;
  }
}
