// Every corpus video, through every read path, against the ffmpeg CLI's own decode:
// frame counts equal ffprobe -count_frames and pixels are byte-identical to
// `ffmpeg -i IN -map 0:v:0 -fps_mode passthrough -pix_fmt rgb24 -f rawvideo -`.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import * as vg from 'vidgraph';
import { allFixtures, ffprobeFrameCount, makeClip, oracle, scaledOracle } from './helpers/corpus.mjs';
import { assertSameFrame, sampleRows, tempDir } from './helpers/util.mjs';

const fixtures = await allFixtures();
const videos = fixtures.filter((f) => !f.bad && !f.name.startsWith('truncated'));
const dbDir = tempDir();
const sc = new vg.Client({ db: dbDir });
const storedPackets = (name) => path.join(dbDir, 'streams', encodeURIComponent(name).replace(/\./g, '%2E'), 'packets.bin');

describe('frame counts come from the scan and equal ffprobe -count_frames', () => {
  for (const f of videos) {
    test(f.name, async () => {
      const stream = new vg.NamedVideoStream(sc, `count-${f.name}`, { path: f.path });
      assert.equal(await stream.len(), await ffprobeFrameCount(f.path));
    });
  }
});

for (const mode of ['copy', 'inplace']) {
  describe(`load({ rows }) is byte-identical to the ffmpeg rgb24 oracle (${mode} ingest)`, () => {
    for (const f of videos) {
      if (mode === 'inplace' && !f.inplace) continue;
      test(f.name, async () => {
        const o = await oracle(f.path);
        const stream = new vg.NamedVideoStream(sc, `${mode}-${f.name}`, { path: f.path, inplace: mode === 'inplace' });
        await stream.ingest();
        // In place means no packet copy in the database: frames come from the original file.
        assert.equal(fs.existsSync(storedPackets(`${mode}-${f.name}`)), mode === 'copy');
        const meta = await stream.metadata();
        assert.equal(meta.frames, o.count);
        assert.equal(meta.width, o.width);
        assert.equal(meta.height, o.height);
        const rows = sampleRows(o.count, 10, 1234);
        let i = 0;
        for await (const frame of stream.load({ rows })) {
          assert.equal(frame.width, o.width);
          assert.equal(frame.height, o.height);
          assertSameFrame(frame, o.frame(rows[i]), `row ${rows[i]}`);
          i++;
        }
        assert.equal(i, rows.length);
      });
    }
  });
}

describe('VideoReader.frames() is byte-identical to the ffmpeg rgb24 oracle', () => {
  for (const f of videos) {
    test(f.name, async () => {
      const o = await oracle(f.path);
      const reader = await vg.VideoReader.open(f.path);
      try {
        assert.equal(reader.frameCount, o.count);
        const rows = sampleRows(o.count, 10, 99);
        const frames = await reader.frames(rows);
        assert.deepEqual(frames.map((x) => x.index), rows);
        frames.forEach((x, k) => assertSameFrame(x.image, o.frame(rows[k]), `frame ${rows[k]}`));
      } finally {
        await reader.close();
      }
    });
  }
});

describe('a full sequential read equals the oracle frame for frame', () => {
  for (const name of ['h264_bframes_opengop.mp4', 'hevc.mp4', 'editlist.mp4', 'vfr.mkv', 'nopts.h264', 'theora.ogv', 'av1.mkv', 'vp9.webm',
    'rotated90.mp4', 'pal8_smc.mov', 'pal8_changes.avi', 'extradata_change.flv']) {
    test(name, async () => {
      const f = fixtures.find((x) => x.name === name);
      const o = await oracle(f.path);
      const reader = await vg.VideoReader.open(f.path, { cacheBytes: 0 });
      try {
        let i = 0;
        for await (const x of reader.iterFrames()) {
          assert.equal(x.index, i);
          assertSameFrame(x.image, o.frame(i), `frame ${i}`);
          i++;
        }
        assert.equal(i, o.count, 'every frame, the last one included, and no stale repeat');
        // Drained at the end and read again from the middle: still exact.
        const again = await reader.frame(Math.floor(o.count / 2));
        assertSameFrame(again.image, o.frame(Math.floor(o.count / 2)), 'frame after the drain');
      } finally {
        await reader.close();
      }
    });
  }
});

