// Child process for crash and concurrency tests: ingests `file` as streams prefix0, prefix1, ...
// into `db` until `count` streams exist (or forever with count = 0), printing each commit.
import * as vg from 'vidgraph';
const [db, file, prefix, countArg] = process.argv.slice(2);
const count = Number(countArg);
const sc = new vg.Client({ db });
process.stdout.write('started\n');
for (let i = 0; count === 0 || i < count; i++) {
  const s = new vg.NamedVideoStream(sc, `${prefix}${count === 0 ? i : i % count}`, { path: file });
  await s.ingest();
  process.stdout.write(`committed ${s.name()}\n`);
}
