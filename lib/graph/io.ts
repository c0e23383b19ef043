/**
 * `sc.io`: where a graph reads (Input: one job per stream) and writes (Output: one stream per job).
 *
 * @example
 * const frames = sc.io.Input([videoA, videoB]);
 * const hist = sc.ops.Histogram({ frame: frames });
 * const out = sc.io.Output(hist, [new vg.NamedStream(sc, 'a_hist'), new vg.NamedStream(sc, 'b_hist')]);
 */
import { BadArgumentError } from '../errors';
import { Frame } from '../frame';
import { ArrayStream } from '../streams/array-stream';
import { FilesStream } from '../streams/files-stream';
import { NamedStream } from '../streams/named-stream';
import { NamedVideoStream } from '../streams/named-video-stream';
import { describe } from '../validate';
import { Column, GraphNode, InputNode, OutputOp } from './graph';

function inputsOf(col: Column): InputNode[] {
  const out: InputNode[] = [];
  const seen = new Set<number>();
  const visit = (n: GraphNode) => {
    if (seen.has(n.id)) return;
    seen.add(n.id);
    if (n instanceof InputNode) out.push(n);
    n.inputs.forEach((c) => visit(c.node));
  };
  visit(col.node);
  return out;
}

/**
 * `sc.io`: a graph's inputs and outputs. Each input stream is one job of the run; an output
 * names one stream per job.
 *
 * @example
 * const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'example', { path: 'example.mp4' })]);
 * const out = sc.io.Output(sc.ops.Histogram({ frame: frames }), [new vg.NamedStream(sc, 'example_hist')]);
 */
export class IO {
  /**
   * One job per stream: NamedVideoStream (frames), NamedStream (stored rows) or ArrayStream,
   * all of one kind. The column holds the streams' rows (`Column<vg.Frame<'uint8'>>` for videos).
   *
   * @example
   * const frames = sc.io.Input([new vg.NamedVideoStream(sc, 'a'), new vg.NamedVideoStream(sc, 'b')]);
   */
  Input(streams: NamedVideoStream[]): Column<Frame<'uint8'>>;
  Input<T>(streams: NamedStream<T>[]): Column<T>;
  Input<T>(streams: ArrayStream<T>[]): Column<T>;
  Input(streams: FilesStream[]): Column<Uint8Array>;
  Input(streams: (NamedVideoStream | NamedStream | ArrayStream | FilesStream)[]): Column {
    if (!Array.isArray(streams) || streams.length === 0) throw new BadArgumentError(`Input: expected a non-empty array of streams, got ${describe(streams)}`);
    streams.forEach((s, i) => {
      if (!(s instanceof NamedVideoStream || s instanceof NamedStream || s instanceof ArrayStream || s instanceof FilesStream)) {
        throw new BadArgumentError(`Input: expected streams[${i}] to be a NamedVideoStream, NamedStream, ArrayStream or FilesStream, got ${describe(s)}`);
      }
    });
    const first = streams[0]!;
    const kind = first.constructor;
    if (!streams.every((s) => s.constructor === kind)) throw new BadArgumentError('Input: all streams of one Input must be of the same kind');
    let type = 'any';
    if (first instanceof NamedVideoStream) type = 'Frame';
    else if (first instanceof FilesStream) type = 'Bytes';
    else if (first instanceof ArrayStream) {
      // One column has one type: frames, bytes or JSON values, in every stream of the Input.
      const kindOf = (v: unknown) => (v instanceof Frame ? 'Frame' : v instanceof Uint8Array ? 'Bytes' : 'Json');
      let seen: { kind: string; where: string } | undefined;
      (streams as ArrayStream[]).forEach((s, i) => s.values.forEach((v, r) => {
        if (v === null) return;
        const kind = kindOf(v);
        if (!seen) seen = { kind, where: `streams[${i}] row ${r}` };
        else if (kind !== seen.kind) {
          const name = (k: string) => (k === 'Frame' ? 'a vg.Frame' : k === 'Bytes' ? 'a Uint8Array' : 'a JSON value');
          throw new BadArgumentError(`Input: ArrayStream rows of one Input must be of one kind, but ${seen.where} is ${name(seen.kind)} and streams[${i}] row ${r} is ${name(kind)}`);
        }
      }));
      type = seen?.kind ?? 'Json';
    }
    return new Column(new InputNode(streams, type), 0, type);
  }

  /**
   * Writes `column` to one stream per job (as many as the Input has, else ERR_BAD_ARGUMENT), with
   * distinct names. Pass the result (or several) to `sc.run`.
   *
   * @example
   * const small = sc.ops.Resize({ frame: frames, width: 320, height: 240 });
   * const out = sc.io.Output(small, [new vg.NamedVideoStream(sc, 'a_small'), new vg.NamedVideoStream(sc, 'b_small')]);
   * await sc.run(out, vg.PerfParams.estimate());
   */
  Output<T>(column: Column<T>, streams: (NamedVideoStream | NamedStream<T>)[]): OutputOp {
    if (!(column instanceof Column)) throw new BadArgumentError(`Output: expected a column as the first argument, got ${describe(column)}`);
    if (!Array.isArray(streams) || streams.length === 0) throw new BadArgumentError(`Output: expected a non-empty array of output streams, got ${describe(streams)}`);
    streams.forEach((s, i) => {
      if (!(s instanceof NamedVideoStream || s instanceof NamedStream)) {
        throw new BadArgumentError(`Output: expected streams[${i}] to be a NamedVideoStream or NamedStream, got ${describe(s)}`);
      }
    });
    for (const input of inputsOf(column)) {
      if (input.streams.length !== streams.length) {
        throw new BadArgumentError(`Output: ${streams.length} output stream(s) for an Input of ${input.streams.length} stream(s): give one output stream per input stream`);
      }
    }
    const names = new Set(streams.map((s) => s.name()));
    if (names.size !== streams.length) throw new BadArgumentError('Output: output stream names must be distinct');
    return new OutputOp(column, streams);
  }
}
