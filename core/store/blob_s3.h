/* core/store/blob_s3.h: the blob store in an S3-compatible bucket (AWS,
 * MinIO, Ceph, s3rver), over http.h with libcurl's own SigV4.
 *
 * Keys are the objects' keys as they are ("volumes/user/alice/skills/
 * x.md", as LLMos-Lite writes them), content plain. Mode, owner, mtime
 * and user xattrs travel as x-amz-meta-mode/uid/gid/mtime (s3fs's names
 * and forms) and x-amz-meta-llmunix-xattrs; an object without them (the
 * aws CLI, LLMos-Lite) gets the volume's owner, 0644 and its
 * Last-Modified. A folder is a marker object "key/" when it must survive
 * empty; a key that exists only as a prefix is a folder too.
 *
 * Listing a volume is ListObjectsV2 without a delimiter, page by page;
 * the headers come from a local cache (objmeta.h) kept in STATE/s3/,
 * and only objects whose ETag it does not know are asked (HEAD, several
 * at once). A rename is CopyObject then DeleteObject, journalled in
 * STATE/s3/journal so that a crash leaves the old or the new name, never
 * both halves of a folder.
 *
 * Errors: 404 is -ENOENT, 403 -EACCES, a full store -ENOSPC, a body over
 * the cap -EFBIG, anything else (5xx after retries, timeouts, no server)
 * -EIO; each is logged with the endpoint, the key and the S3 error code.
 * Credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 * AWS_SESSION_TOKEN, which open() takes out of the environment so that
 * no child process inherits them; they are never logged.
 */
#ifndef LLMUNIX_BLOB_S3_H
#define LLMUNIX_BLOB_S3_H

#include "core/store/blob.h"

struct blob_s3_opts {
	const char *endpoint;	/* "https://s3.eu-west-1.amazonaws.com" */
	const char *bucket;
	const char *region;	/* "us-east-1" */
	int path_style;		/* 1: endpoint/bucket/key, 0: bucket.host,
				 * -1: virtual host on amazonaws.com */
	double timeout;		/* one attempt, seconds */
	double connect_timeout;
	const char *state_dir;	/* its STATE/s3 folder */
};

/* Check the bucket answers with these credentials, replay the journal of
 * renames, load the metadata cache. Returns 0, or -EACCES (credentials
 * refused), -ENOENT (no such bucket), -EINVAL (bad options, missing
 * credentials), -EIO (no server): each said in the log with the
 * endpoint and the HTTP status. */
int blob_s3_open(struct blob **out, const struct blob_s3_opts *o);

#endif
