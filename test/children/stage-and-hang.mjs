// Child process for crash-before-commit tests: stages a stream in the database named by the
// JSON client options, uploads it where the backend has an upload phase (S3: every file under
// a fresh attempt, meta.json not yet written), prints `staged <dir>` and waits to be killed.
import fs from 'node:fs';
import path from 'node:path';
import * as vg from 'vidgraph';
const [optsJson, name] = process.argv.slice(2);
const sc = new vg.Client(JSON.parse(optsJson));
const db = await sc.ready();
const dir = await db.stage();
fs.writeFileSync(path.join(dir, 'index.vgix'), Buffer.alloc(4096, 1));
fs.writeFileSync(path.join(dir, 'packets.bin'), Buffer.alloc(1 << 20, 2));
const attempt = db.kind === 's3' ? await db.uploadAttempt(dir, name) : '';
process.stdout.write(`staged ${dir} ${attempt}\n`);
setInterval(() => undefined, 1000);
