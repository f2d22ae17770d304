/* core/runner/runner_spice.c: the spice runner. The code block is an ngspice
 * netlist (its first line is the title, as spice wants) whose {name}
 * placeholders take the inputs' values: numbers exactly (%.17g), strings
 * as they are. A {name} that is neither an input nor a .param of the
 * netlist fails the node; braces around anything but a name are left to
 * ngspice. `ngspice -b -r out.raw` writes an ASCII raw file
 * (SPICE_ASCIIRAWFILE=1), one plot per analysis (tran, ac, dc, op...).
 *
 * Each declared output port P gets the vector P, v(P) or i(P)
 * (case-insensitive) of the first plot that has it; a port named
 * <plot>_<vec> ("tran_out", "ac_out") takes <vec> from that plot. Real
 * vectors become arrays of numbers, complex ones arrays of [re, im]
 * pairs (an AC plot's frequency scale stays real); a number port gets
 * the vector's last value. A port with no vector fails the node and
 * lists the vectors there are.
 */
#include "core/runner/runner_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SPICE_MAX_NETLIST ((size_t)4 << 20)
#define SPICE_MAX_VARS 100000
#define SPICE_MAX_PLOTS 1000
#define SPICE_ERR_LINES 10
#define SPICE_SCAN ((size_t)1 << 20)

struct spice_vec {
	char name[128];
	char type[32];
	double *re;
	double *im;	/* complex plots only */
};

struct spice_plot {
	char kind[16];		/* "tran", "ac", "dc", "op", ... */
	int complex;
	size_t nvars, npoints;
	struct spice_vec *v;
};

struct spice_raw {
	struct spice_plot *p;
	size_t n;
};

/* --- the netlist ------------------------------------------------------- */

static int is_ident(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		int alpha = (ch >= 'a' && ch <= 'z') ||
			    (ch >= 'A' && ch <= 'Z') || ch == '_';

		if (!alpha && (i == 0 || ch < '0' || ch > '9'))
			return 0;
	}
	return 1;
}

/* Whether a .param line of the netlist defines `name` (name = ...). */
static int param_defined(const char *text, size_t len, const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < len;) {
		size_t e = i;

		while (e < len && text[e] != '\n')
			e++;
		while (i < e && (text[i] == ' ' || text[i] == '\t'))
			i++;
		if (e - i > 6 && !strncasecmp(text + i, ".param", 6)) {
			for (size_t j = i + 6; j + nl <= e; j++) {
				size_t k = j + nl;

				if (strncasecmp(text + j, name, nl) ||
				    is_ident(text + j - 1, 1))
					continue;
				while (k < e && text[k] == ' ')
					k++;
				if (k < e && text[k] == '=')
					return 1;
			}
		}
		i = e + 1;
	}
	return 0;
}

static json_t *input_named(json_t *inputs, const char *name)
{
	const char *key;
	json_t *v = json_object_get(inputs, name);

	if (v)
		return v;
	json_object_foreach(inputs, key, v)
		if (!strcasecmp(key, name))	/* spice ignores case */
			return v;
	return NULL;
}

static void input_names(json_t *inputs, char *out, size_t cap)
{
	size_t n = 0;
	const char *key;
	json_t *v;

	out[0] = '\0';
	json_object_foreach(inputs, key, v) {
		(void)v;
		if (n < cap)
			n += (size_t)snprintf(out + n, cap - n, "%s%.40s",
					      n ? ", " : "", key);
	}
	if (!n)
		snprintf(out, cap, "none");
}

