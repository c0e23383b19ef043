/**
 * Directories vidgraph creates on the user's behalf (the database, the reader's index cache).
 *
 * Node's recursive mkdir loops forever on some kernel pseudo-filesystems (/proc answers
 * ENOENT for a directory whose parent exists), so these directories are created one level at
 * a time under their nearest existing ancestor, which must be a directory on an ordinary
 * filesystem. Anything else is ERR_BAD_ARGUMENT naming the path, before anything is created.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BadArgumentError } from '../errors';

/** statfs(2) magic numbers of filesystems that hold no user files. */
const PSEUDO_FILESYSTEMS = new Map<number, string>([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x6165676c, 'pstore'],
  [0xcafe4a11, 'bpf'],
  [0x62656570, 'configfs'],
  [0x65735543, 'fusectl'],
  [0xde5e81e4, 'efivarfs'],
  [0x1cd1, 'devpts'],
]);

/**
 * Makes sure `dir` is a directory vidgraph can keep files in, creating it (and missing
 * parents) when needed. `where` and `what` name the caller and the option in errors.
 */
export async function ensureDirectory(where: string, what: string, dir: string): Promise<string> {
  const abs = path.resolve(dir);
  const refuse = (why: string, cause?: unknown) =>
    new BadArgumentError(`${where}: cannot use '${abs}' as ${what}: ${why}`, { cause });
  const missing: string[] = [];
  let existing = abs;
  for (;;) {
    let isDir: boolean;
    try {
      isDir = (await fsp.stat(existing)).isDirectory();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw refuse(`'${existing}' cannot be examined (${code ?? String(err)})`, err);
      const parent = path.dirname(existing);
      if (parent === existing) throw refuse('no part of the path exists');
      missing.unshift(existing);
      existing = parent;
      continue;
    }
    if (!isDir) throw refuse(`'${existing}' is not a directory`);
    break;
  }
  const type = Number((await fsp.statfs(existing).catch(() => undefined))?.type ?? 0);
  const pseudo = PSEUDO_FILESYSTEMS.get(type);
  if (pseudo) throw refuse(`'${existing}' is on the kernel's ${pseudo} pseudo-filesystem, not a regular directory`);
  for (const d of missing) {
    try {
      await fsp.mkdir(d);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Created meanwhile by another process: fine if it is a directory.
      if (code === 'EEXIST' && (await fsp.stat(d).catch(() => undefined))?.isDirectory()) continue;
      throw refuse(`cannot create '${d}' (${code ?? String(err)})`, err);
    }
  }
  return abs;
}

/**
 * Writes `file` under a temporary name beside it and renames it into place: readers see the
 * old contents or the new, never half a file. A failed write leaves no temporary file behind.
 */
export async function writeFileAtomic(file: string, data: Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await fsp.writeFile(tmp, data);
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}
