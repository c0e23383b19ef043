// Where things sit in a serialized packet index (cpp/video/index.cpp), for tests that damage it.
/**
 * Byte offsets in index `b`: `packetTable` (its 40-byte entries), `packets`, `trailer` (just past
 * the row table) and, for format 2, the side data table (`sideTable`, `sideCount`).
 */
export function indexLayout(b) {
  let pos = 8 + 18 * 4;
  pos += 4 + b.readUInt32LE(pos); // extradata
  pos += 4 * 4 + 8; // time base, frame rate, header frames
  pos += 4 + b.readUInt32LE(pos); // container name
  pos += 2; // flags
  const packets = Number(b.readBigUInt64LE(pos));
  const packetTable = pos + 8;
  pos = packetTable + packets * 40;
  const rows = Number(b.readBigUInt64LE(pos));
  const trailer = pos + 8 + rows * 4;
  const sideTable = trailer + 1 + 36 + 8;
  const sideCount = b.length >= sideTable ? Number(b.readBigUInt64LE(sideTable - 8)) : 0;
  return { packetTable, packets, trailer, sideTable, sideCount };
}
