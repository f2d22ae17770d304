/* core/prov/session_tool.c: a tool call of the model (session.h).
 *
 * A skill's tool runs the skill as a one-node graph, submitted like a
 * graph written into run/ (run_submit(): resolved and checked as the
 * prompt's writer, run as the session's owner, in the sandbox, with the
 * limits and the cache), named after the session and the answer:
 * run/<session>-<NNNN>-<k> for the k-th call of message NNNN. It shows in
 * run/ like any run. The call waits for the run (a cancel of the answer
 * cancels it), and its result for the model is the run's status and
 * outputs as JSON, or its error. The built-in tools read_skill and
 * search_skills give the model the skills the request left out, and
 * run_skill runs any skill by its id.
 */
#include "core/prov/run.h"
#include "core/prov/session.h"
#include "core/run/engine.h"
#include "core/util/log.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define OUTPUT_SHOWN ((size_t)64 << 10)	/* bytes of an output sent back */
#define ERROR_SHOWN ((size_t)8 << 10)
#define NOTE_SHOWN 300			/* bytes of a result in the reply */

static int put(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

static int dump_cb(const char *s, size_t len, void *arg)
{
	return buf_append(arg, s, len) ? -1 : 0;
}

/* Up to `cap` bytes of the file at `path` into `out`; its size. */
static long long read_part(const char *path, struct buf *out, size_t cap)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t k;
	char *p;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	if ((size_t)st.st_size < cap)
		cap = (size_t)st.st_size;
	if (buf_reserve(out, out->len + cap + 1) == 0) {
		out->data[out->len] = '\0';
		p = out->data + out->len;
		k = pread(fd, p, cap, 0);
		if (k > 0) {
			out->len += (size_t)k;
			out->data[out->len] = '\0';
		}
	}
	close(fd);
	return (long long)st.st_size;
}

/* run/<folder>-NNNN-k, made a run's name: letters, digits, '.', '_' and
 * '-'. */
static void run_name(char *out, size_t cap, const struct turn *t,
		     unsigned k, unsigned extra)
{
	char base[64];
	size_t n = 0;

	for (const char *p = t->folder; *p && n + 1 < sizeof(base); p++) {
		int keep = isalnum((unsigned char)*p) || *p == '_' ||
			   *p == '-' || (*p == '.' && n);

		base[n++] = keep ? *p : '-';
	}
	base[n] = '\0';
	if (extra)
		snprintf(out, cap, "%s-%04u-%u-%u", base, t->msgno, k, extra);
	else
		snprintf(out, cap, "%s-%04u-%u", base, t->msgno, k);
}

/* The owner's run/ folder (never freed while mounted). */
static struct node *runs_of(struct ns *ns, const char *owner)
{
	struct node *v, *r = NULL;

	pthread_rwlock_rdlock(&ns->tree);
	v = node_child(ns, ns->user, owner);
	if (v)
		r = node_child(ns, v, "run");
	pthread_rwlock_unlock(&ns->tree);
	return r;
}

/* Wait for the run to end; a cancel of the answer cancels it. */
static void wait_run(struct turn *t, struct engine *e, const char *name,
		     struct run_state *st)
{
	struct sess *s = t->s;
	int cancelled = 0;

	for (;;) {
		struct timespec ts;

		if (engine_state(e, s->owner, name, st) || st->finished)
			return;
		if (!cancelled && turn_cancelled(t)) {
			engine_cancel(e, s->owner, name);
			cancelled = 1;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&s->mu);
		if (!s->cancel)
			pthread_cond_timedwait(&s->cond, &s->mu, &ts);
		pthread_mutex_unlock(&s->mu);
	}
}

/* An output file's value: text for a string output (less the newline
 * the record ends it with), else JSON when it parses, else text. */
static json_t *value_of(struct buf *b, const char *type)
{
	json_t *v = NULL;

	if (b->len && b->data[b->len - 1] == '\n' && type &&
	    strcmp(type, "string") == 0)
		b->data[--b->len] = '\0';
	if (!type || strcmp(type, "string") != 0)
		v = json_loadb(b->data ? b->data : "", b->len, JSON_DECODE_ANY,
			       NULL);
	if (!v && b->len && b->data[b->len - 1] == '\n')
		b->data[--b->len] = '\0';
	return v ? v : json_stringn(b->data ? b->data : "", b->len);
}

