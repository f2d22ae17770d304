/* core/skill/skill_md.c: the Markdown body of a skill scanned for fenced code
 * blocks with md4c (skill_int.h). The only file that includes md4c.h.
 *
 * md4c hands out text, not lines: a block's line is found from where its
 * language (or its first text) lies in the input, counting newlines from
 * the start of the body. Offsets only grow during a parse, so the count
 * goes forward and the whole scan stays linear. */
#include "core/skill/skill_int.h"

#include <ctype.h>
#include <errno.h>
#include <md4c.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#define LANG_MAX 64	/* longer "languages" are cut in messages */
#define LANG_WINDOW 4096	/* how far lang_line() looks */

struct mdscan {
	struct skill_md *md;
	const char *body;
	size_t len;
	unsigned line0;
	size_t at;		/* offset counted so far ... */
	unsigned line;		/* ... and its line */
	unsigned *pending;	/* a block line still to find from its text */
	int in_code;
	struct skill_code *capture;	/* the block whose text is kept */
	struct buf text;
	int in_para;		/* inside the first paragraph */
	struct buf para;
	int rc;
};

#define PARA_MAX 4096	/* bytes of the first paragraph kept */

enum skill_runner skill_lang_runner(const char *lang)
{
	static const struct {
		const char *lang;
		enum skill_runner r;
	} map[] = {
		{ "python", SKILL_RUNNER_PYTHON },
		{ "py", SKILL_RUNNER_PYTHON },
		{ "python3", SKILL_RUNNER_PYTHON }, { "sh", SKILL_RUNNER_SH },
		{ "bash", SKILL_RUNNER_SH }, { "shell", SKILL_RUNNER_SH },
		{ "spice", SKILL_RUNNER_SPICE },
		{ "ngspice", SKILL_RUNNER_SPICE },
		{ "javascript", SKILL_RUNNER_JS }, { "js", SKILL_RUNNER_JS },
		{ "node", SKILL_RUNNER_JS }, { "nodejs", SKILL_RUNNER_JS },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcasecmp(lang, map[i].lang))
			return map[i].r;
	return SKILL_RUNNER_NONE;
}

/* The line of a pointer into the body, or 0 when it points elsewhere (md4c
 * builds some strings, such as decoded entities, outside the input). */
static unsigned mdscan_line(struct mdscan *m, const char *ptr)
{
	size_t off;

	if (ptr < m->body || ptr >= m->body + m->len)
		return 0;
	off = (size_t)(ptr - m->body);
	for (; m->at > off; m->at--)	/* rare, and never far */
		if (m->body[m->at - 1] == '\n')
			m->line--;
	for (; m->at < off; m->at++)
		if (m->body[m->at] == '\n')
			m->line++;
	return m->line;
}

/* md4c gives a language holding an entity or an escape ("py&#116;hon") as
 * a string of its own: look for it as written after the last place known. */
static unsigned lang_line(struct mdscan *m, const char *lang, size_t size)
{
	size_t window = m->len - m->at;
	const char *hit;

	if (!size || m->at >= m->len)
		return 0;
	if (window > LANG_WINDOW)
		window = LANG_WINDOW;
	hit = memmem(m->body + m->at, window, lang, size);
	return hit ? mdscan_line(m, hit) : 0;
}

static char *lang_dup(const MD_ATTRIBUTE *a)
{
	size_t n = a->size < LANG_MAX ? a->size : LANG_MAX;
	char *s = strndup(a->text, n);

	/* The body is checked UTF-8 without NUL; keep the cut clean. */
	if (s)
		for (size_t i = 0; s[i]; i++)
			if ((unsigned char)s[i] < 0x20)
				s[i] = '?';
	return s;
}

