// Run inside the bare root with an installed vidgraph: decodes every frame of each file given
// on the command line (VideoReader.iterFrames(), rgb24) and prints {file: [md5 per frame]} as
// JSON on stdout. CommonJS and node: builtins only, so it runs from any project directory.
'use strict';
const { createHash } = require('node:crypto');
const path = require('node:path');
const vg = require('vidgraph');

async function main(files) {
  const out = {};
  for (const file of files) {
    const reader = await vg.VideoReader.open(file, { cacheBytes: 0 });
    const md5s = [];
    try {
      for await (const x of reader.iterFrames()) {
        const img = x.image;
        if (img.channels !== 3 || img.dtype !== 'uint8') throw new Error(`${file} frame ${x.index}: ${img.channels} channels, ${img.dtype}`);
        if (x.index !== md5s.length) throw new Error(`${file}: frame index ${x.index} after ${md5s.length} frames`);
        md5s.push(createHash('md5').update(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength)).digest('hex'));
      }
    } finally {
      await reader.close();
    }
    out[path.basename(file)] = md5s;
  }
  return out;
}

main(process.argv.slice(2)).then(
  (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
  (e) => { process.stderr.write(`${e && e.stack ? e.stack : e}\n`); process.exitCode = 1; },
);
