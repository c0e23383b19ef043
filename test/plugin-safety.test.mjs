// Plugins cannot crash, hang or end the process, nor expose its memory (issue 8, items 4 and 12):
// output descriptors are checked against what the kernel allocated, sloppy declarations are
// refused, registration is bounded in time and must really complete, and stuck kernels (native or
// worker-pool) fail their job with ERR_TIMEOUT while the run goes on. The fixture plugins are
// built at test time with the package's CMake helper (vidgraph_add_op), as users build theirs.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as vg from 'vidgraph';
import { tempDir } from './helpers/util.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CHILD = path.join(ROOT, 'test', 'children', 'plugin-hang-run.mjs');

// One plugin whose ops each tell a different lie about their outputs (the raw C ABI: the C++
// layer's Outputs would not let them). GoodFrame and GoodBytes place honest outputs at an offset
// inside an allocation.
const LIAR = String.raw`#include <vidgraph/op.h>
#include <cstring>
enum Mode { GoodFrame, GoodBytes, BigFrame, OffsetFrame, StaticFrame, BadDtype, NotPacked, Overflow, NegativeBytes, BigBytes, NullBytes, BytesInFrameColumn, BadKind, HugeAlloc };
struct Decl { const char* name; Mode mode; int32_t outType; };
static const Decl kDecls[] = {
  {"GoodFrame", GoodFrame, VG_COLUMN_FRAME}, {"GoodBytes", GoodBytes, VG_COLUMN_BYTES}, {"LieBigFrame", BigFrame, VG_COLUMN_FRAME},
  {"LieOffsetFrame", OffsetFrame, VG_COLUMN_FRAME}, {"LieStaticFrame", StaticFrame, VG_COLUMN_FRAME}, {"LieDtype", BadDtype, VG_COLUMN_FRAME},
  {"LieStrides", NotPacked, VG_COLUMN_FRAME}, {"LieOverflow", Overflow, VG_COLUMN_FRAME}, {"LieNegativeBytes", NegativeBytes, VG_COLUMN_BYTES},
  {"LieBigBytes", BigBytes, VG_COLUMN_BYTES}, {"LieNullBytes", NullBytes, VG_COLUMN_BYTES}, {"LieBytesAsFrame", BytesInFrameColumn, VG_COLUMN_FRAME},
  {"LieKind", BadKind, VG_COLUMN_FRAME}, {"HugeAlloc", HugeAlloc, VG_COLUMN_FRAME},
};
struct Inst { Mode mode; const vg_host* host; };
static uint8_t notAllocated[4096];
static void* create(void* ctx, const uint8_t*, uint64_t, const vg_host* host, char*, uint64_t) { return new Inst{static_cast<const Decl*>(ctx)->mode, host}; }
static void destroy(void* k) { delete static_cast<Inst*>(k); }
static vg_frame frameAt(uint8_t* p, int h, int w, int c, int dtype, int64_t es) { return vg_frame{h, w, c, dtype, VG_DEVICE_CPU, {w * c * es, c * es, es}, p}; }
static int32_t execute(void* k, const vg_element* const* in, uint64_t, uint64_t rows, vg_element* const* out, char* err, uint64_t) {
  const Inst* s = static_cast<Inst*>(k);
  for (uint64_t r = 0; r < rows; r++) {
    vg_element& e = out[0][r];
    const vg_frame& f = in[0][r].frame;
    const uint64_t n = uint64_t(f.height) * f.width * f.channels;
    e.kind = VG_ELEMENT_FRAME;
    switch (s->mode) {
      case GoodFrame: { uint8_t* p = static_cast<uint8_t*>(s->host->alloc(n + 32)); std::memcpy(p + 32, f.data, n); e.frame = frameAt(p + 32, f.height, f.width, f.channels, VG_DTYPE_U8, 1); break; }
      case GoodBytes: { uint8_t* p = static_cast<uint8_t*>(s->host->alloc(64)); std::memcpy(p + 60, "abcd", 4); e.kind = VG_ELEMENT_BYTES; e.bytes = vg_bytes{p + 60, 4}; break; }
      case BigFrame: e.frame = frameAt(static_cast<uint8_t*>(s->host->alloc(16)), 256, 256, 3, VG_DTYPE_U8, 1); break;
      case OffsetFrame: e.frame = frameAt(static_cast<uint8_t*>(s->host->alloc(100)) + 90, 2, 2, 3, VG_DTYPE_U8, 1); break;
      case StaticFrame: e.frame = frameAt(notAllocated, 2, 2, 3, VG_DTYPE_U8, 1); break;
      case BadDtype: e.frame = frameAt(static_cast<uint8_t*>(s->host->alloc(64)), 2, 2, 3, 7, 1); break;
      case NotPacked: e.frame = frameAt(static_cast<uint8_t*>(s->host->alloc(1000)), 2, 2, 3, VG_DTYPE_U8, 1); e.frame.strides[0] = 100; break;
      case Overflow: e.frame = frameAt(static_cast<uint8_t*>(s->host->alloc(16)), 1 << 30, 1 << 30, 512, VG_DTYPE_F64, 8); break;
      case NegativeBytes: e.kind = VG_ELEMENT_BYTES; e.bytes = vg_bytes{static_cast<uint8_t*>(s->host->alloc(16)), static_cast<uint64_t>(-5)}; break;
      case BigBytes: e.kind = VG_ELEMENT_BYTES; e.bytes = vg_bytes{static_cast<uint8_t*>(s->host->alloc(16)), 1000}; break;
      case NullBytes: e.kind = VG_ELEMENT_BYTES; e.bytes = vg_bytes{nullptr, 10}; break;
      case BytesInFrameColumn: e.kind = VG_ELEMENT_BYTES; e.bytes = vg_bytes{static_cast<uint8_t*>(s->host->alloc(4)), 4}; break;
      case BadKind: e.kind = 9; break;
      case HugeAlloc: {
        void* p = s->host->alloc(~uint64_t(0) - 10);
        if (!p) { std::strcpy(err, "host->alloc refused"); return 1; }
        e.frame = frameAt(static_cast<uint8_t*>(p), 2, 2, 3, VG_DTYPE_U8, 1);
        break;
      }
    }
  }
  return 0;
}
static const char* kIn[] = {"frame"};
static const char* kOut[] = {"out"};
static const int32_t kFrameType[] = {VG_COLUMN_FRAME};
extern "C" VG_EXPORT uint32_t vidgraph_plugin_init(uint32_t abi, const vg_registry* reg, const vg_host*, char*, uint64_t) {
  if (abi != VG_ABI_VERSION) return VG_ABI_VERSION;
  for (const Decl& d : kDecls) {
    vg_op_decl o{};
    o.name = d.name;
    o.num_inputs = 1; o.input_names = kIn; o.input_types = kFrameType;
    o.num_outputs = 1; o.output_names = kOut; o.output_types = &d.outType;
    o.kernel.create = &create; o.kernel.destroy = &destroy; o.kernel.execute = &execute;
    o.op_ctx = const_cast<Decl*>(&d);
    if (reg->register_op(reg->ctx, &o) != 0) return 0;
  }
  return VG_ABI_VERSION;
}
`;

