// Distributed runs (issue 12): a real Redis on loopback, three `vidgraph worker` processes and a
// Client with `cluster` run a multi-video graph (sampling, a stencil op, a worker-pool TypeScript
// op, encoded and element outputs). The stored outputs are byte-identical to the same graph run
// on one machine; a worker SIGKILLed mid-run has its task taken over by another (BullMQ's stalled-
// job detection) with no row lost or duplicated; a damaged input fails its job alone after 3
// attempts, naming the worker.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import * as vg from 'vidgraph';
import { build as buildGraph } from './children/cluster-graph.mjs';
import { makeClip } from './helpers/corpus.mjs';
import { haveRedis, startProcess as start, startRedis } from './helpers/processes.mjs';
import { tempDir } from './helpers/util.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LOCK_MS = 2000;


describe('distributed runs on BullMQ and Redis', { skip: haveRedis ? false : 'redis-server is not installed (bash scripts/bootstrap installs it)' }, () => {
  let redis;
  let url;
  const workers = [];
  const videos = [];

  before(async () => {
    redis = await startRedis();
    url = redis.url;
    for (let i = 0; i < 3; i++) videos.push(await makeClip(`dist-${i}.mp4`, { width: 160 + 32 * i, height: 120, seconds: 2, fps: 24, gop: 12, extraArgs: ['-bf', '2'] }));
  });
  after(() => {
    for (const w of workers) w.child.kill('SIGKILL');
    redis?.child.kill('SIGKILL');
  });

  const startWorkers = async (db, queue, n = 3, env = undefined) => {
    const started = [];
    for (let i = 0; i < n; i++) {
      const w = await start(process.execPath, [path.join(ROOT, 'bin', 'vidgraph.js'), 'worker', '--redis', url, '--db', db, '--queue', queue, '--lock-duration', String(LOCK_MS), '--threads', '1'], /ready on queue/, { what: `worker ${i}`, cwd: ROOT, env });
      workers.push(w);
      started.push(w);
    }
    return started;
  };

  const build = (sc, slowMs = 0) => buildGraph(sc, videos, slowMs);

  /** Every file of every output stream, by stream and file name (metadata aside). */
  const storedFiles = (db) => {
    const out = {};
    for (const dir of fs.readdirSync(path.join(db, 'streams'))) {
      if (/^v\d$/.test(dir)) continue;
      for (const f of fs.readdirSync(path.join(db, 'streams', dir))) {
        if (f !== 'meta.json') out[`${dir}/${f}`] = fs.readFileSync(path.join(db, 'streams', dir, f)).toString('base64');
      }
    }
    return out;
  };

  /** The graph run on one machine (no cluster): the reference every distributed run must equal. */
  const oneMachineRun = async (perf, slowMs = 0) => {
    const localDb = tempDir();
    const local = new vg.Client({ db: localDb, threads: 1 });
    await local.run(build(local, slowMs), perf, { showProgress: false, throwOnFailure: true });
    await local.close();
    return localDb;
  };

  /** The same output streams, each stored file byte for byte. */
  const assertSameFiles = (referenceDb, db, what) => {
    const [want, got] = [storedFiles(referenceDb), storedFiles(db)];
    assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
    for (const k of Object.keys(want)) assert.ok(got[k] === want[k], `${k}: ${what}`);
    return want;
  };

  test('three workers write outputs byte-identical to the same graph run on one machine, each job split in row-range tasks and merged', async () => {
    const localDb = await oneMachineRun(vg.PerfParams.manual(4, 8));
    const db = tempDir();
    await startWorkers(db, 'identical');
    const sc = new vg.Client({ db, cluster: { redis: url, queue: 'identical' }, threads: 1 });
    const listed = JSON.parse(spawnSync(process.execPath, [path.join(ROOT, 'bin', 'vidgraph.js'), 'workers', '--redis', url, '--queue', 'identical', '--json'], { encoding: 'utf8' }).stdout);
    assert.deepEqual(listed.map((w) => w.name).sort(), workers.slice(-3).map((w) => /worker (\S+): ready/.exec(w.output())[1]).sort(), 'vidgraph workers lists the three');
    assert.ok(listed.every((w) => Array.isArray(w.tasks) && w.tasks.length === 0), 'idle before the run');
    const seen = [];
    // Tasks of 4 io packets (16 rows), rounded up to whole keyframe intervals of the encoded
    // output (6): rows 0-17 and 18-23 of every output, then a merge, for each of the 3 jobs.
    const result = await sc.run(build(sc), vg.PerfParams.manual(2, 4), { showProgress: false, throwOnFailure: true, onProgress: (p) => seen.push({ ...p }) });
    assert.equal(seen.at(-1).workers, 3, 'progress counts the live workers');
    assert.equal(seen.at(-1).jobsDone, 3, 'progress counts the jobs done');
    assert.equal(seen.at(-1).tasks, 9, 'two row tasks and a merge per job');
    assert.equal(seen.at(-1).tasksDone, 9);
    const logs = workers.slice(-3).map((w) => w.output()).join('\n');
    for (const j of [0, 1, 2]) {
      assert.match(logs, new RegExp(`\\(job 'v${j}', rows 0-17\\) started`));
      assert.match(logs, new RegExp(`\\(job 'v${j}', rows 18-23\\) started`));
      assert.match(logs, new RegExp(`\\(job 'v${j}', merge of 2 parts\\) started`));
    }
    await sc.close();
    assert.deepEqual(result.failedJobs, []);
    assert.ok(result.stats.rowsWritten > 0 && result.stats.framesDecoded > 0);
    assert.equal(seen.at(-1).done, seen.at(-1).total, 'progress reaches the total');
    const mine = assertSameFiles(localDb, db, 'differs from the one-machine run');
    assert.ok(Object.keys(mine).some((k) => k.endsWith('packets.bin')), 'an encoded output is compared');
    assert.equal(fs.readdirSync(path.join(db, 'staging')).length, 0, 'nothing left in staging');
  });

  test('a worker SIGKILLed mid-task: another worker takes the task over, no row lost or duplicated', async () => {
    const localDb = await oneMachineRun(vg.PerfParams.manual(1, 1));
    const db = tempDir();
    const started = await startWorkers(db, 'kill');
    const sc = new vg.Client({ db, cluster: { redis: url, queue: 'kill' }, threads: 1 });
    let killed;
    const t0 = Date.now();
    const running = sc.run(build(sc, 400), vg.PerfParams.manual(1, 1), {
      showProgress: false, throwOnFailure: true,
      onProgress: () => {
        if (killed) return;
        killed = started.find((w) => /task \S+ \(job '\S+', rows [^)]*\) started/.test(w.output()));
        killed?.child.kill('SIGKILL');
      },
    });
    const result = await running;
    await sc.close();
    assert.ok(killed, 'a worker was killed mid-task');
    assert.deepEqual(result.failedJobs, []);
    const others = started.filter((w) => w !== killed).map((w) => w.output()).join('\n');
    // The tasks it had started and not finished: each finished by another worker.
    const startedThere = [...killed.output().matchAll(/task (\S+) \(job '\S+', rows [^)]*\) started/g)].map((m) => m[1]);
    const unfinished = startedThere.filter((t) => !new RegExp(`task ${t} \\(job '\\S+'\\) done`).test(killed.output()));
    assert.ok(unfinished.length > 0, 'it was killed mid-task');
    for (const t of unfinished) assert.match(others, new RegExp(`task ${t} \\(job '\\S+'\\) done`), `another worker finished task ${t}`);
    assertSameFiles(localDb, db, 'rows lost, duplicated or changed');
    assert.ok(Date.now() - t0 < 60000);
  });

  test('Redis restarted mid-run (its queue lost): the client adds the lost tasks again; outputs neither lost nor duplicated', async () => {
    const localDb = await oneMachineRun(vg.PerfParams.manual(1, 1));
    let own = await startRedis();
    const ownUrl = own.url;
    const redisArgs = own.args;
    const db = tempDir();
    const mine = [];
    try {
      for (let i = 0; i < 2; i++) {
        mine.push(await start(process.execPath, [path.join(ROOT, 'bin', 'vidgraph.js'), 'worker', '--redis', ownUrl, '--db', db, '--lock-duration', String(LOCK_MS), '--threads', '1'], /ready on queue/, { what: `worker ${i}`, cwd: ROOT }));
      }
      const sc = new vg.Client({ db, cluster: { redis: ownUrl }, threads: 1 });
      let restarted;
      const result = await sc.run(build(sc, 300), vg.PerfParams.manual(1, 1), {
        showProgress: false, throwOnFailure: true,
        onProgress: (p) => {
          if (restarted || p.done === 0) return;
          own.child.kill('SIGKILL');
          restarted = new Promise((r) => setTimeout(r, 300)).then(() => start('redis-server', redisArgs, /Ready to accept connections/, { what: 'redis-server again' })).then((r) => { own = r; });
        },
      });
      await restarted;
      await sc.close();
      assert.ok(restarted, 'Redis was restarted mid-run');
      assert.deepEqual(result.failedJobs, []);
      assertSameFiles(localDb, db, 'rows lost, duplicated or changed');
    } finally {
      for (const w of mine) w.child.kill('SIGKILL');
      own.child.kill('SIGKILL');
    }
  });

  test('on S3: three workers and the client share an s3:// database; every stored file equals the one-machine run\'s, and the merged tasks\' parts are removed', async () => {
    const s3dir = tempDir('vidgraph-s3rver-');
    const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3dir, configureBuckets: [{ name: 'vgcluster' }] });
    const { port } = await server.run();
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`, AWS_REGION: 'us-east-1' });
    const mine = [];
    try {
      const localDb = await oneMachineRun(vg.PerfParams.manual(4, 8));
      const local = new vg.Client({ db: localDb });
      const db = 's3://vgcluster/run1';
      for (let i = 0; i < 3; i++) {
        mine.push(await start(process.execPath, [path.join(ROOT, 'bin', 'vidgraph.js'), 'worker', '--redis', url, '--db', db, '--queue', 's3', '--lock-duration', String(LOCK_MS), '--threads', '1'], /ready on queue/, { what: `s3 worker ${i}`, cwd: ROOT }));
      }
      const sc = new vg.Client({ db, cluster: { redis: url, queue: 's3' }, threads: 1 });
      let tasks = 0;
      const result = await sc.run(build(sc), vg.PerfParams.manual(2, 4), { showProgress: false, throwOnFailure: true, onProgress: (p) => { tasks = p.tasks; } });
      assert.deepEqual(result.failedJobs, []);
      assert.equal(tasks, 9, 'two row tasks and a merge per job');
      // One attempt per stream is left in the bucket: the parts the merges joined are gone.
      const s3 = new S3Client({ forcePathStyle: true });
      const keys = [];
      for (let token; ;) {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: 'vgcluster', Prefix: 'run1/streams/', ContinuationToken: token }));
        keys.push(...(page.Contents ?? []).map((o) => o.Key));
        if (!page.IsTruncated) break;
        token = page.NextContinuationToken;
      }
      const attempts = new Map();
      for (const k of keys) {
        const [, , stream, attempt, file] = k.split('/');
        if (file === undefined) continue; // meta.json
        attempts.set(stream, new Set([...(attempts.get(stream) ?? []), attempt]));
      }
      assert.ok(attempts.size >= 12, `${attempts.size} streams`);
      for (const [stream, set] of attempts) assert.equal(set.size, 1, `${stream}: ${[...set].join(', ')}`);
      s3.destroy();
      // Every file of every output stream, read back from the bucket, against the local database's.
      const [remote, here] = [await sc.ready(), await local.ready()];
      let compared = 0;
      for (const { name } of await local.listStreams()) {
        if (/^v\d$/.test(name)) continue;
        const [a, b] = [await here.read(name), await remote.read(name)];
        assert.ok(b, `${name} is committed on S3`);
        const files = fs.readdirSync(path.join(localDb, 'streams', name)).filter((f) => f !== 'meta.json');
        for (const f of files) {
          const [x, y] = [await here.readStreamFile(name, a, f), await remote.readStreamFile(name, b, f)];
          assert.ok(Buffer.from(x).equals(Buffer.from(y)), `${name}/${f} differs from the one-machine run`);
          compared++;
        }
      }
      assert.ok(compared >= 8, `compared ${compared} files`);
      await sc.close();
      await local.close();
    } finally {
      for (const w of mine) w.child.kill('SIGKILL');
      await server.close();
      for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_ENDPOINT_URL_S3', 'AWS_REGION']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  });

  test('a client killed mid-run leaves nothing visible, the workers drop its queued tasks; a rerun with Overwrite equals a clean run, and no staging is left', async () => {
    const localDb = await oneMachineRun(vg.PerfParams.manual(1, 1));
    const db = tempDir();
    // The client's liveness key lives 1.5 s without renewal (10 s by default).
    const env = { ...process.env, VIDGRAPH_CLUSTER_CLIENT_TTL_MS: '1500' };
    const mine = await startWorkers(db, 'client-death', 2, env);
    const client = await start(process.execPath, [path.join(ROOT, 'test', 'children', 'cluster-client.mjs'), db, url, 'client-death', '200', ...videos], /progress [1-9]/, { what: 'cluster client', cwd: ROOT, env });
    client.child.kill('SIGKILL');
    const sc = new vg.Client({ db, cluster: { redis: url, queue: 'client-death' }, threads: 1 });
    const visible = (await sc.listStreams()).map((s) => s.name).filter((n) => !/^v\d$/.test(n));
    assert.deepEqual(visible.filter((n) => !/^(small|flow|hist|inv)\d$/.test(n)), []);
    const result = await sc.run(build(sc, 0), vg.PerfParams.manual(1, 1), { showProgress: false, throwOnFailure: true, cacheMode: vg.CacheMode.Overwrite });
    assert.deepEqual(result.failedJobs, []);
    await sc.close();
    assertSameFiles(localDb, db, 'differs from a clean run');
    // The dead client's tasks may still run on the workers: once they are done, what they handed
    // to it (a dead pid) is collected by the next open of the database.
    const queue = new Queue('client-death', { connection: { host: '127.0.0.1', port: Number(new URL(url).port) } });
    for (let t = 0; t < 200; t++) {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      if (Object.values(counts).every((n) => n === 0)) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    await queue.close();
    assert.match(mine.map((w) => w.output()).join('\n'), /dropped: its client is gone/, 'the dead client\'s queued tasks are dropped, not run for nobody');
    const again = new vg.Client({ db });
    await again.ready();
    await again.close();
    assert.deepEqual(fs.readdirSync(path.join(db, 'staging')), [], 'no staging left behind');
  });

  test('a damaged input fails its job alone after 3 attempts, naming the worker; the others commit', async () => {
    const db = tempDir();
    const setup = new vg.Client({ db });
    for (let i = 0; i < 3; i++) await new vg.NamedVideoStream(setup, `v${i}`, { path: videos[i] }).ingest();
    await setup.close();
    // Truncate one stored video's packets: every worker that opens it finds it damaged.
    const packets = path.join(db, 'streams', 'v1', 'packets.bin');
    fs.truncateSync(packets, Math.floor(fs.statSync(packets).size / 3));
    await startWorkers(db, 'damaged', 2);
    const sc = new vg.Client({ db, cluster: { redis: url, queue: 'damaged' }, threads: 1 });
    const frames = sc.io.Input([0, 1, 2].map((i) => new vg.NamedVideoStream(sc, `v${i}`)));
    const out = sc.io.Output(sc.ops.FrameInfo({ frame: frames }), [0, 1, 2].map((i) => new vg.NamedStream(sc, `info${i}`)));
    const err = await sc.run(out, vg.PerfParams.manual(4, 8), { showProgress: false, throwOnFailure: true }).catch((e) => e);
    await sc.close();
    assert.equal(err.code, 'ERR_JOBS_FAILED');
    assert.deepEqual(err.result.failedJobs, ['v1']);
    assert.equal(err.failures[0].code, 'ERR_CORRUPT');
    assert.match(err.failures[0].worker, /^[^ ]+:\d+$/, 'the failure names its worker');
    assert.deepEqual(err.result.stats.failures, err.failures);
    assert.match(err.failures[0].message, /stream 'v1'.*packet file.*\(worker [^ ]+:\d+, after 3 attempts\)/s);
    const check = new vg.Client({ db });
    assert.equal(await new vg.NamedStream(check, 'info0').len(), await new vg.NamedVideoStream(check, 'v0').len());
    assert.equal(await new vg.NamedStream(check, 'info2').exists(), true);
    assert.equal(await new vg.NamedStream(check, 'info1').exists(), false);
    await check.close();
  });
});
