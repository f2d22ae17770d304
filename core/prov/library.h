/* core/prov/library.h: the skills a caller can use, across volumes
 * (DESIGN.md section 4), for the providers that show or run them
 * (catalog.json, run/). ns_resolve_skill() (ns.h) is here too.
 */
#ifndef LLMUNIX_LIBRARY_H
#define LLMUNIX_LIBRARY_H

#include "core/ns/node.h"

/* The volumes a bare skill name resolves through for `c`, in order: the
 * caller's own, the caller's teams in name order, then system. At most
 * `cap` into `out`; returns how many. The tree is held. */
size_t library_order(struct ns *ns, struct caller *c, struct node **out,
		     size_t cap);
/* "system", "team/eng", "user/alice" for a volume's node. Returns `out`. */
const char *library_vol_name(const struct node *v, char *out, size_t cap);
/* The parsed field `f` ("id", "name", ...) of a skill whose parse cache
 * is current (area_skill_cache), or NULL. Borrowed; n->mu held. */
const struct blob_xattr *library_field(const struct node *n, const char *f);

/* Each skill `c` may use, resolved as catalog.json resolves them: the
 * caller's volumes in order, a volume's skills in path order, the first
 * with an id wins. `fn` gets the id and the skill's node (n->mu not held;
 * the tree is held); a non-zero return stops and is returned. */
int library_each(struct ns *ns, struct caller *c,
		 int (*fn)(void *arg, const char *id, struct node *n),
		 void *arg);

/* The warning about two skills with one id in a volume, as *out (freed by
 * the caller): `path` has the id `id` that `other` has too; `wins` says
 * whether `path` is the one that runs. -1 when out of memory. */
int library_dup_message(char **out, const char *path, const char *id,
			const char *other, int wins);
/* The skills of `n`'s volume other than `n` whose id is `id`, as
 * library_dup_message() lines into `out`. The tree lock is held, no node
 * lock. 0 or -ENOMEM. */
int library_dup_warnings(struct ns *ns, struct node *n, const char *id,
			 struct buf *out);

#endif
