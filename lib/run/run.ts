/**
 * sc.run(): plans each job (one per input stream), evaluates its outputs packet by packet,
 * writes them to staging and commits each job's outputs together. A failing job fails alone.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import type { Client } from '../client';
import { AbortedError, BadArgumentError, ClosedError, ExistsError, fromNative, JobsFailedError, toVidgraphError, VidgraphError } from '../errors';
import type { JobFailure } from '../errors';
import { Frame } from '../frame';
import { ArgValue, GraphNode, InputNode, OpNode, OutputOp, perJob } from '../graph/graph';
import { Json } from '../graph/types';
import { usableGpus } from '../gpu';
import { native } from '../native';
import { ElementReader, ElementWriter } from '../storage/element-file';
import { EncodedWriter, encodable } from '../storage/encoded-writer';
import type { Compression } from '../graph/graph';
import type { NativeIndexInfo } from '../native';
import type { StreamMeta } from '../storage/local-database';
import { ArrayStream } from '../streams/array-stream';
import { FilesStream } from '../streams/files-stream';
import { NamedStream } from '../streams/named-stream';
import { NamedVideoStream } from '../streams/named-video-stream';
import { StoredStream } from '../streams/stored-stream';
import { describe, integer, optionalBoolean } from '../validate';
import { DEFAULT_KERNEL_TIMEOUT_MS, JobEvaluator, KernelLike, OpState, RowSource, Value } from './evaluate';
import { KernelConfig, TsKernelRunner, tsOp } from '../kernels/ts-ops';
import { encodePluginArgs, findOpDeclaration } from '../graph/ops';
import { PooledKernel } from '../kernels/worker-pool';
import { CacheMode, PerfParams } from './perf-params';
import { clipRange, JobPlan } from './plan';
import type { RowRange } from './plan';
import { ProgressBar } from './progress';
import { Trace } from './trace';

/** What `onProgress` receives during a run. */
export interface RunProgress {
  /** Output rows written so far. */
  done: number;
  /** Output rows the run will write (jobs skipped by `CacheMode.Ignore` not counted). */
  total: number;
  /** Jobs in the run (one per input stream). */
  jobs: number;
  /** Jobs that failed so far. */
  failedJobs: number;
  /** Jobs finished so far (committed, failed or skipped). */
  jobsDone: number;
  /** Distributed runs: the workers connected to the queue (checked about once a second). */
  workers?: number;
  /** Distributed runs: the tasks queued so far (row ranges of jobs, and one merge per job split in several). */
  tasks?: number;
  /** Distributed runs: the tasks finished (done or failed). */
  tasksDone?: number;
}

/** Options of `sc.run`. */
export interface RunOptions {
  /** What to do with outputs that exist already: `CacheMode.Error` (default: ERR_EXISTS), `Ignore` (skip those jobs) or `Overwrite`. */
  cacheMode?: CacheMode;
  /** Draw a progress bar on stderr (default: when stderr is a TTY). */
  showProgress?: boolean;
  /** Called as rows are written and when a job fails. */
  onProgress?: (p: RunProgress) => void;
  /** Aborting cancels the run (ERR_ABORTED); nothing partial becomes visible. */
  signal?: AbortSignal;
  /** Write a Chrome trace of the pipeline stages; its path is in `stats.profile`. */
  profiling?: boolean;
  /**
   * Milliseconds one kernel call (a batch of rows through one op, or its reset()) may take;
   * default 600000 (10 minutes). A call that overruns fails its job with ERR_TIMEOUT naming the op
   * and rows; the run goes on with the other jobs. The stuck kernel is abandoned: a worker-pool
   * kernel's worker is terminated and replaced, a native (built-in or plugin) kernel's thread is
   * left to itself (it cannot be stopped). Inline TypeScript kernels run on the main thread and
   * cannot be interrupted at all: give a CPU-heavy or risky kernel a `module` (the worker pool).
   */
  kernelTimeout?: number;
  /**
   * Reject with a JobsFailedError (ERR_JOBS_FAILED) listing each failed job and its cause when
   * any job failed (the other jobs are committed all the same). Without it, the run resolves
   * and emits one VIDGRAPH_JOB_FAILED process warning per failed job.
   */
  throwOnFailure?: boolean;
}

