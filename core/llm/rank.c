/* core/llm/rank.c: BM25F ranking (rank.h). */
#include "core/llm/rank.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TERM_MAX 48		/* bytes of a term; longer ones are cut */
#define K1 1.2f
#define B 0.75f

/* Words that say nothing about which skill is meant. */
static const char *const stop_words[] = {
	"a", "about", "an", "and", "are", "as", "at", "be", "by", "can",
	"could", "do", "does", "for", "from", "give", "how", "i", "if", "in",
	"into", "is", "it", "its", "me", "my", "of", "on", "or", "please",
	"skill", "that", "the", "their", "then", "this", "to", "use",
	"using", "was", "we", "what", "when", "which", "with", "would",
	"you", "your",
};

struct entry {
	char *term;
	uint32_t id;
	struct entry *next;
};

struct rank_dict {
	pthread_mutex_t mu;
	struct entry **table;
	size_t size, count;
	char **by_id;		/* id -> term */
	size_t nby, aby;
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

int rank_dict_new(struct rank_dict **out)
{
	struct rank_dict *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->size = 4096;
	d->table = calloc(d->size, sizeof(*d->table));
	if (!d->table) {
		free(d);
		return -ENOMEM;
	}
	pthread_mutex_init(&d->mu, NULL);
	*out = d;
	return 0;
}

void rank_dict_free(struct rank_dict *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->size; i++) {
		struct entry *e = d->table[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e->term);
			free(e);
		}
	}
	free(d->table);
	free(d->by_id);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

static int grow(struct rank_dict *d)
{
	size_t size = d->size * 2;
	struct entry **t = calloc(size, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < d->size; i++) {
		struct entry *e = d->table[i], *next;

		for (; e; e = next) {
			size_t k = hash(e->term) & (size - 1);

			next = e->next;
			e->next = t[k];
			t[k] = e;
		}
	}
	free(d->table);
	d->table = t;
	d->size = size;
	return 0;
}

/* The id of `term`; a new one when `add`, else UINT32_MAX when unknown.
 * d->mu held. */
static uint32_t term_id(struct rank_dict *d, const char *term, int add)
{
	size_t k = hash(term) & (d->size - 1);
	struct entry *e;

	for (e = d->table[k]; e; e = e->next)
		if (strcmp(e->term, term) == 0)
			return e->id;
	if (!add)
		return UINT32_MAX;
	if (d->count * 2 > d->size && grow(d) == 0)
		k = hash(term) & (d->size - 1);
	if (d->nby == d->aby) {
		size_t n = d->aby ? 2 * d->aby : 1024;
		char **v = realloc(d->by_id, n * sizeof(*v));

		if (!v)
			return UINT32_MAX - 1;
		d->by_id = v;
		d->aby = n;
	}
	e = malloc(sizeof(*e));
	if (!e || !(e->term = strdup(term))) {
		free(e);
		return UINT32_MAX - 1;
	}
	e->id = (uint32_t)d->count++;
	e->next = d->table[k];
	d->table[k] = e;
	d->by_id[d->nby++] = e->term;
	return e->id;
}

/* --- terms ---------------------------------------------------------------- */

static int is_stop(const char *t)
{
	size_t lo = 0, hi = sizeof(stop_words) / sizeof(*stop_words);

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(t, stop_words[mid]);

		if (!c)
			return 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/* Plurals: "energies" -> "energy", "skills" -> "skill"; not "class",
 * "gas", "analysis". */
static void fold(char *t, size_t *n)
{
	if (*n > 4 && strcmp(t + *n - 3, "ies") == 0) {
		t[*n - 3] = 'y';
		t[*n - 2] = '\0';
		*n -= 2;
	} else if (*n > 3 && t[*n - 1] == 's' && t[*n - 2] != 's' &&
		   t[*n - 2] != 'u' && t[*n - 2] != 'i') {
		t[--*n] = '\0';
	}
}

static int word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c >= 0x80;
}

void rank_terms(const char *text, void (*fn)(void *arg, const char *term),
		void *arg)
{
	const unsigned char *p = (const unsigned char *)(text ? text : "");

	while (*p) {
		char t[TERM_MAX + 1];
		size_t n = 0;

		while (*p && !word_byte(*p))
			p++;
		while (*p && word_byte(*p)) {
			if (n < TERM_MAX)
				t[n++] = (char)(*p >= 'A' && *p <= 'Z' ?
						*p + 32 : *p);
			p++;
		}
		if (!n)
			continue;
		/* A cut term must not end inside a UTF-8 character. */
		while (n && n == TERM_MAX && ((unsigned char)t[n - 1] & 0xC0) ==
		       0x80)
			n--;
		t[n] = '\0';
		/* A letter or a short number alone says nothing ("0.74"
		 * is "0" and "74"). */
		if (is_stop(t) || (n == 1 && (unsigned char)t[0] < 0x80) ||
		    (n == 2 && isdigit((unsigned char)t[0]) &&
		     isdigit((unsigned char)t[1])))
			continue;
		fold(t, &n);
		if (n && !is_stop(t))
			fn(arg, t);
	}
}

/* --- documents ------------------------------------------------------------- */

struct pending {
	struct rank_dict *d;
	uint32_t *term;
	float *tf;
	size_t n, alloc;
	float weight;
	int add;
	int err;
};

