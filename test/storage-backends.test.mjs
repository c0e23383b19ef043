// One storage test suite over both backends: the posix database and the S3 database (s3rver on
// loopback). Ingest, byte-exact reads, graph outputs (element and encoded frame streams),
// list/delete/overwrite, and crash-before-commit; for S3 also how much a sparse read fetches.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import * as vg from 'vidgraph';
import { fixture, makeClip, oracle } from './helpers/corpus.mjs';
import { bytesOf, sampleRows, tempDir } from './helpers/util.mjs';

const CHILD = fileURLToPath(new URL('./children/stage-and-hang.mjs', import.meta.url));
const BUCKET = 'vgtest';

let server;
let endpoint;
before(async () => {
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: tempDir('vidgraph-s3rver-'), configureBuckets: [{ name: BUCKET }] });
  const { port } = await server.run();
  endpoint = `http://127.0.0.1:${port}`;
  // Videos in the bucket are read through the AWS environment when the database is local.
  process.env.AWS_ENDPOINT_URL_S3 = endpoint;
});
after(async () => {
  await server?.close();
});

let prefixes = 0;
const BACKENDS = {
  posix: () => ({ db: tempDir() }),
  s3: () => ({ storage: { type: 's3', bucket: BUCKET, prefix: `t${process.pid}-${++prefixes}`, endpoint } }),
};

