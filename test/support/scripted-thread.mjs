// A stand-in for the extraction thread, for tests of the pool's scheduling: each job's name says
// what the thread does with it. "hang-*" never answers, "die-*" ends the thread, anything else is
// answered after `ms` milliseconds (from the name "ok-<ms>-...") with the order of arrival.
import { parentPort, threadId } from 'node:worker_threads';

let arrived = 0;
let last = Promise.resolve();
parentPort.on('message', (input) => {
  const seen = ++arrived;
  last = last.then(async () => {
    if (input.name.startsWith('hang')) await new Promise(() => {});
    if (input.name.startsWith('die')) process.exit(3);
    const ms = Number(input.name.split('-')[1] ?? 0);
    await new Promise((r) => setTimeout(r, ms));
    parentPort.postMessage({ error: { code: 'internal', message: JSON.stringify({ name: input.name, threadId, seen, waiting: arrived - seen }) } });
  });
});
