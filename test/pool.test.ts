// The worker pool's scheduling: two jobs in a thread's hands, time limits, threads that die.
// The thread is a scripted stand-in (test/support/scripted-thread.mjs); extraction through the
// real thread is covered by the pipeline tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExtractPool, type JobResult } from '../pipelines/pool.ts';
import { loadConfig } from '../schemas/config.ts';

const ENTRY = new URL('./support/scripted-thread.mjs', import.meta.url);
const input = (name: string) => ({ name, uri: `mem://${name}`, bytes: new Uint8Array(0) });
const answer = (r: JobResult) => JSON.parse(r.error!.message) as { name: string; threadId: number; seen: number; waiting: number };

function pool(size: number, timeoutMs: number): ExtractPool {
  return new ExtractPool(size, { ...loadConfig({ logLevel: 'silent', timeoutMs }, {}), blobDir: '/nonexistent' }, ENTRY);
}

test('a thread holds its next job while it works on one, and answers in order', async () => {
  const p = pool(1, 30_000);
  try {
    const results = await Promise.all(['ok-150-a', 'ok-0-b', 'ok-0-c'].map((n) => p.run(input(n))));
    const got = results.map(answer);
    assert.deepEqual(got.map((a) => a.name), ['ok-150-a', 'ok-0-b', 'ok-0-c']);
    // While it was on the first job, the second was already waiting in the thread; never more.
    assert.equal(got[0]!.waiting, 1);
    assert.ok(got.every((a) => a.waiting <= 1), JSON.stringify(got));
  } finally {
    await p.close();
  }
});

test('a job over the time limit fails alone: the job waiting behind it runs on a fresh thread', async () => {
  const p = pool(1, 1500);
  try {
    const [hung, next, later] = await Promise.all(['hang-a', 'ok-0-b', 'ok-0-c'].map((n) => p.run(input(n))));
    assert.equal(hung!.error?.code, 'timeout');
    assert.match(hung!.error!.message, /hang-a: no result within 1500 ms/);
    const b = answer(next!);
    assert.equal(b.name, 'ok-0-b');
    assert.equal(answer(later!).name, 'ok-0-c');
    // It was handed to the first thread, which never got to it: it ran again, on the new thread.
    assert.equal(b.seen, 1, 'the new thread saw it first');
  } finally {
    await p.close();
  }
});

test('a thread that dies fails only the job it was on', async () => {
  const p = pool(1, 30_000);
  try {
    const [dead, next] = await Promise.all(['die-a', 'ok-0-b'].map((n) => p.run(input(n))));
    assert.equal(dead!.error?.code, 'internal');
    assert.match(dead!.error!.message, /exited with code 3/);
    assert.equal(answer(next!).name, 'ok-0-b');
  } finally {
    await p.close();
  }
});
