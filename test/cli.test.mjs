// The command line (commander): every command's help, the version, exit codes (2 for usage
// errors, 1 for failures), --json shapes, --db before or after the command, negative option
// values; and (issue 10, item 9) `ls`, `info` and `rm` never create a database, and `ls` cannot
// be made to print a name that spoofs rows or drives the terminal.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as vg from 'vidgraph';
import { ffprobeFrameCount, makeClip } from './helpers/corpus.mjs';
import { tempDir } from './helpers/util.mjs';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'vidgraph.js');
const cli = (...args) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, VIDGRAPH_DB: '' } });

/** A database holding one small element stream per name. */
async function databaseWith(names) {
  const db = tempDir();
  const sc = new vg.Client({ db });
  const input = sc.io.Input(names.map(() => new vg.ArrayStream([new Uint8Array([1, 2, 3])])));
  await sc.run(sc.io.Output(sc.ops.Pass({ input }), names.map((n) => new vg.NamedStream(sc, n))), vg.PerfParams.manual(1, 1), { showProgress: false });
  return db;
}

describe('vidgraph command line (issue 10, item 9)', () => {
  test('ls, info and rm never create a database: a mistyped --db is ERR_NOT_FOUND and leaves the filesystem as it was', () => {
    const base = tempDir();
    for (const args of [['ls'], ['ls', '--json'], ['info', 'x'], ['rm', 'x']]) {
      const typo = path.join(base, 'typo', 'db');
      const r = cli(...args, '--db', typo);
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, `vidgraph ${args[0]}: there is no vidgraph database at '${typo}' (nothing was ever stored there) (ERR_NOT_FOUND)\n`);
      assert.deepEqual(fs.readdirSync(base), [], `${args.join(' ')} created something`);
    }
    // An existing directory that is not a database is not turned into one.
    const plain = tempDir();
    assert.equal(cli('ls', '--db', plain).status, 1);
    assert.deepEqual(fs.readdirSync(plain), []);
  });

  test('ls escapes control characters and bidirectional overrides in names, so no name spoofs a row; damaged streams are listed and reported', async () => {
    const evil = 'evil\x1b[2J\nfake  stream  999  yes  1 B';
    const bidi = 'photo\u202egpj.exe';
    const db = await databaseWith([evil, bidi, 'back\\slash', 'plain']);
    const r = cli('ls', '--db', db);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 2 + 4, r.stdout); // header, rule, one line per stream
    assert.ok(!/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/.test(r.stdout), JSON.stringify(r.stdout));
    assert.ok(lines.some((l) => l.startsWith('evil\\x1b[2J\\nfake  stream  999  yes  1 B  stream')), r.stdout);
    assert.ok(lines.some((l) => l.startsWith('photo\\u202egpj.exe  ')), r.stdout);
    assert.ok(lines.some((l) => l.startsWith('back\\\\slash  ')), r.stdout);
    // --json stays exact JSON (the names round-trip) and is as safe on a terminal.
    const j = cli('ls', '--db', db, '--json');
    assert.ok(!/[\x1b\u202e]/.test(j.stdout));
    assert.deepEqual(JSON.parse(j.stdout).map((s) => s.name).sort(), [evil, bidi, 'back\\slash', 'plain'].sort());
    // A stream whose meta.json is damaged: listed as damaged, the reason on stderr, exit code 1.
    fs.writeFileSync(path.join(db, 'streams', 'plain', 'meta.json'), '{"formatVersion": 1, "na');
    const d = cli('ls', '--db', db);
    assert.equal(d.status, 1);
    assert.match(d.stdout, /^plain +\? +\? +damaged /m);
    assert.equal(d.stderr, "vidgraph ls: stream 'plain': its metadata meta.json is not valid JSON (truncated or damaged) (ERR_CORRUPT)\n");
  });

  test('ls aligns its columns on the terminal when names hold wide (CJK) characters, and right-aligns rows and size', async () => {
    const db = await databaseWith(['街道の映像', 'plain']);
    const r = cli('ls', '--db', db);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 2 + 2, r.stdout);
    // Terminal columns: a CJK character takes two.
    const columns = (text) => [...text].reduce((n, c) => n + (/[\u3000-\u9fff]/.test(c) ? 2 : 1), 0);
    const at = (line, cell) => columns(line.slice(0, line.indexOf(cell)));
    assert.match(lines[0], /^stream +kind +rows +committed +size$/, r.stdout);
    assert.match(lines[1], /^-+ +-+ +-+ +-+ +-+$/, r.stdout);
    const wide = lines.find((l) => l.startsWith('街道の映像 '));
    const plain = lines.find((l) => l.startsWith('plain '));
    assert.ok(wide && plain, r.stdout);
    assert.equal(at(wide, 'stream'), at(lines[0], 'kind'), r.stdout);
    assert.equal(at(plain, 'stream'), at(lines[0], 'kind'), r.stdout);
    // rows: the header 'rows' and the count end in the same column.
    assert.equal(at(plain, ' 1  ') + 2, at(lines[0], 'rows') + 4, r.stdout);
    assert.equal(columns(wide.trimEnd()), columns(lines[0]), r.stdout); // size right-aligned: every line ends where the header does
  });
});

