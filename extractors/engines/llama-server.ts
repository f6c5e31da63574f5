// llama-server: built once from the llama.cpp source that node-llama-cpp ships (node-llama-cpp
// itself takes no images), cached per llama.cpp commit and CPU, and run by folio as a child
// process on 127.0.0.1 that folio health-checks, restarts if it dies, and stops with itself.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { FolioError } from '../../schemas/errors.ts';

const require = createRequire(import.meta.url);

/** folio's cache folder: FOLIO_CACHE_DIR, else $XDG_CACHE_HOME/folio, else ~/.cache/folio. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FOLIO_CACHE_DIR) return path.resolve(env.FOLIO_CACHE_DIR);
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'folio');
}

export interface LlamaSource {
  bundle: string;
  commit: string;
  /** node-llama-cpp's version (which ships the source). */
  version: string;
}

/** The llama.cpp source inside node-llama-cpp's package: a git bundle, and the commit it holds. */
export function llamaSource(): LlamaSource {
  // The package's exports hide its package.json: look for the folder where Node would find it.
  const dir = (require.resolve.paths('node-llama-cpp') ?? []).map((d) => path.join(d, 'node-llama-cpp')).find((d) => fs.existsSync(path.join(d, 'package.json')));
  if (!dir) throw new FolioError('internal', 'node-llama-cpp is not installed (npm install)');
  const pkgFile = path.join(dir, 'package.json');
  const bundle = path.join(dir, 'llama', 'gitRelease.bundle');
  if (!fs.existsSync(bundle)) throw new FolioError('internal', `node-llama-cpp ships no llama.cpp source at ${bundle}`);
  const heads = execFileSync('git', ['bundle', 'list-heads', bundle], { encoding: 'utf8' });
  const commit = heads.split(/\s+/)[0] ?? '';
  if (!/^[0-9a-f]{40}$/.test(commit)) throw new FolioError('internal', `cannot read the commit of ${bundle}`);
  return { bundle, commit, version: (JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { version: string }).version };
}

/** A short digest of the CPU's features: a GGML_NATIVE build runs only on CPUs like the one it was built on. */
function cpuKey(): string {
  let flags = `${os.arch()}:${os.cpus()[0]?.model ?? ''}`;
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    flags += info.match(/^flags\s*:(.*)$/m)?.[1] ?? '';
  } catch {
    /* not Linux */
  }
  return crypto.createHash('sha256').update(flags).digest('hex').slice(0, 8);
}

/** Where the llama-server binary for this llama.cpp commit and CPU lives (built or not). */
export function serverPath(src: LlamaSource = llamaSource(), cache = cacheDir()): string {
  return path.join(cache, 'llama-server', `${src.commit.slice(0, 12)}-${cpuKey()}`, 'llama-server');
}

export interface BuildProgress {
  stage: 'cached' | 'unpack' | 'configure' | 'build' | 'done';
  /** 0..100 during the build. */
  percent?: number;
  line?: string;
}

/**
 * The llama-server binary: FOLIO_LLAMA_SERVER when set (a user's own build, e.g. with CUDA), else
 * the cached build, else built now (about 6 minutes on 2 cores). Builds of the same commit in
 * several processes at once wait for one another (a lock folder).
 */
export async function ensureServer(opts: { onProgress?: (p: BuildProgress) => void; env?: NodeJS.ProcessEnv; jobs?: number } = {}): Promise<string> {
  const env = opts.env ?? process.env;
  if (env.FOLIO_LLAMA_SERVER) {
    if (!fs.existsSync(env.FOLIO_LLAMA_SERVER)) throw new FolioError('model_missing', `FOLIO_LLAMA_SERVER names ${env.FOLIO_LLAMA_SERVER}, which does not exist`);
    return env.FOLIO_LLAMA_SERVER;
  }
  const src = llamaSource();
  const bin = serverPath(src, cacheDir(env));
  const progress = opts.onProgress ?? (() => {});
  if (fs.existsSync(bin)) {
    progress({ stage: 'cached' });
    return bin;
  }
  const dir = path.dirname(bin);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const lock = `${dir}.lock`;
  const release = await takeLock(lock);
  try {
    if (fs.existsSync(bin)) {
      progress({ stage: 'cached' });
      return bin;
    }
    const work = `${dir}.build`;
    const srcDir = path.join(work, 'src');
    if (!fs.existsSync(path.join(srcDir, 'CMakeLists.txt'))) {
      progress({ stage: 'unpack' });
      fs.rmSync(work, { recursive: true, force: true });
      fs.mkdirSync(work, { recursive: true });
      await run('git', ['-c', 'advice.detachedHead=false', 'clone', '--quiet', src.bundle, srcDir], work);
    }
    progress({ stage: 'configure' });
    const build = path.join(work, 'build');
    await run(
      'cmake',
      [
        '-S', srcDir, '-B', build,
        '-DCMAKE_BUILD_TYPE=Release',
        '-DGGML_NATIVE=ON',
        '-DBUILD_SHARED_LIBS=OFF',
        '-DLLAMA_OPENSSL=OFF',
        '-DLLAMA_BUILD_TESTS=OFF',
        '-DLLAMA_BUILD_EXAMPLES=OFF',
        '-DLLAMA_BUILD_APP=OFF',
        '-DLLAMA_BUILD_UI=OFF',
        '-DGGML_CCACHE=OFF',
      ],
      work,
    );
    progress({ stage: 'build', percent: 0 });
    const jobs = opts.jobs ?? Math.max(1, os.availableParallelism());
    await run('cmake', ['--build', build, '--target', 'llama-server', '-j', String(jobs)], work, (line) => {
      const m = /^\[\s*(\d+)%\]/.exec(line);
      if (m) progress({ stage: 'build', percent: Number(m[1]), line });
    });
    const built = path.join(build, 'bin', 'llama-server');
    if (!fs.existsSync(built)) throw new FolioError('internal', `the build finished but ${built} is not there`);
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(built, `${bin}.tmp`);
    fs.chmodSync(`${bin}.tmp`, 0o755);
    fs.renameSync(`${bin}.tmp`, bin);
    fs.writeFileSync(path.join(dir, 'BUILD.json'), JSON.stringify({ commit: src.commit, nodeLlamaCpp: src.version, builtAt: new Date().toISOString(), cpu: os.cpus()[0]?.model }, null, 2));
    fs.rmSync(work, { recursive: true, force: true });
    progress({ stage: 'done' });
    return bin;
  } finally {
    release();
  }
}