// One declaration source, built once per sloppy declaration (SLOPPY selects which).
const DECL = String.raw`#include <vidgraph/op.h>
static void* create(void*, const uint8_t*, uint64_t, const vg_host*, char*, uint64_t) { static int k; return &k; }
static void destroy(void*) {}
static int32_t execute(void*, const vg_element* const*, uint64_t, uint64_t, vg_element* const*, char*, uint64_t) { return 0; }
static const char* kIn[] = {"frame"};
static const char* kOut[] = {"out"};
static const int32_t kTypes[] = {VG_COLUMN_FRAME};
static const int32_t kBadTypes[] = {9};
extern "C" VG_EXPORT uint32_t vidgraph_plugin_init(uint32_t abi, const vg_registry* reg, const vg_host*, char* err, uint64_t) {
  if (abi != VG_ABI_VERSION) return VG_ABI_VERSION;
  vg_op_decl o{};
  o.name = "Sloppy";
  o.num_inputs = 1; o.input_names = kIn; o.input_types = kTypes;
  o.num_outputs = 1; o.output_names = kOut; o.output_types = kTypes;
  o.kernel.create = &create; o.kernel.destroy = &destroy; o.kernel.execute = &execute;
#if SLOPPY == 1
  o.name = "my op";
#elif SLOPPY == 2
  o.num_inputs = 100000;
#elif SLOPPY == 3
  o.input_names = nullptr;
#elif SLOPPY == 4
  o.stencil_size = 5;
#elif SLOPPY == 5
  o.preferred_batch = -5;
#elif SLOPPY == 6
  o.output_types = kBadTypes;
#elif SLOPPY == 7
  o.num_outputs = 0;
#elif SLOPPY == 8
  static const char* noName[] = {nullptr};
  o.output_names = noName;
#endif
  if (reg->register_op(reg->ctx, &o) != 0) { err[0] = 0; return 0; }
  return VG_ABI_VERSION;
}
`;
const SLOPPY = [
  [1, /no valid name/],
  [2, /op 'Sloppy': num_inputs must be 1 to 64, got 100000/],
  [3, /op 'Sloppy': input names and types are required/],
  [4, /op 'Sloppy': stencil_size is 5 but stencil is null/],
  [5, /op 'Sloppy': preferred_batch must be 0 to 1024, got -5/],
  [6, /op 'Sloppy': output 'out' has unknown column type 9/],
  [7, /op 'Sloppy': num_outputs must be 1 to 64, got 0/],
  [8, /op 'Sloppy': output 0 has no valid name/],
];