/* The outputs of node "tool", each as its type says. */
static json_t *outputs_of(const char *rec, const char *run, json_t *types)
{
	char dir[PATH_MAX], path[PATH_MAX];
	json_t *o = json_object();
	struct dirent *de;
	DIR *d;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/outputs/tool", rec) >=
	    sizeof(dir) || !o || !(d = opendir(dir)))
		return o;
	while ((de = readdir(d))) {
		struct buf b;
		long long size;
		json_t *v;

		if (de->d_name[0] == '.' || strstr(de->d_name, REC_TMP) ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir,
				     de->d_name) >= sizeof(path))
			continue;
		buf_init(&b, 0);
		size = read_part(path, &b, OUTPUT_SHOWN);
		if (size < 0) {
			buf_release(&b);
			continue;
		}
		if ((size_t)size > OUTPUT_SHOWN) {
			char note[PATH_MAX + 96];

			snprintf(note, sizeof(note), "(%lld bytes, in "
				 "run/%s/outputs/tool/%s)", size, run,
				 de->d_name);
			v = json_string(note);
		} else {
			v = value_of(&b, json_string_value(json_object_get(
				types, de->d_name)));
		}
		json_object_set_new(o, de->d_name, v ? v : json_null());
		buf_release(&b);
	}
	closedir(d);
	return o;
}

