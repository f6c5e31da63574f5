#!/usr/bin/env node
// A single-node Apache Kafka broker (KRaft: broker and controller in one JVM) on 127.0.0.1, for
// folio's tests and for `npm run kafka`. The broker's jars come from Maven Central through
// kafka/pom.xml (resolved once into kafka/lib); Java 17 or newer runs it.
//
//   npm run kafka                          a broker on 127.0.0.1:9092 (or a free port), data in .folio/kafka, until Ctrl-C
//   node kafka/broker.mjs --port 19092 --data /tmp/k
//
// As a module: `const b = await startBroker({ port, dataDir })` -> { brokers, stop(), kill(),
// restart() }; tests start one per run (test/run.mjs) and restart it in fault tests.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const KAFKA_LIB = path.join(HERE, 'lib');

/** The broker's jars in kafka/lib, resolved by Maven the first time (about 10 s, 43 MB). */
export function ensureJars(log = () => {}) {
  const stamp = path.join(KAFKA_LIB, '.pom-mtime');
  const pomTime = String(fs.statSync(path.join(HERE, 'pom.xml')).mtimeMs);
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === pomTime) return KAFKA_LIB;
  log('resolving the Kafka broker jars with Maven (kafka/pom.xml)');
  const mvn = spawnSync('mvn', ['-q', '-B', '-f', path.join(HERE, 'pom.xml'), 'dependency:copy-dependencies', '-DincludeScope=runtime', '-DoutputDirectory=lib'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  if (mvn.error) throw new Error(`cannot run mvn (apt-get install maven): ${mvn.error.message}`);
  if (mvn.status !== 0) throw new Error(`mvn could not resolve the Kafka jars:\n${(mvn.stdout + mvn.stderr).slice(-2000)}`);
  fs.writeFileSync(stamp, pomTime);
  return KAFKA_LIB;
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function java(args, opts = {}) {
  return spawnSync('java', ['-cp', `${KAFKA_LIB}/*`, ...args], { encoding: 'utf8', ...opts });
}

/**
 * Start a broker. `port` and `controllerPort` default to free ones; `dataDir` keeps its log
 * (formatted on first use), so a restarted broker keeps its topics and offsets.
 */
export async function startBroker({ port, controllerPort, dataDir, heapMb = 512, log = () => {} } = {}) {
  ensureJars(log);
  port ??= await freePort();
  controllerPort ??= await freePort();
  dataDir = path.resolve(dataDir ?? path.join(process.cwd(), '.folio', 'kafka'));
  fs.mkdirSync(dataDir, { recursive: true });
  const props = path.join(dataDir, 'server.properties');
  fs.writeFileSync(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${path.join(dataDir, 'log')}`,
      'num.partitions=4',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=4',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
      '',
    ].join('\n'),
  );
  if (!fs.existsSync(path.join(dataDir, 'log', 'meta.properties'))) {
    const id = java(['kafka.tools.StorageTool', 'random-uuid']).stdout.trim();
    const fmt = java(['kafka.tools.StorageTool', 'format', '-t', id, '-c', props]);
    if (fmt.status !== 0) throw new Error(`formatting the Kafka log failed: ${fmt.stdout}${fmt.stderr}`);
  }
  let child;
  const launch = async () => {
    child = spawn('java', [`-Xmx${heapMb}m`, `-Xms${Math.min(heapMb, 128)}m`, '-XX:+UseSerialGC', '-cp', `${KAFKA_LIB}/*`, 'kafka.Kafka', props], {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: false,
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    const started = Date.now();
    while (!(await portOpen(port))) {
      if (child.exitCode !== null) throw new Error(`the Kafka broker exited with ${child.exitCode}: ${stderr}`);
      if (Date.now() - started > 120_000) throw new Error(`the Kafka broker did not open port ${port} within 120 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    log(`Kafka broker on 127.0.0.1:${port} (data in ${dataDir}), up in ${Date.now() - started} ms`);
  };
  const stop = async (signal = 'SIGTERM') => {
    if (!child || child.exitCode !== null || child.signalCode) return;
    const done = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await done;
    clearTimeout(timer);
  };
  await launch();
  return {
    brokers: `127.0.0.1:${port}`,
    port,
    dataDir,
    get pid() {
      return child?.pid;
    },
    stop: () => stop('SIGTERM'),
    kill: () => stop('SIGKILL'),
    async restart() {
      await stop('SIGTERM');
      await launch();
    },
  };
}

// `node kafka/broker.mjs`: run one in the foreground.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  // 9092 (Kafka's usual port) when it is free, else any free port; --port insists on one.
  const port = arg('--port') ? Number(arg('--port')) : (await portOpen(9092)) ? await freePort() : 9092;
  const broker = await startBroker({
    port,
    dataDir: arg('--data'),
    log: (m) => process.stderr.write(`[kafka] ${m}\n`),
  });
  process.stdout.write(`KAFKA_BROKERS=${broker.brokers}\n`);
  const quit = async () => {
    await broker.stop();
    process.exit(0);
  };
  process.on('SIGINT', quit);
  process.on('SIGTERM', quit);
}
