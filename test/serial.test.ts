// The database queue of a run: one task at a time, lookups before queued writes, failures kept
// to their own task.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SerialQueue } from '../pipelines/serial.ts';

const tick = () => new Promise((r) => setTimeout(r, 2));

test('tasks run one at a time; an urgent one goes before the writes already waiting', async () => {
  const q = new SerialQueue();
  const log: string[] = [];
  let running = 0;
  let most = 0;
  const task = (name: string) => async () => {
    running++;
    most = Math.max(most, running);
    log.push(`start ${name}`);
    await tick();
    log.push(`end ${name}`);
    running--;
    return name;
  };
  const results = [q.run(task('w1')), q.run(task('w2')), q.run(task('w3'))];
  assert.equal(q.waiting, 2, 'w1 runs, w2 and w3 wait');
  results.push(q.run(task('lookup'), { urgent: true }));
  assert.deepEqual(await Promise.all(results), ['w1', 'w2', 'w3', 'lookup']);
  assert.equal(most, 1);
  assert.deepEqual(log.filter((l) => l.startsWith('start')), ['start w1', 'start lookup', 'start w2', 'start w3']);
});

test('a failing task rejects its own promise and the queue goes on', async () => {
  const q = new SerialQueue();
  const bad = q.run(async () => {
    throw new Error('boom');
  });
  const sync = q.run((() => {
    throw new Error('thrown before any promise');
  }) as () => Promise<never>);
  const good = q.run(async () => 42);
  await assert.rejects(bad, /boom/);
  await assert.rejects(sync, /thrown before/);
  assert.equal(await good, 42);
  assert.equal(q.waiting, 0);
});
