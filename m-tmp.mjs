import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module'; createRequire(import.meta.url)('@evan/opus');
const mode = process.argv[2];
const w = new Worker('/tmp/mp/w2.ts', { execArgv: ['--import', 'tsx'], workerData: { exit: mode === 'exit' }, env: mode === 'wasm' ? { ...process.env, OPUS_FORCE_WASM: '1' } : process.env });
w.on('message', (m) => { console.log(mode, 'us per enc+dec', (m*1000).toFixed(1)); if (mode !== 'exit') setTimeout(()=>w.terminate().then(()=>console.log('terminated')), 200); });
w.on('error', (e) => console.log('err', e));
w.on('exit', (c) => { console.log('exit', c); setTimeout(() => console.log('main alive'), 500); });