static char *record_error(struct engine *e, const char *owner,
			  const char *run)
{
	char rec[PATH_MAX], path[PATH_MAX];
	struct buf b;

	buf_init(&b, 0);
	if (engine_path(e, owner, run, rec, sizeof(rec)) == 0 &&
	    (size_t)snprintf(path, sizeof(path), "%s/error", rec) <
	    sizeof(path))
		read_part(path, &b, ERROR_SHOWN);
	while (b.len && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	return b.data ? b.data : strdup("");
}

/* Run skill `qid` with `inputs` (a JSON object). */
static int run_skill(struct turn *t, const char *qid, json_t *inputs,
		     json_t *res, char *name, size_t ncap)
{
	struct ns *ns = t->all->ns;
	struct engine *e = ns->engine;
	struct node *runs = runs_of(ns, t->s->owner);
	struct run_state st;
	char rec[PATH_MAX];
	json_t *g;
	char *json;
	int rc = -EEXIST;

	if (!e || !runs) {
		json_object_set_new(res, "error", json_string(
			"runs are not available"));
		return -EIO;
	}
	g = json_pack("{s:[{s:s,s:s,s:O}]}", "nodes", "id", "tool", "skill",
		      qid, "inputs", inputs);
	json = g ? json_dumps(g, JSON_COMPACT) : NULL;
	json_decref(g);
	if (!json)
		return -ENOMEM;
	t->ncalls++;
	for (unsigned extra = 0; rc == -EEXIST && extra < 100; extra++) {
		run_name(name, ncap, t, t->ncalls, extra);
		rc = engine_has(e, t->s->owner, name) ? -EEXIST :
		     run_submit(ns, &t->opener, runs, name, json,
				strlen(json));
	}
	free(json);
	json_object_set_new(res, "run", json_sprintf("run/%s", name));
	if (rc) {
		char *err = rc == -EINVAL ? record_error(e, t->s->owner, name) :
			    NULL;

		json_object_set_new(res, "status", json_string("rejected"));
		json_object_set_new(res, "error", json_string(
			err && *err ? err : strerror(-rc)));
		free(err);
		return 1;
	}
	wait_run(t, e, name, &st);
	json_object_set_new(res, "status", json_string(
		run_status_name(st.status)));
	if (engine_path(e, t->s->owner, name, rec, sizeof(rec)) == 0) {
		json_t *types = sess_ctx_output_types(&t->ctx, qid);

		json_object_set_new(res, "outputs", outputs_of(rec, name,
							       types));
		json_decref(types);
	}
	if (st.status != RUN_SUCCEEDED) {
		char *err = record_error(e, t->s->owner, name);

		json_object_set_new(res, "error", json_string(err ? err : ""));
		free(err);
		return 1;
	}
	return 0;
}

/* A line in the reply about a call. */
static void note(struct turn *t, const char *tool, const char *input,
		 const struct buf *result, int is_error)
{
	struct buf b;
	size_t n = result->len < NOTE_SHOWN ? result->len : NOTE_SHOWN;

	buf_init(&b, 0);
	put(&b, "\n\n> tool `");
	put(&b, tool);
	put(&b, "` ");
	put(&b, input);
	put(&b, is_error ? " failed: " : " → ");
	buf_append(&b, result->data ? result->data : "", n);
	put(&b, n < result->len ? "…\n\n" : "\n\n");
	/* A note past llm_max_reply is left out; the record has it. */
	turn_say(t, b.data, b.len);
	buf_release(&b);
}

static const char *str_arg(json_t *in, const char *key)
{
	return json_string_value(json_object_get(in, key));
}

int sess_tool(struct turn *t, const struct llm_block *call,
	      struct buf *result, int *is_error)
{
	struct sess_ctx *ctx = &t->ctx;
	const char *qid = NULL, *builtin = NULL;
	json_t *in = json_loads(call->input ? call->input : "{}", 0, NULL);
	json_t *res = json_object(), *rec;
	char name[RUN_NAME_MAX + 1] = "";
	int rc = 0;

	*is_error = 0;
	for (size_t i = 0; i < ctx->ntools; i++) {
		if (strcmp(ctx->tools[i].name, call->name) != 0)
			continue;
		qid = ctx->tool_skill[i];
		if (!qid)
			builtin = ctx->tools[i].name;
	}
	if (!res) {
		json_decref(in);
		return -ENOMEM;
	}
	if (call->is_error || !json_is_object(in)) {
		json_object_set_new(res, "error", json_string(
			"the tool's input is not a JSON object"));
		*is_error = 1;
	} else if (builtin && strcmp(builtin, "search_skills") == 0) {
		const char *q = str_arg(in, "query");

		rc = sess_ctx_search(t->all, ctx, q ? q : "", result);
	} else if (builtin && strcmp(builtin, "read_skill") == 0) {
		const char *id = str_arg(in, "id");

		rc = sess_ctx_read(t->all, &t->opener, ctx, id ? id : "",
				   result);
		if (rc == -ENOENT) {
			json_object_set_new(res, "error", json_sprintf(
				"no skill '%s' that you may use (call "
				"search_skills to find one)", id ? id : ""));
			*is_error = 1;
			rc = 0;
		}
	} else if (qid || (builtin && strcmp(builtin, "run_skill") == 0)) {
		json_t *inputs = qid ? in : json_object_get(in, "inputs");
		const char *want = qid ? qid : str_arg(in, "skill");
		const char *r = want ? sess_ctx_resolve(ctx, want) : NULL;

		if (!r) {
			json_object_set_new(res, "error", json_sprintf(
				"no skill '%s' that you may use",
				want ? want : ""));
			*is_error = 1;
		} else {
			json_t *empty = json_object();

			rc = run_skill(t, r, json_is_object(inputs) ? inputs :
				       empty, res, name, sizeof(name));
			json_decref(empty);
			*is_error = rc != 0;
			rc = rc > 0 || rc == -EIO ? 0 : rc;
		}
	} else {
		json_object_set_new(res, "error", json_sprintf(
			"no tool '%s' (call search_skills to find a skill)",
			call->name));
		*is_error = 1;
	}
	if (!rc && !result->len &&
	    json_dump_callback(res, dump_cb, result, JSON_COMPACT))
		rc = -ENOMEM;
	rec = json_pack("{s:s,s:s?,s:O?,s:s?,s:s,s:b}", "tool", call->name,
			"skill", qid, "input", in, "run",
			name[0] ? name : NULL, "result",
			result->data ? result->data : "", "is_error",
			*is_error);
	if (rec)
		json_array_append_new(t->tools, rec);
	if (!rc)
		note(t, call->name, call->input ? call->input : "{}", result,
		     *is_error);
	json_decref(res);
	json_decref(in);
	return rc;
}