static int put_value(struct runner_ctx *c, const char *name, json_t *v,
		     unsigned line, struct buf *out)
{
	const char *path = c->job->skill_path ? c->job->skill_path : "skill";
	char num[64];
	const char *s = num;
	size_t len;

	switch (json_typeof(v)) {
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%lld",
			 (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		snprintf(num, sizeof(num), "%d", json_is_true(v));
		break;
	case JSON_STRING:
		s = json_string_value(v);
		if (strpbrk(s, "\r\n"))
			return runner_fail(c, RUNNER_KIND_FAILED,
					   "%s:%u: input '%s' holds a line "
					   "break, which a netlist placeholder "
					   "cannot take", path, line, name);
		break;
	default:
		return runner_fail(c, RUNNER_KIND_FAILED,
				   "%s:%u: input '%s' is %s; a netlist "
				   "placeholder takes a number or a string",
				   path, line, name,
				   json_is_null(v) ? "null" : "a list or an "
				   "object");
	}
	len = strlen(s);
	return buf_append(out, s, len);
}

/* The netlist with its placeholders replaced, into `out`. */
static int substitute(struct runner_ctx *c, struct buf *out)
{
	const struct skill_code *code = c->job->sk->code;
	const char *t = code->text, *path;
	size_t len = code->len, i = 0, from = 0;
	unsigned line = code->line;
	char names[512], name[72];
	int rc;

	path = c->job->skill_path ? c->job->skill_path : "skill";
	while (i < len) {
		size_t j = i + 1;
		json_t *v;

		if (t[i] == '\n')
			line++;
		if (t[i] != '{') {
			i++;
			continue;
		}
		while (j < len && t[j] != '}' && t[j] != '\n')
			j++;
		if (j >= len || t[j] != '}' ||
		    !is_ident(t + i + 1, j - i - 1)) {
			i++;
			continue;
		}
		memcpy(name, t + i + 1, j - i - 1);
		name[j - i - 1] = '\0';
		v = input_named(c->inputs, name);
		if (!v) {
			if (param_defined(t, len, name)) {
				i = j + 1;
				continue;
			}
			input_names(c->inputs, names, sizeof(names));
			return runner_fail(c, RUNNER_KIND_FAILED,
					   "%s:%u: placeholder '{%s}' is not "
					   "an input of the skill (inputs: "
					   "%s) nor a .param of the netlist",
					   path, line, name, names);
		}
		if ((rc = buf_append(out, t + from, i - from)) ||
		    (rc = put_value(c, name, v, line, out)))
			return rc;
		i = from = j + 1;
	}
	return buf_append(out, t + from, len - from);
}

static int spice_prepare(struct runner_ctx *c)
{
	struct buf net;
	int rc;

	buf_init(&net, SPICE_MAX_NETLIST);
	rc = substitute(c, &net);
	if (rc == -EFBIG)
		rc = runner_fail(c, RUNNER_KIND_FAILED, "the netlist with its "
				 "inputs is larger than %zu MB",
				 SPICE_MAX_NETLIST >> 20);
	if (!rc)
		rc = runner_write(c, "circuit.cir", net.data ? net.data : "",
				  net.len);
	buf_release(&net);
	if (rc)
		return rc;
	if ((rc = sandbox_strv_add(&c->argv, runner_spice_ops.interp)) ||
	    (rc = sandbox_strv_add(&c->argv, "-b")) ||
	    (rc = sandbox_strv_add(&c->argv, "-r")) ||
	    (rc = sandbox_strv_add(&c->argv, RUNNER_SB_DIR "/out.raw")) ||
	    (rc = sandbox_strv_add(&c->argv, RUNNER_SB_DIR "/circuit.cir")) ||
	    (rc = sandbox_strv_add(&c->env, "SPICE_ASCIIRAWFILE=1")))
		return rc;
	c->hint = "name the port after a vector, e.g. 'out' for v(out) or "
		  "'tran_out' for the transient plot's";
	return 0;
}

/* --- ngspice's messages ------------------------------------------------ */

static int is_error_line(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return !strncasecmp(s, "error", 5) || strcasestr(s, "error:") ||
	       strcasestr(s, "interrupted due to error");
}

/* Append the error lines of the captured file `path` to `out`. */
static void error_lines(const char *path, struct buf *out, unsigned *n)
{
	struct buf b;
	size_t i = 0;

	buf_init(&b, SPICE_SCAN);
	if (runner_read_captured(path, 0, SPICE_SCAN, &b) || !b.data)
		goto out;
	while (i < b.len && *n < SPICE_ERR_LINES) {
		size_t e = i, l;
		char line[320];

		while (e < b.len && b.data[e] != '\n')
			e++;
		l = e - i < sizeof(line) - 1 ? e - i : sizeof(line) - 1;
		memcpy(line, b.data + i, l);
		line[l] = '\0';
		if (l && line[l - 1] == '\r')
			line[--l] = '\0';
		if (is_error_line(line)) {
			buf_append(out, line, l);
			buf_append(out, "\n", 1);
			(*n)++;
		}
		i = e + 1;
	}
out:
	buf_release(&b);
}

/* --- the raw file ------------------------------------------------------ */

static void raw_free(struct spice_raw *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct spice_plot *p = &r->p[i];

		for (size_t j = 0; p->v && j < p->nvars; j++) {
			free(p->v[j].re);
			free(p->v[j].im);
		}
		free(p->v);
	}
	free(r->p);
	memset(r, 0, sizeof(*r));
}

