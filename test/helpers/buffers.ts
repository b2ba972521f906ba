/** Buffer helpers shared by the value tests. */

/** Resizable buffers (ES2024), typed here because the project's `lib` setting predates them. */
export type Rab = ArrayBuffer & {
  resizable: boolean;
  maxByteLength: number;
  resize(n: number): void;
};

/** `new ArrayBuffer(n, { maxByteLength: max })`. */
export const resizableBuffer = (n: number, max: number): Rab =>
  new (ArrayBuffer as unknown as new (n: number, o: object) => Rab)(n, { maxByteLength: max });

/** Every TypedArray class an archive can hold. */
export const TYPED_ARRAY_CLASSES = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
] as const;
