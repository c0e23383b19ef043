// Child process for the temporary-file tests: opens a VideoReader on `file`, prints
// `ready <tempDir or ->`, and waits to be signalled. With `own-handler`, the application
// listens for SIGTERM itself: it reports whether the temporary directory still exists when
// its handler runs, then exits with code 7.
import fs from 'node:fs';
import * as vg from 'vidgraph';

const [file, mode] = process.argv.slice(2);
const reader = await vg.VideoReader.open(file);
if (mode === 'own-handler') {
  process.on('SIGTERM', () => {
    process.stdout.write(`handler sees dir ${reader.tempDir !== undefined && fs.existsSync(reader.tempDir)}\n`);
    process.exit(7);
  });
}
process.stdout.write(`ready ${reader.tempDir ?? '-'}\n`);
setInterval(() => {}, 1 << 30);