struct cursor {
	const char *p, *end;
};

/* The next line without its newline; 0 at the end. */
static int next_line(struct cursor *cu, const char **line, size_t *len)
{
	const char *e;

	if (cu->p >= cu->end)
		return 0;
	e = memchr(cu->p, '\n', (size_t)(cu->end - cu->p));
	if (!e)
		e = cu->end;
	*line = cu->p;
	*len = (size_t)(e - cu->p);
	if (*len && (*line)[*len - 1] == '\r')
		(*len)--;
	cu->p = e < cu->end ? e + 1 : e;
	return 1;
}

/* The next whitespace-separated token, copied into `tok`. */
static int next_token(struct cursor *cu, char *tok, size_t cap)
{
	size_t n = 0;

	while (cu->p < cu->end && strchr(" \t\r\n", *cu->p))
		cu->p++;
	if (cu->p >= cu->end)
		return 0;
	while (cu->p < cu->end && !strchr(" \t\r\n", *cu->p)) {
		if (n + 1 < cap)
			tok[n++] = *cu->p;
		cu->p++;
	}
	tok[n] = '\0';
	return 1;
}

static int has_prefix(const char *line, size_t len, const char *pre)
{
	size_t n = strlen(pre);

	return len >= n && !strncasecmp(line, pre, n);
}