static int enter_code(struct mdscan *m, const MD_BLOCK_CODE_DETAIL *d)
{
	struct skill_md *md = m->md;
	enum skill_runner r;
	unsigned *line = NULL;
	char *lang;

	if (!d->fence_char || !d->lang.size)
		return 0;	/* indented, or a fence without a language */
	lang = lang_dup(&d->lang);
	if (!lang)
		return m->rc = -ENOMEM;
	r = skill_lang_runner(lang);
	if (r != SKILL_RUNNER_NONE && md->n < SKILL_MD_MAX_BLOCKS) {
		struct skill_code *c = calloc(1, sizeof(*c));

		if (!c) {
			free(lang);
			return m->rc = -ENOMEM;
		}
		c->language = lang;
		c->runner = r;
		md->v[md->n++] = c;
		line = &c->fence_line;
		m->capture = c;
	} else if (r == SKILL_RUNNER_NONE && !md->other_lang) {
		md->other_lang = lang;
		line = &md->other_line;
	} else {
		free(lang);
	}
	if (line) {
		*line = mdscan_line(m, d->lang.text);
		if (!*line)
			*line = lang_line(m, d->lang.text, d->lang.size);
		m->pending = *line ? NULL : line;
	}
	return 0;
}

static int on_enter(MD_BLOCKTYPE type, void *detail, void *arg)
{
	struct mdscan *m = arg;

	if (type == MD_BLOCK_P && !m->md->para && !m->para.len &&
	    !m->in_code) {
		m->in_para = 1;
		return 0;
	}
	if (type != MD_BLOCK_CODE)
		return 0;
	m->in_code = 1;
	return enter_code(m, detail);
}

/* The first paragraph, done: its text, blanks at the ends dropped. */
static int para_done(struct mdscan *m)
{
	size_t a = 0, z = m->para.len;

	m->in_para = 0;
	while (a < z && m->para.data[a] == ' ')
		a++;
	while (z > a && m->para.data[z - 1] == ' ')
		z--;
	if (a == z) {
		buf_resize(&m->para, 0);	/* empty: try the next one */
		return 0;
	}
	m->md->para = strndup(m->para.data + a, z - a);
	return m->md->para ? 0 : (m->rc = -ENOMEM);
}

static int on_leave(MD_BLOCKTYPE type, void *detail, void *arg)
{
	struct mdscan *m = arg;

	(void)detail;
	if (type == MD_BLOCK_P && m->in_para)
		return para_done(m);
	if (type != MD_BLOCK_CODE)
		return 0;
	if (m->capture) {
		struct skill_code *c = m->capture;

		if (!c->fence_line)	/* not found: the best guess */
			c->fence_line = m->line;
		c->line = c->fence_line + 1;
		c->len = m->text.len;
		c->text = m->text.data ? m->text.data : strdup("");
		buf_init(&m->text, SKILL_MAX_FILE + 1);
		if (!c->text)
			return m->rc = -ENOMEM;
		m->capture = NULL;
	}
	if (m->pending)
		*m->pending = m->line;
	m->in_code = 0;
	m->pending = NULL;
	return 0;
}

static int on_text(MD_TEXTTYPE type, const MD_CHAR *text, MD_SIZE size,
		   void *arg)
{
	struct mdscan *m = arg;
	unsigned line;

	if (m->in_para) {
		if (!m->md->para && m->para.len < PARA_MAX) {
			size_t room = PARA_MAX - m->para.len;
			int brk = type == MD_TEXT_SOFTBR || type == MD_TEXT_BR;

			if (type == MD_TEXT_NULLCHAR)
				return 0;
			if (!m->para.len && text >= m->body + m->at)
				m->md->para_line = mdscan_line(m, text);
			if (buf_append(&m->para, brk ? " " : text,
				       brk ? 1 : size < room ? size : room))
				return m->rc = -ENOMEM;
		}
	}
	if (!m->in_code) {
		/* Keep the count near, for lang_line(). */
		if (text >= m->body + m->at)
			mdscan_line(m, text);
		return 0;
	}
	if (m->pending) {
		line = mdscan_line(m, text);
		if (line) {
			*m->pending = line - 1;	/* the fence is above */
			m->pending = NULL;
		}
	}
	if (m->capture && buf_append(&m->text, text, size))
		return m->rc = -ENOMEM;
	return 0;
}

