/**
 * pgvector's binary wire form of a `vector` (its typreceive, vector_recv): int16 dimensions,
 * int16 zero, then each element as a big-endian float4. node-postgres sends a Buffer parameter
 * in binary format, so a 3072-d query vector travels as 12 KB the server copies, instead of
 * about 30 KB of decimal text the client prints and the server parses on every query.
 */
export function vectorBinary(v: ArrayLike<number>): Buffer {
  if (v.length > 16_000)
    throw new RangeError(`a vector has at most 16000 dimensions, not ${String(v.length)}`);
  const buf = Buffer.allocUnsafe(4 + 4 * v.length);
  buf.writeInt16BE(v.length, 0);
  buf.writeInt16BE(0, 2);
  for (let i = 0; i < v.length; i++) buf.writeFloatBE(v[i] ?? 0, 4 + 4 * i);
  return buf;
}

/**
 * pgvector's binary_quantize(v) computed here, in `bit`'s binary wire form (varbit_recv: int32
 * length in bits, then the bits, most significant first): bit i is set when element i > 0.
 * Sent as a parameter, the quantised query is a constant in every plan; written as
 * binary_quantize($n) in a prepared statement's generic plan, it would be recomputed for every
 * row scanned.
 */
export function binaryQuantized(v: ArrayLike<number>): Buffer {
  const bytes = Math.ceil(v.length / 8);
  const buf = Buffer.alloc(4 + bytes);
  buf.writeInt32BE(v.length, 0);
  for (let i = 0; i < v.length; i++)
    if ((v[i] ?? 0) > 0) buf[4 + (i >> 3)] = (buf[4 + (i >> 3)] ?? 0) | (0x80 >> (i & 7));
  return buf;
}
