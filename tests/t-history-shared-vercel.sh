#!/usr/bin/env bash
# tests/t-history-shared-vercel.sh: tests/t-history-shared.sh with the
# volumes, and the history's objects, in one Vercel Blob store
# (tests/vercel-blob-server.js) instead of an S3 bucket.
SHARED_STORAGE=vercel exec "$(dirname "$0")/t-history-shared.sh"
