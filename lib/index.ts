/**
 * vidgraph: Scanner-class video analytics for Node.js.
 *
 * @example
 * import * as vg from 'vidgraph';
 * const reader = await vg.VideoReader.open('movie.mp4');
 * const { image } = await reader.frame(100); // RGB, byte-identical to ffmpeg's rgb24 output
 *
 * The database side: a {@link Client} (`sc`), stored streams ({@link NamedVideoStream},
 * {@link NamedStream}), graphs built with `sc.io`, `sc.ops` and `sc.streams`, run by `sc.run`.
 *
 * @packageDocumentation
 */
export { Client } from './client';
export type { ClientOptions, LogLevel, StorageConfig } from './client';
export {
  VidgraphError, NotFoundError, ExistsError, BadArgumentError, InvalidVideoError, DecodeError,
  UnsupportedCodecError, PluginError, AbortedError, NoGpuError, NativeLoadError, ClosedError, CorruptError,
  ResourceError, TimeoutError, JobsFailedError, ERROR_CODES,
} from './errors';
export type { ErrorCode, JobFailure } from './errors';
export { gpuStatus } from './gpu';
export type { GpuStatus } from './gpu';
export { Frame } from './frame';
export type { DType, FrameData, DataOf, DTypeOf, AnyFrame, CvMat } from './frame';
export { VideoReader } from './reader';
export type { ReaderFrame, ReaderOptions, ReaderStats } from './reader';
export { NamedVideoStream } from './streams/named-video-stream';
export type { IngestProgress, VideoMetadata } from './streams/named-video-stream';
export { PosixStorage, StorageBackend } from './storage/posix-storage';
export { NamedStream } from './streams/named-stream';
export type { NamedStreamOptions } from './streams/named-stream';
export { ArrayStream } from './streams/array-stream';
export { FilesStorage, FilesStream } from './streams/files-stream';
export type { FilesStorageConfig } from './streams/files-stream';
export { Column, OutputOp } from './graph/graph';
export type { Partition, SourceStream } from './graph/graph';
export type { IO } from './graph/io';
export type { StreamOps, Partitioner } from './graph/stream-ops';
export { FrameType, registerType, Bytes, Json, Histogram, BboxList, Float32, Int32, Image } from './graph/types';
export type { ColumnType, ColumnValue, TypeOf, FrameTypeT, Bbox, FrameInfo } from './graph/types';
export type { Ops, OpsCall, BuiltinOps, PluginOps, PerStream, OpOptions, OpHandle, OpSignature, OpResult, Interpolation, ColorConversion } from './graph/op-types';
export { PerfParams, CacheMode, DeviceType } from './run/perf-params';
export { registerOp, Kernel } from './kernels/ts-ops';
export { extractFrames } from './extract';
export { writeSampleVideo } from './sample';
export type { SampleVideo, SampleVideoOptions } from './sample';
export { VideoFrameGenerator } from './generators/video-frame-generator';
export { SlidingFrameGenerator } from './generators/sliding-frame-generator';
export { OpticalFlowGenerator } from './generators/optical-flow-generator';
export type { FlowMethod, OpticalFlowOptions } from './generators/optical-flow-generator';
export type { Batch, GeneratorOptions } from './generators/base';
export type { ExtractOptions, ExtractReport } from './extract';
export type {
  KernelConfig, FunctionKernel, KernelClass, OpRegistration, TypeArg, KernelInputs, KernelOutput, KernelRow, InputColumns, OutputColumns, MaybePromise,
  Windowed, Batched, IsUnion, Produced,
} from './kernels/ts-ops';
export type { RunOptions, RunResult, RunStats, RunProgress } from './run/run';
export type { LoadOpOptions } from './plugins';
export type { StreamListing } from './storage/local-database';
export type { DecodeStats } from './video-source';
export { version, versions } from './version';
