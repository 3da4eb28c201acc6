/**
 * The safetensors format (Hugging Face's, what PyTorch users exchange weights in), written and read
 * without any dependency, on plain bytes (no node:fs: the demo page reads it in a browser too):
 *
 *   8 bytes   N, the header's length, unsigned little-endian
 *   N bytes   a JSON object: name → { dtype, shape, data_offsets: [begin, end] }, and an optional
 *             "__metadata__" of string → string; padded with spaces (we pad N to a multiple of 8, as HF does)
 *   the rest  the tensors' bytes, little-endian, row-major; offsets are relative to the rest's start
 *
 * A file is hostile until checked: every size is bounded before it is used (N ≤ a limit and ≤ the file,
 * offsets inside the data, begin ≤ end, end − begin = the shape's values × the dtype's size, the tensors
 * covering the data with no gap or overlap, as the format requires), the header is a plain JSON object
 * without a name given twice. Each check's error names the file and the tensor.
 */

/** A tensor on the host: its shape and its values (row-major). */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/** Bytes per value of every dtype the format defines (so offsets of any file can be checked). */
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
};

/** The header's length may not exceed this unless a caller says so: HF's own limit (100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;
/** More tensors than this in one file is an error (our largest model has a few hundred). */
const MAX_TENSORS = 100_000;
const MAX_DIMS = 8;
/** A tensor's value count beyond this is an error (typed arrays stop near 2^31). */
const MAX_VALUES = 2 ** 31 - 1;

/** One tensor of a checked header: offsets are absolute (from the file's start). */
export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** A checked header: every entry's offsets lie inside the file and tile its data exactly. */
export interface SafetensorsHeader {
  metadata: Record<string, string>;
  /** In the order of their data (not the header's order, which a writer may choose freely). */
  entries: SafetensorsEntry[];
  /** The data's start (8 + N) and the file's size. */
  dataStart: number;
  size: number;
}

/** The file's bytes for `tensors` (F32, in the record's order) and string metadata (HF writes {format: 'pt'}). */
export function encodeSafetensors(tensors: Record<string, HostTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = Object.keys(metadata).length ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '__metadata__') throw new Error(`a tensor cannot be named '__metadata__'`);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length)
      throw new Error(`tensor '${name}': shape [${t.shape}] holds ${n} values, its data ${t.data.length}`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * n] };
    offset += 4 * n;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20); // spaces, as HF pads
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of Object.values(tensors)) {
    const bytes = littleEndianBytes(t.data);
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function littleEndianBytes(a: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.length * 4);
  const v = new DataView(out.buffer);
  a.forEach((x, i) => v.setFloat32(4 * i, x, true));
  return out;
}

function kind(x: unknown): string {
  return x === null ? 'null' : Array.isArray(x) ? 'an array' : `a ${typeof x}`;
}

/**
 * The names of the top-level object's keys, in order, duplicates kept: JSON.parse keeps only a
 * duplicate's last value, and the format forbids duplicates. A small scanner over a text JSON.parse accepted.
 */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1) {
        let k = j + 1;
        while (/\s/.test(text[k] ?? '')) k++;
        if (text[k] === ':') keys.push(JSON.parse(text.slice(i, j + 1)) as string);
      }
      i = j;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return keys;
}

/**
 * The header of a safetensors file, from its first bytes (`head`: at least 8, and 8 + N for the whole
 * header) and the file's size, every field checked (see the module comment). `file` names it in errors.
 */
export function parseSafetensorsHeader(
  file: string,
  head: Uint8Array,
  size: number,
  maxHeaderBytes = MAX_HEADER_BYTES,
): SafetensorsHeader {
  if (size < 8 || head.length < 8)
    throw new Error(`${file} has ${size} bytes, fewer than the 8 of a safetensors header length: not a safetensors file`);
  const big = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  if (big > BigInt(maxHeaderBytes))
    throw new Error(`${file}: header length ${big} is more than the limit of ${maxHeaderBytes} bytes: not a safetensors file, or corrupt`);
  const n = Number(big);
  if (8 + n > size) throw new Error(`${file}: header length ${n} runs past the end of the file (${size} bytes): truncated or corrupt`);
  if (head.length < 8 + n) throw new Error(`${file}: only ${head.length} of the header's ${8 + n} bytes were given`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(8, 8 + n));
  } catch {
    throw new Error(`${file}: the header is not UTF-8: corrupt`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: the header is not valid JSON (${(e as Error).message.slice(0, 120)}): corrupt`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new Error(`${file}: the header is ${kind(json)}, not a JSON object`);
  const keys = topLevelKeys(text);
  const twice = keys.find((k, i) => keys.indexOf(k) !== i);
  if (twice !== undefined) throw new Error(`${file}: the header names '${twice.slice(0, 200)}' twice`);
  if (keys.length > MAX_TENSORS + 1) throw new Error(`${file}: the header lists more than ${MAX_TENSORS} tensors`);
  const h = json as Record<string, unknown>;
  const metadata = checkMetadata(file, h.__metadata__);
  const dataStart = 8 + n;
  const dataBytes = size - dataStart;
  const entries = Object.entries(h)
    .filter(([name]) => name !== '__metadata__')
    .map(([name, e]) => checkEntry(file, name, e, dataBytes, dataStart));
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = dataStart;
  for (const e of entries) {
    if (e.begin !== at)
      throw new Error(
        e.begin < at
          ? `${file}: tensor '${e.name}' (bytes ${e.begin - dataStart}–${e.end - dataStart}) overlaps another tensor's data`
          : `${file}: ${e.begin - at} bytes of data before tensor '${e.name}' belong to no tensor (a gap the format forbids)`,
      );
    at = e.end;
  }
  if (at !== size)
    throw new Error(`${file}: the tensors cover ${at - dataStart} bytes of data, but the file holds ${dataBytes}: corrupt or truncated`);
  return { metadata, entries, dataStart, size };
}

