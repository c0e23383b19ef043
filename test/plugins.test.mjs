// C++ op plugins: the example builds with the documented two CMake lines, loads and matches a
// reference resize; per-stream arguments; a plugin built with the old libstdc++ ABI loads; bad
// plugins are refused with ERR_PLUGIN naming the file while the process keeps working.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as vg from 'vidgraph';
import { fixture, oracle } from './helpers/corpus.mjs';
import { cv } from './helpers/opencv-oracle.mjs';
import { bytesOf, tempDir } from './helpers/util.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const EXAMPLE = path.join(ROOT, 'examples', 'custom-op');
const PROTO = path.join(EXAMPLE, 'resize.proto');
const cmakeDir = execFileSync(process.execPath, [path.join(ROOT, 'bin', 'vidgraph.js'), 'config', '--cmake-dir'], { encoding: 'utf8' }).trim();

function buildExample(extraFlags = []) {
  const build = tempDir();
  execFileSync('cmake', ['-S', EXAMPLE, '-B', build, `-Dvidgraph_DIR=${cmakeDir}`, ...extraFlags], { stdio: 'pipe' });
  execFileSync('cmake', ['--build', build, '-j', '2'], { stdio: 'pipe' });
  return path.join(build, 'myresize.so');
}

/** Compiles a one-file plugin with g++ (for the bad-plugin cases). */
function compile(name, source, flags = []) {
  const dir = tempDir();
  const src = path.join(dir, `${name}.cpp`);
  fs.writeFileSync(src, source);
  const so = path.join(dir, `${name}.so`);
  execFileSync('g++', ['-shared', '-fPIC', '-std=c++17', '-fvisibility=hidden', ...flags, `-I${path.join(ROOT, 'include')}`, src, '-o', so]);
  return so;
}

const video = await fixture('h264_bframes_opengop.mp4');
const o = await oracle(video);
let plugin;

async function resizeRun(sc, so, width, height, inputs = [video], loadOpts = undefined) {
  await sc.loadOp(so, PROTO, loadOpts);
  const frames = sc.io.Input(inputs.map((f, i) => new vg.NamedVideoStream(sc, `in${i}`, { path: f })));
  const resized = sc.ops.MyResize({ frame: sc.streams.Range(frames, [[0, 3]]), width, height });
  const outs = inputs.map((_, i) => new vg.NamedVideoStream(sc, `out${i}`));
  const result = await sc.run(sc.io.Output(resized.lossless(), outs), vg.PerfParams.manual(3, 3), { showProgress: false, cacheMode: vg.CacheMode.Overwrite });
  const frames0 = [];
  for (const out of outs) {
    const rows = [];
    for await (const f of out.load()) rows.push(f);
    frames0.push(rows);
  }
  return { result, frames: frames0 };
}

function nearest(row, width, height) {
  return cv(`cv2.resize(img, (${width}, ${height}), interpolation=cv2.INTER_NEAREST)`, vg.Frame.from(new Uint8Array(o.frame(row)), 240, 320, 3));
}

