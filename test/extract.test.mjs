// Frame extraction (CLI and vg.extractFrames) against ffprobe's counts and the ffmpeg oracle.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as vg from 'vidgraph';
import { ffprobeFrameCount, fixture, oracle } from './helpers/corpus.mjs';
import { cv } from './helpers/opencv-oracle.mjs';
import { tempDir } from './helpers/util.mjs';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'bin', 'vidgraph.js');

async function inputDir(names) {
  const dir = tempDir();
  for (const n of names) fs.copyFileSync(await fixture(n), path.join(dir, n));
  return dir;
}

const files = (dir) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /^\d{10}\.(jpg|png)$/.test(f)).sort() : []);
const name = (i, ext) => `${String(i).padStart(10, '0')}.${ext}`;

async function cli(args) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'extract-frames', ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('extract-frames', () => {
  test('a directory with an mp4 and an ogv: every frame, named by source index, counts equal ffprobe, PNG pixels exact', async () => {
    const input = await inputDir(['h264_bframes_opengop.mp4', 'theora.ogv']);
    const out = tempDir();
    const r = await cli(['--input', input, '--output-dir', out, '--format', 'png']);
    assert.equal(r.code, 0, r.stderr);
    for (const v of ['h264_bframes_opengop.mp4', 'theora.ogv']) {
      const src = path.join(input, v);
      const n = await ffprobeFrameCount(src);
      const got = files(path.join(out, v));
      assert.equal(got.length, n, v);
      assert.deepEqual(got, Array.from({ length: n }, (_, i) => name(i, 'png')), `${v}: names, the last frame included`);
      const o = await oracle(src);
      for (const i of [0, 17, n - 1]) {
        const decoded = cv("cv2.cvtColor(cv2.imread(r'" + path.join(out, v, name(i, 'png')) + "'), cv2.COLOR_BGR2RGB)", null);
        assert.ok(decoded.data.equals(o.frame(i)), `${v} frame ${i}`);
      }
    }
  });

  test('JPEG output is the JPEG OpenCV writes for the oracle frame, and close to it once decoded', async () => {
    const input = await fixture('hevc.mp4');
    const out = tempDir();
    const report = await vg.extractFrames({ input, outputDir: out, format: 'jpg', quality: 95 });
    assert.equal(report.failed, 0);
    const dir = path.join(out, 'hevc.mp4');
    assert.equal(files(dir).length, 48);
    const o = await oracle(input);
    for (const i of [3, 40]) {
      const file = path.join(dir, name(i, 'jpg'));
      const ref = o.frame(i);
      const expected = cv("cv2.imencode('.jpg', cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])", vg.Frame.from(new Uint8Array(ref), 240, 320, 3));
      assert.ok(fs.readFileSync(file).equals(expected.data), `frame ${i}: the JPEG bytes OpenCV writes for the oracle frame`);
      const decoded = cv("cv2.cvtColor(cv2.imread(r'" + file + "'), cv2.COLOR_BGR2RGB)", null);
      let sum = 0;
      for (let k = 0; k < ref.length; k++) sum += Math.abs(decoded.data[k] - ref[k]);
      assert.ok(sum / ref.length < 8, `frame ${i}: mean absolute error ${(sum / ref.length).toFixed(2)} (noisy 4:2:0 content)`);
    }
  });

  test('--fps keeps the frame nearest each 1/fps step, chosen by timestamp (variable frame rate)', async () => {
    const input = await fixture('vfr.mkv');
    const out = tempDir();
    const r = await cli(['--input', input, '--output-dir', out, '--fps', '5', '--format', 'png']);
    assert.equal(r.code, 0, r.stderr);
    // Expected from ffprobe's own frame timestamps.
    const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time', '-of', 'csv=p=0', input]);
    const times = stdout.split('\n').map((l) => Number.parseFloat(l.split(',')[0])).filter((t) => Number.isFinite(t)).sort((a, b) => a - b);
    assert.equal(times.length, 48);
    const t0 = times[0];
    const rel = times.map((t) => t - t0);
    const expected = new Set();
    for (let k = 0; k / 5 <= rel.at(-1) + 1e-9; k++) {
      let best = 0;
      rel.forEach((t, i) => { if (Math.abs(t - k / 5) < Math.abs(rel[best] - k / 5)) best = i; });
      expected.add(best);
    }
    assert.deepEqual(files(path.join(out, 'vfr.mkv')), [...expected].sort((a, b) => a - b).map((i) => name(i, 'png')));
  });

  test('--threaded writes exactly what the unthreaded run writes', async () => {
    const input = await inputDir(['h264.mkv', 'vp9.webm', 'mpeg4.avi']);
    const a = tempDir();
    const b = tempDir();
    assert.equal((await cli(['--input', input, '--output-dir', a, '--format', 'png'])).code, 0);
    assert.equal((await cli(['--input', input, '--output-dir', b, '--format', 'png', '--threaded'])).code, 0);
    for (const v of ['h264.mkv', 'vp9.webm', 'mpeg4.avi']) {
      const fa = files(path.join(a, v));
      assert.deepEqual(files(path.join(b, v)), fa, v);
      for (const f of fa) assert.ok(fs.readFileSync(path.join(a, v, f)).equals(fs.readFileSync(path.join(b, v, f))), `${v}/${f}`);
    }
  });

  test('a corrupt file among good ones is reported and the exit code is non-zero; the others complete', async () => {
    const input = await inputDir(['vp8.webm', 'not_a_video.mp4']);
    const out = tempDir();
    const r = await cli(['--input', input, '--output-dir', out]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not_a_video\.mp4: .*\(ERR_INVALID_VIDEO\)/);
    assert.equal(files(path.join(out, 'vp8.webm')).length, 48);
    const usage = await cli(['--input', input]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /required option '--output-dir <dir>' not specified/);
  });
});