/** Counters of a finished run. */
export interface RunStats {
  /** Jobs in the run (one per input stream). */
  jobs: number;
  /** Jobs skipped because their outputs existed (`CacheMode.Ignore`). */
  skippedJobs: number;
  /** Output rows written. */
  rowsWritten: number;
  /** Frames the decoders produced (fewer than the input has when sampling is pushed down). */
  framesDecoded: number;
  /** Of them, the frames NVDEC decoded on a GPU (NVDEC decode: the README's GPU section). */
  framesOnGpu: number;
  /**
   * Keyframe intervals the decoders opened (seeks). The job's input rows are planned as one
   * decode schedule, so each interval holding a needed row is opened once per job however the
   * rows are ordered (unless the decoded frames kept ahead exceed their memory budget).
   */
  gopsOpened: number;
  /** Rows the op kernels executed (warm-up rows included). */
  opRows: number;
  /** Wall-clock seconds the run took. */
  seconds: number;
  /** One entry per failed job: its name, its error's code and message (and, in a distributed run, the worker). */
  errors: JobFailure[];
  /** The same entries as `errors`, under the contract's name. */
  failures: JobFailure[];
  /** With `profiling: true`: the Chrome trace file of the run's stages. */
  profile?: string;
}

/** What `sc.run` resolves to. */
export interface RunResult {
  /** A random id of this run (also names its profiling trace). */
  jobId: string;
  /** The names of the jobs that failed (their input streams'); the others are committed. */
  failedJobs: string[];
  /** The run's counters. */
  stats: RunStats;
}

type OutputStream = NamedVideoStream | NamedStream;

/**
 * Writes one output column: frame columns as H.264 (the default for uint8 RGB frames of even
 * size, or when compressVideo() asks) or raw (lossless(), other frames); other columns as rows.
 */
class ColumnWriter {
  private impl?: ElementWriter | EncodedWriter;
  firstFrame?: Frame;

  constructor(
    private readonly dir: string,
    private readonly type: string,
    private readonly compression: Compression | undefined,
    private readonly encode: { fps: number; threads: number },
    private readonly stream: string,
  ) {}

  get rows(): number {
    return this.impl?.rows ?? 0;
  }

  get encoded(): boolean {
    return this.impl instanceof EncodedWriter;
  }

  async append(v: Value): Promise<void> {
    if (v instanceof Frame) this.firstFrame ??= v;
    if (!this.impl) {
      const wantEncoded = this.type === 'Frame' && this.compression?.mode !== 'raw';
      if (wantEncoded && this.compression?.mode === 'encoded' && v instanceof Frame && !encodable(v)) {
        throw new BadArgumentError(`compressVideo(): stream '${this.stream}' gets ${v.dtype} frames with ${v.channels} channels, ${v.width}x${v.height}; H.264 needs uint8 RGB of even size (use lossless())`);
      }
      this.impl = wantEncoded && (this.compression?.mode === 'encoded' || (v instanceof Frame && encodable(v)))
        ? new EncodedWriter(this.dir, { ...this.compression, ...this.encode }, this.stream)
        : new ElementWriter(this.dir);
    }
    await (this.impl instanceof EncodedWriter ? this.impl.append(v as Frame | null) : this.impl.append(v));
  }

  /** Finishes the files; for encoded video, the facts of the encoded stream. */
  async finish(): Promise<NativeIndexInfo | undefined> {
    this.impl ??= new ElementWriter(this.dir);
    if (this.impl instanceof EncodedWriter) return this.impl.finish();
    await this.impl.finish();
    return undefined;
  }

  async abort(): Promise<void> {
    await this.impl?.abort();
  }
}

/** Packets evaluated at once per output: enough to overlap decoding, kernels and writing. */
const PACKETS_IN_FLIGHT = 3;

function nodesOf(outputs: OutputOp[]): GraphNode[] {
  const seen = new Map<number, GraphNode>();
  const visit = (n: GraphNode) => {
    if (seen.has(n.id)) return;
    n.inputs.forEach((c) => visit(c.node));
    seen.set(n.id, n);
  };
  outputs.forEach((o) => visit(o.column.node));
  return [...seen.values()];
}

