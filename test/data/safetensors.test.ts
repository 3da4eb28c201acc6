// The safetensors format: bytes on disk, conversions, and every hostile-header check named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSafetensors, encodeSafetensors, parseSafetensorsHeader } from '../../lib/data/safetensors';

const F = 'x.safetensors';

/** A file from a header object and data bytes, the header padded to `pad` bytes with spaces. */
function file(header: unknown, data: Uint8Array | number, headerText?: string): Uint8Array {
  const text = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const d = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + text.length + d.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(d, 8 + text.length);
  return out;
}

test('written bytes: LE header length (a multiple of 8, space-padded), F32 entries in order, metadata, LE data', () => {
  const bytes = encodeSafetensors(
    { a: { shape: [2], data: Float32Array.of(1, -2) }, 'b.weight': { shape: [1, 1], data: Float32Array.of(0.5) } },
    { format: 'pt' },
  );
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0);
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert.deepEqual(JSON.parse(text), {
    __metadata__: { format: 'pt' },
    a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    'b.weight': { dtype: 'F32', shape: [1, 1], data_offsets: [8, 12] },
  });
  assert.match(text, /} *$/);
  assert.equal(bytes.length, 8 + n + 12);
  const v = new DataView(bytes.buffer, 8 + n);
  assert.deepEqual([v.getFloat32(0, true), v.getFloat32(4, true), v.getFloat32(8, true)], [1, -2, 0.5]);
  const back = decodeSafetensors(F, bytes);
  assert.deepEqual(back.metadata, { format: 'pt' });
  assert.deepEqual(Array.from(back.tensors.a!.data), [1, -2]);
  assert.deepEqual(back.tensors['b.weight']!.shape, [1, 1]);
});

test('any header order is read; F16 and BF16 widen to F32 with a note; I64 is refused by name', () => {
  const data = new Uint8Array(8);
  const v = new DataView(data.buffer);
  v.setUint16(0, 0x3c00, true); // F16 1.0
  v.setUint16(2, 0xc000, true); // F16 -2.0
  v.setUint16(4, 0x3f80, true); // BF16 1.0
  v.setUint16(6, 0x4040, true); // BF16 3.0
  const notes: string[] = [];
  const got = decodeSafetensors(
    F,
    file({ b: { dtype: 'BF16', shape: [2], data_offsets: [4, 8] }, h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, data),
    (n) => notes.push(n),
  );
  assert.deepEqual(Array.from(got.tensors.h!.data), [1, -2]);
  assert.deepEqual(Array.from(got.tensors.b!.data), [1, 3]);
  assert.equal(notes.length, 2);
  assert.match(notes[0]!, /x\.safetensors: tensor 'h' is F16, widened to F32/);
  assert.throws(
    () => decodeSafetensors(F, file({ n: { dtype: 'I64', shape: [], data_offsets: [0, 8] } }, 8)),
    /x\.safetensors: tensor 'n' is I64: only F32, F16 and BF16 tensors are read/,
  );
});

test('hostile headers: each refused with the check named and the file', () => {
  const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 2n ** 62n, true);
  const past = new Uint8Array(16);
  new DataView(past.buffer).setBigUint64(0, 100n, true);
  const cases: [string, Uint8Array, RegExp][] = [
    ['shorter than 8 bytes', new Uint8Array(5), /has 5 bytes, fewer than the 8/],
    ['header length past the limit', huge, /header length 4611686018427387904 is more than the limit/],
    ['header length past the end', past, /header length 100 runs past the end of the file \(16 bytes\)/],
    ['not UTF-8', file(null, 0, '{"\xff"}').map((b, i) => (i === 10 ? 0xff : b)), /the header is not UTF-8/],
    ['not JSON', file(null, 0, '{"a": '), /the header is not valid JSON/],
    ['an array', file([], 0), /the header is an array, not a JSON object/],
    ['a name twice', file(null, 8, '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}'), /names 'a' twice/],
    ['metadata not strings', file({ __metadata__: { step: 3 }, ...ok }, 8), /__metadata__\.step is a number, not a string/],
    ['entry not an object', file({ a: 3 }, 0), /tensor 'a' is a number, not \{dtype, shape, data_offsets\}/],
    ['unknown dtype', file({ a: { dtype: 'F31', shape: [2], data_offsets: [0, 8] } }, 8), /tensor 'a': dtype "F31" is not a safetensors dtype/],
    ['negative size', file({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, 8), /tensor 'a': shape \[-2\]: -2 is not a whole number/],
    ['too many values', file({ a: { dtype: 'F32', shape: [65536, 65536], data_offsets: [0, 8] } }, 8), /holds 4294967296 values, more than/],
    ['offsets not a pair', file({ a: { dtype: 'F32', shape: [2], data_offsets: [0] } }, 8), /data_offsets \[0\] is not \[begin, end\]/],
    ['begin after end', file({ a: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, 8), /data_offsets \[8, 0\] begin after they end/],
    ['end past the data', file({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8), /data_offsets \[0, 16\] run past the data's 8 bytes/],
    ['bytes not the shape', file({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), /hold 8 bytes, but F32 \[3\] takes 12/],
    [
      'overlap',
      file({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8),
      /tensor 'b' \(bytes 4–8\) overlaps another tensor's data/,
    ],
    ['gap', file({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), /4 bytes of data before tensor 'a' belong to no tensor/],
    ['bytes after the last tensor', file(ok, 12), /the tensors cover 8 bytes of data, but the file holds 12/],
  ];
  for (const [what, bytes, want] of cases) {
    assert.throws(
      () => parseSafetensorsHeader(F, bytes, bytes.length),
      (e: Error) => e.message.startsWith(F) && want.test(e.message),
      what,
    );
  }
  assert.throws(() => parseSafetensorsHeader(F, file(ok, 8), 16, 4), /header length \d+ is more than the limit of 4 bytes/);
});