// Registrations that hang or end the process, and a kernel that hangs on its first instance.
const MISBEHAVE = String.raw`#include <vidgraph/op.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <string>
static bool exists(const char* p) { struct stat st; return p && stat(p, &st) == 0; }
struct CopyKernel : vidgraph::Kernel {
  explicit CopyKernel(const std::string&) {}
  void execute(const vidgraph::Inputs& in, vidgraph::Outputs& out) override {
    for (size_t r = 0; r < in.rows(); r++) {
      const vidgraph::Frame f = in.frame(0, r);
      if (f.width() == 8) for (;;) sleep(1);  // never returns for 8-pixel-wide frames
      vidgraph::Frame o = out.allocFrame(0, r, f.height(), f.width(), f.channels());
      std::memcpy(o.data(), f.data(), size_t(f.height()) * f.width() * f.channels());
    }
  }
};
static vidgraph::Op declare() {
#if BEHAVIOUR == 1
  for (;;) sleep(1);
#elif BEHAVIOUR == 2
  _exit(0);
#elif BEHAVIOUR == 3
  // The first load (the check process) marks a file and behaves; a later load waits for the
  // release file, i.e. overruns any short timeout.
  const std::string mark = std::getenv("VG_TEST_MARK"), release = std::getenv("VG_TEST_RELEASE");
  if (exists(mark.c_str())) { while (!exists(release.c_str())) usleep(20000); }
  else if (FILE* f = std::fopen(mark.c_str(), "w")) std::fclose(f);
#endif
  return vidgraph::Op(NAME).input("frame").output("frame").kernel<CopyKernel>();
}
VIDGRAPH_PLUGIN(declare())
`;

// Two ops in one plugin (FIRST, SECOND; SECOND_MESSAGE: the second's argument message, '' for
// none): for all-or-nothing registration.
const PAIR = String.raw`#include <vidgraph/op.h>
#include <cstring>
#include <string>
struct Copy : vidgraph::Kernel {
  explicit Copy(const std::string&) {}
  void execute(const vidgraph::Inputs& in, vidgraph::Outputs& out) override {
    for (size_t r = 0; r < in.rows(); r++) {
      const vidgraph::Frame f = in.frame(0, r);
      vidgraph::Frame o = out.allocFrame(0, r, f.height(), f.width(), f.channels());
      std::memcpy(o.data(), f.data(), size_t(f.height()) * f.width() * f.channels());
    }
  }
};
VIDGRAPH_PLUGIN(vidgraph::Op(FIRST).input("frame").output("frame").kernel<Copy>(),
                vidgraph::Op(SECOND).input("frame").output("frame").protoMessage(SECOND_MESSAGE).kernel<Copy>())
`;
const PAIRS = {
  partial: ['PartFirst', 'PartSecond', 'NoSuchArgs'], dup: ['DupOp', 'DupOp', ''], blurclash: ['BlurClashFirst', 'Blur', ''],
  racea: ['RaceTwin', 'RaceOnlyA', ''], raceb: ['RaceTwin', 'RaceOnlyB', ''],
};

const libs = {};