static void collect(void *arg, const char *term)
{
	struct pending *p = arg;
	uint32_t id;

	if (p->err)
		return;
	id = term_id(p->d, term, p->add);
	if (id == UINT32_MAX)
		return;
	if (id == UINT32_MAX - 1) {
		p->err = -ENOMEM;
		return;
	}
	if (p->n == p->alloc) {
		size_t k = p->alloc ? 2 * p->alloc : 64;
		uint32_t *t = realloc(p->term, k * sizeof(*t));
		float *f;

		if (!t) {
			p->err = -ENOMEM;
			return;
		}
		p->term = t;
		f = realloc(p->tf, k * sizeof(*f));
		if (!f) {
			p->err = -ENOMEM;
			return;
		}
		p->tf = f;
		p->alloc = k;
	}
	p->term[p->n] = id;
	p->tf[p->n++] = p->weight;
}

/* Sort by term and add up the frequencies of each. */
static size_t merge(uint32_t *term, float *tf, size_t n)
{
	size_t k = 0;

	/* insertion sort on small runs would do, but documents may be
	 * long: a simple shell sort of the pairs */
	for (size_t gap = n / 2; gap > 0; gap /= 2)
		for (size_t i = gap; i < n; i++)
			for (size_t j = i; j >= gap && term[j - gap] > term[j];
			     j -= gap) {
				uint32_t t = term[j];
				float f = tf[j];

				term[j] = term[j - gap];
				tf[j] = tf[j - gap];
				term[j - gap] = t;
				tf[j - gap] = f;
			}
	for (size_t i = 0; i < n; i++) {
		if (k && term[k - 1] == term[i]) {
			tf[k - 1] += tf[i];
		} else {
			term[k] = term[i];
			tf[k++] = tf[i];
		}
	}
	return k;
}

static int build(struct rank_dict *d, const struct rank_field *f, size_t n,
		 int add, struct pending *p)
{
	memset(p, 0, sizeof(*p));
	p->d = d;
	p->add = add;
	pthread_mutex_lock(&d->mu);
	for (size_t i = 0; i < n && !p->err; i++) {
		p->weight = f[i].weight;
		rank_terms(f[i].text, collect, p);
	}
	pthread_mutex_unlock(&d->mu);
	if (p->err) {
		free(p->term);
		free(p->tf);
		return p->err;
	}
	return 0;
}

int rank_doc_build(struct rank_dict *d, struct rank_doc *out,
		   const struct rank_field *f, size_t n)
{
	struct pending p;
	int rc = build(d, f, n, 1, &p);

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	for (size_t i = 0; i < p.n; i++)
		out->len += p.tf[i];
	out->n = (uint32_t)merge(p.term, p.tf, p.n);
	out->term = p.term;
	out->tf = p.tf;
	return 0;
}

void rank_doc_release(struct rank_doc *doc)
{
	free(doc->term);
	free(doc->tf);
	memset(doc, 0, sizeof(*doc));
}

int rank_query_build(struct rank_dict *d, struct rank_query *out,
		     const struct rank_field *f, size_t n)
{
	struct pending p;
	int rc = build(d, f, n, 0, &p);

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	out->n = (uint32_t)merge(p.term, p.tf, p.n);
	out->term = p.term;
	out->weight = p.tf;
	return 0;
}

void rank_query_release(struct rank_query *q)
{
	free(q->term);
	free(q->weight);
	memset(q, 0, sizeof(*q));
}

/* --- scoring ---------------------------------------------------------------- */

static long find(const struct rank_doc *doc, uint32_t term)
{
	uint32_t lo = 0, hi = doc->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (doc->term[mid] == term)
			return (long)mid;
		if (doc->term[mid] < term)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int rank_score(const struct rank_query *q, const struct rank_doc *const *docs,
	       size_t n, float *scores)
{
	float *idf = calloc(q->n ? q->n : 1, sizeof(*idf));
	double total = 0, avg;

	if (!idf)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		total += docs[i]->len;
		for (uint32_t t = 0; t < q->n; t++)
			if (find(docs[i], q->term[t]) >= 0)
				idf[t] += 1;
	}
	avg = n ? total / (double)n : 1;
	if (avg <= 0)
		avg = 1;
	for (uint32_t t = 0; t < q->n; t++)
		idf[t] = logf(1.0f + ((float)n - idf[t] + 0.5f) /
				     (idf[t] + 0.5f));
	for (size_t i = 0; i < n; i++) {
		const struct rank_doc *d = docs[i];
		float norm = K1 * (1 - B + B * (float)(d->len / avg)), s = 0;

		for (uint32_t t = 0; t < q->n; t++) {
			long k = find(d, q->term[t]);

			if (k >= 0)
				s += q->weight[t] * idf[t] * d->tf[k] *
				     (K1 + 1) / (d->tf[k] + norm);
		}
		scores[i] = s;
	}
	free(idf);
	return 0;
}

void rank_why(struct rank_dict *d, const struct rank_query *q,
	      const struct rank_doc *doc, char *out, size_t cap)
{
	size_t k = 0;

	if (!cap)
		return;
	out[0] = '\0';
	pthread_mutex_lock(&d->mu);
	for (uint32_t t = 0; t < q->n; t++) {
		const char *term;
		size_t len;

		if (find(doc, q->term[t]) < 0 || q->term[t] >= d->nby)
			continue;
		term = d->by_id[q->term[t]];
		len = strlen(term);
		if (k + len + 3 >= cap)
			break;
		if (k) {
			memcpy(out + k, ", ", 2);
			k += 2;
		}
		memcpy(out + k, term, len);
		k += len;
		out[k] = '\0';
	}
	pthread_mutex_unlock(&d->mu);
}
