import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client } from '../client';
import { BadArgumentError, ExistsError, fromNative, NotFoundError, toVidgraphError } from '../errors';
import { EngineFrame, Frame, frameFromEngine } from '../frame';
import { native, VideoMetadata } from '../native';
import type { StreamMeta } from '../storage/local-database';
import { describe, knownKeys, optionalBoolean, plainObject } from '../validate';
import { INDEX_FILE, PACKETS_FILE, StoredStream } from './stored-stream';
import { EncodedWriter } from '../storage/encoded-writer';
import { downloadObject, headObject, sourceClient } from '../storage/s3-database';

export type { VideoMetadata } from '../native';


/** How far an ingest got (NamedVideoStream.ingest's onProgress). */
export interface IngestProgress {
  /** Frames (packets of the video stream) indexed so far. */
  frames: number;
  /** Bytes of the file read so far. */
  bytes: number;
  /** The file's size in bytes. */
  totalBytes: number;
}

/**
 * A video stored in the database. With `path`, the video is ingested at the first read
 * (or eagerly with `ingest()`): demuxed once, every packet indexed, and (unless `inplace`)
 * its packets copied into the database.
 *
 * @example
 * const video = new vg.NamedVideoStream(sc, 'street', { path: 'street.mp4' });
 * for await (const frame of video.load({ rows: [0, 100, 200] })) console.log(frame.width, frame.height);
 */
export class NamedVideoStream extends StoredStream<Frame<'uint8'>> {
  private readonly sourcePath?: string;
  private readonly inplace: boolean;
  private readonly rotate: boolean;
  private ingesting?: Promise<void>;

  /**
   * `rotate` (default true): frames are turned by the video's display rotation (phone videos)
   * as the ffmpeg CLI turns them; false keeps the stored orientation. Fixed at ingest.
   * `path` is the video to ingest (nothing is read yet); `inplace: true` stores only the index
   * and reads frames from the original file. Without `path` the stream must exist already.
   */
  constructor(sc: Client, name: string, opts?: { path?: string; inplace?: boolean; rotate?: boolean }) {
    super(sc, name, 'NamedVideoStream');
    const o = plainObject('NamedVideoStream', 'options', opts);
    knownKeys('NamedVideoStream', o, ['path', 'inplace', 'rotate']);
    if (o.path !== undefined && (typeof o.path !== 'string' || o.path.length === 0)) {
      throw new BadArgumentError(`NamedVideoStream: expected a file path for path, got ${describe(o.path)}`);
    }
    // A video in a bucket (s3://bucket/key) stays a URL; anything else is a local path.
    this.sourcePath = o.path === undefined ? undefined : (o.path as string).startsWith('s3://') ? (o.path as string) : path.resolve(o.path as string);
    this.inplace = optionalBoolean('NamedVideoStream', 'inplace', o.inplace) ?? false;
    this.rotate = optionalBoolean('NamedVideoStream', 'rotate', o.rotate) ?? true;
  }

  /** @internal How this stream would ingest (a graph sent to workers carries it). */
  ingestOptions(): { path?: string; inplace: boolean; rotate: boolean } {
    return { path: this.sourcePath, inplace: this.inplace, rotate: this.rotate };
  }

  /**
   * Indexes the video (and copies its packets unless `inplace`) and commits the stream.
   * Does nothing when the stream already exists. `onProgress` is called about ten times a
   * second while the file is scanned, and once at the end: frames (packets) indexed so far,
   * bytes of the file read, and the file's size.
   *
   * @example
   * await new vg.NamedVideoStream(sc, 'movie', { path: 'movie.mp4' }).ingest({
   *   onProgress: ({ frames, bytes, totalBytes }) => console.log(`${frames} frames, ${(100 * bytes / totalBytes).toFixed(0)}%`),
   * });
   */
  async ingest(opts?: { onProgress?: (p: IngestProgress) => void }): Promise<void> {
    const o = plainObject('NamedVideoStream.ingest', 'options', opts);
    knownKeys('NamedVideoStream.ingest', o, ['onProgress']);
    if (o.onProgress !== undefined && typeof o.onProgress !== 'function') {
      throw new BadArgumentError(`NamedVideoStream.ingest: expected a function for onProgress, got ${describe(o.onProgress)}`);
    }
    this.ingesting ??= this.doIngest(o.onProgress as ((p: IngestProgress) => void) | undefined).finally(() => { this.ingesting = undefined; });
    return this.ingesting;
  }