function buildFixtures() {
  const src = tempDir();
  const build = tempDir();
  fs.writeFileSync(path.join(src, 'liar.cpp'), LIAR);
  fs.writeFileSync(path.join(src, 'decl.cpp'), DECL);
  fs.writeFileSync(path.join(src, 'misbehave.cpp'), MISBEHAVE);
  fs.writeFileSync(path.join(src, 'pair.cpp'), PAIR);
  const lines = ['cmake_minimum_required(VERSION 3.18)', 'project(vgsafety CXX)', 'find_package(vidgraph REQUIRED CONFIG)', 'vidgraph_add_op(NAME liar SOURCES liar.cpp)'];
  for (const [n] of SLOPPY) lines.push(`vidgraph_add_op(NAME sloppy${n} SOURCES decl.cpp)`, `target_compile_definitions(sloppy${n} PRIVATE SLOPPY=${n})`);
  const behaviours = {
    hangreg: [1, 'HangRegistration'], exitreg: [2, 'ExitRegistration'], hanglater: [3, 'HangLater'], hangexec: [0, 'HangExecute'],
    twin: [0, 'HangExecute'], resize: [0, 'Resize'], tsclash: [0, 'TsNamedTwin'],
  };
  for (const [name, [b, op]] of Object.entries(behaviours)) {
    lines.push(`vidgraph_add_op(NAME ${name} SOURCES misbehave.cpp)`, `target_compile_definitions(${name} PRIVATE BEHAVIOUR=${b} "NAME=\\"${op}\\"")`);
  }
  for (const [name, [first, second, message]] of Object.entries(PAIRS)) {
    lines.push(`vidgraph_add_op(NAME ${name} SOURCES pair.cpp)`,
      `target_compile_definitions(${name} PRIVATE "FIRST=\\"${first}\\"" "SECOND=\\"${second}\\"" "SECOND_MESSAGE=\\"${message}\\"")`);
  }
  fs.writeFileSync(path.join(src, 'CMakeLists.txt'), lines.join('\n') + '\n');
  const cmakeDir = execFileSync(process.execPath, [path.join(ROOT, 'bin', 'vidgraph.js'), 'config', '--cmake-dir'], { encoding: 'utf8' }).trim();
  execFileSync('cmake', ['-S', src, '-B', build, `-Dvidgraph_DIR=${cmakeDir}`], { stdio: 'pipe' });
  execFileSync('cmake', ['--build', build, '-j', '2'], { stdio: 'pipe' });
  for (const f of fs.readdirSync(build)) if (f.endsWith('.so')) libs[f.slice(0, -3)] = path.join(build, f);
}

const frames = (n, width) => Array.from({ length: n }, (_, i) => {
  const f = vg.Frame.alloc(2, width, 3);
  f.data.fill(i);
  return f;
});

/** Runs one liar op over 2 rows; the job's result. */
async function runLiar(sc, op, name = `out-${op}`) {
  const input = sc.io.Input([new vg.ArrayStream(frames(2, 4))]);
  const out = new vg.NamedStream(sc, name);
  const col = sc.ops[op]({ frame: input });
  const result = await sc.run(sc.io.Output(col.type === 'Frame' ? col.lossless() : col, [out]), vg.PerfParams.manual(2, 2), { showProgress: false });
  return { result, out };
}

