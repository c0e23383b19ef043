// Child processes for the distributed-run tests, examples and bench: a free loopback port, a
// process started and waited for (a line on its output saying it is ready), and redis-server.
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';

/** Whether redis-server is installed (scripts/bootstrap installs it). */
export const haveRedis = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/**
 * Spawns `cmd args` and resolves once its stdout or stderr matches `ready`: { child, output() }.
 * Rejects if it exits first or takes more than 20 s.
 */
export function startProcess(cmd, args, ready, { what = cmd, env, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${out}`)), 20000);
    const onData = (d) => {
      out += d;
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve({ child, output: () => out });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!ready.test(out)) reject(new Error(`${what} exited (${code}): ${out}`));
    });
  });
}

/** A redis-server on a loopback port, without persistence: { url, port, args, child, output() }. */
export async function startRedis(port) {
  const p = port ?? (await freePort());
  const args = ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const started = await startProcess('redis-server', args, /Ready to accept connections/, { what: 'redis-server' });
  return { ...started, url: `redis://127.0.0.1:${p}`, port: p, args };
}
