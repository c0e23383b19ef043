/**
 * The `vidgraph` command line. Each command validates its arguments, does its work through
 * the public API, and reports errors as one line on stderr with a non-zero exit code.
 */
import { parseArgs, ParseArgsConfig } from 'node:util';
import { Client, damageNotes, displayName, streamTable } from '../client';
import { toVidgraphError, VidgraphError } from '../errors';
import { NamedVideoStream } from '../streams/named-video-stream';
import { version, versions } from '../version';
import { packageRoot } from '../native';
import { extractFrames } from '../extract';
import { ProgressBar } from '../run/progress';
import * as path from 'node:path';

interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, unknown>, positionals: string[]): Promise<void>;
}

class UsageError extends Error {}

const dbOption = { db: { type: 'string' as const } };

function client(values: Record<string, unknown>): Client {
  return new Client({ db: typeof values.db === 'string' ? values.db : undefined });
}

const commands: Record<string, Command> = {
  ingest: {
    summary: 'index videos into the database (one stream per file, named after the file)',
    usage: 'vidgraph ingest <video...> [--inplace] [--no-rotate] [--name NAME] [--db DIR]',
    options: { ...dbOption, inplace: { type: 'boolean' }, 'no-rotate': { type: 'boolean' }, name: { type: 'string' } },
    async run(values, files) {
      if (files.length === 0) throw new UsageError('ingest needs at least one video file');
      if (values.name !== undefined && files.length > 1) throw new UsageError('--name works with a single video');
      const sc = client(values);
      let failed = 0;
      for (const file of files) {
        const name = typeof values.name === 'string' ? values.name : path.parse(file).name;
        const stream = new NamedVideoStream(sc, name, { path: file, inplace: values.inplace === true, rotate: values['no-rotate'] !== true });
        const t0 = performance.now();
        try {
          if (await stream.exists()) {
            process.stdout.write(`${displayName(name)}: already in the database (skipped)\n`);
            continue;
          }
          await stream.ingest();
          const m = await stream.metadata();
          const secs = (performance.now() - t0) / 1000;
          process.stdout.write(`${displayName(name)}: ${m.frames} frames ${m.width}x${m.height} ${m.codec} @ ${m.fps.toFixed(3)} fps, ${m.keyframes} keyframes (${secs.toFixed(2)} s)\n`);
        } catch (err) {
          failed++;
          process.stderr.write(`vidgraph ingest: ${displayName(file)}: ${errorLine(err)}\n`);
        }
      }
      if (failed > 0) process.exitCode = 1;
    },
  },
  ls: {
    summary: 'list the streams in the database (names shown with control characters escaped)',
    usage: 'vidgraph ls [--db DIR] [--json]',
    options: { ...dbOption, json: { type: 'boolean' } },
    async run(values) {
      const sc = client(values);
      await sc.openExisting(); // read-only: a mistyped --db is an error, never a new database
      const streams = await sc.listStreams();
      if (values.json) {
        process.stdout.write(safeJson(streams) + '\n');
      } else {
        process.stdout.write(streamTable(streams) + '\n');
      }
      const notes = damageNotes(streams);
      for (const note of notes) process.stderr.write(`vidgraph ls: ${note}\n`);
      if (notes.length > 0) process.exitCode = 1;
    },
  },
  info: {
    summary: 'show one stream: frames, size, codec, frame rate, keyframes',
    usage: 'vidgraph info <stream> [--db DIR] [--json]',
    options: { ...dbOption, json: { type: 'boolean' } },
    async run(values, names) {
      if (names.length !== 1) throw new UsageError('info takes exactly one stream name');
      const sc = client(values);
      await sc.openExisting(); // read-only: never creates the database
      const stream = new NamedVideoStream(sc, names[0]!);
      const m = await stream.metadata();
      if (values.json) {
        process.stdout.write(safeJson({ name: names[0], ...m }) + '\n');
        return;
      }
      const rows: [string, string][] = [
        ['stream', displayName(names[0]!)], ['frames', String(m.frames)], ['size', `${m.width}x${m.height}`],
        ...(m.rotation ? [['rotation', `${m.rotation} degrees clockwise`] as [string, string]] : []), ['codec', m.codec],
        ['pixel format', m.pixFmt], ['fps', m.fps.toFixed(3)], ['duration', `${m.durationSec.toFixed(3)} s`],
        ['time base', `${m.timeBase[0]}/${m.timeBase[1]}`], ['keyframes', String(m.keyframes)],
      ];
      process.stdout.write(rows.map(([k, v]) => `${k.padEnd(13)} ${v}`).join('\n') + '\n');
    },
  },
  rm: {
    summary: 'delete streams',
    usage: 'vidgraph rm <stream...> [--db DIR]',
    options: { ...dbOption },
    async run(values, names) {
      if (names.length === 0) throw new UsageError('rm needs at least one stream name');
      const db = await client(values).openExisting(); // deleting never creates a database
      for (const name of names) {
        await db.delete(name);
        process.stdout.write(`deleted ${displayName(name)}\n`);
      }
    },
  },
  'extract-frames': {
    summary: 'write every frame (or N per second) of videos as numbered images',
    usage: 'vidgraph extract-frames --input <file|dir> --output-dir <dir> [--fps N|-1] [--threaded] [--format jpg|png] [--quality Q]',
    options: { input: { type: 'string' }, 'output-dir': { type: 'string' }, fps: { type: 'string' }, threaded: { type: 'boolean' }, format: { type: 'string' }, quality: { type: 'string' } },
    async run(values) {
      if (typeof values.input !== 'string') throw new UsageError('--input is required');
      if (typeof values['output-dir'] !== 'string') throw new UsageError('--output-dir is required');
      const num = (name: string) => {
        const v = values[name];
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isFinite(n)) throw new UsageError(`--${name} expects a number, got '${String(v)}'`);
        return n;
      };
      const bar = process.stderr.isTTY ? new ProgressBar(0) : undefined;
      try {
        const report = await extractFrames({
          input: values.input, outputDir: values['output-dir'], fps: num('fps'), threaded: values.threaded === true,
          format: (values.format as 'jpg' | 'png' | undefined) ?? 'jpg', quality: num('quality'),
          onProgress: (p) => bar?.update(p.done, p.failed, p.total),
        });
        bar?.stop();
        for (const v of report.videos) {
          if (v.error) process.stderr.write(`vidgraph extract-frames: ${v.file}: ${v.error.message.split('\n')[0]} (${v.error.code})\n`);
          else process.stdout.write(`${path.basename(v.file)}: ${v.written} frames -> ${v.outputDir}\n`);
        }
        if (report.failed > 0) process.exitCode = 1;
      } finally {
        bar?.stop();
      }
    },
  },
  bench: {
    summary: 'throughput report: decode, random access and index build as ratios to the ffmpeg CLI on this machine (needs ffmpeg)',
    usage: 'vidgraph bench [--quick]',
    options: { quick: { type: 'boolean' } },
    async run(values) {
      const { spawnSync } = await import('node:child_process');
      const probe = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' });
      if (probe.error || probe.status !== 0)
        throw new VidgraphError('ERR_NOT_FOUND', 'the benchmark compares the engine with the ffmpeg CLI, and no ffmpeg runs on this PATH: install FFmpeg (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg)');
      const script = path.join(packageRoot, 'bench', 'decode.mjs');
      const code = await runNode(['--expose-gc', script, ...(values.quick ? ['--quick'] : [])]);
      if (code !== 0) throw new VidgraphError('ERR_INTERNAL', `the benchmark exited with code ${code}`);
    },
  },
  demo: {
    summary: 'the quick-start job (examples/quickstart.mjs) on a sample clip the engine makes itself',
    usage: 'vidgraph demo [video] [--db DIR]',
    options: { ...dbOption },
    async run(values, files) {
      if (files.length > 1) throw new UsageError('demo takes at most one video file');
      const script = path.join(packageRoot, 'examples', 'quickstart.mjs');
      const env = typeof values.db === 'string' ? { ...process.env, VIDGRAPH_DB: path.resolve(values.db) } : process.env;
      const code = await runNode([script, ...files], env);
      if (code !== 0) throw new VidgraphError('ERR_INTERNAL', `the demo (${script}) exited with code ${code}`);
    },
  },
  config: {
    summary: 'print build facts',
    usage: 'vidgraph config --version | --include-dir | --cmake-dir',
    options: { version: { type: 'boolean' }, 'include-dir': { type: 'boolean' }, 'cmake-dir': { type: 'boolean' } },
    async run(values) {
      if (values.version) {
        const v = versions();
        process.stdout.write(`vidgraph ${version} (node ${v.node}, FFmpeg ${v.ffmpeg}: libavcodec ${v.libavcodec}, libavformat ${v.libavformat}, libavfilter ${v.libavfilter})\n`);
      } else if (values['include-dir']) {
        process.stdout.write(`${path.join(packageRoot, 'include')}\n`);
      } else if (values['cmake-dir']) {
        process.stdout.write(`${path.join(packageRoot, 'cmake')}\n`);
      } else {
        throw new UsageError('config needs one of --version, --include-dir, --cmake-dir');
      }
    },
  },
};

