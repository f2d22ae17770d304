/* tests/unit/test-rank.c: ranking skills against a prompt
 * (core/llm/rank.h): terms, BM25F order on a small library where the
 * answer is known, the weight of fields, and "why". */
#include "core/llm/rank.h"
#include "unit.h"

struct terms {
	char all[512];
};

static void add_term(void *arg, const char *t)
{
	struct terms *s = arg;
	size_t k = strlen(s->all);

	snprintf(s->all + k, sizeof(s->all) - k, "%s%s", k ? " " : "", t);
}

static const char *terms(const char *text)
{
	static struct terms s;

	s.all[0] = '\0';
	rank_terms(text, add_term, &s);
	return s.all;
}

static const struct {
	const char *id, *desc, *body;
} lib[] = {
	{ "hamiltonian-builder", "Builds the qubit Hamiltonian of H2 from "
	  "first principles.", "The molecule H2 in STO-3G at a bond length; "
	  "Hartree-Fock and exact ground-state energies." },
	{ "quantum-vqe", "Finds the ground-state energy of a qubit "
	  "Hamiltonian with a variational circuit.", "VQE with UCC ansatz." },
	{ "csv-stats", "Statistics of the columns of a CSV file.",
	  "Mean, standard deviation, quartiles." },
	{ "fibonacci", "Computes the n-th Fibonacci number exactly.",
	  "Big integers." },
	{ "spice-rc", "An RC low-pass filter in ngspice.", "Step response, "
	  "the time constant tau and the -3 dB frequency; energy stored "
	  "in the capacitor." },
};

#define NLIB (sizeof(lib) / sizeof(*lib))

int main(void)
{
	struct rank_dict *d;
	struct rank_doc docs[NLIB];
	const struct rank_doc *ptr[NLIB];
	struct rank_query q;
	float score[NLIB];
	char why[128];

	CHECK_STR_EQ("ground state energy h2 Å", terms(
		"What is the ground-state energy of H2 at 0.74 Å? Use my "
		"skills."), "terms: ASCII lower-cased, stop words and short numbers out, "
		"UTF-8 kept");
	CHECK_STR_EQ("energy qubit class analysis", terms(
		"energies qubits class analysis"),
		"plurals folded, not words that end in s");
	if (!CHECK_INT_EQ(0, rank_dict_new(&d), "a dictionary"))
		return unit_done();
	for (size_t i = 0; i < NLIB; i++) {
		struct rank_field f[] = { { lib[i].id, 3 }, { lib[i].desc, 2 },
					  { lib[i].body, 1 } };

		rank_doc_build(d, &docs[i], f, 3);
		ptr[i] = &docs[i];
	}
	{
		struct rank_field f[] = {
			{ "What is the ground-state energy of H2 at 0.74 Å? "
			  "Use my skills.", 1 } };

		rank_query_build(d, &q, f, 1);
	}
	CHECK_INT_EQ(0, rank_score(&q, ptr, NLIB, score), "scored");
	CHECK(score[0] > score[1] && score[1] > score[4] && score[4] > 0 &&
	      score[2] == 0 && score[3] == 0,
	      "H2 first, VQE second, the RC filter (energy) far behind, the "
	      "others nothing: %.2f %.2f %.2f %.2f %.2f", score[0], score[1],
	      score[2], score[3], score[4]);
	rank_why(d, &q, &docs[0], why, sizeof(why));
	CHECK(strstr(why, "h2") && strstr(why, "energy"),
	      "why: the terms that matched: %s", why);
	rank_query_release(&q);
	{
		struct rank_field f[] = { { "fibonacci please", 1 },
					  { "the ground state of H2", 0.25f } };

		rank_query_build(d, &q, f, 2);
		rank_score(&q, ptr, NLIB, score);
		CHECK(score[3] > score[0] && score[0] > 0,
		      "the prompt outweighs the conversation before it");
		rank_query_release(&q);
	}
	for (size_t i = 0; i < NLIB; i++)
		rank_doc_release(&docs[i]);
	rank_dict_free(d);
	return unit_done();
}