/** A lock folder holding the owner's pid; a dead owner's lock is taken over. */
async function takeLock(lock: string): Promise<() => void> {
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
      return () => fs.rmSync(lock, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let pid = 0;
      try {
        pid = Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8'));
      } catch {
        /* being written */
      }
      if (pid && !processAlive(pid)) {
        fs.rmSync(lock, { recursive: true, force: true });
        continue;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** Whether a process of this id lives (on this host). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function run(cmd: string, args: string[], cwd: string, onLine?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const take = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 30) tail.shift();
        onLine?.(line);
      }
    };
    p.stdout.on('data', take);
    p.stderr.on('data', take);
    p.on('error', (err) => reject(new FolioError('internal', `${cmd} could not be run (${err.message}); building llama-server needs git, cmake and a C++ compiler`)));
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new FolioError('internal', `${cmd} ${args.slice(0, 2).join(' ')} failed (exit ${code}):\n${tail.join('\n')}`))));
  });
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface ServerOptions {
  binary: string;
  model: string;
  mmproj?: string;
  /** Requests decoded at once (slots). */
  parallel: number;
  /** Context tokens per slot. */
  context: number;
  threads: number;
  /** Time to load the model and answer /health. */
  startTimeoutMs?: number;
  extraArgs?: string[];
  onLog?: (line: string) => void;
}

/**
 * A llama-server child process. `url` answers once `start()` resolves; if the process dies, it is
 * started again on the same port (requests in flight fail and are retried by the client), at most
 * a few times a minute.
 */
export class ManagedServer {
  private proc?: ChildProcess;
  private port = 0;
  private stopping = false;
  private restarts: number[] = [];
  private readonly tail: string[] = [];
  private starting?: Promise<void>;

  constructor(private readonly opts: ServerOptions) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The process id (for tests that kill it). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    this.starting ??= this.launch().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async launch(): Promise<void> {
    const o = this.opts;
    const args = [
      '--host', '127.0.0.1',
      '--port', String(this.port),
      '-m', o.model,
      ...(o.mmproj ? ['--mmproj', o.mmproj] : []),
      '--parallel', String(o.parallel),
      '-c', String(o.context * o.parallel),
      '--threads', String(o.threads),
      '--threads-http', String(Math.max(2, o.parallel)),
      '--no-webui',
      '--jinja',
      // Prompt and generation seconds, tokens, slots busy: folio's benchmark reads them.
      '--metrics',
      ...(o.extraArgs ?? []),
    ];
    const proc = spawn(o.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    const take = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue;
        this.tail.push(line);
        if (this.tail.length > 40) this.tail.shift();
        o.onLog?.(line);
      }
    };
    proc.stdout!.on('data', take);
    proc.stderr!.on('data', take);
    let exited = false;
    proc.on('exit', (code, signal) => {
      exited = true;
      if (this.proc !== proc || this.stopping) return;
      this.proc = undefined;
      o.onLog?.(`llama-server exited (${signal ?? code}); starting it again`);
      const now = Date.now();
      this.restarts = this.restarts.filter((t) => now - t < 60_000);
      if (this.restarts.length >= 5) return; // crash loop: left down, requests fail with model_failed
      this.restarts.push(now);
      this.start().catch((err: Error) => o.onLog?.(`llama-server did not come back: ${err.message}`));
    });
    const deadline = Date.now() + (o.startTimeoutMs ?? 120_000);
    while (Date.now() < deadline) {
      if (exited) throw new FolioError('model_invalid', `llama-server stopped while loading ${path.basename(o.model)}:\n${this.tail.slice(-12).join('\n')}`);
      try {
        const res = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) return;
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    proc.kill('SIGKILL');
    throw new FolioError('model_failed', `llama-server did not become ready in ${Math.round((o.startTimeoutMs ?? 120_000) / 1000)} s:\n${this.tail.slice(-12).join('\n')}`);
  }

  /** The last lines llama-server wrote (for error messages). */
  logTail(): string[] {
    return [...this.tail];
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(t);
  }
}
