// s3rver_check.js: is an object whole on disk the moment s3rver's store
// says its PUT is done? 10 PUTs of 16 MiB (Buffer and stream bodies);
// prints how many were short and exits 1 if any was. `--stock` checks
// s3rver as shipped (for comparison; it is expected to fail).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Readable } = require('stream');
if (process.argv[2] !== '--stock') require('./s3rver_atomic');
const FilesystemStore = require('s3rver/lib/stores/filesystem');
const S3Object = require('s3rver/lib/models/object');

(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's3rver-check-'));
  const store = new FilesystemStore(dir);
  fs.mkdirSync(path.join(dir, 'b'));
  let short = 0;
  for (let i = 0; i < 10; i++) {
    const buf = Buffer.alloc(16 << 20, i);
    const body = i % 2 ? buf : Readable.from([buf.subarray(0, 8 << 20), buf.subarray(8 << 20)]);
    await store.putObject(new S3Object('b', `k${i}`, body, {}));
    let got = null;
    try {
      got = fs.readFileSync(store.getResourcePath('b', `k${i}`, 'object'));
    } catch (err) {
      if (err.code !== 'ENOENT') throw err; // not even created yet
    }
    if (!got || !got.equals(buf)) short++;
  }
  const left = fs.readdirSync(path.join(dir, 'b')).filter(f => f.includes('.rf-tmp-'));
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(`objects not whole right after their PUT: ${short} of 10; temporary files left: ${left.length}`);
  process.exit(short || left.length ? 1 : 0);
})().catch(err => {
  console.error(err);
  process.exit(2);
});
