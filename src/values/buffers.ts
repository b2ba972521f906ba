/**
 * Facts about buffers and views that their own API does not state directly on Node 20: whether a
 * buffer is detached, whether a view is out of bounds, and whether a view on a resizable buffer
 * tracks the buffer's length (`new Float64Array(rab)`) or has a fixed one.
 */

type View = ArrayBufferView & { readonly length?: number };

interface MaybeResizable {
  readonly resizable?: boolean;
  readonly maxByteLength?: number;
  readonly detached?: boolean;
  resize?(n: number): void;
}

/** True for a buffer created with `{ maxByteLength }`. */
export function isResizable(buffer: ArrayBufferLike): boolean {
  return (buffer as MaybeResizable).resizable === true;
}

export function maxByteLengthOf(buffer: ArrayBufferLike): number {
  return (buffer as MaybeResizable).maxByteLength ?? buffer.byteLength;
}

/** True once the buffer's memory was transferred (`structuredClone(b, { transfer: [b] })`). */
export function isDetached(buffer: ArrayBufferLike): boolean {
  const flag = (buffer as MaybeResizable).detached; // Node >= 22
  if (typeof flag === "boolean") return flag;
  if (buffer.byteLength !== 0) return false;
  try {
    (buffer as ArrayBuffer).slice(0, 0); // throws on a detached buffer only
    return false;
  } catch {
    return true;
  }
}

/** Why a view cannot be archived (detached or out-of-bounds buffer), or undefined. */
export function viewProblem(view: ArrayBufferView): string | undefined {
  const buffer = view.buffer;
  if (isDetached(buffer)) return "a view on a detached ArrayBuffer (its memory was transferred)";
  if (!isResizable(buffer)) return undefined;
  if (view instanceof DataView) {
    try {
      void view.byteLength; // throws when out of bounds
      return undefined;
    } catch {
      return OUT_OF_BOUNDS;
    }
  }
  // An out-of-bounds typed array reads as offset 0, length 0; so does an in-bounds empty one.
  if (view.byteOffset !== 0 || (view as View).length !== 0) return undefined;
  try {
    structuredClone(view); // refuses exactly the out-of-bounds views
    return undefined;
  } catch {
    return OUT_OF_BOUNDS;
  }
}

const OUT_OF_BOUNDS =
  "a view out of bounds of its resizable ArrayBuffer (the buffer shrank below the view)";

function lengthOf(view: View): number {
  try {
    return view instanceof DataView ? view.byteLength : view.length!;
  } catch {
    return -1; // a DataView out of bounds
  }
}

function offsetOf(view: View): number {
  try {
    return view.byteOffset;
  } catch {
    return -1;
  }
}

/**
 * True for a view on a resizable buffer made without a length, so it grows and shrinks with it.
 * Found on a structured clone (which keeps length tracking), never by resizing the user's buffer:
 * the clone's buffer is resized by one element and the clone's length watched.
 */
export function isLengthTracking(view: ArrayBufferView): boolean {
  if (!isResizable(view.buffer)) return false;
  const copy = structuredClone(view) as View;
  const buffer = copy.buffer as MaybeResizable & ArrayBuffer;
  const step = view instanceof DataView ? 1 : (view as Uint8Array).BYTES_PER_ELEMENT;
  const before = lengthOf(copy);
  if (buffer.byteLength + step <= maxByteLengthOf(buffer)) {
    buffer.resize!(buffer.byteLength + step);
    return lengthOf(copy) !== before;
  }
  if (buffer.byteLength < step || before <= 0) return false;
  const offset = offsetOf(copy);
  buffer.resize!(buffer.byteLength - step);
  // A tracking view loses one element and keeps its offset; a fixed view ending at the buffer's
  // end goes out of bounds (offset reads 0); any other fixed view is unchanged.
  return lengthOf(copy) === before - 1 && offsetOf(copy) === offset;
}

/** True when a view spans its whole (fixed-length) buffer, so it can be written by its elements. */
export function coversFixedBuffer(view: ArrayBufferView): boolean {
  return (
    view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && !isResizable(view.buffer)
  );
}
