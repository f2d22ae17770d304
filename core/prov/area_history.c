/* core/prov/area_history.c: what changes in skills/ and workflows/, told
 * to the history (core/history/history.h) after the store has it and
 * before the change is acknowledged. The author is the caller whose
 * rights made the change: the opener of a file for its content (node.h,
 * rights after open), the caller of mkdir, unlink, rename and chmod.
 * Symbolic links are not versioned. */
#include "core/history/history.h"
#include "core/prov/area.h"
#include "core/util/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>

#define AREA_NOTE_COPY_MAX ((size_t)256 << 10)
#include <string.h>

/* "skills/a/x.md" of `n` into `out`; the volume's name ("user/alice")
 * into `vol`. */
int area_relpath(const struct node *n, char *out, size_t cap, char *vol,
		 size_t vcap)
{
	char key[PATH_MAX];
	size_t pre = strlen(n->vol->prefix);
	int rc = node_key(n, key, sizeof(key));

	if (rc)
		return rc;
	if (strlen(key + pre + 1) >= cap)
		return -ENAMETOOLONG;
	memcpy(out, key + pre + 1, strlen(key + pre + 1) + 1);
	snprintf(vol, vcap, "%s", n->vol->prefix + strlen("volumes/"));
	return 0;
}

void area_note(struct ns *ns, const char *vol, uid_t uid,
	       const struct history_change *ch)
{
	struct history_author a = { .uid = uid };
	struct ident_user u;
	char who[32];
	int rc;

	if (!ns->history)
		return;
	if (ident_user_by_uid(ns->id, uid, &u) == 0) {
		a.user = u.name;
	} else {
		snprintf(who, sizeof(who), uid ? "uid%u" : "root",
			 (unsigned)uid);
		a.user = who;
	}
	rc = history_note(ns->history, vol, &a, ch);
	if (rc) {
		char esc[128];

		log_warn("history of '%s': '%s' not noted now: %s (the "
			 "volume is compared with its files later)", vol,
			 log_escape(esc, sizeof(esc), ch->path),
			 strerror(-rc));
	}
}

void area_note_node(struct ns *ns, const struct node *n, enum history_op op,
		    uid_t uid)
{
	struct history_change ch = { .op = op, .mode = n->mode & 0777 };
	char path[PATH_MAX], vol[96];

	if (!ns->history || n->sub == AREA_LINK ||
	    area_relpath(n, path, sizeof(path), vol, sizeof(vol)))
		return;
	ch.path = path;
	/* Small content goes along (the commit then holds what was
	 * closed); larger files are read from the store when the commit is
	 * made, so that the history never holds a second copy of them. */
	if ((op == HISTORY_WRITE || op == HISTORY_CREATE) && n->loaded &&
	    n->data.len <= AREA_NOTE_COPY_MAX) {
		ch.data = n->data.data ? n->data.data : "";
		ch.len = n->data.len;
	}
	area_note(ns, vol, uid, &ch);
}