/** Keys under the client's S3 prefix (the S3 backend), or files under its directory (posix). */
async function storedKeys(sc, under = '') {
  const db = await sc.ready();
  if (db.kind === 'posix') {
    const out = [];
    const walk = (d) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else out.push(path.relative(db.root, p));
      }
    };
    walk(path.join(db.root, under));
    return out;
  }
  const out = [];
  let token;
  do {
    const page = await db.s3.send(new ListObjectsV2Command({ Bucket: db.bucket, Prefix: `${db.prefix}/${under}`, ContinuationToken: token }));
    out.push(...(page.Contents ?? []).map((o) => o.Key.slice(db.prefix.length + 1)));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** Counts the S3 client's GET requests: key, Range header and bytes received. */
function countGets(db) {
  const gets = [];
  db.s3.middlewareStack.add((next, context) => async (args) => {
    const out = await next(args);
    if (context.commandName === 'GetObjectCommand') {
      gets.push({ key: args.input.Key, range: args.input.Range, bytes: Number(out.response.headers['content-length'] ?? 0) });
    }
    return out;
  }, { step: 'deserialize', name: 'vidgraphTestCountGets' });
  return gets;
}

function hist(px) {
  const h = [new Int32Array(16), new Int32Array(16), new Int32Array(16)];
  for (let i = 0; i < px.length; i += 3) { h[0][px[i] >> 4]++; h[1][px[i + 1] >> 4]++; h[2][px[i + 2] >> 4]++; }
  return h;
}

for (const [backend, options] of Object.entries(BACKENDS)) {
  describe(`storage backend: ${backend}`, () => {
    let file;
    let o;
    before(async () => {
      file = await makeClip('storage_gop24.mp4', { seconds: 4, fps: 24, gop: 24 });
      o = await oracle(file);
    });

    test('an ingested video reads back byte-identical to the ffmpeg CLI, in any row order', async () => {
      const sc = new vg.Client(options());
      const v = new vg.NamedVideoStream(sc, 'clip.one', { path: file });
      await v.ingest();
      assert.equal(await v.len(), o.count);
      const rows = [o.count - 1, 0, 50, 25, 26, 71];
      let k = 0;
      for await (const f of v.load({ rows })) assert.ok(bytesOf(f).equals(o.frame(rows[k])), `row ${rows[k++]}`);
      assert.equal(sc.storageType, backend);
      assert.equal(v.storage().type, backend);
      await sc.close();
    });

    test('a graph run writes an element stream and an encoded frame stream that read back', async () => {
      const sc = new vg.Client(options());
      const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'v', { path: file })]);
      const h = new vg.NamedStream(sc, 'v_hist');
      const enc = new vg.NamedVideoStream(sc, 'v_small');
      const picked = sc.streams.Range(frames, [[10, 40]]);
      const { failedJobs } = await sc.run([
        sc.io.Output(sc.ops.Histogram({ frame: picked }), [h]),
        sc.io.Output(sc.ops.Pass({ input: picked }), [enc]),
      ], vg.PerfParams.manual(8, 8), { showProgress: false });
      assert.deepEqual(failedJobs, []);
      assert.equal(await h.len(), 30);
      let k = 0;
      for await (const got of h.load({ rows: [0, 29, 7] })) {
        const r = [0, 29, 7][k++];
        assert.deepEqual(got, hist(o.frame(10 + r)), `histogram row ${r}`);
      }
      assert.equal(await enc.len(), 30);
      assert.equal((await enc.metadata()).codec, 'h264');
      k = 0;
      for await (const f of enc.load({ rows: [0, 15, 29] })) {
        const want = o.frame(10 + [0, 15, 29][k++]);
        const got = bytesOf(f);
        let diff = 0;
        for (let i = 0; i < got.length; i++) diff += Math.abs(got[i] - want[i]);
        assert.ok(diff / got.length < 8, `encoded row close to the source (mean abs diff ${(diff / got.length).toFixed(2)})`);
      }
      const names = (await sc.listStreams()).map((s) => s.name);
      assert.deepEqual(names, ['v', 'v_hist', 'v_small']);
      await sc.close();
    });

    test('list, delete, and overwrite: readers see the old stream or the new one, and old files go', async () => {
      const sc = new vg.Client(options());
      const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'src', { path: file })]);
      const h = new vg.NamedStream(sc, 'h');
      const graph = (n) => sc.io.Output(sc.ops.Histogram({ frame: sc.streams.Range(frames, [[0, n]]) }), [h]);
      await sc.run(graph(8), vg.PerfParams.manual(4, 4), { showProgress: false });
      const listed = (await sc.listStreams()).find((s) => s.name === 'h');
      assert.equal(listed.rows, 8);
      assert.ok(listed.bytes > 0);
      const before = (await storedKeys(sc, 'streams/h/')).sort();
      await assert.rejects(sc.run(graph(8), vg.PerfParams.manual(4, 4), { showProgress: false }), { code: 'ERR_EXISTS' });
      await sc.run(graph(3), vg.PerfParams.manual(4, 4), { cacheMode: vg.CacheMode.Overwrite, showProgress: false });
      assert.equal(await h.len(), 3);
      const after = (await storedKeys(sc, 'streams/h/')).sort();
      assert.equal(after.length, before.length, 'the same set of files, no leftovers of the old stream');
      if (backend === 's3') assert.ok(before.every((k) => k.endsWith('meta.json') || !after.includes(k)), 'the old attempt\'s objects are deleted');
      await h.delete();
      assert.equal(await h.exists(), false);
      assert.deepEqual(await storedKeys(sc, 'streams/h/').catch(() => []), []);
      await assert.rejects(h.delete(), { code: 'ERR_NOT_FOUND', message: /'h'/ });
      assert.deepEqual((await sc.listStreams()).map((s) => s.name), ['src']);
      await sc.close();
    });

    test('a video in a bucket ingests by copy and in place (index only, packets read by ranged GETs of the object)', async () => {
      const key = `videos/${backend}-${process.pid}/clip.mp4`;
      const uploader = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED' });
      await uploader.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: fs.readFileSync(file) }));
      uploader.destroy();
      const url = `s3://${BUCKET}/${key}`;
      const sc = new vg.Client(options());
      const copied = new vg.NamedVideoStream(sc, 'copied', { path: url });
      const inPlace = new vg.NamedVideoStream(sc, 'in_place', { path: url, inplace: true });
      await copied.ingest();
      await inPlace.ingest();
      const files = (await storedKeys(sc, 'streams/')).map((k) => k.split('/').at(-1));
      assert.equal(files.filter((f) => f === 'packets.bin').length, 1, `only the copied stream stores packets: ${files}`);
      const db = await sc.ready();
      const gets = db.kind === 's3' ? countGets(db) : undefined;
      const rows = [0, 49, 95, 24];
      for (const s of [copied, inPlace]) {
        let k = 0;
        for await (const f of s.load({ rows })) assert.ok(bytesOf(f).equals(o.frame(rows[k])), `${s.name()} row ${rows[k++]}`);
      }
      if (gets) {
        const fromVideo = gets.filter((g) => g.key === key);
        assert.ok(fromVideo.length > 0 && fromVideo.every((g) => g.range), `the in-place stream reads ranges of the video: ${JSON.stringify(fromVideo)}`);
        assert.ok(fromVideo.reduce((n, g) => n + g.bytes, 0) < fs.statSync(file).size, 'not the whole video');
      }
      await assert.rejects(new vg.NamedVideoStream(sc, 'missing', { path: `s3://${BUCKET}/videos/none.mp4` }).ingest(), { code: 'ERR_NOT_FOUND', message: /none\.mp4/ });
      await sc.close();
    });

    test('a writer killed after staging (and uploading) but before its commit leaves no visible stream, and the next open cleans up', async () => {
      const opts = options();
      const child = spawn(process.execPath, [CHILD, JSON.stringify(opts), 'crashed'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => { out += d; });
      child.stderr.on('data', (d) => { out += d; });
      const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal)));
      while (!/staged /.test(out)) {
        if (child.exitCode !== null) assert.fail(`child exited early: ${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const [, staging, attempt] = /staged (\S+) ?(\S*)/.exec(out);
      const watcher = new vg.Client(opts);
      if (backend === 's3') {
        // The upload happened: the attempt's objects are there, but nothing names them.
        const keys = await storedKeys(watcher, 'streams/crashed/');
        assert.ok(keys.length === 2 && keys.every((k) => k.includes(attempt)), `attempt objects uploaded: ${keys}`);
      }
      assert.equal(await new vg.NamedStream(watcher, 'crashed').exists(), false, 'not visible while its writer lives');
      child.kill('SIGKILL');
      assert.equal(await exited, 'SIGKILL');
      assert.ok(fs.existsSync(staging), 'the staging directory outlived its writer');
      await watcher.close();
      const sc = new vg.Client(opts);
      assert.deepEqual(await sc.listStreams(), []);
      assert.equal(await new vg.NamedStream(sc, 'crashed').exists(), false);
      assert.equal(fs.existsSync(staging), false, 'the next open removed the staging directory');
      assert.deepEqual(await storedKeys(sc, backend === 's3' ? 'streams/' : 'staging/'), [], 'nothing of the crashed writer is left');
      await sc.close();
    });
  });
}

describe('S3 writes', () => {
  test('a stream file larger than a part goes up as a multipart upload and reads back byte for byte', async () => {
    const file = await makeClip('storage_gop24.mp4', { seconds: 4, fps: 24, gop: 24 });
    const o = await oracle(file);
    process.env.VIDGRAPH_S3_PART_BYTES = String(256 * 1024);
    try {
      const sc = new vg.Client(BACKENDS.s3());
      const db = await sc.ready();
      const sent = [];
      db.s3.middlewareStack.add((next, context) => async (args) => {
        sent.push(context.commandName);
        return next(args);
      }, { step: 'initialize', name: 'vidgraphTestCountCommands' });
      const raw = new vg.NamedStream(sc, 'raw');
      const frames = sc.streams.Range(sc.io.Input([new vg.NamedVideoStream(sc, 'v', { path: file })]), [[0, 20]]);
      const { failedJobs } = await sc.run(sc.io.Output(sc.ops.Pass({ input: frames }).lossless(), [raw]), vg.PerfParams.manual(8, 8), { showProgress: false });
      assert.deepEqual(failedJobs, []);
      const bytes = o.frameSize * 20;
      const parts = sent.filter((c) => c === 'UploadPartCommand').length;
      assert.ok(parts >= Math.ceil(bytes / (256 * 1024)), `${parts} parts for ${bytes} bytes`);
      assert.ok(sent.filter((c) => c === 'CompleteMultipartUploadCommand').length >= 1, 'the raw rows (and the ingested packets) completed as multipart uploads');
      let k = 0;
      for await (const f of raw.load({ rows: [0, 7, 19] })) assert.ok(bytesOf(f).equals(o.frame([0, 7, 19][k++])), `row ${[0, 7, 19][k - 1]}`);
      await sc.close();
    } finally {
      delete process.env.VIDGRAPH_S3_PART_BYTES;
    }
  });
});

describe('S3 reads', () => {
  test('a Stride-60 read of a GOP-60 clip fetches one ranged GET per needed GOP, far fewer bytes than the packets object, never all of it', async () => {
    const file = await makeClip('storage_gop60.mp4', { seconds: 10, fps: 24, gop: 60 });
    const o = await oracle(file);
    const sc = new vg.Client(BACKENDS.s3());
    const video = new vg.NamedVideoStream(sc, 'long', { path: file });
    await video.ingest();
    const packetsKey = (await storedKeys(sc, 'streams/long/')).find((k) => k.endsWith('/packets.bin'));
    const db = await sc.ready();
    const packetBytes = (await db.s3.send(new ListObjectsV2Command({ Bucket: db.bucket, Prefix: `${db.prefix}/${packetsKey}` }))).Contents[0].Size;
    const gets = countGets(db);
    const h = new vg.NamedStream(sc, 'long_hist');
    const result = await sc.run(sc.io.Output(sc.ops.Histogram({ frame: sc.streams.Stride(sc.io.Input([video]), [60]) }), [h]), vg.PerfParams.manual(8, 8), { showProgress: false });
    assert.deepEqual(result.failedJobs, []);
    const packetGets = gets.filter((g) => g.key.endsWith('/packets.bin'));
    const fetched = packetGets.reduce((n, g) => n + g.bytes, 0);
    assert.ok(packetGets.length > 0 && packetGets.every((g) => /^bytes=\d+-\d+$/.test(g.range ?? '')), `every packet GET is ranged: ${JSON.stringify(packetGets)}`);
    assert.ok(packetGets.length <= 4, `one GET per needed GOP (4 GOPs), got ${packetGets.length}`);
    assert.ok(fetched < packetBytes / 2, `fetched ${fetched} of ${packetBytes} packet bytes`);
    let k = 0;
    for await (const got of h.load()) assert.deepEqual(got, hist(o.frame(60 * k++)), `histogram of row ${60 * (k - 1)}`);
    assert.equal(k, 4);
    await sc.close();
  });
});

describe('S3 sparse reads of the decode traps', () => {
  // Rows read through ranged GETs planned from the index must equal the CLI's frames whatever the
  // codec and the stream's quirks (B-frames and open GOPs, edit lists, no pts, palettes, intra refresh).
  for (const name of ['h264_bframes_opengop.mp4', 'hevc.mp4', 'vp9.webm', 'av1.mkv', 'editlist.mp4', 'nopts.h264', 'pal8_changes.avi', 'intra_refresh.mp4', 'extradata_change.flv']) {
    test(`${name}: random rows read from S3 equal the ffmpeg CLI's frames`, async () => {
      const file = await fixture(name);
      const o = await oracle(file);
      const sc = new vg.Client({ ...BACKENDS.s3(), logLevel: 'silent' });
      const v = new vg.NamedVideoStream(sc, 'v', { path: file });
      const n = await v.len();
      const rows = [...new Set([...sampleRows(n, Math.min(10, n), 11), n - 1])];
      let k = 0;
      for await (const f of v.load({ rows })) assert.ok(bytesOf(f).equals(o.frame(rows[k])), `row ${rows[k++]}`);
      await sc.close();
    });
  }
});