static void plot_kind(char *kind, size_t cap, const char *name, size_t len)
{
	static const struct {
		const char *word, *kind;
	} map[] = {
		{ "transient", "tran" }, { "ac", "ac" }, { "dc", "dc" },
		{ "operating", "op" }, { "noise", "noise" },
		{ "transfer", "tf" }, { "pole-zero", "pz" },
		{ "distortion", "disto" }, { "sensitivity", "sens" },
	};
	size_t w = 0;

	while (w < len && name[w] != ' ')
		w++;
	for (size_t i = 0; i < sizeof(map) / sizeof(*map); i++) {
		if (strlen(map[i].word) == w &&
		    !strncasecmp(name, map[i].word, w)) {
			snprintf(kind, cap, "%s", map[i].kind);
			return;
		}
	}
	snprintf(kind, cap, "%.*s", (int)(w < cap - 1 ? w : cap - 1), name);
	for (char *p = kind; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
}

static int read_vars(struct cursor *cu, struct spice_plot *p, char *err,
		     size_t errlen)
{
	char tok[256];

	p->v = calloc(p->nvars, sizeof(*p->v));
	if (!p->v)
		return -ENOMEM;
	for (size_t j = 0; j < p->nvars; j++) {
		const char *line;
		size_t len;
		struct cursor lc;

		if (!next_line(cu, &line, &len)) {
			snprintf(err, errlen, "the variables end early");
			return -EINVAL;
		}
		lc.p = line;
		lc.end = line + len;
		if (!next_token(&lc, tok, sizeof(tok)) ||
		    !next_token(&lc, p->v[j].name, sizeof(p->v[j].name))) {
			snprintf(err, errlen, "a bad variable line");
			return -EINVAL;
		}
		if (!next_token(&lc, p->v[j].type, sizeof(p->v[j].type)))
			p->v[j].type[0] = '\0';
	}
	return 0;
}

static int parse_value(const char *tok, int complex, double *re, double *im)
{
	char *end;

	*re = strtod(tok, &end);
	if (end == tok)
		return -EINVAL;
	if (!complex)
		return *end ? -EINVAL : 0;
	if (*end != ',')
		return -EINVAL;
	tok = end + 1;
	*im = strtod(tok, &end);
	return end == tok || *end ? -EINVAL : 0;
}

static int read_values(struct cursor *cu, struct spice_plot *p, char *err,
		       size_t errlen)
{
	char tok[128];

	for (size_t j = 0; j < p->nvars; j++) {
		p->v[j].re = calloc(p->npoints ? p->npoints : 1,
				    sizeof(double));
		if (p->complex)
			p->v[j].im = calloc(p->npoints ? p->npoints : 1,
					    sizeof(double));
		if (!p->v[j].re || (p->complex && !p->v[j].im))
			return -ENOMEM;
	}
	for (size_t i = 0; i < p->npoints; i++) {
		if (!next_token(cu, tok, sizeof(tok))) /* the point's index */
			goto short_;
		for (size_t j = 0; j < p->nvars; j++) {
			double im = 0;

			if (!next_token(cu, tok, sizeof(tok)))
				goto short_;
			if (parse_value(tok, p->complex, &p->v[j].re[i], &im)) {
				snprintf(err, errlen, "a bad value '%.40s'",
					 tok);
				return -EINVAL;
			}
			if (p->complex)
				p->v[j].im[i] = im;
		}
	}
	return 0;
short_:
	snprintf(err, errlen, "the values end early (%zu points expected)",
		 p->npoints);
	return -EINVAL;
}

/* One plot, from its header to its last value. */
static int read_plot(struct cursor *cu, struct spice_plot *p, size_t total,
		     char *err, size_t errlen)
{
	const char *line;
	size_t len;
	int have_vars = 0;

	while (next_line(cu, &line, &len)) {
		if (has_prefix(line, len, "Plotname:")) {
			line += 9;
			len -= 9;
			while (len && *line == ' ') {
				line++;
				len--;
			}
			plot_kind(p->kind, sizeof(p->kind), line, len);
		} else if (has_prefix(line, len, "Flags:")) {
			p->complex = memmem(line, len, "complex", 7) != NULL;
		} else if (has_prefix(line, len, "No. Variables:")) {
			p->nvars = strtoul(line + 14, NULL, 10);
		} else if (has_prefix(line, len, "No. Points:")) {
			p->npoints = strtoul(line + 11, NULL, 10);
		} else if (has_prefix(line, len, "Binary:")) {
			snprintf(err, errlen, "a binary raw file (expected "
				 "ASCII)");
			return -EINVAL;
		} else if (has_prefix(line, len, "Variables:")) {
			int rc;

			if (!p->nvars || p->nvars > SPICE_MAX_VARS) {
				snprintf(err, errlen, "%zu variables",
					 p->nvars);
				return -EINVAL;
			}
			/* Each value takes two bytes at least. */
			if (p->npoints > total / 2 / p->nvars) {
				snprintf(err, errlen, "%zu points cannot fit",
					 p->npoints);
				return -EINVAL;
			}
			if ((rc = read_vars(cu, p, err, errlen)))
				return rc;
			have_vars = 1;
		} else if (has_prefix(line, len, "Values:")) {
			if (!have_vars) {
				snprintf(err, errlen, "values before "
					 "variables");
				return -EINVAL;
			}
			return read_values(cu, p, err, errlen);
		}
	}
	snprintf(err, errlen, "a plot without values");
	return -EINVAL;
}

static int raw_parse(const char *data, size_t len, struct spice_raw *r,
		     char *err, size_t errlen)
{
	struct cursor cu = { data, data + len };

	for (;;) {
		struct spice_plot *np;
		int rc;

		while (cu.p < cu.end && strchr(" \t\r\n", *cu.p))
			cu.p++;
		if (cu.p >= cu.end)
			return r->n ? 0 : (snprintf(err, errlen, "no plots"),
					    -EINVAL);
		if (r->n >= SPICE_MAX_PLOTS) {
			snprintf(err, errlen, "more than %d plots",
				 SPICE_MAX_PLOTS);
			return -EINVAL;
		}
		np = realloc(r->p, (r->n + 1) * sizeof(*np));
		if (!np)
			return -ENOMEM;
		r->p = np;
		memset(&r->p[r->n], 0, sizeof(*np));
		r->n++;
		rc = read_plot(&cu, &r->p[r->n - 1], len, err, errlen);
		if (rc)
			return rc;
	}
}

/* --- outputs ----------------------------------------------------------- */

static const struct spice_vec *vec_in(const struct spice_plot *p,
				      const char *name)
{
	char v[160], i[160];

	snprintf(v, sizeof(v), "v(%s)", name);
	snprintf(i, sizeof(i), "i(%s)", name);
	for (size_t j = 0; j < p->nvars; j++)
		if (!strcasecmp(p->v[j].name, name) ||
		    !strcasecmp(p->v[j].name, v) ||
		    !strcasecmp(p->v[j].name, i))
			return &p->v[j];
	return NULL;
}

static const struct spice_vec *find_vec(const struct spice_raw *r,
					const char *port,
					const struct spice_plot **plot)
{
	const char *us = strchr(port, '_');

	for (size_t k = 0; us && k < r->n; k++) {
		const struct spice_vec *v;

		if (strlen(r->p[k].kind) != (size_t)(us - port) ||
		    strncasecmp(r->p[k].kind, port, (size_t)(us - port)))
			continue;
		if ((v = vec_in(&r->p[k], us + 1))) {
			*plot = &r->p[k];
			return v;
		}
	}
	for (size_t k = 0; k < r->n; k++) {
		const struct spice_vec *v = vec_in(&r->p[k], port);

		if (v) {
			*plot = &r->p[k];
			return v;
		}
	}
	return NULL;
}

static json_t *num(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

static json_t *vec_json(const struct spice_plot *p, const struct spice_vec *v)
{
	int pairs = p->complex && strcasecmp(v->type, "frequency");
	json_t *a = json_array();

	for (size_t i = 0; a && i < p->npoints; i++) {
		json_t *x = pairs ? json_pack("[oo]", num(v->re[i]),
					      num(v->im[i])) :
				    num(v->re[i]);

		if (!x || json_array_append_new(a, x)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static int no_vector(struct runner_ctx *c, const struct spice_raw *r,
		     const char *port)
{
	struct buf list;
	int rc;

	buf_init(&list, 2048);
	for (size_t k = 0; k < r->n; k++) {
		const struct spice_plot *p = &r->p[k];

		buf_append(&list, k ? "; " : "", k ? 2 : 0);
		buf_append(&list, p->kind, strlen(p->kind));
		buf_append(&list, ":", 1);
		for (size_t j = 0; j < p->nvars; j++) {
			buf_append(&list, j ? ", " : " ", j ? 2 : 1);
			buf_append(&list, p->v[j].name, strlen(p->v[j].name));
		}
	}
	rc = runner_fail(c, RUNNER_KIND_FAILED,
			 "output '%.64s': no vector '%.64s' or 'v(%.64s)' in "
			 "ngspice's results (vectors: %s)", port, port, port,
			 list.data ? list.data : "none");
	buf_release(&list);
	return rc;
}

static int port_value(struct runner_ctx *c, const struct spice_raw *r,
		      const struct skill_port *port)
{
	const struct spice_plot *p = NULL;
	const struct spice_vec *v = find_vec(r, port->name, &p);
	json_t *val;

	if (!v)
		return no_vector(c, r, port->name);
	if (port->type == SKILL_PORT_NUMBER) {
		if (!p->npoints)
			return runner_fail(c, RUNNER_KIND_FAILED,
					   "output '%.64s': the vector is "
					   "empty", port->name);
		val = num(v->re[p->npoints - 1]);
	} else if (port->type == SKILL_PORT_ARRAY ||
		   port->type == SKILL_PORT_ANY) {
		val = vec_json(p, v);
	} else {
		return runner_fail(c, RUNNER_KIND_FAILED,
				   "output '%.64s': a spice skill gives "
				   "arrays (vectors) and numbers (a vector's "
				   "last value), not %s", port->name,
				   skill_port_type_name(port->type));
	}
	if (!val || json_object_set_new(c->outputs, port->name, val))
		return -ENOMEM;
	return 0;
}

static int spice_outputs(struct runner_ctx *c, const char *data, size_t len)
{
	const struct skill *sk = c->job->sk;
	struct spice_raw r = { NULL, 0 };
	char err[160] = "";
	int rc;

	rc = raw_parse(data, len, &r, err, sizeof(err));
	if (rc == -EINVAL)
		rc = runner_fail(c, RUNNER_KIND_FAILED,
				 "cannot read ngspice's results: %s", err);
	if (rc)
		goto out;
	c->outputs = json_object();
	if (!c->outputs) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < sk->noutputs && !rc; i++)
		if (sk->outputs[i].name &&
		    sk->outputs[i].type != SKILL_PORT_FILE)
			rc = port_value(c, &r, &sk->outputs[i]);
	if (!rc)
		c->kind = RUNNER_KIND_NONE;
out:
	raw_free(&r);
	return rc;
}

static int spice_collect(struct runner_ctx *c)
{
	uint64_t cap = c->job->lim.file_mb;
	struct buf errs, raw;
	unsigned n = 0;
	char what[96];
	int rc;

	buf_init(&errs, 8192);
	error_lines(c->job->stdout_path, &errs, &n);
	error_lines(c->job->stderr_path, &errs, &n);
	if (n) {
		rc = runner_fail(c, RUNNER_KIND_FAILED, "ngspice failed:\n%s",
				 errs.data);
		buf_release(&errs);
		return rc;
	}
	buf_release(&errs);
	if (c->sb.exit_code != 0) {
		snprintf(what, sizeof(what), "ngspice ");
		runner_ended(c, what + 8, sizeof(what) - 8);
		return runner_fail_stderr(c, what);
	}
	cap = cap > (RUNNER_MAX_RESULT >> 20) ? RUNNER_MAX_RESULT : cap << 20;
	buf_init(&raw, (size_t)cap);
	rc = sandbox_read_beneath(c->workfd, RUNNER_DIR "/out.raw", (size_t)cap,
				  &raw);
	if (rc == -ENOENT)
		rc = runner_fail(c, RUNNER_KIND_FAILED,
				 "ngspice wrote no results (the netlist needs "
				 "an analysis such as .tran, .ac, .dc or .op)");
	else if (rc == -EFBIG)
		rc = runner_fail(c, RUNNER_KIND_FAILED,
				 "ngspice's results are larger than %llu MB",
				 (unsigned long long)(cap >> 20));
	else if (rc == -ENOMEM)
		;
	else if (rc)
		rc = runner_fail(c, RUNNER_KIND_FAILED,
				 "ngspice's results " RUNNER_SB_DIR "/out.raw "
				 "cannot be read (%s); they were not read",
				 strerror(-rc));
	else
		rc = spice_outputs(c, raw.data ? raw.data : "", raw.len);
	buf_release(&raw);
	return rc;
}

const struct runner_ops runner_spice_ops = {
	.name = "spice",
	.interp = "/usr/bin/ngspice",
	.missing = "ngspice is not installed (/usr/bin/ngspice; on Debian: "
		   "apt-get install ngspice)",
	.prepare = spice_prepare,
	.collect = spice_collect,
};