describe('plugin safety', () => {
  before(() => buildFixtures());

  describe('plugin output sizes are checked', () => {
    let sc;
    before(async () => {
      sc = new vg.Client({ db: tempDir() });
      assert.ok((await sc.loadOp(libs.liar)).includes('LieBigFrame'));
    });

    test('honest outputs at an offset inside an allocation are accepted', async () => {
      const { result, out } = await runLiar(sc, 'GoodFrame');
      assert.deepEqual(result.failedJobs, []);
      const got = [];
      for await (const f of out.load()) got.push(f);
      assert.deepEqual(got.map((f) => [f.height, f.width, f.channels, f.data[0]]), [[2, 4, 3, 0], [2, 4, 3, 1]]);
      const bytes = await runLiar(sc, 'GoodBytes');
      assert.deepEqual(bytes.result.failedJobs, []);
      for await (const b of bytes.out.load()) assert.equal(Buffer.from(b).toString(), 'abcd');
    });

    const lies = [
      ['LieBigFrame', /output 'out' row 0: frame 256x256x3 uint8 \(196608 bytes\) does not fit in its host->alloc allocation \(16 bytes from its data pointer\)/],
      ['LieOffsetFrame', /output 'out' row 0: frame 2x2x3 uint8 \(12 bytes\) does not fit in its host->alloc allocation \(10 bytes from its data pointer\)/],
      ['LieStaticFrame', /output 'out' row 0: frame 2x2x3 uint8 \(12 bytes\) is not in memory from host->alloc during this call/],
      ['LieDtype', /output 'out' row 0: unknown dtype 7/],
      ['LieStrides', /output 'out' row 0: strides \[100, 3, 1\] are not packed \(expected \[6, 3, 1\]\)/],
      ['LieOverflow', /output 'out' row 0: frame size overflows/],
      ['LieNegativeBytes', /output 'out' row 0: negative bytes size -5/],
      ['LieBigBytes', /output 'out' row 0: 1000 bytes do not fit in their host->alloc allocation \(16 bytes from their data pointer\)/],
      ['LieNullBytes', /output 'out' row 0: 10 bytes at a null pointer/],
      ['LieBytesAsFrame', /output 'out' row 0: bytes in a column declared as frames/],
      ['LieKind', /output 'out' row 0: unknown element kind 9/],
    ];
    for (const [op, message] of lies) {
      test(`${op}: a descriptor that lies fails its job with ERR_PLUGIN naming the op, column and row`, async () => {
        const { result, out } = await runLiar(sc, op);
        assert.deepEqual(result.failedJobs, ['array(2)']);
        assert.equal(result.stats.errors[0].code, 'ERR_PLUGIN');
        assert.ok(result.stats.errors[0].message.startsWith(`${op} (plugin '${libs.liar}'): `), result.stats.errors[0].message);
        assert.match(result.stats.errors[0].message, message);
        assert.equal(await out.exists(), false);
      });
    }

    test('host->alloc of an absurd size returns null instead of a wrapped-around small block', async () => {
      const { result } = await runLiar(sc, 'HugeAlloc');
      assert.deepEqual(result.failedJobs, ['array(2)']);
      assert.deepEqual(result.stats.errors.map((e) => [e.code, e.message]), [['ERR_KERNEL', 'HugeAlloc: host->alloc refused']]);
    });

    test('the process keeps working after every lie: a good op still runs', async () => {
      const { result } = await runLiar(sc, 'GoodFrame', 'after-the-lies');
      assert.deepEqual(result.failedJobs, []);
    });
  });

  test('sloppy declarations are refused with ERR_PLUGIN naming the file and the fault', async () => {
    const sc = new vg.Client({ db: tempDir() });
    for (const [n, message] of SLOPPY) {
      const file = libs[`sloppy${n}`];
      await assert.rejects(sc.loadOp(file), (e) => e instanceof vg.PluginError && e.message.includes(file) && message.test(e.message), `sloppy ${n}`);
    }
    assert.throws(() => sc.ops.Sloppy, { code: 'ERR_NOT_FOUND' });
  });

  test('an op name that already exists is ERR_EXISTS unless replace: true; reloading the same file is fine', async () => {
    const sc = new vg.Client({ db: tempDir() });
    assert.deepEqual(await sc.loadOp(libs.hangexec), ['HangExecute']);
    assert.deepEqual(await sc.loadOp(libs.hangexec), ['HangExecute']);
    await assert.rejects(sc.loadOp(libs.twin), { code: 'ERR_EXISTS', message: `loadOp: plugin '${libs.twin}' declares op names already taken: 'HangExecute' (from plugin '${libs.hangexec}') (pass { replace: true } to replace engine ops); it was not loaded` });
    await assert.rejects(sc.loadOp(libs.resize), { code: 'ERR_EXISTS', message: /declares op names already taken: 'Resize' \(built in\)/ });
    vg.registerOp({ name: 'TsNamedTwin', inputs: { frame: vg.FrameType }, outputs: { v: vg.Json }, kernel: () => 1 });
    await assert.rejects(sc.loadOp(libs.tsclash, undefined, { replace: true }), { code: 'ERR_EXISTS', message: /declares op names already taken: 'TsNamedTwin' \(a TypeScript op\); it was not loaded/ });
    assert.deepEqual(await sc.loadOp(libs.twin, undefined, { replace: true }), ['HangExecute']);
    await assert.rejects(sc.loadOp(libs.twin, undefined, { replace: 1 }), { code: 'ERR_BAD_ARGUMENT' });
  });

  test("loadOp registers all of a plugin's ops or none: a missing argument message, a repeated or taken name registers nothing; of two loads racing for one name, one wins", async () => {
    const sc = new vg.Client({ db: tempDir() });
    await assert.rejects(sc.loadOp(libs.partial), { code: 'ERR_BAD_ARGUMENT', message: `loadOp: op 'PartSecond' takes arguments of message 'NoSuchArgs': pass its .proto file to loadOp; plugin '${libs.partial}' was not loaded` });
    const proto = path.join(tempDir(), 'other.proto');
    fs.writeFileSync(proto, 'syntax = "proto3";\nmessage OtherArgs { int32 x = 1; }\n');
    await assert.rejects(sc.loadOp(libs.partial, proto), { code: 'ERR_BAD_ARGUMENT', message: /op 'PartSecond' declares argument message 'NoSuchArgs', which .* does not define; plugin .* was not loaded/ });
    for (const op of ['PartFirst', 'PartSecond']) assert.throws(() => sc.ops[op], { code: 'ERR_NOT_FOUND' }, op);
    await assert.rejects(sc.loadOp(libs.dup), (e) => e instanceof vg.PluginError && e.message.includes(libs.dup) && /declares op 'DupOp' twice/.test(e.message));
    assert.throws(() => sc.ops.DupOp, { code: 'ERR_NOT_FOUND' });
    await assert.rejects(sc.loadOp(libs.blurclash), { code: 'ERR_EXISTS', message: /declares op names already taken: 'Blur' \(built in\)/ });
    assert.throws(() => sc.ops.BlurClashFirst, { code: 'ERR_NOT_FOUND' });
    assert.throws(() => sc.ops.Blur({ frame: sc.io.Input([new vg.ArrayStream(frames(1, 4))]), kernelSize: 4 }), { code: 'ERR_BAD_ARGUMENT', message: /odd integer/ }); // still the built-in
    const [a, b] = await Promise.allSettled([sc.loadOp(libs.racea), sc.loadOp(libs.raceb)]);
    assert.deepEqual([a.status, b.status].sort(), ['fulfilled', 'rejected']);
    const lost = a.status === 'rejected' ? a : b;
    assert.equal(lost.reason.code, 'ERR_EXISTS');
    assert.match(lost.reason.message, /'RaceTwin' \(from plugin '.*race[ab]\.so'\)/);
    const [won, other] = a.status === 'fulfilled' ? ['RaceOnlyA', 'RaceOnlyB'] : ['RaceOnlyB', 'RaceOnlyA'];
    assert.equal(typeof sc.ops[won], 'function');
    assert.throws(() => sc.ops[other], { code: 'ERR_NOT_FOUND' });
  });

  describe('plugins that hang or exit', () => {
    test('a registration that never returns is ERR_TIMEOUT naming the file, within the timeout given', async () => {
      const sc = new vg.Client({ db: tempDir() });
      await assert.rejects(sc.loadOp(libs.hangreg, undefined, { timeout: 1500 }),
        (e) => e instanceof vg.VidgraphError && e.code === 'ERR_TIMEOUT' && e.message.includes(libs.hangreg) && /within 1500 ms \(in the check process\)/.test(e.message));
      assert.throws(() => sc.ops.HangRegistration, { code: 'ERR_NOT_FOUND' });
    });

    test('a registration that calls _exit(0) is ERR_PLUGIN, and this process survives', async () => {
      const sc = new vg.Client({ db: tempDir() });
      await assert.rejects(sc.loadOp(libs.exitreg),
        (e) => e instanceof vg.PluginError && e.message.includes(libs.exitreg) && /ended the check process while registering its ops \(exit code 0 before its registration returned\)/.test(e.message));
      assert.throws(() => sc.ops.ExitRegistration, { code: 'ERR_NOT_FOUND' });
    });

    test('an in-process registration that overruns is ERR_TIMEOUT; the file stays refused and other plugins still load', async () => {
      const dir = tempDir();
      process.env.VG_TEST_MARK = path.join(dir, 'mark');
      process.env.VG_TEST_RELEASE = path.join(dir, 'release');
      try {
        const sc = new vg.Client({ db: tempDir() });
        // The check process must finish within the timeout: generous, so a busy machine passes too.
        await assert.rejects(sc.loadOp(libs.hanglater, undefined, { timeout: 5000 }),
          (e) => e.code === 'ERR_TIMEOUT' && e.message.includes(libs.hanglater) && /within 5000 ms; it was not loaded/.test(e.message));
        assert.ok(fs.existsSync(process.env.VG_TEST_MARK), 'the check process loaded it');
        assert.throws(() => sc.ops.HangLater, { code: 'ERR_NOT_FOUND' });
        await assert.rejects(sc.loadOp(libs.hanglater), (e) => e.code === 'ERR_PLUGIN' && /stays unloaded until the process restarts/.test(e.message));
        // Another plugin loads while that registration is still stuck.
        assert.deepEqual(await sc.loadOp(libs.hangexec, undefined, { replace: true }), ['HangExecute']);
      } finally {
        fs.writeFileSync(process.env.VG_TEST_RELEASE, ''); // let the stuck registration return
        delete process.env.VG_TEST_MARK;
        delete process.env.VG_TEST_RELEASE;
      }
    });

    test('loadOp checks its timeout option', async () => {
      const sc = new vg.Client({ db: tempDir() });
      await assert.rejects(sc.loadOp(libs.liar, undefined, { timeout: 0 }), { code: 'ERR_BAD_ARGUMENT', message: 'loadOp: expected integer timeout (ms) between 1 and 2147483647, got 0 (number)' });
      await assert.rejects(sc.loadOp(libs.liar, undefined, { timeOut: 5 }), { code: 'ERR_BAD_ARGUMENT', message: /unknown option 'timeOut'/ });
    });

    test('a plugin kernel that never returns fails its job with ERR_TIMEOUT; the other job commits', async () => {
      // In a child process: the stuck engine thread cannot be stopped, so the child exits explicitly.
      const out = await new Promise((resolve, reject) => {
        execFile(process.execPath, [CHILD, libs.hangexec, tempDir()], { encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
      });
      const { failedJobs, errors, committed } = JSON.parse(out.trim().split('\n').at(-1));
      assert.deepEqual(failedJobs, ['array(3)']);
      assert.equal(errors[0].code, 'ERR_TIMEOUT');
      assert.match(errors[0].message, /^HangExecute: kernel call on rows 0\.\.1 did not return within 3000 ms \(kernelTimeout\)/);
      assert.deepEqual(committed, { a: false, b: [4, 4, 4, 4] });
    });

    test('a worker-pool kernel that loops for ever is terminated: ERR_TIMEOUT for its job, the other job and later runs work', async () => {
      const dir = tempDir();
      const mod = path.join(dir, 'spin.mjs');
      fs.writeFileSync(mod, 'export function spin(config, { frame }) { if (config.args.hang && frame.data[0] === 0) for (;;) {} return frame.width; }\n');
      vg.registerOp({ name: 'SpinPool', inputs: { frame: vg.FrameType }, outputs: { width: vg.Json }, module: { url: pathToFileURL(mod), export: 'spin' } });
      const sc = new vg.Client({ db: tempDir() });
      const runSpin = (hang, names) => {
        const input = sc.io.Input([new vg.ArrayStream(frames(3, 4)), new vg.ArrayStream(frames(4, 6))]);
        const outs = names.map((n) => new vg.NamedStream(sc, n));
        return { outs, run: sc.run(sc.io.Output(sc.ops.SpinPool({ frame: input, hang }), outs), vg.PerfParams.manual(2, 2), { showProgress: false, kernelTimeout: 3000 }) };
      };
      const first = runSpin([true, false], ['s0', 's1']);
      const result = await first.run;
      assert.deepEqual(result.failedJobs, ['array(3)']);
      assert.equal(result.stats.errors[0].code, 'ERR_TIMEOUT');
      assert.match(result.stats.errors[0].message, /^SpinPool: kernel call on rows 0\.\.1 did not return within 3000 ms/);
      const widths = [];
      for await (const w of first.outs[1].load()) widths.push(w);
      assert.deepEqual(widths, [6, 6, 6, 6]);
      // The pool was repaired: a later run uses fresh workers.
      const again = runSpin(false, ['t0', 't1']);
      assert.deepEqual((await again.run).failedJobs, []);
    });

    test('run checks its kernelTimeout option', async () => {
      const sc = new vg.Client({ db: tempDir() });
      const input = sc.io.Input([new vg.ArrayStream(frames(1, 4))]);
      await assert.rejects(sc.run(sc.io.Output(sc.ops.Histogram({ frame: input }), [new vg.NamedStream(sc, 'h')]), vg.PerfParams.manual(1, 1), { showProgress: false, kernelTimeout: -1 }),
        { code: 'ERR_BAD_ARGUMENT', message: 'run: expected integer kernelTimeout (ms) between 1 and 2147483647, got -1 (number)' });
    });
  });
});
