/**
 * How a run is cut into work: ioPacketSize rows per task (the unit of decoding, writing and
 * progress) and workPacketSize rows per kernel call.
 *
 * @example
 * await sc.run(output, vg.PerfParams.manual(50, 250));
 * await sc.run(output, vg.PerfParams.estimate());
 */
import * as os from 'node:os';
import { BadArgumentError } from '../errors';
import { threadsOption } from '../limits';
import { describe, integer, knownKeys, plainObject } from '../validate';

/** Packets queued per pipeline, at most. */
const MAX_QUEUE = 1024;

/**
 * How a run is cut into work: `ioPacketSize` rows per task (the unit of decoding, writing and
 * progress) and `workPacketSize` rows per kernel call. Made by {@link PerfParams.estimate} or
 * {@link PerfParams.manual}.
 *
 * @example
 * await sc.run(output, vg.PerfParams.estimate());
 */
export class PerfParams {
  private constructor(
    /** Rows per kernel call. */
    readonly workPacketSize: number,
    /** Rows per task: the unit of decoding, writing and progress. */
    readonly ioPacketSize: number,
    /**
     * Scanner's pool and pipeline options as given to `manual` (cpuPool, gpuPool,
     * pipelineInstancesPerNode, queueSizePerPipeline): validated, but not used by the runner in this version.
     */
    readonly options: {
      /** Scanner's CPU memory pool size (not used). */
      cpuPool?: number;
      /** Scanner's GPU memory pool size (not used). */
      gpuPool?: number;
      /** Scanner's pipelines per machine (not used). */
      pipelineInstancesPerNode?: number;
      /** Scanner's packets queued per pipeline, at most 1024 (not used). */
      queueSizePerPipeline?: number;
    },
    /** @internal estimate() without frameBytes: sized again from the real frames at run time. */
    readonly estimated = false,
  ) {}

  /**
   * Explicit packet sizes, in rows (`ioPacketSize >= workPacketSize`). The options are Scanner's
   * (cpuPool, gpuPool, pipelineInstancesPerNode, queueSizePerPipeline): validated, not used by
   * the runner in this version.
   *
   * @example
   * await sc.run(output, vg.PerfParams.manual(50, 250));
   */
  static manual(workPacketSize: number, ioPacketSize: number, opts?: { cpuPool?: number; gpuPool?: number; pipelineInstancesPerNode?: number; queueSizePerPipeline?: number }): PerfParams {
    integer('PerfParams.manual', 'workPacketSize', workPacketSize, { min: 1 });
    integer('PerfParams.manual', 'ioPacketSize', ioPacketSize, { min: 1 });
    if (ioPacketSize < workPacketSize) throw new BadArgumentError(`PerfParams.manual: expected ioPacketSize >= workPacketSize, got ${ioPacketSize} < ${workPacketSize}`);
    const o = { ...plainObject('PerfParams.manual', 'options', opts) };
    knownKeys('PerfParams.manual', o, ['cpuPool', 'gpuPool', 'pipelineInstancesPerNode', 'queueSizePerPipeline']);
    for (const [k, v] of Object.entries(o)) integer('PerfParams.manual', k, v, { min: 0 });
    // Pipeline instances are threads: bounded as every thread option is.
    if (o.pipelineInstancesPerNode !== undefined) o.pipelineInstancesPerNode = threadsOption('PerfParams.manual', 'pipelineInstancesPerNode', o.pipelineInstancesPerNode, 0);
    if (o.queueSizePerPipeline !== undefined) integer('PerfParams.manual', 'queueSizePerPipeline', o.queueSizePerPipeline, { min: 0, max: MAX_QUEUE });
    return new PerfParams(workPacketSize, ioPacketSize, o);
  }

  /**
   * Packet sizes from memory and frame size: a task's frames (decoded input plus one output
   * per op) stay within a small share of free memory, so 4K video does not exhaust it. Without
   * `frameBytes` the sizes are worked out again from the real frames at run time; `memoryBytes`
   * replaces the free memory.
   *
   * @example
   * await sc.run(output, vg.PerfParams.estimate());
   * const for4k = vg.PerfParams.estimate({ frameBytes: 3840 * 2160 * 3 });
   */
  static estimate(opts?: { frameBytes?: number; memoryBytes?: number }): PerfParams {
    const o = plainObject('PerfParams.estimate', 'options', opts);
    knownKeys('PerfParams.estimate', o, ['frameBytes', 'memoryBytes']);
    const frameBytes = o.frameBytes === undefined ? 1920 * 1080 * 3 : integer('PerfParams.estimate', 'frameBytes', o.frameBytes, { min: 1 });
    const memory = o.memoryBytes === undefined ? os.freemem() : integer('PerfParams.estimate', 'memoryBytes', o.memoryBytes, { min: 1 });
    return PerfParams.sized(frameBytes, memory, o.frameBytes === undefined);
  }

  /** @internal Re-sizes an estimate for the frames a run really has. */
  forFrames(frameBytes: number): PerfParams {
    return this.estimated ? PerfParams.sized(frameBytes, os.freemem(), false) : this;
  }

  private static sized(frameBytes: number, memory: number, estimated: boolean): PerfParams {
    // A run holds up to 3 packets in flight, each with its decoded frames and about two derived
    // frames per row: keep that under 1/32 of memory and 512 MiB.
    const budget = Math.min(memory / 32, 512 * 2 ** 20);
    const io = Math.max(8, Math.min(1000, Math.floor(budget / 3 / (frameBytes * 3))));
    const work = Math.max(1, Math.min(io, 32));
    return new PerfParams(work, io, {}, estimated);
  }

  /** @internal */
  static check(p: unknown): PerfParams {
    if (!(p instanceof PerfParams)) throw new BadArgumentError(`run: expected vg.PerfParams.estimate() or vg.PerfParams.manual(...), got ${describe(p)}`);
    return p;
  }
}

/**
 * What `sc.run` does with outputs that already exist (the `cacheMode` option).
 */
export const CacheMode = Object.freeze({
  /** Refuse the run (ERR_EXISTS) when an output exists (the default). */
  Error: 'error',
  /** Skip the jobs whose outputs all exist. */
  Ignore: 'ignore',
  /** Replace existing outputs. */
  Overwrite: 'overwrite',
} as const);
export type CacheMode = (typeof CacheMode)[keyof typeof CacheMode];

/**
 * Where an op runs: `device: vg.DeviceType.GPU` asks for its GPU kernel (ERR_NO_GPU without a GPU).
 */
export const DeviceType = Object.freeze({
  /** The CPU (the default). */
  CPU: 'cpu',
  /** A CUDA GPU. */
  GPU: 'gpu',
} as const);
/** The values of {@link DeviceType}. */
export type DeviceType = (typeof DeviceType)[keyof typeof DeviceType];
