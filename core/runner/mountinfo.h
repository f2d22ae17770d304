/* core/runner/mountinfo.h: one line of /proc/self/mountinfo, split into the
 * fields the sandbox (the FUSE mounts it hides) and the cgroup code (where
 * the hierarchies are mounted) need. See proc(5):
 *
 *   ID PARENT MAJ:MIN ROOT POINT OPTIONS [TAGS...] - FSTYPE SOURCE SUPEROPTS
 *
 * Thread-safety: none needed; it only touches the caller's line.
 */
#ifndef LLMUNIX_MOUNTINFO_H
#define LLMUNIX_MOUNTINFO_H

struct mountinfo {
	char *root;		/* the mount's root in its filesystem */
	char *point;		/* where it is mounted */
	char *fstype;		/* "fuse.llmunix", "cgroup", "cgroup2" */
	char *superopts;	/* "rw,memory" */
};

/* Split `line` in place (the fields point into it; a trailing newline is
 * dropped) and turn the octal escapes of ROOT and POINT ("\040") back into
 * bytes. 0, or -EINVAL when the line has not that shape. */
int mountinfo_parse(char *line, struct mountinfo *m);

/* Whether the comma-separated `list` holds `word` ("memory" in
 * "rw,memory" or "cpu,cpuacct"). */
int mountinfo_has_word(const char *list, const char *word);

#endif
