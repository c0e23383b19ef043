// A throwaway npm registry on loopback for install tests: verdaccio, serving `vidgraph` only
// from its own (temporary) storage and proxying every other package to registry.npmjs.org.
//
//   import { startRegistry } from './scripts/prebuilt/registry.mjs';
//   const reg = await startRegistry();          // { url, port, publish(tarball), stop() }
//   node scripts/prebuilt/registry.mjs TARBALL  # starts one, publishes, prints the URL,
//                                               # serves until Ctrl-C
//
// Verdaccio is installed once into ${VIDGRAPH_CACHE:-${XDG_CACHE_HOME:-~/.cache}/vidgraph}/
// verdaccio-<hash>, <hash> = SHA-256 of the package.json below (version + npm overrides: verdaccio
// 6.8.0 needs node-fetch pinned to 2.7.0). Storage, config and users are per registry instance,
// in a temp dir removed by stop().
import { spawn, execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

const MANIFEST = {
  name: 'vidgraph-test-registry',
  private: true,
  dependencies: { verdaccio: '6.8.0' },
  overrides: { 'node-fetch': '2.7.0' },
};
const UPSTREAM = 'https://registry.npmjs.org/';
const LOCAL_PACKAGE = 'vidgraph';

export function cacheRoot() {
  return path.resolve(process.env.VIDGRAPH_CACHE || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'vidgraph'));
}

/** Path of verdaccio's bin script, installing it into the cache on first use. */
export async function ensureVerdaccio() {
  const text = `${JSON.stringify(MANIFEST, null, 2)}\n`;
  const key = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const dir = path.join(cacheRoot(), `verdaccio-${key}`);
  const bin = path.join(dir, 'node_modules', 'verdaccio', 'bin', 'verdaccio');
  if (fs.existsSync(path.join(dir, 'complete'))) return bin;
  const work = `${dir}.work-${process.pid}`;
  await fsp.rm(work, { recursive: true, force: true });
  await fsp.mkdir(work, { recursive: true });
  await fsp.writeFile(path.join(work, 'package.json'), text);
  try {
    await execFileP('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts=false', '--loglevel=error'], {
      cwd: work, maxBuffer: 64 << 20,
    });
  } catch (e) {
    await fsp.rm(work, { recursive: true, force: true });
    throw new Error(`installing verdaccio@6.8.0 into ${work} failed: ${e.stderr || e.message}`);
  }
  await fsp.writeFile(path.join(work, 'complete'), '');
  try {
    await fsp.rename(work, dir);
  } catch (e) {
    // another process won the race: use theirs
    await fsp.rm(work, { recursive: true, force: true });
    if (!fs.existsSync(path.join(dir, 'complete'))) throw e;
  }
  return bin;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Start verdaccio on 127.0.0.1:<random free port>. Resolves when it answers /-/ping.
 * publish(tarball) publishes a packed tarball as a throwaway user; stop() kills the server
 * and removes its storage.
 */
export async function startRegistry({ log = () => {} } = {}) {
  const bin = await ensureVerdaccio();
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'vidgraph-registry-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const config = [
    `storage: ${JSON.stringify(path.join(dir, 'storage'))}`,
    'auth:',
    '  htpasswd:',
    `    file: ${JSON.stringify(path.join(dir, 'htpasswd'))}`,
    'uplinks:',
    '  npmjs:',
    `    url: ${UPSTREAM}`,
    '    timeout: 60s',
    'packages:',
    // no proxy: a package of this name upstream must never be served instead of ours
    `  '${LOCAL_PACKAGE}':`,
    '    access: $all',
    '    publish: $authenticated',
    "  '**':",
    '    access: $all',
    '    publish: $authenticated',
    '    proxy: npmjs',
    // the package carries the prebuilt engine and its FFmpeg (~15 MB packed): above the 10 MB default
    'max_body_size: 500mb',
    'server:',
    '  keepAliveTimeout: 60',
    'log: { type: stdout, format: pretty, level: warn }',
    '',
  ].join('\n');
  const configPath = path.join(dir, 'config.yaml');
  await fsp.writeFile(configPath, config);

  const out = fs.openSync(path.join(dir, 'verdaccio.log'), 'a');
  const child = spawn(process.execPath, [bin, '--config', configPath, '--listen', `127.0.0.1:${port}`], {
    cwd: dir, stdio: ['ignore', out, out], env: { ...process.env },
  });
  fs.closeSync(out);
  // Never outlive the test process, however it ends.
  const reap = () => { try { child.kill('SIGKILL'); } catch { /* gone */ } };
  process.once('exit', reap);
  let exited = null;
  const exitP = new Promise((resolve) => child.on('exit', (code, signal) => { exited = code ?? signal; resolve(); }));

  const logTail = () => {
    try { return fs.readFileSync(path.join(dir, 'verdaccio.log'), 'utf8').split('\n').slice(-30).join('\n'); } catch { return ''; }
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (exited === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => { if (exited === null) child.kill('SIGKILL'); }, 5000);
      await exitP;
      clearTimeout(t);
    }
    process.removeListener('exit', reap);
    await fsp.rm(dir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (exited !== null) throw new Error(`verdaccio exited (${exited}) before answering:\n${logTail()}`);
      try {
        const r = await fetch(`${url}-/ping`);
        if (r.ok) break;
      } catch { /* not listening yet */ }
      if (Date.now() > deadline) throw new Error(`verdaccio did not answer on ${url} within 60 s:\n${logTail()}`);
      await sleep(200);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  log(`verdaccio 6.8.0 on ${url} (storage ${dir})`);

  // A throwaway user: verdaccio's htpasswd plugin registers it on first login and hands out a token.
  let npmrc = null;
  const login = async () => {
    if (npmrc) return npmrc;
    const name = `vgtest${randomBytes(4).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    const r = await fetch(`${url}-/user/org.couchdb.user:${name}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ _id: `org.couchdb.user:${name}`, name, password, type: 'user', roles: [], date: new Date().toISOString() }),
    });
    const body = await r.json().catch(() => ({}));
    if (!r.ok || !body.token) throw new Error(`verdaccio refused to create a user (${r.status}): ${JSON.stringify(body)}`);
    npmrc = path.join(dir, 'publish.npmrc');
    await fsp.writeFile(npmrc, `registry=${url}\n//127.0.0.1:${port}/:_authToken=${body.token}\n`);
    return npmrc;
  };

  const publish = async (tarball) => {
    const userconfig = await login();
    try {
      // --tag: publishing 0.x prereleases etc. must still become `latest` for a plain `npm install vidgraph`
      await execFileP('npm', ['publish', path.resolve(tarball), '--registry', url, '--userconfig', userconfig,
        '--tag', 'latest', '--ignore-scripts', '--access', 'public', '--provenance=false', '--loglevel=error'], {
        cwd: dir, maxBuffer: 64 << 20, env: { ...process.env, npm_config_userconfig: userconfig },
      });
    } catch (e) {
      throw new Error(`npm publish ${tarball} to ${url} failed: ${e.stderr || e.message}\n${logTail()}`);
    }
  };

  return { url, port, dir, publish, stop, logTail };
}

// CLI: serve a tarball until interrupted (handy for poking at the registry by hand).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const tarballs = process.argv.slice(2);
  const reg = await startRegistry({ log: (m) => console.error(m) });
  const bye = () => reg.stop().then(() => process.exit(0));
  process.on('SIGINT', bye);
  process.on('SIGTERM', bye);
  try {
    for (const t of tarballs) await reg.publish(t);
  } catch (e) {
    console.error(e.message);
    await reg.stop();
    process.exit(1);
  }
  console.log(reg.url);
}
