"""OpenCV peer for bench/peers.mjs: cv2.VideoCapture (FFmpeg backend).

    python3 opencv_rows.py FILE THREADS SPEC [DUMP_DIR]

SPEC is JSON: {"kind": "sequential"}, {"kind": "rows", "rows": [...]} or
{"kind": "stride", "step": k}. Prints one JSON line {seconds, frames, decoded, seeks}: seconds
from after the imports to the last frame, frames returned (BGR arrays, OpenCV's native order),
decoded = null (OpenCV does not say how many frames its decoder produced). With DUMP_DIR, each
returned frame is written there as <row>.rgb, converted to RGB (for the accuracy check only).

  sequential  read() until the end
  rows        for each row in ascending order: cap.set(CAP_PROP_POS_FRAMES, row), then read()
  stride      grab() every frame and retrieve() every k-th: OpenCV's own idiom for strided
              reading (seeking every k-th frame with CAP_PROP_POS_FRAMES would decode each
              keyframe interval again for every row)

THREADS is recorded but OpenCV 4.6 (Debian 12) has no CAP_PROP_N_THREADS: its FFmpeg backend
decodes with one thread per CPU, which is the benchmark's default thread count.
"""
import json
import os
import sys
import time

import cv2

path, threads, spec = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
dump = sys.argv[4] if len(sys.argv) > 4 else None
t0 = time.perf_counter()
cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
if not cap.isOpened():
    raise SystemExit(f'opencv_rows: cannot open {path}')
frames = seeks = 0


def emit(row, image):
    global frames
    frames += 1
    if dump:
        with open(os.path.join(dump, f'{row}.rgb'), 'wb') as f:
            f.write(cv2.cvtColor(image, cv2.COLOR_BGR2RGB).tobytes())


kind = spec['kind']
if kind == 'sequential':
    row = 0
    while True:
        ok, image = cap.read()
        if not ok:
            break
        emit(row, image)
        row += 1
elif kind == 'stride':
    row = 0
    while cap.grab():
        if row % spec['step'] == 0:
            ok, image = cap.retrieve()
            if not ok:
                raise SystemExit(f'opencv_rows: retrieve() failed at row {row}')
            emit(row, image)
        row += 1
else:
    for row in sorted(set(spec['rows'])):
        cap.set(cv2.CAP_PROP_POS_FRAMES, row)
        seeks += 1
        ok, image = cap.read()
        if not ok:
            raise SystemExit(f'opencv_rows: read() after seeking to row {row} failed')
        emit(row, image)

cap.release()
print(json.dumps({'seconds': time.perf_counter() - t0, 'frames': frames, 'decoded': None, 'seeks': seeks}))
