// The command line's read-only commands and what they print (issue 10, item 9): `ls`, `info` and
// `rm` never create a database, and `ls` cannot be made to print a name that spoofs rows or
// drives the terminal.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as vg from 'vidgraph';
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
});