describe('S3 errors', () => {
  test('a missing bucket is ERR_NOT_FOUND naming it; refused credentials are ERR_BAD_ARGUMENT and never show the secret', async () => {
    const missing = new vg.Client({ storage: { type: 's3', bucket: 'no-such-bucket', endpoint } });
    await assert.rejects(missing.listStreams(), { code: 'ERR_NOT_FOUND', message: /bucket 'no-such-bucket' does not exist/ });
    await missing.close();
    const secret = 'not-the-right-secret-1234';
    const saved = { ...process.env };
    process.env.AWS_ACCESS_KEY_ID = 'WRONGKEY';
    process.env.AWS_SECRET_ACCESS_KEY = secret;
    try {
      const refused = new vg.Client({ storage: { type: 's3', bucket: BUCKET, endpoint } });
      const err = await refused.listStreams().then(() => undefined, (e) => e);
      assert.ok(err instanceof vg.VidgraphError, `a VidgraphError, got ${err}`);
      assert.equal(err.code, 'ERR_BAD_ARGUMENT', err.message);
      assert.match(err.message, /s3:\/\/vgtest/);
      assert.ok(!err.message.includes(secret), 'the secret is not in the message');
      await refused.close();
    } finally {
      process.env.AWS_ACCESS_KEY_ID = saved.AWS_ACCESS_KEY_ID;
      process.env.AWS_SECRET_ACCESS_KEY = saved.AWS_SECRET_ACCESS_KEY;
    }
  });
});

