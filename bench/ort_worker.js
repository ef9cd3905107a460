// ort_worker.js: times ONNX Runtime's CPU forward pass on one ONNX file, for
// bench/run_ort_bench.py (issue 16). Prints one JSON line, the same fields
// `gradcam bench` prints: median_ms and min_ms per image.
//
//   node ort_worker.js MODEL.onnx BATCH THREADS ITERS [SIZE]
//
// onnxruntime-node is found through NODE_PATH (run_ort_bench.py installs it
// under build/ort). Sequential execution, one intra-op pool of THREADS
// threads, every graph optimisation on: what a deployment would use.
'use strict';
const ort = require('onnxruntime-node');

async function main() {
  const [model, batch, threads, iters, size] = process.argv.slice(2);
  const n = Number(batch), t = Number(threads), k = Number(iters), s = Number(size || 224);
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: t,
    interOpNumThreads: 1,
  });
  const data = new Float32Array(n * 3 * s * s);
  let seed = 1;
  for (let i = 0; i < data.length; i++) {  // a fixed pseudo-random input
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    data[i] = seed / 0x7fffffff * 2 - 1;
  }
  const feeds = {};
  feeds[session.inputNames[0]] = new ort.Tensor('float32', data, [n, 3, s, s]);
  await session.run(feeds);  // warm-up
  const times = [];
  for (let i = 0; i < k; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6 / n);
  }
  times.sort((a, b) => a - b);
  const median = times.length % 2 ? times[(times.length - 1) / 2]
    : (times[times.length / 2 - 1] + times[times.length / 2]) / 2;
  console.log(JSON.stringify({ ms_per_image: median, median_ms: median, min_ms: times[0], iters: k, batch: n, threads: t }));
}

main().catch((e) => { console.error(String(e)); process.exit(1); });
