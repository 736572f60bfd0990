// s3rver_atomic.js: makes s3rver's filesystem store's PUT atomic and
// read-after-write consistent, as S3's is (required for its effect by
// s3rver_run.js and s3rver_check.js). s3rver 3.7.1 answers a PUT when its
// Transform has seen the last byte, not when the file is written: the write
// stream may still hold data, so a GET right after a PUT can read a short
// file (seen as "content does not match its name" on a loaded machine).
// Here the object goes to a temporary name, the write stream is waited for,
// and the file is renamed over the object.
'use strict';
const crypto = require('crypto');
const fs = require('fs-extra');
const path = require('path');
const { Readable, Transform, pipeline } = require('stream');
const FilesystemStore = require('s3rver/lib/stores/filesystem');

let seq = 0;
FilesystemStore.prototype.putObject = async function putObject(object) {
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  await fs.mkdirp(path.dirname(objectPath));
  const tmp = `${objectPath}.rf-tmp-${process.pid}-${seq++}`;
  const md5Context = crypto.createHash('md5');
  let size = 0;
  const count = new Transform({
    transform(chunk, encoding, callback) {
      md5Context.update(chunk, encoding);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  const source = Buffer.isBuffer(object.content)
    ? Readable.from([object.content])
    : object.content;
  try {
    await new Promise((resolve, reject) =>
      pipeline(source, count, fs.createWriteStream(tmp), err => (err ? reject(err) : resolve())),
    );
    await fs.rename(tmp, objectPath);
  } catch (err) {
    await fs.remove(tmp).catch(() => {});
    throw err;
  }
  const md5 = md5Context.digest('hex');
  await this.putMetadata(object.bucket, object.key, object.metadata, md5);
  return { size, md5 };
};