async function collect(iterable) {
  const out = [];
  for await (const v of iterable) out.push(v);
  return out;
}

describe('FilesStream', () => {
  test('files on local disk and in a bucket are one row each (their bytes), through a graph run and load()', async () => {
    const local = tempDir();
    const contents = [Buffer.from('first file'), Buffer.alloc(70000, 7), Buffer.from([0, 1, 2])];
    contents.forEach((c, i) => fs.writeFileSync(path.join(local, `f${i}.bin`), c));
    const uploader = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED' });
    for (const [i, c] of contents.entries()) await uploader.send(new PutObjectCommand({ Bucket: BUCKET, Key: `files-${process.pid}/f${i}.bin`, Body: c }));
    uploader.destroy();
    const sc = new vg.Client({ db: tempDir() });
    const paths = ['f0.bin', 'f1.bin', 'f2.bin'];
    const streams = [
      new vg.FilesStream(sc, { paths, storage: new vg.FilesStorage({ type: 'posix', prefix: local }) }),
      new vg.FilesStream(sc, { paths, storage: new vg.FilesStorage({ type: 's3', bucket: BUCKET, prefix: `files-${process.pid}`, endpoint }) }),
    ];
    const outs = [new vg.NamedStream(sc, 'from_disk'), new vg.NamedStream(sc, 'from_bucket')];
    const { failedJobs } = await sc.run(sc.io.Output(sc.ops.Pass({ input: sc.io.Input(streams) }), outs), vg.PerfParams.manual(2, 2), { showProgress: false });
    assert.deepEqual(failedJobs, []);
    for (const [j, out] of outs.entries()) {
      let k = 0;
      for await (const got of out.load()) assert.ok(Buffer.from(got).equals(contents[k++]), `${out.name()} row ${k - 1}`);
      assert.equal(k, 3);
      const [last] = await collect(streams[j].load({ rows: [2] }));
      assert.ok(Buffer.from(last).equals(contents[2]));
    }
    const missing = new vg.FilesStream(sc, { paths: ['nope.bin'], storage: new vg.FilesStorage({ type: 's3', bucket: BUCKET, endpoint }) });
    await assert.rejects(collect(missing.load()), { code: 'ERR_NOT_FOUND', message: /s3:\/\/vgtest\/nope\.bin/ });
    assert.throws(() => new vg.FilesStorage({ type: 's3' }), { code: 'ERR_BAD_ARGUMENT', message: /bucket/ });
    await sc.close();
  });
});
