/* tests/unit/test-fuzz-graph.c: the fuzz target of the graph parser
 * (tests/fuzz/fuzz-graph.c) run over every file of
 * tests/fuzz/graph-corpus/ (see replay.h). */
#include "tests/fuzz/fuzz-graph.c"
#include "unit.h"
#include "replay.h"

int main(void)
{
	replay_dir("tests/fuzz/graph-corpus", 20);
	return unit_done();
}
