// OpenCV's own results, computed by Debian's python3-opencv (cv2), as the oracle for the
// built-in ops. `cv(expr, frame)` evaluates a Python expression over `img` (a numpy array
// of the frame) and returns { shape, dtype, data: Buffer } of the resulting array or bytes.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const PYTHON = '/usr/bin/python3';

const SCRIPT = `
import sys, json, numpy as np, cv2
meta = json.loads(sys.argv[1])
def load(m, f):
    return np.frombuffer(open(f, 'rb').read(), dtype=m['dtype']).reshape(m['shape'])
img = load(meta['a'], sys.argv[2]) if meta.get('a') else None
img2 = load(meta['b'], sys.argv[3]) if meta.get('b') else None
raw = open(sys.argv[2], 'rb').read() if meta.get('raw') else None
out = eval(meta['expr'])
if isinstance(out, tuple):
    out = out[1]
arr = np.ascontiguousarray(out)
open(sys.argv[4], 'wb').write(arr.tobytes())
print(json.dumps({'shape': list(arr.shape), 'dtype': str(arr.dtype)}))
`;

const dtypeNames = { uint8: 'uint8', uint16: 'uint16', float32: 'float32', float64: 'float64' };

function describeFrame(f) {
  return { dtype: dtypeNames[f.dtype], shape: f.channels === 1 ? [f.height, f.width] : [f.height, f.width, f.channels] };
}

/** Runs `expr` in Python with img (and img2) bound to the frames; returns the result array. */
export function cv(expr, frame, frame2, opts = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vg-cv-'));
  try {
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    const out = path.join(dir, 'out');
    const meta = { expr };
    if (opts.raw) {
      fs.writeFileSync(a, opts.raw);
      meta.raw = true;
    } else if (frame) {
      fs.writeFileSync(a, Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength));
      meta.a = describeFrame(frame);
    }
    if (frame2) {
      fs.writeFileSync(b, Buffer.from(frame2.data.buffer, frame2.data.byteOffset, frame2.data.byteLength));
      meta.b = describeFrame(frame2);
    }
    const info = JSON.parse(execFileSync(PYTHON, ['-c', SCRIPT, JSON.stringify(meta), a, b, out], { encoding: 'utf8' }));
    return { ...info, data: fs.readFileSync(out) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const MANY = `
import sys, json, numpy as np, cv2
cases = json.load(open(sys.argv[1]))
out = []
for i, c in enumerate(cases):
    m = c['a']
    img = np.frombuffer(open(sys.argv[2] + '/in%d' % i, 'rb').read(), dtype=m['dtype']).reshape(m['shape'])
    arr = np.ascontiguousarray(eval(c['expr']))
    open(sys.argv[2] + '/out%d' % i, 'wb').write(arr.tobytes())
    out.append({'shape': list(arr.shape), 'dtype': str(arr.dtype)})
print(json.dumps(out))
`;

/** cv() for many cases in one Python process: cases are { expr, frame }; returns one result each. */
export function cvMany(cases) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vg-cv-'));
  try {
    cases.forEach(({ frame }, i) => fs.writeFileSync(path.join(dir, `in${i}`), Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength)));
    const list = path.join(dir, 'cases.json');
    fs.writeFileSync(list, JSON.stringify(cases.map(({ expr, frame }) => ({ expr, a: describeFrame(frame) }))));
    const infos = JSON.parse(execFileSync(PYTHON, ['-c', MANY, list, dir], { encoding: 'utf8', maxBuffer: 1 << 24 }));
    return infos.map((info, i) => ({ ...info, data: fs.readFileSync(path.join(dir, `out${i}`)) }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