/** Runs a script of this package with this Node, output to the terminal; resolves to its exit code. */
async function runNode(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { spawn } = await import('node:child_process');
  return new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: 'inherit', env });
    child.on('error', reject);
    child.on('exit', (c) => resolve(c ?? 1));
  });
}

/** One line: the message (control characters escaped) and the error's code. */
function errorLine(err: unknown): string {
  const e = toVidgraphError(err);
  return `${displayName(e.message.split('\n')[0]!)} (${e.code})`;
}

/**
 * JSON whose text is also safe on a terminal: JSON.stringify escapes C0 controls but not DEL,
 * C1 controls or bidirectional overrides; these become \\u escapes (still the same JSON value).
 */
function safeJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function help(): string {
  const lines = ['Usage: vidgraph <command> [options]', '', 'Commands:'];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(8)} ${c.summary}`);
  lines.push('', "Run 'vidgraph <command> --help' for a command's options.", 'The database is --db DIR, else $VIDGRAPH_DB, else ~/.vidgraph/db.');
  return lines.join('\n') + '\n';
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help());
    return name ? 0 : 2;
  }
  if (name === '--version') {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`vidgraph: unknown command '${name}' (commands: ${Object.keys(commands).join(', ')}; see vidgraph --help)\n`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    process.stderr.write(`vidgraph ${name}: ${(err as Error).message}\nUsage: ${command.usage}\n`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(`${command.summary}\n\nUsage: ${command.usage}\n`);
    return 0;
  }
  try {
    await command.run(parsed.values, parsed.positionals);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`vidgraph ${name}: ${err.message}\nUsage: ${command.usage}\n`);
      return 2;
    }
    process.stderr.write(`vidgraph ${name}: ${errorLine(err)}\n`);
    return 1;
  }
}
