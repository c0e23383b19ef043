/**
 * The `vidgraph` command line, on commander. Each command validates its arguments, does its
 * work through the public API, and reports errors as one line on stderr.
 *
 * Exit codes: 0 done; 1 the work failed (a video could not be read, a stream does not exist, a
 * benchmark failed); 2 a usage error (unknown command or option, a missing or malformed
 * argument; commander suggests the nearest command or option, and the line after the error
 * says where the help is).
 *
 * `--db DIR` is accepted before or after the command; `-V, --version` prints the version.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { Client, damageNotes, displayName, formatTable, streamTable } from '../client';
import { toVidgraphError, VidgraphError } from '../errors';
import { DEFAULT_QUEUE, queueName, redisUrl } from '../distributed/queue';
import { extractFrames } from '../extract';
import { packageRoot } from '../native';
import { ProgressBar } from '../run/progress';
import { NamedVideoStream } from '../streams/named-video-stream';
import { version, versions } from '../version';

/** Exit code for usage errors (documented in the README and above). */
export const EXIT_USAGE = 2;
/** Exit code for work that failed. */
export const EXIT_FAILURE = 1;

const DB_HELP = 'the database directory (default: $VIDGRAPH_DB, else ~/.vidgraph/db)';

/** A failure of the work itself (exit code 1), already reported on stderr. */
class Failed extends Error {}

interface Globals {
  db?: string;
}

/** `--db` from the command (after it) or the program (before it). */
function dbOf(cmd: Command): string | undefined {
  const own = cmd.opts<Globals>().db;
  return own ?? cmd.parent?.opts<Globals>().db;
}

function client(cmd: Command): Client {
  return new Client({ db: dbOf(cmd) });
}

/** Parses an option value as a number: negative values (`--fps -1`) are values, not options. */
function number(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number for ${name}, got '${v}'`);
    return n;
  };
}

function integer(name: string, min: number, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer between ${min} and ${max} for ${name}, got '${v}'`);
    return n;
  };
}

function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/**
 * JSON whose text is also safe on a terminal: JSON.stringify escapes C0 controls but not DEL,
 * C1 controls or bidirectional overrides; these become \\u escapes (still the same JSON value).
 */
export function safeJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** One line: the message (control characters escaped) and the error's code. */
function errorLine(err: unknown): string {
  const e = toVidgraphError(err);
  return `${displayName(e.message.split('\n')[0]!)} (${e.code})`;
}

/** Runs a script of this package with this Node, output to the terminal; resolves to its exit code. */
async function runNode(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { spawn } = await import('node:child_process');
  return new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: 'inherit', env });
    child.on('error', reject);
    child.on('exit', (c) => resolve(c ?? 1));
  });
}

function withDb(cmd: Command): Command {
  return cmd.option('--db <dir>', DB_HELP);
}

