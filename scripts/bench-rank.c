/* scripts/bench-rank.c: the ranking part of scripts/bench-chat, on
 * core/llm/rank.h with no mount.
 *
 *   bench-rank N REPS   N generated skills with two quantum ones among
 *                       them, each a
 *                       document of id, name, description, tags and a
 *                       paragraph of prose; then REPS times: build the
 *                       query of a prompt and two earlier messages, score
 *                       every skill and sort them; prints
 *                       "build_ms TOTAL" and "rank_us MEDIAN" and the
 *                       best skill's id, which must be a quantum one.
 *
 * Times are CLOCK_MONOTONIC. Any failure exits 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/llm/rank.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const words[] = {
	"invoice", "ledger", "widget", "pasta", "garden", "bicycle",
	"sonnet", "harbor", "violin", "tax", "parcel", "orchard", "kettle",
	"lantern", "marble", "saddle", "tunnel", "wagon", "yarn", "zephyr",
	"anchor", "basket", "candle", "dolphin", "ember", "falcon", "glacier",
	"hammock", "igloo", "jacket", "kiwi", "lemon", "mosaic", "nectar",
	"energy", "state", "matrix", "signal", "filter", "image", "table",
	"report", "plot", "series", "mesh", "render", "circuit", "sort",
	"merge", "search", "parse", "format", "convert", "measure", "count",
};

#define NW (sizeof(words) / sizeof(*words))

struct scored {
	size_t i;
	float s;
};

static int by_score(const void *a, const void *b)
{
	const struct scored *x = a, *y = b;

	return (x->s < y->s) - (x->s > y->s);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	size_t n, reps;
	struct rank_dict *d;
	struct rank_doc *docs;
	const struct rank_doc **ptr;
	float *score;
	struct scored *order;
	double *t, t0;
	char **ids;
	unsigned seed = 7;

	if (argc != 3 || (n = strtoul(argv[1], NULL, 10)) < 2 ||
	    (reps = strtoul(argv[2], NULL, 10)) < 1) {
		fprintf(stderr, "usage: bench-rank N REPS\n");
		return 2;
	}
	docs = calloc(n, sizeof(*docs));
	ptr = calloc(n, sizeof(*ptr));
	score = calloc(n, sizeof(*score));
	order = calloc(n, sizeof(*order));
	ids = calloc(n, sizeof(*ids));
	t = calloc(reps, sizeof(*t));
	if (!docs || !ptr || !score || !order || !ids || !t ||
	    rank_dict_new(&d)) {
		fprintf(stderr, "bench-rank: out of memory\n");
		return 1;
	}
	t0 = now();
	for (size_t i = 0; i < n; i++) {
		char desc[256], body[1024], tags[128];
		const char *w[12];
		struct rank_field f[5];

		for (size_t k = 0; k < 12; k++)
			w[k] = words[rand_r(&seed) % NW];
		if (i == n / 3) {
			ids[i] = strdup("hamiltonian-builder");
			snprintf(desc, sizeof(desc), "Builds the qubit "
				 "Hamiltonian of H2 from first principles.");
			snprintf(body, sizeof(body), "The molecule H2 in STO-3G "
				 "at a bond length: Hartree-Fock and exact "
				 "ground-state energies.");
		} else if (i == 2 * n / 3) {
			ids[i] = strdup("quantum-vqe");
			snprintf(desc, sizeof(desc), "Finds the ground-state "
				 "energy of a qubit Hamiltonian with a "
				 "variational circuit.");
			snprintf(body, sizeof(body), "VQE with a UCC ansatz "
				 "on a simulator; energy history.");
		} else {
			if (asprintf(&ids[i], "gen-%s-%zu", w[0], i) < 0)
				return 1;
			snprintf(desc, sizeof(desc), "Sorts the %s and the %s "
				 "of a %s.", w[1], w[2], w[3]);
			snprintf(body, sizeof(body), "Prose about %s, %s, %s "
				 "and %s; it reads a %s and writes a %s, then "
				 "counts the %s and the %s.", w[4], w[5], w[6],
				 w[7], w[8], w[9], w[10], w[11]);
		}
		snprintf(tags, sizeof(tags), "%s %s", w[2], w[5]);
		f[0] = (struct rank_field){ ids[i], 3 };
		f[1] = (struct rank_field){ ids[i], 3 };
		f[2] = (struct rank_field){ desc, 2 };
		f[3] = (struct rank_field){ tags, 2 };
		f[4] = (struct rank_field){ body, 1 };
		if (rank_doc_build(d, &docs[i], f, 5)) {
			fprintf(stderr, "bench-rank: out of memory\n");
			return 1;
		}
		ptr[i] = &docs[i];
	}
	printf("build_ms %.1f\n", (now() - t0) * 1e3);
	for (size_t r = 0; r < reps; r++) {
		struct rank_field q[] = {
			{ "What is the ground-state energy of H2 at 0.74 Å? "
			  "Use my skills.", 1 },
			{ "Plot the signal and the report of the series.",
			  0.5f },
			{ "Thanks, that table is fine.", 0.35f },
		};
		struct rank_query query;

		t0 = now();
		if (rank_query_build(d, &query, q, 3) ||
		    rank_score(&query, ptr, n, score)) {
			fprintf(stderr, "bench-rank: out of memory\n");
			return 1;
		}
		for (size_t i = 0; i < n; i++) {
			order[i].i = i;
			order[i].s = score[i];
		}
		qsort(order, n, sizeof(*order), by_score);
		t[r] = (now() - t0) * 1e6;
		rank_query_release(&query);
	}
	qsort(t, reps, sizeof(*t), cmp_double);
	printf("rank_us %.0f\n", t[reps / 2]);
	printf("best %s\n", ids[order[0].i]);
	printf("second %s\n", ids[order[1].i]);
	for (size_t i = 0; i < n; i++) {
		rank_doc_release(&docs[i]);
		free(ids[i]);
	}
	rank_dict_free(d);
	free(docs);
	free(ptr);
	free(score);
	free(order);
	free(ids);
	free(t);
	return 0;
}
