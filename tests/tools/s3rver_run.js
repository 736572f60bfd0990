#!/usr/bin/env node
// s3rver_run.js: s3rver's own CLI (bin/s3rver.js, the same arguments) with
// the atomic PUT of s3rver_atomic.js. The test stack starts s3rver with it.
'use strict';
require('./s3rver_atomic');
require('s3rver/bin/s3rver.js');
