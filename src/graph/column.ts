/**
 * An append-only column of values kept in fixed-size chunks, joined into one array once at the
 * end. The graph walk appends a few values per object it meets; profiled on 100k records, growing
 * single big arrays by push() (each growth copies a large array, with a write barrier per
 * element) was a third of the walk.
 */

const BITS = 10;
const SIZE = 1 << BITS;
const MASK = SIZE - 1;

export class Column<T> {
  /**
   * The first chunk grows by appending (most graphs are small: a sized 1,024-slot array per
   * column made each walk of a one-array DataSet item twice as slow); later ones are sized.
   */
  private readonly chunks: T[][] = [[]];
  private chunk: T[] = this.chunks[0] as T[];
  /** Values appended (and not truncated). */
  length = 0;

  push(value: T): void {
    const at = this.length & MASK;
    if (at === 0 && this.length > 0) {
      this.chunk = new Array<T>(SIZE);
      this.chunks.push(this.chunk);
    }
    this.chunk[at] = value;
    this.length++;
  }

  get(i: number): T {
    return (this.chunks[i >>> BITS] as T[])[i & MASK] as T;
  }

  set(i: number, value: T): void {
    (this.chunks[i >>> BITS] as T[])[i & MASK] = value;
  }

  /** Drops the values from `length` on. */
  truncate(length: number): void {
    this.length = length;
    this.chunks.length = Math.max(1, Math.ceil(length / SIZE));
    this.chunk = this.chunks[this.chunks.length - 1] as T[];
  }

  /** The values as one array (one native concat of the chunks). */
  toArray(): T[] {
    const last = this.chunks.length - 1;
    const tail = (this.chunks[last] as T[]).slice(0, this.length - last * SIZE);
    if (last === 0) return tail;
    return ([] as T[]).concat(...this.chunks.slice(0, last), tail);
  }
}
