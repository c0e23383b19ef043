"""PyAV peer for bench/peers.mjs: exact frames by seeking to keyframes and decoding forward.

    python3 pyav_rows.py FILE THREADS SPEC [DUMP_DIR]

SPEC is JSON: {"kind": "sequential"}, {"kind": "rows", "rows": [...]} or
{"kind": "stride", "step": k}. Prints one JSON line {seconds, frames, decoded, seeks}:
seconds from after the imports to the last frame, frames returned (RGB arrays), frames the
decoder handed out. With DUMP_DIR, each returned frame is written there as <row>.rgb (for
the accuracy check, never while timing).

  sequential  decode every frame, convert each to rgb24
  stride      decode every frame, convert every k-th: PyAV's idiom for dense strides (every
              keyframe interval holds wanted rows, so seeking would skip little and restart
              the decoder 15 times)
  rows        exact seeking: a first demux pass maps each packet's pts to its presentation
              index (row) and notes the keyframes; the rows are sorted and grouped by the
              keyframe interval holding them; for each group, container.seek() to that
              keyframe (backward, keyframes only), then decode forward to the group's last
              row, converting the wanted rows to rgb24
"""
import bisect
import json
import os
import sys
import time

import av

path, threads, spec = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
dump = sys.argv[4] if len(sys.argv) > 4 else None
t0 = time.perf_counter()
container = av.open(path)
stream = container.streams.video[0]
stream.thread_type = 'AUTO'
stream.codec_context.thread_count = threads
frames = decoded = seeks = 0


def emit(row, frame):
    global frames
    rgb = frame.to_ndarray(format='rgb24')
    frames += 1
    if dump:
        with open(os.path.join(dump, f'{row}.rgb'), 'wb') as f:
            f.write(rgb.tobytes())


if spec['kind'] in ('sequential', 'stride'):
    step = spec.get('step', 1)
    for row, frame in enumerate(container.decode(stream)):
        decoded += 1
        if row % step == 0:
            emit(row, frame)
else:
    pts, key_pts = [], []
    for packet in container.demux(stream):
        if packet.pts is None:
            continue  # the demuxer's flush packet
        pts.append(packet.pts)
        if packet.is_keyframe:
            key_pts.append(packet.pts)
    pts.sort()
    row_of = {p: i for i, p in enumerate(pts)}
    key_rows = sorted(row_of[p] for p in key_pts)
    groups = {}
    for r in sorted(set(spec['rows'])):
        k = key_rows[bisect.bisect_right(key_rows, r) - 1]
        groups.setdefault(k, []).append(r)
    for k, rows in sorted(groups.items()):
        container.seek(pts[k], backward=True, any_frame=False, stream=stream)
        seeks += 1
        nxt = 0  # index in rows of the next row to return
        for frame in container.decode(stream):
            decoded += 1
            row = row_of.get(frame.pts)
            if row is None:
                raise SystemExit(f'pyav_rows: decoded a frame with unknown pts {frame.pts}')
            if row > rows[nxt]:
                raise SystemExit(f'pyav_rows: row {rows[nxt]} missed after seeking to keyframe row {k} (decoded row {row})')
            if row == rows[nxt]:
                emit(row, frame)
                nxt += 1
                if nxt == len(rows):
                    break
        if nxt < len(rows):
            raise SystemExit(f'pyav_rows: rows from {rows[nxt]} on not reached after seeking to keyframe row {k}')

print(json.dumps({'seconds': time.perf_counter() - t0, 'frames': frames, 'decoded': decoded, 'seeks': seeks}), flush=True)
# No container.close(): with frame threads, closing the codec after leaving a decode loop early
# sometimes never returns (PyAV 10 on FFmpeg 5.1: avcodec_close waits on a frame thread
# forever). The process ends here instead, which frees the same.
os._exit(0)