async function openRowSource(stream: unknown, threads: number, job: string, gpu?: number): Promise<{ source: RowSource; fps: number; frameBytes: number }> {
  if (stream instanceof ArrayStream) {
    const values = stream.values.map((v): Value => (v === null || v instanceof Frame || v instanceof Uint8Array ? v : Json.serialize(v)));
    return { source: { read: async (rows) => new Map(rows.map((r) => [r, values[r] ?? null])), close: async () => undefined }, fps: 0, frameBytes: 0 };
  }
  if (stream instanceof FilesStream) {
    return { source: { read: async (rows) => new Map(await Promise.all(rows.map(async (r): Promise<[number, Value]> => [r, await stream.files.read(stream.paths[r]!)]))), close: async () => undefined }, fps: 0, frameBytes: 0 };
  }
  if (!(stream instanceof StoredStream)) throw new BadArgumentError(`run: job '${job}': unsupported input ${describe(stream)}`);
  const meta: StreamMeta = await stream.meta();
  if (meta.storage !== 'elements') {
    // Packets (an ingested video or an encoded frame output), whichever class names the stream.
    const video = await stream.openSource({ gpu });
    return {
      source: {
        read: (rows) => video.decodeRows(rows), close: () => video.close(),
        framesDecoded: () => video.stats.framesDecoded, framesOnGpu: () => video.stats.framesOnGpu, gopsOpened: () => video.stats.seeks,
        plan: (rows) => video.plan(rows),
      },
      fps: video.info.fps,
      frameBytes: video.info.width * video.info.height * 3,
    };
  }
  const files = await (await stream.sc.ready()).elementFiles(stream.name(), meta);
  const reader = await ElementReader.open(files.dir, stream.name(), meta.rows).catch(async (err: unknown) => {
    await files.release();
    throw err;
  });
  const asFrame = meta.type === 'Frame';
  return {
    source: {
      read: async (rows) => {
        const out = new Map<number, Value>();
        for (const r of rows) out.set(r, await reader.read(r, asFrame));
        return out;
      },
      close: async () => {
        try {
          await reader.close();
        } finally {
          await files.release();
        }
      },
    },
    fps: Number((meta.video as { fps?: number } | undefined)?.fps ?? 0),
    frameBytes: 0,
  };
}

function argsForJob(node: OpNode, job: number, jobs: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node.args)) out[k] = Array.isArray(v) ? perJob(node.opName, `argument '${k}'`, v, jobs)[job]! : v;
  return out;
}

