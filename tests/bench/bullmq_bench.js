// bullmq_bench.js: the BullMQ peer of tests/bench/bench_queue.sh, on the
// same redis-server. BullMQ is pinned in tests/tools/package.json.
//
//   node bullmq_bench.js throughput PORT N        addBulk N no-op jobs, one
//                                                  Worker at concurrency 50
//   node bullmq_bench.js latency PORT N RATE       jobs added at RATE/s
//   node bullmq_bench.js memory PORT N             used_memory per waiting job
//
// Prints "key value" lines like queue_bench: tasks_per_s, p50_ms, p99_ms,
// bytes_per_task. BullMQ timestamps are milliseconds, so its latencies are
// only as fine as that.
'use strict';
const path = require('path');
const tools = path.join(__dirname, '..', 'tools', 'node_modules');
const { Queue, Worker, QueueEvents } = require(path.join(tools, 'bullmq'));
const IORedis = require(path.join(tools, 'ioredis'));

const [mode, port, nArg, rateArg] = process.argv.slice(2);
const N = Number(nArg);
const connection = { host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: null };

async function usedMemory(r) {
  const info = await r.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)[1]);
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

async function run() {
  const name = `bench-${mode}-${process.pid}`;
  const queue = new Queue(name, { connection });
  await queue.waitUntilReady();
  const r = new IORedis(connection);
  const opts = { removeOnComplete: true, removeOnFail: true };

  if (mode === 'memory') {
    const before = await usedMemory(r);
    for (let i = 0; i < N; i += 1000) {
      const jobs = [];
      for (let j = i; j < Math.min(N, i + 1000); j++) jobs.push({ name: 'noop', data: {}, opts });
      await queue.addBulk(jobs);
    }
    const after = await usedMemory(r);
    console.log(`bytes_per_task ${((after - before) / N).toFixed(1)}`);
    await queue.obliterate({ force: true });
  } else {
    const lat = [];
    let done = 0;
    let finish;
    const finished = new Promise((res) => (finish = res));
    const worker = new Worker(
      name,
      async (job) => {
        lat.push(job.processedOn - job.timestamp);
      },
      { connection, concurrency: 50 }
    );
    worker.on('completed', () => {
      if (++done === N) finish();
    });
    await worker.waitUntilReady();
    const t0 = process.hrtime.bigint();
    if (mode === 'throughput') {
      for (let i = 0; i < N; i += 1000) {
        const jobs = [];
        for (let j = i; j < Math.min(N, i + 1000); j++) jobs.push({ name: 'noop', data: {}, opts });
        await queue.addBulk(jobs);
      }
    } else {
      const rate = Number(rateArg);
      let sent = 0;
      while (sent < N) {
        const due = Math.min(N, Math.floor((Number(process.hrtime.bigint() - t0) / 1e9) * rate));
        const jobs = [];
        for (; sent < due; sent++) jobs.push({ name: 'noop', data: {}, opts });
        if (jobs.length) await queue.addBulk(jobs);
        await new Promise((res) => setTimeout(res, 1));
      }
      console.log(`rate ${rate}`);
    }
    await finished;
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    if (mode === 'throughput') console.log(`tasks_per_s ${(N / secs).toFixed(0)}`);
    lat.sort((a, b) => a - b);
    console.log(`p50_ms ${pct(lat, 50).toFixed(3)}`);
    console.log(`p99_ms ${pct(lat, 99).toFixed(3)}`);
    await worker.close();
    await queue.obliterate({ force: true });
  }
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
