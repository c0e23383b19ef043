// Run commands inside a bare Debian root (scripts/prebuilt/rootfs.sh) as a user on a fresh
// machine would: chroot, clean environment, /dev and /proc mounted.
//
// Every command runs in its own mount + PID namespace (unshare): the /dev and /proc mounts
// exist only there and vanish with it, even if the test is killed, and every process started
// inside dies when the command ends. The host never sees a mount under the root, so removing
// the root afterwards is safe.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ROOTFS_SCRIPT = path.join(REPO, 'scripts', 'prebuilt', 'rootfs.sh');

const shq = (s) => `'${String(s).replace(/'/g, "'\\''")}'`;

/** Why this machine cannot run bare-root tests, or null. */
export function unsupportedReason() {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'needs root (debootstrap, chroot, mount namespaces)';
  return null;
}

/** A pristine bare root with node + npm in a fresh temp dir; { dir, remove() }. */
export async function makeBareRoot() {
  const base = await fsp.mkdtemp(path.join(os.tmpdir(), 'vidgraph-root-'));
  const dir = path.join(base, 'root');
  try {
    await execFileP('bash', [ROOTFS_SCRIPT, dir], { maxBuffer: 64 << 20 });
  } catch (e) {
    await fsp.rm(base, { recursive: true, force: true });
    throw new Error(`scripts/prebuilt/rootfs.sh ${dir} failed: ${e.stderr || e.message}`);
  }
  return {
    dir,
    async remove() {
      const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4]?.startsWith(dir));
      if (mounts.length) throw new Error(`refusing to remove ${dir}: still mounted:\n${mounts.join('\n')}`);
      await fsp.rm(base, { recursive: true, force: true });
    },
  };
}

/**
 * Run `script` (sh) inside `root` in directory `cwd` (a path inside the root), with only
 * PATH, HOME and `env`. Resolves { code, stdout, stderr }; never rejects on a non-zero exit.
 */
export function runInRoot(root, script, { cwd = '/root', env = {}, timeoutMs = 10 * 60_000 } = {}) {
  const envArgs = Object.entries({ PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/root', LANG: 'C.UTF-8', ...env })
    .map(([k, v]) => shq(`${k}=${v}`)).join(' ');
  const R = shq(root);
  const outer = [
    'set -e',
    `mount --rbind /dev ${R}/dev`,
    `mount -t proc proc ${R}/proc`,
    `exec chroot ${R} /usr/bin/env -i ${envArgs} /bin/sh -c ${shq(`cd ${shq(cwd)} && ${script}`)}`,
  ].join('\n');
  return new Promise((resolve, reject) => {
    const p = spawn('unshare', ['--mount', '--propagation', 'private', '--pid', '--fork', '--kill-child', '/bin/sh', '-c', outer], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // If the test process dies first, take the namespace (and everything in it) down with it.
    const reap = () => { try { p.kill('SIGKILL'); } catch { /* gone */ } };
    process.once('exit', reap);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      stderr += `\n[runInRoot: killed after ${timeoutMs} ms]`;
      p.kill('SIGKILL');
    }, timeoutMs);
    p.on('error', (e) => { clearTimeout(timer); reject(e); });
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      process.removeListener('exit', reap);
      resolve({ code: code ?? signal, stdout, stderr });
    });
  });
}