/** The kernel behind an op node: the engine's, a TypeScript kernel inline, or one in the worker pool. */
function makeKernel(node: OpNode, job: number, jobs: number, gpu: number | undefined): KernelLike {
  const args = argsForJob(node, job, jobs);
  const ts = tsOp(node.opName);
  if (!ts) {
    const plugin = findOpDeclaration(node.opName).plugin;
    const nativeArgs = plugin ? encodePluginArgs(node.opName, args) : (args as Record<string, ArgValue>);
    // device GPU: the op's CUDA kernel, on the job's GPU.
    const placement = node.options.device === 'gpu' ? { device: 'gpu' as const, gpu } : undefined;
    const k = new (native().NativeKernel)(node.opName, nativeArgs, placement);
    const coded = (err: unknown): never => {
      throw fromNative(err);
    };
    return {
      execute: (inputs, rows) => k.execute(inputs, rows).catch(coded),
      reset: () => k.reset().catch(coded),
      close: () => k.close(),
      abandon: () => k.abandon(), // its thread takes no more calls and no longer keeps Node alive
    };
  }
  const config: KernelConfig = { args, device: node.options.device, inputColumns: ts.inputs.map((i) => i.name), outputColumns: ts.outputs.map((o) => o.name), nodeId: node.id };
  const op = { ...ts, stencil: node.options.stencil, batch: node.options.batch, boundedState: node.options.boundedState, unboundedState: node.options.unboundedState };
  if (ts.module) return new PooledKernel(op, config);
  const runner = new TsKernelRunner(op, config, ts.kernel!);
  const wrap = async <T>(what: () => Promise<T>): Promise<T> => {
    try {
      return await what();
    } catch (err) {
      if (err instanceof VidgraphError) throw err;
      const e = new VidgraphError('ERR_KERNEL', `${node.opName}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      if ((err as Error)?.stack) e.stack = `${e.name}: ${e.message}\n${(err as Error).stack}`;
      throw e;
    }
  };
  return {
    execute: (cols, rows) => wrap(() => runner.run(cols, rows)),
    reset: () => wrap(() => runner.reset()),
    close: () => wrap(() => runner.close()),
  };
}

/** @internal What a distributed run changes in a worker's run of one job (lib/distributed). */
export interface RunHooks {
  /** Run only these jobs: the others are not planned, read or counted. */
  onlyJobs?: number[];
  /** Hands a job's staged outputs over (with their metadata) instead of committing them. */
  handOver?: (job: number, staged: { dir: string; meta: StreamMeta }[]) => Promise<void>;
  /**
   * Evaluate only these output rows of every output (a task of a distributed run). The staged
   * outputs are parts of their streams, which lib/distributed/merge.ts joins; an output with no
   * rows in the range stages an empty part.
   */
  rows?: RowRange;
}

/** @internal A run's arguments, checked (by sc.run, locally or on a cluster). */
export function checkRun(outputsArg: OutputOp | OutputOp[], perfArg: PerfParams, opts: RunOptions) {
  const outputs = Array.isArray(outputsArg) ? outputsArg : [outputsArg];
  if (outputs.length === 0 || !outputs.every((o) => o instanceof OutputOp)) throw new BadArgumentError(`run: expected sc.io.Output(...) (or an array of them), got ${describe(outputsArg)}`);
  const perf = PerfParams.check(perfArg);
  const kernelTimeout = opts.kernelTimeout === undefined ? DEFAULT_KERNEL_TIMEOUT_MS : integer('run', 'kernelTimeout (ms)', opts.kernelTimeout, { min: 1, max: 2 ** 31 - 1 });
  const throwOnFailure = optionalBoolean('run', 'throwOnFailure', opts.throwOnFailure) ?? false;
  const cacheMode = opts.cacheMode ?? CacheMode.Error;
  if (!Object.values(CacheMode).includes(cacheMode)) throw new BadArgumentError(`run: expected cacheMode vg.CacheMode.Error, Ignore or Overwrite, got ${describe(cacheMode)}`);
  const jobs = outputs[0]!.streams.length;
  for (const o of outputs) {
    if (o.streams.length !== jobs) throw new BadArgumentError(`run: every Output needs the same number of streams (${jobs}), got ${o.streams.length}`);
  }
  const nodes = nodesOf(outputs);
  for (const n of nodes) {
    if (n instanceof InputNode && n.streams.length !== jobs) throw new BadArgumentError(`run: Input has ${n.streams.length} stream(s) but Output has ${jobs}`);
  }
  return { outputs, perf, kernelTimeout, throwOnFailure, cacheMode, jobs, nodes };
}

/** @internal A run's counters before anything ran (`failures` is `errors`, under the contract's name). */
export function newRunStats(jobs: number): RunStats {
  const errors: JobFailure[] = [];
  return { jobs, skippedJobs: 0, rowsWritten: 0, framesDecoded: 0, framesOnGpu: 0, gopsOpened: 0, opRows: 0, seconds: 0, errors, failures: errors };
}

/**
 * @internal Which jobs run, and their plans: cache modes are decided for every job before
 * anything runs; plans need the inputs' lengths (ingesting lazily where needed). An input that
 * cannot be ingested or read (not a video, a truncated file without an index, a missing stream)
 * fails its own job; the other jobs run and commit. `onlyJobs`: the others are not looked at.
 */
export async function prepareJobs(outputs: OutputOp[], nodes: GraphNode[], jobs: number, cacheMode: CacheMode, jobName: (j: number) => string, onlyJobs?: number[], rows?: RowRange) {
  const runJob: boolean[] = [];
  let skippedJobs = 0;
  for (let j = 0; j < jobs; j++) {
    if (onlyJobs && !onlyJobs.includes(j)) {
      runJob.push(false);
      continue;
    }
    const existing: string[] = [];
    for (const o of outputs) if (await (o.streams[j] as OutputStream).exists()) existing.push(o.streams[j]!.name());
    if (existing.length > 0 && cacheMode === CacheMode.Error) {
      throw new ExistsError(`run: output stream(s) ${existing.map((n) => `'${n}'`).join(', ')} already exist (use cacheMode vg.CacheMode.Ignore or Overwrite)`);
    }
    const skip = cacheMode === CacheMode.Ignore && existing.length === outputs.length;
    runJob.push(!skip);
    if (skip) skippedJobs++;
  }
  const inputNodes = nodes.filter((n): n is InputNode => n instanceof InputNode);
  const plans: JobPlan[] = [];
  const inputFailures: { job: number; error: VidgraphError }[] = [];
  let total = 0;
  for (let j = 0; j < jobs; j++) {
    if (onlyJobs && !onlyJobs.includes(j)) continue;
    const lengths = new Map<number, number>();
    try {
      for (const n of inputNodes) {
        lengths.set(n.id, await n.streams[j]!.len());
      }
    } catch (err) {
      if (!runJob[j]) continue;
      if (err instanceof AbortedError || err instanceof ClosedError) throw err;
      inputFailures.push({ job: j, error: toVidgraphError(err, `job '${jobName(j)}'`) });
      runJob[j] = false;
      continue;
    }
    const plan = new JobPlan(j, jobs, lengths);
    plans[j] = plan;
    if (runJob[j]) {
      for (const o of outputs) {
        const { start, end } = clipRange(plan.column(o.column).length, rows);
        total += end - start;
      }
    }
  }
  return { runJob, plans, total, skippedJobs, inputFailures };
}

/**
 * @internal A finished run's result: with failed jobs, rejected (throwOnFailure) or returned
 * after one VIDGRAPH_JOB_FAILED warning per failed job, so that a failure never passes unnoticed,
 * progress bar or not.
 */
export function settleRun(result: RunResult, throwOnFailure: boolean): RunResult {
  const { stats } = result;
  if (stats.errors.length > 0) {
    if (throwOnFailure) throw new JobsFailedError(stats.errors, stats.jobs, result);
    for (const e of stats.errors) process.emitWarning(`job '${e.job}' failed: ${e.message.split('\n')[0]} (${e.code})`, { code: 'VIDGRAPH_JOB_FAILED' });
  }
  return result;
}

let warnedNoGpuDecode = false;
/** Once per process: the Client's gpus asked for GPU decoding and none can be used. */
function warnNoGpuDecode(reason: string): void {
  if (warnedNoGpuDecode) return;
  warnedNoGpuDecode = true;
  process.emitWarning(`the Client option gpus names GPUs, but no CUDA GPU can be used (${reason}): videos are decoded on the CPU`, { code: 'VIDGRAPH_NO_GPU' });
}

export async function run(sc: Client, outputsArg: OutputOp | OutputOp[], perfArg: PerfParams, opts: RunOptions = {}, hooks: RunHooks = {}): Promise<RunResult> {
  // Validate.
  const checked = checkRun(outputsArg, perfArg, opts);
  const { outputs, kernelTimeout, throwOnFailure, cacheMode, jobs, nodes } = checked;
  let perf = checked.perf;
  // GPUs: ops on device GPU need one (ERR_NO_GPU otherwise). Videos are decoded on a GPU (NVDEC)
  // when an op on device GPU reads them directly, or for every input when the Client's gpus
  // option names GPUs (where none can be used, that falls back to the CPU with a warning).
  const gpuNode = nodes.find((n): n is OpNode => n instanceof OpNode && n.options.device === 'gpu');
  const gpusNamed = (sc.gpus?.length ?? 0) > 0;
  const gpus = gpuNode || gpusNamed ? usableGpus(sc.gpus) : { ids: [] };
  if (gpuNode && gpus.reason !== undefined) {
    throw new VidgraphError('ERR_NO_GPU', `${gpuNode.opName}: device GPU was asked for, but no CUDA GPU can be used: ${gpus.reason}`);
  }
  if (gpus.reason !== undefined) warnNoGpuDecode(gpus.reason);
  const gpuIds = gpus.ids ?? [];
  const gpuInputs = new Set<number>();
  for (const n of nodes) {
    if (n instanceof OpNode && n.options.device === 'gpu') for (const c of n.inputs) if (c.node instanceof InputNode) gpuInputs.add(c.node.id);
  }
  // Jobs are spread over the usable GPUs: job j's GPU ops and GPU decoding use this one.
  const gpuOfJob = (job: number): number | undefined => (gpuIds.length > 0 ? gpuIds[job % gpuIds.length] : undefined);
  const db = await sc.ready();
  const started = performance.now();
  const jobId = randomBytes(8).toString('hex');
  const stats = newRunStats(jobs);
  const failedJobs: string[] = [];
  const trace = opts.profiling ? new Trace() : undefined;
  const jobName = (j: number) => nodes.find((n): n is InputNode => n instanceof InputNode)?.streams[j]?.name() ?? `job ${j}`;

  const { runJob, plans, total, skippedJobs, inputFailures } = await prepareJobs(outputs, nodes, jobs, cacheMode, jobName, hooks.onlyJobs, hooks.rows);
  stats.skippedJobs = skippedJobs;
  const inputNodes = nodes.filter((n): n is InputNode => n instanceof InputNode);

  const progress = { done: 0, total, jobs, failedJobs: 0, jobsDone: stats.skippedJobs };
  for (const { job, error } of inputFailures) {
    failedJobs.push(jobName(job));
    stats.errors.push({ job: jobName(job), code: error.code, message: error.message });
    progress.failedJobs++;
    progress.jobsDone++;
  }
  const bar = (opts.showProgress ?? process.stderr.isTTY) ? new ProgressBar(total) : undefined;
  const report = () => {
    opts.onProgress?.({ ...progress });
    bar?.update(progress.done, progress.failedJobs);
  };
  report();

  try {
    for (let j = 0; j < jobs; j++) {
      if (!runJob[j]) continue;
      if (opts.signal?.aborted) throw new AbortedError('the run was aborted');
      const staged: { dir: string; writer: ColumnWriter; output: OutputOp; stream: OutputStream; info?: NativeIndexInfo }[] = [];
      const sources = new Map<number, RowSource>();
      const ops = new Map<number, OpState>();
      let fps = 0;
      try {
        for (const n of inputNodes) {
          const opened = await openRowSource(n.streams[j], sc.threads, jobName(j), gpusNamed || gpuInputs.has(n.id) ? gpuOfJob(j) : undefined);
          if (trace) {
            const inner = opened.source;
            const label = `input ${n.streams[j]!.name()}`;
            opened.source = { ...inner, read: (rows) => trace.span(label, 'read', { rows: rows.length, first: rows[0] }, () => inner.read(rows)) };
          }
          sources.set(n.id, opened.source);
          fps ||= opened.fps;
          if (opened.frameBytes > 0) perf = perf.forFrames(opened.frameBytes);
        }
        for (const n of nodes) {
          if (!(n instanceof OpNode)) continue;
          const kernel = makeKernel(n, j, jobs, gpuOfJob(j));
          const label = `op ${n.opName}#${n.id}`;
          const traced = trace
            ? { execute: (inputs: Value[][], rows: number) => trace.span(label, 'execute', { rows }, () => kernel.execute(inputs, rows)), reset: () => kernel.reset(), close: () => kernel.close(), abandon: () => kernel.abandon?.() }
            : kernel;
          ops.set(n.id, { kernel: traced, lastRow: -2, lastGroup: -1, turn: Promise.resolve() });
        }
        // One decode schedule per input for the whole job (every output, every packet).
        const schedule = plans[j]!.inputSchedule(outputs.map((o) => o.column), perf.ioPacketSize, hooks.rows);
        for (const [id, source] of sources) await source.plan?.(schedule.get(id) ?? []);
        const evaluator = new JobEvaluator(plans[j]!, sources, ops, perf.workPacketSize, opts.signal, kernelTimeout);
        for (const o of outputs) {
          const stream = o.streams[j] as OutputStream;
          const dir = await db.stage();
          const writer = new ColumnWriter(dir, o.column.type, o.column.compression, { fps, threads: sc.threads }, stream.name());
          const entry: (typeof staged)[number] = { dir, writer, output: o, stream };
          staged.push(entry);
          const { start, end: length } = clipRange(plans[j]!.column(o.column).length, hooks.rows);
          // Packets in flight: packet k+1 is decoding while packet k is in the op kernels.
          const packets: Promise<Map<number, Value>>[] = [];
          const rowsOf = (a: number) => Array.from({ length: Math.min(perf.ioPacketSize, length - a) }, (_, i) => a + i);
          let next = start;
          const launch = () => {
            if (next >= length) return;
            const p = evaluator.packet(o.column, rowsOf(next));
            p.catch(() => undefined);
            packets.push(p);
            next += perf.ioPacketSize;
          };
          for (let k = 0; k < PACKETS_IN_FLIGHT; k++) launch();
          for (let a = start; a < length; a += perf.ioPacketSize) {
            if (opts.signal?.aborted) throw new AbortedError('the run was aborted');
            const values = await packets.shift()!;
            launch();
            const rows = rowsOf(a);
            const write = async () => {
              for (const r of rows) await writer.append(values.get(r) ?? null);
            };
            await (trace ? trace.span(`write ${stream.name()}`, 'write', { rows: rows.length }, write) : write());
            progress.done += rows.length;
            stats.rowsWritten += rows.length;
            report();
          }
          entry.info = await writer.finish();
        }
        stats.opRows += evaluator.opRows;
        for (const s of sources.values()) {
          stats.framesDecoded += s.framesDecoded?.() ?? 0;
          stats.framesOnGpu += s.framesOnGpu?.() ?? 0;
          stats.gopsOpened += s.gopsOpened?.() ?? 0;
        }
        // Commit every output of the job (or hand them over, in a distributed run's worker).
        const metas: { dir: string; meta: StreamMeta }[] = [];
        for (const s of staged) {
          const isVideo = s.stream instanceof NamedVideoStream;
          const firstFrame = s.writer.firstFrame;
          const rows = s.writer.rows;
          const info = s.info;
          const meta: StreamMeta = info
            ? {
                formatVersion: 1, name: s.stream.name(), kind: isVideo ? 'video' : 'stream', storage: 'packets', type: 'Frame', rows: info.frames,
                createdAt: new Date().toISOString(), dataFile: 'packets.bin', video: { ...info },
              }
            : {
                formatVersion: 1, name: s.stream.name(), kind: isVideo ? 'video' : 'stream', storage: 'elements', type: s.output.column.type, rows,
                createdAt: new Date().toISOString(),
                video: s.output.column.type === 'Frame' && firstFrame
                  ? { width: firstFrame.width, height: firstFrame.height, frames: rows, fps, timeBase: [1, Math.round(fps) || 1], codec: 'rawvideo',
                      pixFmt: firstFrame.channels === 3 && firstFrame.dtype === 'uint8' ? 'rgb24' : `${firstFrame.dtype}x${firstFrame.channels}`,
                      durationSec: fps > 0 ? rows / fps : 0, keyframes: rows }
                  : undefined,
              };
          metas.push({ dir: s.dir, meta });
        }
        if (hooks.handOver) await hooks.handOver(j, metas);
        else for (const { dir, meta } of metas) await db.commit(dir, meta, { overwrite: cacheMode === CacheMode.Overwrite });
        staged.length = 0;
        progress.jobsDone++;
        report();
      } catch (err) {
        for (const s of staged) {
          await s.writer.abort();
          await db.discard(s.dir);
        }
        if (err instanceof AbortedError || opts.signal?.aborted) throw err instanceof AbortedError ? err : new AbortedError('the run was aborted', { cause: err });
        const e = toVidgraphError(err, `job '${jobName(j)}'`);
        failedJobs.push(jobName(j));
        stats.errors.push({ job: jobName(j), code: e.code, message: e.message });
        progress.failedJobs++;
        progress.jobsDone++;
        report();
      } finally {
        for (const s of sources.values()) await s.close().catch(() => undefined);
        // An abandoned kernel is stuck in a call: closing it would wait for that call.
        for (const o of ops.values()) if (!o.abandoned) await o.kernel.close().catch(() => undefined);
      }
    }
  } finally {
    bar?.stop();
  }
  stats.seconds = (performance.now() - started) / 1000;
  if (trace) stats.profile = await trace.write(path.join(db.localDir, 'profiles', `${jobId}.trace.json`));
  return settleRun({ jobId, failedJobs, stats }, throwOnFailure);
}
