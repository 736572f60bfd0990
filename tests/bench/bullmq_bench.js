// bullmq_bench.js: the BullMQ peer of tests/bench/bench_queue.sh and
// bench_engine.sh, on the same redis-server. BullMQ is pinned in
// tests/tools/package.json. Each mode is BullMQ run its documented fast way:
//
//   node bullmq_bench.js throughput PORT N     add N no-op jobs first with
//        Queue.addBulk (chunks of 1,000; timed apart: the add rate), then ONE
//        Worker at concurrency 50, timed from its start until all N completed
//        (the processing rate)
//   node bullmq_bench.js latency PORT N RATE   a Worker at concurrency 50
//        runs while jobs are added one by one with Queue.add at RATE/s;
//        latency = job.processedOn - job.timestamp
//   node bullmq_bench.js memory PORT N         used_memory per waiting job
//
// Prints "key value" lines like queue_bench: add_per_s, tasks_per_s,
// redis_cpu_add_us / redis_cpu_proc_us (Redis CPU per job, INFO cpu
// used_cpu_user+used_cpu_sys before and after each phase), node_cpu_proc_us
// (this process's CPU per job while processing), p50_ms, p99_ms,
// bytes_per_task. BullMQ timestamps are milliseconds, so its latencies are
// only as fine as that.
'use strict';
const path = require('path');
const tools = path.join(__dirname, '..', 'tools', 'node_modules');
const { Queue, Worker } = require(path.join(tools, 'bullmq'));
const IORedis = require(path.join(tools, 'ioredis'));

const [mode, port, nArg, rateArg] = process.argv.slice(2);
const N = Number(nArg);
const connection = { host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: null };
const opts = { removeOnComplete: true, removeOnFail: true };


async function usedMemory(r) {
  return Number(/used_memory:(\d+)/.exec(await r.info("memory"))[1]);
}

// Redis CPU seconds so far (user + system).
async function redisCpu(r) {
  const info = await r.info('cpu');
  const u = /used_cpu_user:([\d.]+)/.exec(info), s = /used_cpu_sys:([\d.]+)/.exec(info);
  return Number(u[1]) + Number(s[1]);
}

function nodeCpu() {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

async function addAll(queue) {
  for (let i = 0; i < N; i += 1000) {
    const jobs = [];
    for (let j = i; j < Math.min(N, i + 1000); j++) jobs.push({ name: 'noop', data: {}, opts });
    await queue.addBulk(jobs);
  }
}

// A Worker at concurrency 50 recording latencies; resolves `done` at N.
function startWorker(name, lat) {
  let count = 0;
  let finish;
  const done = new Promise((res) => (finish = res));
  const worker = new Worker(
    name,
    async (job) => {
      lat.push(job.processedOn - job.timestamp);
    },
    { connection, concurrency: 50 }
  );
  worker.on('completed', () => {
    if (++count === N) finish();
  });
  return { worker, done };
}

const secsSince = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

async function throughput(name, queue, r) {
  const c0 = await redisCpu(r);
  let t0 = process.hrtime.bigint();
  await addAll(queue);
  const addS = secsSince(t0);
  const c1 = await redisCpu(r);
  const n0 = nodeCpu();
  t0 = process.hrtime.bigint();
  const { worker, done } = startWorker(name, []);
  await done;
  const procS = secsSince(t0);
  const n1 = nodeCpu();
  const c2 = await redisCpu(r);
  console.log(`add_per_s ${(N / addS).toFixed(0)}`);
  console.log(`tasks_per_s ${(N / procS).toFixed(0)}`);
  console.log(`redis_cpu_add_us ${(((c1 - c0) * 1e6) / N).toFixed(2)}`);
  console.log(`redis_cpu_proc_us ${(((c2 - c1) * 1e6) / N).toFixed(2)}`);
  console.log(`node_cpu_proc_us ${(((n1 - n0) * 1e6) / N).toFixed(2)}`);
  await worker.close();
}

async function latency(name, queue) {
  const lat = [];
  const { worker, done } = startWorker(name, lat);
  await worker.waitUntilReady();
  const rate = Number(rateArg);
  const t0 = process.hrtime.bigint();
  let sent = 0;
  while (sent < N) {
    const due = Math.min(N, Math.floor(secsSince(t0) * rate));
    for (; sent < due; sent++) await queue.add('noop', {}, opts);
    await new Promise((res) => setTimeout(res, 1));
  }
  await done;
  lat.sort((a, b) => a - b);
  console.log(`rate ${rate}`);
  console.log(`p50_ms ${pct(lat, 50).toFixed(3)}`);
  console.log(`p99_ms ${pct(lat, 99).toFixed(3)}`);
  await worker.close();
}

async function memory(queue, r) {
  const before = await usedMemory(r);
  await addAll(queue);
  const after = await usedMemory(r);
  console.log(`bytes_per_task ${((after - before) / N).toFixed(1)}`);
}

async function run() {
  const name = `bench-${mode}-${process.pid}`;
  const queue = new Queue(name, { connection });
  await queue.waitUntilReady();
  const r = new IORedis(connection);
  if (mode === 'memory') await memory(queue, r);
  else if (mode === 'throughput') await throughput(name, queue, r);
  else if (mode === 'latency') await latency(name, queue);
  else throw new Error(`unknown mode ${mode}`);
  await queue.obliterate({ force: true });
  await queue.close();
  r.disconnect();
}

run().then(
  () => process.exit(0),
  (e) => {
    console.error(`bullmq_bench: ${e.stack || e}`);
    process.exit(1);
  }
);
