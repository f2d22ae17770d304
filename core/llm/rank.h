/* core/llm/rank.h: ranking skills against a prompt, BM25F (Robertson and
 * Zaragoza's BM25 over weighted fields), with no network and no model.
 *
 * Text is cut into terms: runs of ASCII letters and digits and of
 * non-ASCII bytes (so "H₂" and "energía" stay words), ASCII lower-cased,
 * with a short English stop list, single letters and one- or two-digit
 * numbers left out, and plurals folded ("skills" -> "skill", "energies"
 * -> "energy"). A document is a few fields, each with a weight
 * (a skill's id and name count more than its prose); it is kept as its
 * sorted term ids and weighted frequencies, built once per version of a
 * skill. A query is the prompt and the conversation before it, each with
 * its weight; scoring a set of documents computes document frequencies
 * over that set, so a skill counts as rare among the skills a user can
 * actually use.
 *
 * The dictionary is shared and thread-safe; documents and queries are
 * plain values owned by their caller.
 */
#ifndef LLMUNIX_RANK_H
#define LLMUNIX_RANK_H

#include <stddef.h>
#include <stdint.h>

struct rank_dict;

struct rank_field {
	const char *text;	/* NULL: empty */
	float weight;
};

struct rank_doc {
	uint32_t *term;		/* sorted ids */
	float *tf;		/* weighted frequency of each */
	uint32_t n;
	float len;		/* weighted length */
};

struct rank_query {
	uint32_t *term;
	float *weight;
	uint32_t n;
};

int rank_dict_new(struct rank_dict **out);
void rank_dict_free(struct rank_dict *d);

/* The document of `n` fields. 0 or -ENOMEM. */
int rank_doc_build(struct rank_dict *d, struct rank_doc *out,
		   const struct rank_field *f, size_t n);
void rank_doc_release(struct rank_doc *doc);

/* The query of `n` texts, each with its weight; terms the dictionary has
 * never seen match nothing and are left out. 0 or -ENOMEM. */
int rank_query_build(struct rank_dict *d, struct rank_query *out,
		     const struct rank_field *f, size_t n);
void rank_query_release(struct rank_query *q);

/* The score of each of `n` documents into `scores` (0 for no match).
 * 0 or -ENOMEM. */
int rank_score(const struct rank_query *q, const struct rank_doc *const *docs,
	       size_t n, float *scores);

/* The query's terms that `doc` has, "h2, energy", into `out`. */
void rank_why(struct rank_dict *d, const struct rank_query *q,
	      const struct rank_doc *doc, char *out, size_t cap);

/* Call `fn` for each term of `text` (for tests): its bytes, lower-cased
 * and folded, NUL-terminated. */
void rank_terms(const char *text, void (*fn)(void *arg, const char *term),
		void *arg);

#endif