  private async doIngest(onProgress?: (p: IngestProgress) => void): Promise<void> {
    const db = await this.sc.ready();
    if (await db.read(this.name())) return;
    if (!this.sourcePath) throw new NotFoundError(`stream '${this.name()}' does not exist and no path was given to ingest it from`);
    const remote = this.sourcePath.startsWith('s3://');
    const label = `ingest of '${this.name()}'`;
    const stat = remote
      ? await headObject(sourceClient(db), this.sourcePath, label)
      : await fsp.stat(this.sourcePath).catch((err: NodeJS.ErrnoException) => {
        throw err.code === 'ENOENT' ? new NotFoundError(`video file '${this.sourcePath}' does not exist`) : toVidgraphError(err, `ingest of '${this.name()}': cannot read video file '${this.sourcePath}'`);
      });
    const staging = await db.stage();
    // A video in a bucket is scanned from a local copy in the staging directory (removed before
    // the commit); in place, only its index is stored and its packets are read from the object.
    const SOURCE_COPY = 'source.download';
    try {
      let scan;
      let scanning;
      const scanPath = remote ? path.join(staging, SOURCE_COPY) : this.sourcePath;
      if (remote) await downloadObject(sourceClient(db), this.sourcePath, scanPath, label);
      try {
        scanning = native().scan(scanPath, { copyTo: path.join(staging, PACKETS_FILE), inplace: this.inplace, maxPixels: this.sc.maxPixels, rotate: this.rotate });
      } catch (err) {
        throw fromNative(err, `ingest of '${this.name()}'`);
      }
      const { progress } = scanning;
      const report = (): void => onProgress?.({ frames: Number(Atomics.load(progress, 0)), bytes: Number(Atomics.load(progress, 1)), totalBytes: stat.size });
      const timer = onProgress ? setInterval(report, 100).unref() : undefined;
      try {
        scan = await scanning;
      } catch (err) {
        throw fromNative(err, `ingest of '${this.name()}'`);
      } finally {
        clearInterval(timer);
      }
      onProgress?.({ frames: scan.info.frames, bytes: stat.size, totalBytes: stat.size });
      for (const w of scan.warnings) process.emitWarning(w, { code: 'VIDGRAPH_INGEST' });
      if (scan.info.inplace) await fsp.rm(path.join(staging, PACKETS_FILE), { force: true });
      if (remote) await fsp.rm(scanPath, { force: true });
      await fsp.writeFile(path.join(staging, INDEX_FILE), scan.index);
      const meta: StreamMeta = {
        formatVersion: 1,
        name: this.name(),
        kind: 'video',
        storage: 'packets',
        rows: scan.info.frames,
        createdAt: new Date().toISOString(),
        dataFile: scan.info.inplace ? this.sourcePath : PACKETS_FILE,
        source: { path: this.sourcePath, size: stat.size, mtimeMs: stat.mtimeMs },
        video: { ...scan.info },
        warnings: scan.warnings,
      };
      await db.commit(staging, meta);
    } catch (err) {
      await db.discard(staging);
      if (err instanceof ExistsError) {
        // Another writer committed it first: fine when it is the same video.
        const existing = await db.read(this.name());
        if (existing?.source?.path === this.sourcePath) return;
      }
      throw toVidgraphError(err, `ingest of '${this.name()}'`);
    }
  }

  /** @internal */
  async meta(): Promise<StreamMeta> {
    const db = await this.sc.ready();
    let meta = await db.read(this.name());
    if (!meta && this.sourcePath) {
      await this.ingest();
      meta = await db.read(this.name());
    }
    if (!meta) throw new NotFoundError(`stream '${this.name()}' does not exist in ${db.root}`);
    return meta;
  }

  /**
   * The video's size, frame count (from the index), frame rate, time base, codec, pixel format,
   * duration and keyframe count; ingests first when the stream has a `path` and does not exist.
   * A stream of non-frame rows is ERR_BAD_ARGUMENT.
   *
   * @example
   * const { width, height, frames, fps } = await video.metadata();
   */
  async metadata(): Promise<VideoMetadata> {
    const meta = await this.meta();
    if (!meta.video) throw new BadArgumentError(`stream '${this.name()}' holds ${meta.type ?? 'non-video'} rows, not a video`);
    const v = meta.video as unknown as VideoMetadata;
    return {
      width: v.width, height: v.height, rotation: v.rotation ?? 0, frames: v.frames, fps: v.fps, timeBase: v.timeBase,
      codec: v.codec, pixFmt: v.pixFmt, durationSec: v.durationSec, keyframes: v.keyframes,
    };
  }

