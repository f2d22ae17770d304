/* core/store/blob_vercel.h: the blob store in a Vercel Blob store, over
 * its HTTP API as the public @vercel/blob client (2.x, API version 12)
 * speaks it, through http.h.
 *
 * Keys are the blobs' pathnames as they are ("volumes/user/alice/skills/
 * x.md", as LLMos-Lite writes them), never with a random suffix, content
 * plain; at most 950 bytes (the client's limit). A put that creates a
 * pathname sends x-allow-overwrite: 0, one that replaces a blob the
 * backend knows sends 1. Content is downloaded from the blob's URL (with
 * the token and ?cache=0 in a private store).
 *
 * A blob carries no metadata of ours: mode, owner, mtime and user xattrs
 * live only in the metadata cache (objmeta.h) in STATE/vercel/meta, by
 * ETag. A blob it does not know (a new state folder, a blob written by
 * LLMos-Lite) shows with the volume's owner, mode 0644 (folders 0755) and
 * its uploadedAt as mtime. A folder is a marker blob "key/" (as
 * createFolder() makes) when it must survive empty; a pathname prefix is
 * a folder too.
 *
 * Listing a volume is the list call with its prefix, 1,000 blobs a page,
 * following the cursor while hasMore: no other request. A rename is a
 * copy then a delete, journalled in STATE/vercel/journal.
 *
 * Errors: the API's error code decides ("not_found" -ENOENT, "forbidden"
 * -EACCES, "store_suspended" -EACCES, "file_too_large" -EFBIG), and the
 * HTTP status where there is none; 5xx and "rate_limited" (429, with its
 * retry-after) are retried, then -EIO like timeouts and a dead server.
 * Each failure is logged with the base URL, the pathname and the code.
 * BLOB_READ_WRITE_TOKEN is taken out of the environment at open (its
 * bytes wiped, so no child and no /proc/PID/environ has it) and never
 * logged.
 */
#ifndef LLMUNIX_BLOB_VERCEL_H
#define LLMUNIX_BLOB_VERCEL_H

#include "core/store/blob.h"

struct blob_vercel_opts {
	const char *base_url;	/* "https://vercel.com/api/blob" */
	int private_access;	/* the store's access: 0 public, 1 private */
	double timeout;		/* one attempt, seconds */
	double connect_timeout;
	const char *state_dir;	/* its STATE/vercel folder */
};

/* Check the store answers the token (one list call), settle the renames
 * a stop interrupted, load the metadata cache. Returns 0, or -EACCES (the
 * token is refused, the store suspended), -ENOENT (no such store),
 * -EINVAL (bad options, no token), -EIO (no answer): each said in the
 * log with the base URL and the HTTP status. */
int blob_vercel_open(struct blob **out, const struct blob_vercel_opts *o);

#endif