describe('every row requested alone, in shuffled order, is exact (open GOP leading pictures, reorder, edit lists, rotation, palettes)', () => {
  for (const name of ['h264_bframes_opengop.mp4', 'hevc.mp4', 'editlist.mp4', 'h264.ts', 'vp9.webm', 'nopts.h264',
    'rotated90.mp4', 'rotated270.mp4', 'pal8_smc.mov', 'pal8_changes.avi', 'extradata_change.flv']) {
    test(name, async () => {
      const f = fixtures.find((x) => x.file === name);
      const o = await oracle(f.path);
      const reader = await vg.VideoReader.open(f.path, { cacheBytes: 0 });
      try {
        const backwards = [...Array(o.count).keys()].reverse();
        const shuffled = sampleRows(o.count, o.count, 3); // seeded, with repeats
        for (const row of [...shuffled, ...backwards]) {
          const x = await reader.frame(row);
          assertSameFrame(x.image, o.frame(row), `frame ${row}`);
        }
      } finally {
        await reader.close();
      }
    });
  }
});

describe('truncated videos: every intact frame decodes, damaged rows reject with ERR_DECODE', () => {
  for (const name of ['truncated.mp4', 'truncated.ts']) {
    test(name, async () => {
      const f = fixtures.find((x) => x.file === name);
      const o = await oracle(f.path);
      const stream = new vg.NamedVideoStream(sc, `damaged-${name}`, { path: f.path });
      const n = await stream.len();
      const reader = await vg.VideoReader.open(f.path);
      let missing = 0; // rows whose packet the codec could not turn into a frame (the CLI shows none either)
      let damaged = 0;
      try {
        for (let row = 0; row < n; row++) {
          try {
            const x = await reader.frame(row);
            assertSameFrame(x.image, o.frame(row - missing), `frame ${row}`);
          } catch (err) {
            assert.ok(err instanceof vg.DecodeError, `frame ${row}: ${err}`);
            assert.equal(err.code, 'ERR_DECODE');
            assert.deepEqual(err.rows, [row]);
            assert.match(err.message, new RegExp(`row\\(s\\) ${row}:`));
            damaged++;
            if (/no frame/.test(err.message)) missing++;
          }
        }
      } finally {
        await reader.close();
      }
      // Rows that decoded (intact, or decoded with errors) are exactly the frames ffprobe counts.
      assert.equal(n - missing, await ffprobeFrameCount(f.path));
      if (name === 'truncated.mp4') {
        // Its last sample is cut short: the ingest marks it damaged and loading it fails.
        assert.ok(damaged >= 1);
        await assert.rejects(async () => { for await (const _ of stream.load({ rows: [0, n - 1] })); }, { code: 'ERR_DECODE', rows: [n - 1] });
      }
    });
  }
});

describe('other pixel formats and scaled output are exact too', () => {
  for (const [name, opts] of [
    ['yuv444p.mp4', { codec: 'libx264', pixFmt: 'yuv444p' }],
    ['yuv420p10.mkv', { codec: 'libx264', pixFmt: 'yuv420p10le' }],
    ['yuv422p.mkv', { codec: 'libx264', pixFmt: 'yuv422p' }],
    ['bt709.mp4', { codec: 'libx264', extraArgs: ['-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709'] }],
    ['fullrange.mp4', { codec: 'libx264', pixFmt: 'yuvj420p' }],
  ]) {
    test(name, async () => {
      const file = await makeClip(name, { width: 176, height: 144, seconds: 1, fps: 12, gop: 6, ...opts });
      const o = await oracle(file);
      const reader = await vg.VideoReader.open(file);
      try {
        const rows = sampleRows(o.count, 4, 5);
        (await reader.frames(rows)).forEach((x, k) => assertSameFrame(x.image, o.frame(rows[k]), `frame ${rows[k]}`));
      } finally {
        await reader.close();
      }
    });
  }

  test('maxSize output equals ffmpeg scale with force_original_aspect_ratio=decrease', async () => {
    const f = fixtures.find((x) => x.file === 'hevc.mp4');
    const raw = await scaledOracle(f.path, [160, 100]);
    const reader = await vg.VideoReader.open(f.path, { maxSize: [160, 100] });
    try {
      assert.deepEqual([reader.width, reader.height], [133, 100]);
      const size = 133 * 100 * 3;
      assert.equal(raw.length, size * reader.frameCount);
      for (const x of await reader.frames([0, 17, 47])) {
        assertSameFrame(x.image, raw.subarray(x.index * size, (x.index + 1) * size), `scaled frame ${x.index}`);
      }
    } finally {
      await reader.close();
    }
  });
});
