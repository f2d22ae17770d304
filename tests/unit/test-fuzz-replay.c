/* tests/unit/test-fuzz-replay.c: the fuzz target of the skill parser
 * (tests/fuzz/fuzz-skill.c) run over every file of tests/skills/ and
 * tests/fuzz/corpus/ (see replay.h). */
#include "tests/fuzz/fuzz-skill.c"
#include "unit.h"
#include "replay.h"

int main(void)
{
	replay_dir("tests/skills", 10);
	replay_dir("tests/fuzz/corpus", 10);
	return unit_done();
}