describe('C++ op plugins', () => {
  before(() => {
    plugin = buildExample();
  });

  test('the example plugin builds with the two documented CMake lines, loads, and equals a reference resize', async () => {
    const cmake = fs.readFileSync(path.join(EXAMPLE, 'CMakeLists.txt'), 'utf8');
    assert.match(cmake, /find_package\(vidgraph REQUIRED CONFIG\)\nvidgraph_add_op\(NAME myresize SOURCES resize_op\.cpp PROTO resize\.proto\)/);
    const exported = execFileSync('nm', ['-D', '--defined-only', plugin], { encoding: 'utf8' }).split('\n').filter((l) => / T /.test(l));
    assert.deepEqual(exported.map((l) => l.split(' ').at(-1)), ['vidgraph_plugin_init'], 'one exported symbol');
    const sc = new vg.Client({ db: tempDir() });
    const { frames } = await resizeRun(sc, plugin, 200, 300);
    assert.equal(frames[0].length, 3);
    frames[0].forEach((f, r) => {
      assert.deepEqual([f.width, f.height], [200, 300]);
      assert.ok(bytesOf(f).equals(nearest(r, 200, 300).data), `row ${r}`);
    });
  });

  test('per-stream arguments: one value per input stream', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const other = await fixture('hevc.mp4');
    const { frames } = await resizeRun(sc, plugin, [100, 60], [50, 40], [video, other]);
    assert.deepEqual([frames[0][0].width, frames[0][0].height], [100, 50]);
    assert.deepEqual([frames[1][0].width, frames[1][0].height], [60, 40]);
  });

  test('a plugin built with -D_GLIBCXX_USE_CXX11_ABI=0 loads and runs (no C++ ABI crosses the boundary)', async () => {
    // The SDK's C++ layer (std::string, std::vector, exceptions) compiled with the old libstdc++
    // ABI. (Debian's libprotobuf is new-ABI only, so this one decodes its two fields by hand.)
    const oldAbi = compile('oldabi', `#include <vidgraph/op.h>
      #include <algorithm>
      static int varintField(const std::string& b, int field) {
        size_t i = 0;
        while (i < b.size()) {
          const int key = static_cast<unsigned char>(b[i++]);
          long v = 0; int shift = 0;
          while (i < b.size()) { const int c = static_cast<unsigned char>(b[i++]); v |= static_cast<long>(c & 0x7f) << shift; shift += 7; if (!(c & 0x80)) break; }
          if ((key >> 3) == field) return static_cast<int>(v);
        }
        return 0;
      }
      struct K : vidgraph::Kernel {
        int w, h;
        explicit K(const std::string& a) : w(varintField(a, 1)), h(varintField(a, 2)) { if (w <= 0 || h <= 0) throw std::runtime_error("bad size"); }
        void execute(const vidgraph::Inputs& in, vidgraph::Outputs& out) override {
          for (size_t r = 0; r < in.rows(); r++) {
            const vidgraph::Frame s = in.frame(0, r);
            vidgraph::Frame d = out.allocFrame(0, r, h, w, s.channels());
            const double sx = double(s.width()) / w, sy = double(s.height()) / h;
            for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) for (int k = 0; k < s.channels(); k++)
              d.data()[(y * w + x) * s.channels() + k] = s.data()[std::min(int(y * sy), s.height() - 1) * s.rowStride() + std::min(int(x * sx), s.width() - 1) * s.channels() + k];
          }
        }
      };
      VIDGRAPH_PLUGIN(vidgraph::Op("MyResize").input("frame").output("frame").protoMessage("MyResizeArgs").kernel<K>())`, ['-D_GLIBCXX_USE_CXX11_ABI=0']);
    const sc = new vg.Client({ db: tempDir() });
    // It declares MyResize too: it replaces the example's (a name clash needs replace: true).
    const { frames } = await resizeRun(sc, oldAbi, 64, 48, [video], { replace: true });
    assert.ok(bytesOf(frames[0][1]).equals(nearest(1, 64, 48).data));
    await sc.loadOp(plugin, PROTO, { replace: true }); // the example's MyResize again, for the tests below
  });

  test('variadic inputs: a plugin op takes any number of input columns', async () => {
    const average = compile('average', `#include <vidgraph/op.h>
      struct Average : vidgraph::Kernel {
        explicit Average(const std::string&) {}
        void execute(const vidgraph::Inputs& in, vidgraph::Outputs& out) override {
          for (size_t r = 0; r < in.rows(); r++) {
            const vidgraph::Frame first = in.frame(0, r);
            vidgraph::Frame o = out.allocFrame(0, r, first.height(), first.width(), first.channels());
            const size_t n = static_cast<size_t>(first.height()) * first.width() * first.channels();
            for (size_t i = 0; i < n; i++) {
              unsigned sum = 0;
              for (size_t c = 0; c < in.columns(); c++) sum += in.frame(c, r).data()[i];
              o.data()[i] = static_cast<uint8_t>(sum / in.columns());
            }
          }
        }
      };
      VIDGRAPH_PLUGIN(vidgraph::Op("Average").variadicInputs().output("frame").kernel<Average>())`);
    const sc = new vg.Client({ db: tempDir() });
    assert.deepEqual(await sc.loadOp(average), ['Average']);
    const frames = sc.streams.Range(sc.io.Input([new vg.NamedVideoStream(sc, 'v', { path: video })]), [[0, 2]]);
    const blurred = sc.ops.Blur({ frame: frames, kernelSize: 5 });
    const outs = { avg2: sc.ops.Average({ inputs: [frames, blurred] }), avg3: sc.ops.Average({ inputs: [frames, frames, frames] }), blur: blurred, raw: frames };
    const streams = {};
    for (const [k, col] of Object.entries(outs)) streams[k] = new vg.NamedVideoStream(sc, k);
    await sc.run(Object.entries(outs).map(([k, col]) => sc.io.Output(sc.ops.Pass({ input: col }).lossless(), [streams[k]])), vg.PerfParams.manual(2, 2), { showProgress: false });
    const load = async (k) => { const rows = []; for await (const f of streams[k].load()) rows.push(f); return rows; };
    const [avg2, avg3, blur, raw] = await Promise.all(['avg2', 'avg3', 'blur', 'raw'].map(load));
    assert.ok(bytesOf(avg3[1]).equals(bytesOf(raw[1])), 'the average of three copies is the frame');
    const want = Buffer.from(raw[0].data.map((v, i) => Math.floor((v + blur[0].data[i]) / 2)));
    assert.ok(bytesOf(avg2[0]).equals(want));
    assert.throws(() => sc.ops.Average({ inputs: [] }), { code: 'ERR_BAD_ARGUMENT', message: /non-empty array of columns/ });
  });

  test('arguments are validated against the protobuf message', async () => {
    const sc = new vg.Client({ db: tempDir() });
    await sc.loadOp(plugin, PROTO);
    const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'v', { path: video })]);
    assert.throws(() => sc.ops.MyResize({ frame: frames, width: 10, height: 10, depth: 3 }), { code: 'ERR_BAD_ARGUMENT', message: /MyResize: unknown argument 'depth' \(fields of MyResizeArgs: width, height\)/ });
    assert.throws(() => sc.ops.MyResize({ frame: frames, width: '10', height: 10 }), { code: 'ERR_BAD_ARGUMENT', message: "MyResize: expected an integer for argument 'width' (int32 in MyResizeArgs), got '10' (string)" });
    assert.throws(() => sc.ops.MyResize({ frame: frames, width: 2 ** 40, height: 10 }), { code: 'ERR_BAD_ARGUMENT', message: /between -2147483648 and 2147483647/ });
    // A value the kernel itself refuses fails the job with the kernel's message.
    const bad = await sc.run(sc.io.Output(sc.ops.MyResize({ frame: frames, width: 0, height: 10 }), [new vg.NamedVideoStream(sc, 'x')]), vg.PerfParams.manual(2, 2), { showProgress: false });
    assert.match(bad.stats.errors[0].message, /MyResize: width and height must be > 0/);
    await assert.rejects(new vg.Client({ db: tempDir() }).loadOp(plugin), { code: 'ERR_BAD_ARGUMENT', message: /pass its \.proto file/ });
  });

  test('bad plugins are refused with ERR_PLUGIN naming the file, and the process keeps working', async () => {
    const sc = new vg.Client({ db: tempDir() });
    const text = path.join(tempDir(), 'not-a-library.so');
    fs.writeFileSync(text, 'hello');
    const noSymbol = compile('nosymbol', 'extern "C" int something_else() { return 1; }');
    const wrongAbi = compile('wrongabi', '#include <vidgraph/op.h>\nextern "C" VG_EXPORT uint32_t vidgraph_plugin_init(uint32_t, const vg_registry*, const vg_host*, char*, uint64_t) { return 999; }');
    const throws = compile('throws', `#include <vidgraph/op.h>
      struct K : vidgraph::Kernel { explicit K(const std::string&) {} void execute(const vidgraph::Inputs&, vidgraph::Outputs&) override {} };
      static vidgraph::Op broken() { throw std::runtime_error("registration exploded"); }
      VIDGRAPH_PLUGIN(broken())`);
    const crashes = compile('crashes', '#include <vidgraph/op.h>\nextern "C" VG_EXPORT uint32_t vidgraph_plugin_init(uint32_t, const vg_registry*, const vg_host*, char*, uint64_t) { volatile int* p = nullptr; return *p; }');
    const cases = [
      [text, /cannot be loaded as a shared library/],
      [noSymbol, /has no vidgraph_plugin_init symbol/],
      [wrongAbi, /built for plugin ABI version 999, this engine has version 1/],
      [throws, /failed during registration: registration exploded/],
      [crashes, /crashed while registering its ops \(SIGSEGV\)/],
    ];
    for (const [file, message] of cases) {
      await assert.rejects(sc.loadOp(file), (e) => e instanceof vg.PluginError && e.code === 'ERR_PLUGIN' && e.message.includes(file) && message.test(e.message), String(file));
    }
    await assert.rejects(sc.loadOp('/nonexistent/plugin.so'), { code: 'ERR_NOT_FOUND' });
    // Still working: a built-in op runs.
    const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'v', { path: video })]);
    const ok = await sc.run(sc.io.Output(sc.ops.Histogram({ frame: sc.streams.Range(frames, [[0, 2]]) }), [new vg.NamedStream(sc, 'h')]), vg.PerfParams.manual(2, 2), { showProgress: false });
    assert.deepEqual(ok.failedJobs, []);
  });

  test('the example script loads the plugin and runs it over a sample', async () => {
    const samples = path.join(ROOT, 'test', '.cache', 'samples');
    const out = execFileSync(process.execPath, [path.join(EXAMPLE, 'run.mjs'), plugin], { env: { ...process.env, VIDGRAPH_DB: tempDir(), VIDGRAPH_SAMPLES: samples }, encoding: 'utf8' });
    assert.match(out, /tutorial-myresize: 300 frames 200x300/);
  });

  test('vidgraph types --plugin declares the ops with the names and columns the library registers', () => {
    const vidgraph = (...args) => execFileSync(process.execPath, [path.join(ROOT, 'bin', 'vidgraph.js'), ...args], { encoding: 'utf8' });
    const dts = vidgraph('types', PROTO, '--plugin', plugin);
    assert.match(dts, /^\/\/ Generated by `npx vidgraph types resize\.proto --plugin myresize\.so`/);
    assert.match(dts, /    MyResize\(params: \{ frame: vg\.Column<vg\.Frame> \} & MyResizeArgs & vg\.OpOptions\): vg\.Column<vg\.Frame>;/);
    // The declaration without --plugin (committed with the example) guesses the same columns.
    const committed = fs.readFileSync(path.join(EXAMPLE, 'myresize.d.ts'), 'utf8');
    const signature = (text) => text.split('\n').filter((l) => !l.startsWith('//')).join('\n');
    assert.equal(signature(dts), signature(committed));
    // A variadic op without arguments: its inputs are an array of columns, and it takes no message.
    const average = compile('average_types', `#include <vidgraph/op.h>
      struct Average : vidgraph::Kernel {
        explicit Average(const std::string&) {}
        void execute(const vidgraph::Inputs&, vidgraph::Outputs&) override {}
      };
      VIDGRAPH_PLUGIN(vidgraph::Op("AverageT").variadicInputs().output("frame").output("info", VG_COLUMN_BYTES).kernel<Average>())`);
    const empty = path.join(tempDir(), 'none.proto');
    fs.writeFileSync(empty, 'syntax = "proto3";\n');
    const variadic = vidgraph('types', empty, '--plugin', average);
    assert.match(variadic, /    AverageT\(params: \{ inputs: readonly vg\.Column<vg\.Frame>\[\] \} & vg\.OpOptions\): \{ frame: vg\.Column<vg\.Frame>; info: vg\.Column<Uint8Array> \};/);
    // A library that is not a plugin: the error names it, exit code 1.
    assert.throws(() => execFileSync(process.execPath, [path.join(ROOT, 'bin', 'vidgraph.js'), 'types', PROTO, '--plugin', '/nonexistent/x.so'], { stdio: 'pipe' }),
      (err) => err.status === 1 && /plugin '\/nonexistent\/x\.so' does not exist/.test(String(err.stderr)));
  });

  test('config --include-dir and --cmake-dir point at the shipped SDK', () => {
    const inc = execFileSync(process.execPath, [path.join(ROOT, 'bin', 'vidgraph.js'), 'config', '--include-dir'], { encoding: 'utf8' }).trim();
    assert.ok(fs.existsSync(path.join(inc, 'vidgraph', 'op.h')));
    assert.ok(fs.existsSync(path.join(cmakeDir, 'vidgraphConfig.cmake')));
    assert.ok(fs.existsSync(path.join(cmakeDir, 'VidgraphOp.cmake')));
  });
});