  /**
   * Writes the stream as an MP4 file ('.mp4' is added if absent). A stream whose packets are
   * already H.264 or HEVC is remuxed without re-encoding; `fps` or `scale: [w, h]` (or a raw
   * stream) re-encodes to H.264.
   *
   * @example
   * await video.saveMp4('highlights');            // writes highlights.mp4
   */
  async saveMp4(file: string, opts?: { fps?: number; scale?: [number, number] }): Promise<string> {
    if (typeof file !== 'string' || file.length === 0) throw new BadArgumentError(`saveMp4: expected an output path, got ${describe(file)}`);
    const o = plainObject('saveMp4', 'options', opts);
    knownKeys('saveMp4', o, ['fps', 'scale']);
    if (o.fps !== undefined && (typeof o.fps !== 'number' || !(o.fps > 0))) throw new BadArgumentError(`saveMp4: expected fps > 0, got ${describe(o.fps)}`);
    const scale = o.scale as [number, number] | undefined;
    if (scale !== undefined && (!Array.isArray(scale) || scale.length !== 2 || !scale.every((x) => Number.isInteger(x) && x > 0 && x % 2 === 0))) {
      throw new BadArgumentError(`saveMp4: expected scale as [width, height] with even integers > 0, got ${describe(scale)}`);
    }
    const out = path.resolve(file.endsWith('.mp4') ? file : `${file}.mp4`);
    // Written under a temporary name next to `out` and renamed into place once complete: a
    // failed save leaves no file behind (and an existing `out` untouched).
    const partial = path.join(path.dirname(out), `.${path.basename(out)}.${process.pid}-${randomBytes(4).toString('hex')}.partial`);
    try {
      await this.writeMp4(partial, out, o.fps as number | undefined, scale);
      await fsp.rename(partial, out).catch((err) => {
        throw toVidgraphError(err, `saveMp4('${out}')`);
      });
    } catch (err) {
      await fsp.rm(partial, { force: true }).catch(() => undefined);
      throw toVidgraphError(err, `saveMp4('${out}')`);
    }
    return out;
  }

  /** Writes the MP4 to `file` (a temporary name; `out` is the name errors mention). */
  private async writeMp4(file: string, out: string, fpsOpt: number | undefined, scale: [number, number] | undefined): Promise<void> {
    const meta = await this.meta();
    const video = meta.video as unknown as VideoMetadata | undefined;
    const remuxable = meta.storage !== 'elements' && fpsOpt === undefined && scale === undefined && (video?.codec === 'h264' || video?.codec === 'hevc');
    if (remuxable) {
      const packets = await (await this.sc.ready()).packetData(this.name(), meta);
      try {
        const index = await this.storedIndex(meta, packets);
        await packets.ensureAll();
        try {
          await native().remux(index, packets.path, file);
          return;
        } catch (err) {
          if ((err as { code?: string }).code !== 'ERR_UNSUPPORTED_CODEC') throw fromNative(err, `saveMp4('${out}')`);
          // no usable timestamps: re-encode below
        }
      } finally {
        await packets.close();
      }
    }
    const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'vidgraph-mp4-')).catch((err) => {
      throw toVidgraphError(err, `saveMp4('${out}'): cannot create a temporary directory`);
    });
    try {
      const fps = fpsOpt ?? (video?.fps || 30);
      const writer = new EncodedWriter(tmp, { fps, threads: this.sc.threads }, this.name());
      const resize = scale ? new (native().NativeKernel)('Resize', { width: scale[0], height: scale[1] }) : undefined;
      try {
        for await (const frame of this.load()) {
          if (!frame) continue;
          if (!resize && (frame.width % 2 !== 0 || frame.height % 2 !== 0)) {
            throw new BadArgumentError(`saveMp4('${out}'): H.264 needs even frame sizes, stream '${this.name()}' has ${frame.width}x${frame.height} frames (pass scale: [width, height] with even sizes)`);
          }
          if (!resize) {
            await writer.append(frame);
            continue;
          }
          const [[small]] = await resize.execute([[frame]], 1);
          await writer.append(frameFromEngine(small as EngineFrame));
        }
        await writer.finish();
      } catch (err) {
        await writer.abort();
        throw err;
      } finally {
        await resize?.close();
      }
      await native().remux(await fsp.readFile(path.join(tmp, INDEX_FILE)), path.join(tmp, PACKETS_FILE), file).catch((err) => {
        throw fromNative(err, `saveMp4('${out}')`);
      });
    } finally {
      await fsp.rm(tmp, { recursive: true, force: true });
    }
  }
}