function checkMetadata(file: string, m: unknown): Record<string, string> {
  if (m === undefined) return {};
  if (typeof m !== 'object' || m === null || Array.isArray(m))
    throw new Error(`${file}: __metadata__ is ${kind(m)}, not an object of strings`);
  for (const [k, v] of Object.entries(m))
    if (typeof v !== 'string') throw new Error(`${file}: __metadata__.${k.slice(0, 80)} is ${kind(v)}, not a string`);
  return m as Record<string, string>;
}

function checkEntry(file: string, name: string, e: unknown, dataBytes: number, dataStart: number): SafetensorsEntry {
  const at = `${file}: tensor '${name.slice(0, 200)}'`;
  if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new Error(`${at} is ${kind(e)}, not {dtype, shape, data_offsets}`);
  const { dtype, shape, data_offsets: off } = e as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES))
    throw new Error(`${at}: dtype ${JSON.stringify(dtype)?.slice(0, 40)} is not a safetensors dtype`);
  if (!Array.isArray(shape) || shape.length > MAX_DIMS)
    throw new Error(`${at}: shape ${JSON.stringify(shape)?.slice(0, 80)} is not a list of at most ${MAX_DIMS} sizes`);
  let values = 1;
  for (const d of shape as unknown[]) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0 || d > MAX_VALUES)
      throw new Error(`${at}: shape [${shape.join(',')}]: ${JSON.stringify(d)} is not a whole number from 0 to ${MAX_VALUES}`);
    values *= d;
  }
  if (values > MAX_VALUES) throw new Error(`${at}: shape [${shape.join(',')}] holds ${values} values, more than ${MAX_VALUES}`);
  if (!Array.isArray(off) || off.length !== 2 || !off.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0))
    throw new Error(`${at}: data_offsets ${JSON.stringify(off)?.slice(0, 80)} is not [begin, end] of whole numbers`);
  const [begin, end] = off as [number, number];
  if (begin > end) throw new Error(`${at}: data_offsets [${begin}, ${end}] begin after they end`);
  if (end > dataBytes)
    throw new Error(`${at}: data_offsets [${begin}, ${end}] run past the data's ${dataBytes} bytes: truncated or corrupt`);
  const want = values * (DTYPE_BYTES[dtype] as number);
  if (end - begin !== want)
    throw new Error(`${at}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but ${dtype} [${shape.join(',')}] takes ${want}`);
  return { name, dtype, shape: shape as number[], begin: dataStart + begin, end: dataStart + end };
}

/** IEEE half → float. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/**
 * One tensor's values as float32, from the file's bytes (`bytes` holds at least its range). F16 and
 * BF16 widen exactly (`onNote` hears of it once per tensor); any other dtype is refused by name.
 */
export function decodeTensor(file: string, bytes: Uint8Array, e: SafetensorsEntry, onNote?: (note: string) => void): HostTensor {
  const n = e.shape.reduce((a, b) => a * b, 1);
  const raw = bytes.subarray(e.begin, e.end);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const data = new Float32Array(n);
  if (e.dtype === 'F32') {
    if (LITTLE_ENDIAN) data.set(new Float32Array(new Uint8Array(raw).buffer)); // a copy, 4-byte aligned
    else for (let i = 0; i < n; i++) data[i] = view.getFloat32(4 * i, true);
  } else if (e.dtype === 'F16' || e.dtype === 'BF16') {
    onNote?.(`note: ${file}: tensor '${e.name}' is ${e.dtype}, widened to F32 (exactly; the values keep ${e.dtype}'s precision)`);
    const bits = new Uint32Array(data.buffer);
    for (let i = 0; i < n; i++) {
      const h = view.getUint16(2 * i, true);
      if (e.dtype === 'BF16') bits[i] = h << 16;
      else data[i] = halfToFloat(h);
    }
  } else {
    throw new Error(`${file}: tensor '${e.name}' is ${e.dtype}: only F32, F16 and BF16 tensors are read`);
  }
  return { shape: [...e.shape], data };
}

/** A whole file's header and tensors (by name), from its bytes. */
export function decodeSafetensors(
  file: string,
  bytes: Uint8Array,
  onNote?: (note: string) => void,
): { metadata: Record<string, string>; tensors: Record<string, HostTensor> } {
  const h = parseSafetensorsHeader(file, bytes, bytes.length);
  const tensors: Record<string, HostTensor> = {};
  for (const e of h.entries) tensors[e.name] = decodeTensor(file, bytes, e, onNote);
  return { metadata: h.metadata, tensors };
}