const COMMANDS = ['ingest', 'ls', 'info', 'rm', 'extract-frames', 'bench', 'demo', 'types', 'worker', 'workers', 'config'];
const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

describe('vidgraph command line (commander)', () => {
  test('-V and --version print the version and exit 0', () => {
    for (const flag of ['-V', '--version']) {
      const r = cli(flag);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `${pkg.version}\n`);
    }
  });

  test('vidgraph --help lists every command; each command\'s --help describes every option with its default, and exits 0', () => {
    const top = cli('--help');
    assert.equal(top.status, 0);
    for (const c of COMMANDS) assert.match(top.stdout, new RegExp(`^  ${c}\\b`, 'm'), `${c} missing from --help`);
    assert.match(top.stdout, /Exit codes: 0 done, 1 the work failed, 2 a usage error/);
    for (const c of COMMANDS) {
      const r = cli(c, '--help');
      assert.equal(r.status, 0, `${c} --help: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: vidgraph ${c}\\b`), `${c} --help: ${r.stdout}`);
      // Every option line has a description after the flags.
      const options = r.stdout.split('Options:\n')[1].split('\n').filter((l) => /^  -/.test(l));
      assert.ok(options.length >= 1, `${c}: no options listed`);
      for (const line of options) assert.match(line, /^  \S.*\S {2,}\S/, `${c}: option without a description: '${line}'`);
    }
    const viaHelp = cli('help', 'ls');
    assert.equal(viaHelp.status, 0);
    assert.equal(viaHelp.stdout, cli('ls', '--help').stdout);
    const ex = cli('extract-frames', '--help').stdout;
    assert.match(ex, /--fps <n>[\s\S]*-1 keeps every frame \(default: -1\)/);
    assert.match(ex, /--format <format>[\s\S]*\(choices: "jpg", "png", default: "jpg"\)/);
    assert.match(ex, /--quality <q>[\s\S]*\(default: 95\)/);
    assert.match(cli('ls', '--help').stdout, /--db <dir> +the database directory/);
  });

  test('usage errors exit 2 with the error and a pointer to the help; unknown commands and options get a suggestion', () => {
    const cases = [
      [['lss'], /unknown command 'lss'[\s\S]*Did you mean ls\?/],
      [['extract-frame'], /Did you mean extract-frames\?/],
      [['ls', '--jsn'], /unknown option '--jsn'[\s\S]*Did you mean --json\?/],
      [['ls', 'foo'], /too many arguments for 'ls'/],
      [['info'], /missing required argument 'stream'/],
      [['rm'], /missing required argument 'streams'/],
      [['ingest'], /missing required argument 'videos'/],
      [['ingest', 'a.mp4', 'b.mp4', '--name', 'x'], /--name works with a single video/],
      [['extract-frames', '--output-dir', 'o'], /required option '--input <path>' not specified/],
      [['extract-frames', '--input', 'i', '--output-dir', 'o', '--quality', '101'], /expected an integer between 0 and 100 for --quality, got '101'/],
      [['extract-frames', '--input', 'i', '--output-dir', 'o', '--fps', 'fast'], /expected a number for --fps, got 'fast'/],
      [['extract-frames', '--input', 'i', '--output-dir', 'o', '--format', 'gif'], /Allowed choices are jpg, png/],
      [['config'], /config needs one of --version, --include-dir, --cmake-dir, --json/],
      [['--db'], /option '--db <dir>' argument missing/],
      [['worker'], /required option '--redis <url>' not specified/],
      [['worker', '--redis', 'localhost:6379'], /expected a Redis URL such as 'redis:\/\/127\.0\.0\.1:6379', got 'localhost:6379'/],
      [['workers', '--redis', 'redis://127.0.0.1:1', '--queue', 'a:b'], /expected a queue name of letters, digits/],
      [['types'], /missing required argument 'proto'/],
    ];
    for (const [args, message] of cases) {
      const r = cli(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}, ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.equal(r.stdout, '', `${args.join(' ')} printed on stdout`);
    }
    const none = cli();
    assert.equal(none.status, 2);
    assert.match(none.stderr, /^Usage: vidgraph \[options\] \[command\]/);
  });

  test('failures of the work exit 1 with one line naming the input and the error code', async () => {
    const db = await databaseWith(['a']);
    const missing = cli('info', 'nosuch', '--db', db);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^vidgraph info: .*'nosuch'.* \(ERR_NOT_FOUND\)\n$/);
    const noFile = cli('ingest', path.join(tempDir(), 'absent.mp4'), '--db', db);
    assert.equal(noFile.status, 1);
    assert.match(noFile.stderr, /^vidgraph ingest: .*absent\.mp4: .* \(ERR_NOT_FOUND\)\n$/);
    const noInput = cli('extract-frames', '--input', path.join(tempDir(), 'absent'), '--output-dir', tempDir());
    assert.equal(noInput.status, 1);
    assert.match(noInput.stderr, /^vidgraph extract-frames: .*absent.* \(ERR_NOT_FOUND\)\n$/);
  });

  test('--db works before or after the command, and every data command has a --json output of a stable shape', async () => {
    const video = await makeClip('cli.mp4', { width: 64, height: 48, seconds: 1, fps: 10 });
    const db = path.join(tempDir(), 'db');
    const ingest = cli('--db', db, 'ingest', video, '--name', 'clip', '--json');
    assert.equal(ingest.status, 0, ingest.stderr);
    const [entry] = JSON.parse(ingest.stdout);
    assert.equal(entry.name, 'clip');
    assert.equal(entry.frames, 10);
    assert.equal(entry.width, 64);
    assert.equal(entry.codec, 'h264');
    const again = JSON.parse(cli('ingest', video, '--name', 'clip', '--db', db, '--json').stdout);
    assert.equal(again[0].skipped, 'already in the database');

    const before = cli('--db', db, 'ls');
    const after = cli('ls', '--db', db);
    assert.equal(before.status, 0, before.stderr);
    assert.equal(before.stdout, after.stdout);
    assert.match(before.stdout, /^clip +video +10 /m);
    const ls = JSON.parse(cli('ls', '--db', db, '--json').stdout);
    assert.deepEqual(ls.map((s) => [s.name, s.kind, s.rows]), [['clip', 'video', 10]]);

    const info = JSON.parse(cli('info', 'clip', '--db', db, '--json').stdout);
    assert.equal(info.name, 'clip');
    assert.equal(info.frames, 10);
    assert.deepEqual([info.width, info.height, info.keyframes > 0], [64, 48, true]);

    const config = JSON.parse(cli('config', '--json').stdout);
    assert.equal(config.version, pkg.version);
    assert.ok(fs.existsSync(path.join(config.includeDir, 'vidgraph')), config.includeDir);
    assert.equal(typeof config.versions.libavcodec, 'string');
    assert.match(cli('config', '--version').stdout, new RegExp(`^vidgraph ${pkg.version.replace(/\./g, '\\.')} \\(node `));

    const rm = cli('rm', 'clip', '--db', db, '--json');
    assert.equal(rm.status, 0, rm.stderr);
    assert.deepEqual(JSON.parse(rm.stdout), { deleted: ['clip'] });
    assert.deepEqual(JSON.parse(cli('--db', db, 'ls', '--json').stdout), []);
  });

  test('extract-frames --fps -1 writes every frame (ffprobe\'s count), --fps 2 two per second, and --json reports them', async () => {
    const video = await makeClip('cli_extract.mp4', { width: 64, height: 48, seconds: 3, fps: 10 });
    const frames = await ffprobeFrameCount(video);
    const out = tempDir();
    const all = cli('extract-frames', '--input', video, '--output-dir', out, '--fps', '-1', '--format', 'png', '--json');
    assert.equal(all.status, 0, all.stderr);
    const report = JSON.parse(all.stdout);
    assert.deepEqual([report.failed, report.written, report.videos.length], [0, frames, 1]);
    assert.equal(report.videos[0].written, frames);
    assert.equal(fs.readdirSync(report.videos[0].outputDir).filter((f) => f.endsWith('.png')).length, frames);
    const two = cli('extract-frames', '--input', video, '--output-dir', tempDir(), '--fps', '2');
    assert.equal(two.status, 0, two.stderr);
    // The frames nearest t = 0, 0.5, ..., 2.5 s (the last frame is at 2.9 s).
    assert.match(two.stdout, /^cli_extract\.[0-9a-f]*\.?mp4: 6 frames -> /m);
  });
});
