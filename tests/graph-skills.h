/* tests/graph-skills.h: the skills that graph tests and the graph fuzz
 * target check graphs against: every port type as an output of src and
 * an input of sink, required inputs with and without defaults, file ports.
 * A table of {file name, text}; included by tests/unit/test-graph.c and
 * tests/fuzz/fuzz-graph.c. */
#ifndef LLMUNIX_TESTS_GRAPH_SKILLS_H
#define LLMUNIX_TESTS_GRAPH_SKILLS_H

static const char *const graph_skill_texts[][2] = {
	{ "src.md",
	  "---\nname: src\ndescription: d\ninputs: []\noutputs:\n"
	  "  - {name: n, type: integer}\n  - {name: x, type: number}\n"
	  "  - {name: terms, type: array}\n  - {name: o, type: object}\n"
	  "  - {name: s, type: string}\n  - {name: v, type: any}\n"
	  "  - {name: f, type: file}\n  - {name: b, type: boolean}\n"
	  "---\nA source.\n" },
	{ "step.md",
	  "---\nname: step\ndescription: d\ninputs:\n"
	  "  - {name: x, type: number, required: true}\n"
	  "  - {name: k, type: integer, default: 2}\n"
	  "  - {name: req2, type: integer, required: true, default: 5}\n"
	  "outputs:\n  - {name: y, type: number}\n---\nA step.\n" },
	{ "join.md",
	  "---\nname: join\ndescription: d\ninputs:\n"
	  "  - {name: l, type: number, required: true}\n"
	  "  - {name: r, type: number, required: true}\n"
	  "outputs:\n  - {name: out, type: number}\n---\nA join.\n" },
	{ "sink.md",
	  "---\nname: sink\ndescription: d\ninputs:\n"
	  "  - {name: i, type: integer, required: true}\n"
	  "  - {name: x, type: number}\n  - {name: s, type: string}\n"
	  "  - {name: b, type: boolean}\n  - {name: o, type: object}\n"
	  "  - {name: a, type: array}\n  - {name: v, type: any}\n"
	  "  - {name: f, type: file}\n"
	  "outputs:\n  - {name: out, type: any}\n---\nA sink.\n" },
	{ "files.md",
	  "---\nname: files\ndescription: d\ninputs:\n"
	  "  - {name: in, type: file, required: true}\n"
	  "  - {name: opt, type: any, default: {a: [1, 2]}}\n"
	  "  - {name: flag, type: boolean, default: false}\n"
	  "  - {name: label, type: string, default: x}\n"
	  "outputs:\n  - {name: out, type: file}\n"
	  "  - {name: log, type: string}\n---\nFiles.\n" },
};
#define GRAPH_NSKILLS (sizeof(graph_skill_texts) / sizeof(graph_skill_texts[0]))

#endif