static int on_span(MD_SPANTYPE type, void *detail, void *arg)
{
	(void)type;
	(void)detail;
	(void)arg;
	return 0;
}

int skill_md_scan(struct skill_md *md, const char *body, size_t len,
		  unsigned line0)
{
	struct mdscan m = {
		.md = md, .body = body, .len = len, .line0 = line0,
		.line = line0,
	};
	MD_PARSER parser = {
		.abi_version = 0,
		.flags = 0,
		.enter_block = on_enter,
		.leave_block = on_leave,
		.enter_span = on_span,
		.leave_span = on_span,
		.text = on_text,
	};
	int rc;

	memset(md, 0, sizeof(*md));
	buf_init(&m.text, SKILL_MAX_FILE + 1);
	buf_init(&m.para, PARA_MAX + 1);
	rc = md_parse(body, (MD_SIZE)len, &parser, &m);
	if (!rc && !m.rc && m.in_para)
		para_done(&m);
	buf_release(&m.text);
	buf_release(&m.para);
	if (m.rc || rc) {
		skill_md_release(md);
		return m.rc ? m.rc : -ENOMEM;
	}
	return 0;
}

void skill_code_free(struct skill_code *c)
{
	if (!c)
		return;
	free(c->text);
	free(c->language);
	free(c);
}

void skill_md_release(struct skill_md *md)
{
	for (size_t i = 0; i < md->n; i++)
		skill_code_free(md->v[i]);
	free(md->other_lang);
	free(md->para);
	memset(md, 0, sizeof(*md));
}

/* --- every fenced block of a Markdown text (skill.h) --------------------- */

struct fences {
	skill_fence_cb cb;
	void *arg;
	int in_fence;
	char *lang;
	struct buf text;
	int rc;
};

static int fence_enter(MD_BLOCKTYPE type, void *detail, void *arg)
{
	struct fences *f = arg;
	const MD_BLOCK_CODE_DETAIL *d = detail;

	if (type != MD_BLOCK_CODE || !d->fence_char)
		return 0;
	f->in_fence = 1;
	free(f->lang);
	f->lang = lang_dup(&d->lang);
	buf_resize(&f->text, 0);
	if (!f->lang)
		return f->rc = -ENOMEM;
	return 0;
}

static int fence_leave(MD_BLOCKTYPE type, void *detail, void *arg)
{
	struct fences *f = arg;

	(void)detail;
	if (type != MD_BLOCK_CODE || !f->in_fence)
		return 0;
	f->in_fence = 0;
	f->rc = f->cb(f->arg, f->lang, f->text.data ? f->text.data : "",
		      f->text.len);
	return f->rc;
}

static int fence_text(MD_TEXTTYPE type, const MD_CHAR *text, MD_SIZE size,
		      void *arg)
{
	struct fences *f = arg;

	(void)type;
	if (f->in_fence && buf_append(&f->text, text, size))
		return f->rc = -EFBIG;
	return 0;
}

int skill_md_fences(const char *text, size_t len, skill_fence_cb cb,
		    void *arg)
{
	struct fences f = { .cb = cb, .arg = arg };
	MD_PARSER parser = {
		.abi_version = 0,
		.flags = 0,
		.enter_block = fence_enter,
		.leave_block = fence_leave,
		.enter_span = on_span,
		.leave_span = on_span,
		.text = fence_text,
	};
	int rc;

	buf_init(&f.text, SKILL_MAX_FILE);
	rc = md_parse(text, (MD_SIZE)len, &parser, &f);
	buf_release(&f.text);
	free(f.lang);
	return f.rc ? f.rc : rc ? -ENOMEM : 0;
}