/** A usage error (exit code 2) from one of the library's own argument checks. */
function usage<T>(check: (v: string) => T): (v: string) => T {
  return (v) => {
    try {
      return check(v);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

/** `--redis <url>` of the distributed-run commands, checked as the Client checks cluster.redis. */
function redisOption(): Option {
  return new Option('--redis <url>', 'the Redis server of the queue, e.g. redis://127.0.0.1:6379').makeOptionMandatory().argParser(usage((v) => redisUrl('--redis', v)));
}

function jsonOption(what: string): Option {
  return new Option('--json', `print ${what} as JSON on stdout`);
}

function program(): Command {
  const prog = new Command('vidgraph')
    .description('Scanner-class video analytics: index videos, read exact frames, run graphs over them.')
    .version(version, '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'show help for vidgraph or a command')
    .option('--db <dir>', DB_HELP)
    .enablePositionalOptions() // `config --version` is config's own option, not the program's
    .showSuggestionAfterError(true)
    .showHelpAfterError("(run 'vidgraph <command> --help' for its options)")
    .addHelpText('after', `
Exit codes: 0 done, 1 the work failed, 2 a usage error.
--db goes before the command or after it (for the commands that use a database).`)
    .exitOverride();

  withDb(prog.command('ingest')
    .description('index videos into the database (one stream per file, named after the file)')
    .argument('<videos...>', 'video files to ingest')
    .option('--inplace', 'index the file where it is, without copying its packets (the file must stay where it is)', false)
    .option('--no-rotate', 'keep the stored orientation (default: frames turned by the display matrix, as the ffmpeg CLI does)')
    .option('--name <name>', 'stream name, for a single video (default: the file name without its extension)')
    .addOption(jsonOption('one object per video (name, frames, size, codec, or its error)')))
    .action(async (files: string[], opts: { inplace: boolean; rotate: boolean; name?: string; json?: boolean }, cmd: Command) => {
      if (opts.name !== undefined && files.length > 1) cmd.error('error: --name works with a single video', { exitCode: EXIT_USAGE, code: 'vidgraph.usage' });
      const sc = client(cmd);
      const results: Record<string, unknown>[] = [];
      // The bar counts bytes of the files read (its percentage), and shows frames indexed.
      const sizes = await Promise.all(files.map((f) => fs.stat(f).then((s) => s.size, () => 0)));
      const totalBytes = sizes.reduce((a, b) => a + b, 0);
      const bar = !opts.json && process.stderr.isTTY ? new ProgressBar(Math.max(totalBytes, 1), {
        unit: 'frames', failedLabel: 'failed videos',
        format: 'vidgraph ingest {bar} {percentage}% | {frames} frames | {rate} frames/s | ETA {eta_formatted} | failed videos: {failed}',
        initial: { frames: 0 },
      }) : undefined;
      const say = (line: string): void => {
        if (opts.json) return;
        if (bar) bar.log(line);
        else print(line);
      };
      let failed = 0;
      let bytesBefore = 0; // of the files done
      let framesBefore = 0;
      for (const [i, file] of files.entries()) {
        const name = opts.name ?? path.parse(file).name;
        const stream = new NamedVideoStream(sc, name, { path: file, inplace: opts.inplace, rotate: opts.rotate });
        const t0 = performance.now();
        try {
          if (await stream.exists()) {
            results.push({ name, file, skipped: 'already in the database' });
            say(`${displayName(name)}: already in the database (skipped)`);
          } else {
            await stream.ingest({
              onProgress: (p) => bar?.update(bytesBefore + p.bytes, failed, undefined, { frames: framesBefore + p.frames }, framesBefore + p.frames),
            });
            const m = await stream.metadata();
            framesBefore += m.frames;
            const seconds = (performance.now() - t0) / 1000;
            results.push({ name, file, ...m, seconds });
            say(`${displayName(name)}: ${m.frames} frames ${m.width}x${m.height} ${m.codec} @ ${m.fps.toFixed(3)} fps, ${m.keyframes} keyframes (${seconds.toFixed(2)} s)`);
          }
        } catch (err) {
          failed++;
          const e = toVidgraphError(err);
          results.push({ name, file, error: { code: e.code, message: e.message } });
          const line = `vidgraph ingest: ${displayName(file)}: ${errorLine(err)}`;
          if (bar) bar.log(line, 'stderr');
          else process.stderr.write(`${line}\n`);
        }
        bytesBefore += sizes[i]!;
        bar?.update(bytesBefore, failed, undefined, { frames: framesBefore }, framesBefore);
      }
      bar?.stop();
      if (opts.json) print(safeJson(results));
      if (failed > 0) throw new Failed();
    });

  withDb(prog.command('ls')
    .description('list the streams in the database (names shown with control characters escaped)')
    .addOption(jsonOption('the streams')))
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const sc = client(cmd);
      await sc.openExisting(); // read-only: a mistyped --db is an error, never a new database
      const streams = await sc.listStreams();
      print(opts.json ? safeJson(streams) : streamTable(streams));
      const notes = damageNotes(streams);
      for (const note of notes) process.stderr.write(`vidgraph ls: ${note}\n`);
      if (notes.length > 0) throw new Failed();
    });

  withDb(prog.command('info')
    .description('show one stream: frames, size, codec, frame rate, keyframes')
    .argument('<stream>', 'stream name')
    .addOption(jsonOption('the stream\'s metadata')))
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      const sc = client(cmd);
      await sc.openExisting(); // read-only: never creates the database
      const m = await new NamedVideoStream(sc, name).metadata();
      if (opts.json) {
        print(safeJson({ name, ...m }));
        return;
      }
      const rows: [string, string][] = [
        ['stream', displayName(name)], ['frames', String(m.frames)], ['size', `${m.width}x${m.height}`],
        ...(m.rotation ? [['rotation', `${m.rotation} degrees clockwise`] as [string, string]] : []), ['codec', m.codec],
        ['pixel format', m.pixFmt], ['fps', m.fps.toFixed(3)], ['duration', `${m.durationSec.toFixed(3)} s`],
        ['time base', `${m.timeBase[0]}/${m.timeBase[1]}`], ['keyframes', String(m.keyframes)],
      ];
      print(rows.map(([k, v]) => `${k.padEnd(13)} ${v}`).join('\n'));
    });

  withDb(prog.command('rm')
    .description('delete streams')
    .argument('<streams...>', 'stream names')
    .addOption(jsonOption('the names deleted')))
    .action(async (names: string[], opts: { json?: boolean }, cmd: Command) => {
      const db = await client(cmd).openExisting(); // deleting never creates a database
      const deleted: string[] = [];
      for (const name of names) {
        await db.delete(name);
        deleted.push(name);
        if (!opts.json) print(`deleted ${displayName(name)}`);
      }
      if (opts.json) print(safeJson({ deleted }));
    });

  prog.command('extract-frames')
    .description('write every frame (or N per second) of videos as numbered images')
    .requiredOption('--input <path>', 'a video file, or a directory whose files are all extracted')
    .requiredOption('--output-dir <dir>', 'where the images go: one directory per video, named after it')
    .option('--fps <n>', 'frames per second to keep (the frame nearest each 1/fps step); -1 keeps every frame', number('--fps'), -1)
    .option('--threaded', 'extract several videos at once (one per core)', false)
    .addOption(new Option('--format <format>', 'image format').choices(['jpg', 'png']).default('jpg'))
    .option('--quality <q>', 'JPEG quality, 0 to 100', integer('--quality', 0, 100), 95)
    .addOption(jsonOption('the report (per video: frames written, or its error)'))
    .action(async (opts: { input: string; outputDir: string; fps: number; threaded: boolean; format: 'jpg' | 'png'; quality: number; json?: boolean }) => {
      const bar = !opts.json && process.stderr.isTTY ? new ProgressBar(0, { unit: 'frames', failedLabel: 'failed videos' }) : undefined;
      let report;
      try {
        report = await extractFrames({
          input: opts.input, outputDir: opts.outputDir, fps: opts.fps, threaded: opts.threaded, format: opts.format, quality: opts.quality,
          onProgress: (p) => bar?.update(p.done, p.failed, p.total),
        });
      } finally {
        bar?.stop();
      }
      // Failures go to stderr either way; stdout gets the JSON report or a line per video written.
      for (const v of report.videos) {
        if (v.error) process.stderr.write(`vidgraph extract-frames: ${displayName(v.file)}: ${displayName(v.error.message.split('\n')[0]!)} (${v.error.code})\n`);
      }
      if (opts.json) print(safeJson(report));
      else for (const v of report.videos) if (!v.error) print(`${displayName(path.basename(v.file))}: ${v.written} frames -> ${displayName(v.outputDir)}`);
      if (report.failed > 0) throw new Failed();
    });

  prog.command('bench')
    .description('throughput report: decode, random access and index build as ratios to the ffmpeg CLI on this machine (needs ffmpeg); --gpu: the GPU kernels against the CPU ops')
    .option('--quick', 'a 4 s clip and fewer repetitions (figures dominated by start-up)', false)
    .option('--gpu', 'the GPU benchmark instead (bench/gpu.mjs): skipped, saying why, where no GPU can be used', false)
    .addOption(jsonOption('the report'))
    .action(async (opts: { quick: boolean; gpu: boolean; json?: boolean }) => {
      const { spawnSync } = await import('node:child_process');
      const probe = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' });
      if (!opts.gpu && (probe.error || probe.status !== 0))
        throw new VidgraphError('ERR_NOT_FOUND', 'the benchmark compares the engine with the ffmpeg CLI, and no ffmpeg runs on this PATH: install FFmpeg (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg)');
      const script = path.join(packageRoot, 'bench', opts.gpu ? 'gpu.mjs' : 'decode.mjs');
      const args = opts.gpu ? [script] : ['--expose-gc', script, ...(opts.quick ? ['--quick'] : [])];
      const code = await runNode([...args, ...(opts.json ? ['--json'] : [])]);
      if (code !== 0) throw new VidgraphError('ERR_INTERNAL', `the benchmark exited with code ${code}`);
    });

  withDb(prog.command('demo')
    .description('the quick-start job (examples/quickstart.mjs) on a sample clip the engine makes itself')
    .argument('[video]', 'a video of yours to run it on instead'))
    .action(async (video: string | undefined, _opts: unknown, cmd: Command) => {
      const script = path.join(packageRoot, 'examples', 'quickstart.mjs');
      const db = dbOf(cmd);
      const env = db !== undefined ? { ...process.env, VIDGRAPH_DB: path.resolve(db) } : process.env;
      const code = await runNode([script, ...(video !== undefined ? [video] : [])], env);
      if (code !== 0) throw new VidgraphError('ERR_INTERNAL', `the demo (${script}) exited with code ${code}`);
    });

  withDb(prog.command('worker')
    .description('take tasks of distributed runs (sc.run on a Client with cluster) from a BullMQ queue and run them here, until SIGINT or SIGTERM')
    .addOption(redisOption())
    .addOption(new Option('--queue <name>', 'the queue\'s name (the client\'s cluster.queue)').default(DEFAULT_QUEUE).argParser(usage((v) => queueName('--queue', v))))
    .addOption(new Option('--concurrency <n>', 'tasks run at once').default(1).argParser(integer('--concurrency', 1, 64)))
    .addOption(new Option('--lock-duration <ms>', 'how long a task stays with a worker that stopped answering before another takes it').default(30000).argParser(integer('--lock-duration', 1000, 3_600_000)))
    .addOption(new Option('--threads <n>', 'engine threads (default: all cores)').argParser(integer('--threads', 1, 1024))))
    .action(async (opts: { redis: string; queue: string; concurrency: number; lockDuration: number; threads?: number }, cmd: Command) => {
      const { startWorker } = await import('../distributed/worker');
      const db = dbOf(cmd);
      const worker = await startWorker({
        redis: opts.redis, queue: opts.queue, db, concurrency: opts.concurrency, lockDuration: opts.lockDuration, threads: opts.threads,
        onEvent: (line) => process.stderr.write(`vidgraph worker: ${line}\n`),
      });
      process.stderr.write(`vidgraph worker ${worker.id}: ready on queue '${opts.queue}' at ${opts.redis} (database ${db ?? process.env.VIDGRAPH_DB ?? '~/.vidgraph/db'})\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      process.stderr.write(`vidgraph worker ${worker.id}: stopping (waiting for running tasks)\n`);
      await worker.close();
    });

  prog.command('workers')
    .description('the workers connected to a distributed-run queue, with the tasks each is running')
    .addOption(redisOption())
    .addOption(new Option('--queue <name>', 'the queue\'s name').default(DEFAULT_QUEUE).argParser(usage((v) => queueName('--queue', v))))
    .addOption(jsonOption('the workers'))
    .action(async (opts: { redis: string; queue: string; json?: boolean }) => {
      const { listWorkers } = await import('../distributed/workers');
      const workers = await listWorkers(opts.redis, opts.queue);
      if (opts.json) {
        print(safeJson(workers));
        return;
      }
      const rows = workers.map((w) => [w.name, String(w.tasks.length), w.tasks.map((t) => `${t.job} (${t.id})`).join(', ') || '-', `${w.ageSec} s`, w.addr]);
      print([formatTable(['worker', 'tasks', 'running', 'up', 'address'], rows, ['left', 'right', 'left', 'right', 'left']), `${workers.length} worker(s) on queue '${opts.queue}'`].join('\n'));
    });

  prog.command('types')
    .description('TypeScript declarations for plugin ops (sc.ops.MyResize) from their .proto, written to stdout')
    .argument('<proto>', 'the .proto file that defines the ops\' argument messages')
    .option('--plugin <file>', 'the plugin library: op names and columns as it declares them (default: one frame-to-frame op per message, named after it without "Args")')
    .option('--op <name>', 'without --plugin: the op name for the proto\'s single message')
    .action(async (proto: string, opts: { plugin?: string; op?: string }) => {
      const { opTypes } = await import('./op-types');
      print((await opTypes(proto, opts)).trimEnd());
    });

  prog.command('config')
    .description('print build facts: the engine\'s versions, or where the plugin header and CMake package are')
    .option('--version', 'vidgraph, Node and FFmpeg versions')
    .option('--include-dir', 'the directory holding vidgraph/plugin.h')
    .option('--cmake-dir', 'the directory holding vidgraphConfig.cmake (for -Dvidgraph_DIR)')
    .addOption(jsonOption('every build fact'))
    .action((opts: { version?: boolean; includeDir?: boolean; cmakeDir?: boolean; json?: boolean }, cmd: Command) => {
      const includeDir = path.join(packageRoot, 'include');
      const cmakeDir = path.join(packageRoot, 'cmake');
      if (opts.json) {
        print(safeJson({ version, versions: versions(), includeDir, cmakeDir }));
      } else if (opts.version) {
        const v = versions();
        print(`vidgraph ${version} (node ${v.node}, FFmpeg ${v.ffmpeg}: libavcodec ${v.libavcodec}, libavformat ${v.libavformat}, libavfilter ${v.libavfilter})`);
      } else if (opts.includeDir) {
        print(includeDir);
      } else if (opts.cmakeDir) {
        print(cmakeDir);
      } else {
        cmd.error('error: config needs one of --version, --include-dir, --cmake-dir, --json', { exitCode: EXIT_USAGE, code: 'vidgraph.usage' });
      }
    });

  return prog;
}

/** Runs the command line on `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const prog = program();
  if (argv.length === 0) {
    process.stderr.write(prog.helpInformation());
    return EXIT_USAGE;
  }
  try {
    await prog.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version print and end with exit code 0; every other commander error is a
      // usage error, already printed with its suggestion.
      if (err.exitCode === 0) return 0;
      return EXIT_USAGE;
    }
    if (err instanceof Failed) return EXIT_FAILURE;
    const name = prog.args[0] ?? '';
    process.stderr.write(`vidgraph${name ? ` ${name}` : ''}: ${errorLine(err)}\n`);
    return EXIT_FAILURE;
  }
}
