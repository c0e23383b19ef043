/**
 * GPUs: what the engine found (a CUDA build, a driver, devices) and which GPUs a client may use.
 * The engine probes the NVIDIA driver at run time; a binary built with CUDA also loads where there
 * is none, and then says why no GPU can be used.
 */
import { native } from './native';

/** What the engine found when it looked for CUDA GPUs ({@link gpuStatus}). */
export interface GpuStatus {
  /** The engine was compiled with its CUDA kernels (nvcc was found when it was built). */
  built: boolean;
  /** A GPU can be used: built with CUDA, a driver, at least one device. */
  available: boolean;
  /** CUDA devices the driver sees. */
  devices: number;
  /** Their names, by id. */
  names: string[];
  /** The driver's CUDA version as 1000 × major + 10 × minor (12040 for 12.4); 0 without a driver. */
  driverVersion: number;
  /** The CUDA runtime built into the engine, likewise; 0 when built without CUDA. */
  runtimeVersion: number;
  /** Why no GPU can be used; empty when one can. */
  reason: string;
}

/**
 * What the engine found when it looked for CUDA GPUs, and why none can be used when none can.
 *
 * @example
 * const gpu = vg.gpuStatus();
 * if (!gpu.available) console.log(`CPU only: ${gpu.reason}`);
 */
export function gpuStatus(): GpuStatus {
  return native().gpuStatus();
}

/** The GPU ids a client with option `gpus` may use, or why it may use none. */
export function usableGpus(gpus: number[] | undefined): { ids: number[]; reason?: undefined } | { ids?: undefined; reason: string } {
  if (gpus && gpus.length === 0) return { reason: 'the Client option gpus: [] forces the CPU' };
  const s = gpuStatus();
  if (!s.available) return { reason: s.reason };
  if (!gpus) return { ids: Array.from({ length: s.devices }, (_, i) => i) };
  const missing = gpus.find((g) => g >= s.devices);
  if (missing !== undefined) return { reason: `the Client option gpus asks for GPU ${missing}, but the driver sees ${s.devices} device${s.devices === 1 ? '' : 's'} (ids 0–${s.devices - 1})` };
  return { ids: gpus };
}
