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

#endif
