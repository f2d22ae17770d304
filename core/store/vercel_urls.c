/* core/store/vercel_urls.c: where each blob of a Vercel store is
 * downloaded, as the API's replies said (vercel_int.h): a hash table of
 * key -> URL in memory, refilled by the listing at each mount. */
#include "core/store/vercel_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct url_ent {
	struct url_ent *next;
	char *key;
	char *url;
};

struct vc_urls {
	pthread_mutex_t mu;
	struct url_ent **table;
	size_t size, count;
};

static size_t hash(const char *s)
{
	size_t h = 14695981039346656037ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct url_ent **slot(struct vc_urls *u, const char *key)
{
	struct url_ent **p = &u->table[hash(key) & (u->size - 1)];

	while (*p && strcmp((*p)->key, key) != 0)
		p = &(*p)->next;
	return p;
}

static int grow(struct vc_urls *u)
{
	size_t size = u->size ? u->size * 2 : 1024;
	struct url_ent **t = calloc(size, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < u->size; i++) {
		struct url_ent *e = u->table[i], *next;

		for (; e; e = next) {
			size_t h = hash(e->key) & (size - 1);

			next = e->next;
			e->next = t[h];
			t[h] = e;
		}
	}
	free(u->table);
	u->table = t;
	u->size = size;
	return 0;
}

int vc_urls_new(struct vc_urls **out)
{
	struct vc_urls *u = calloc(1, sizeof(*u));

	if (!u || grow(u)) {
		free(u);
		return -ENOMEM;
	}
	pthread_mutex_init(&u->mu, NULL);
	*out = u;
	return 0;
}

static void ent_free(struct url_ent *e)
{
	free(e->key);
	free(e->url);
	free(e);
}

void vc_urls_free(struct vc_urls *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->size; i++) {
		struct url_ent *e = u->table[i], *next;

		for (; e; e = next) {
			next = e->next;
			ent_free(e);
		}
	}
	free(u->table);
	pthread_mutex_destroy(&u->mu);
	free(u);
}

int vc_urls_set(struct vc_urls *u, const char *key, const char *url)
{
	struct url_ent **p, *e;
	char *copy = strdup(url);
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	pthread_mutex_lock(&u->mu);
	if (u->count + 1 > u->size / 2 && grow(u)) {
		rc = -ENOMEM;
		goto out;
	}
	p = slot(u, key);
	if (*p) {
		free((*p)->url);
		(*p)->url = copy;
		copy = NULL;
		goto out;
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->key = strdup(key))) {
		free(e);
		rc = -ENOMEM;
		goto out;
	}
	e->url = copy;
	copy = NULL;
	*p = e;
	u->count++;
out:
	pthread_mutex_unlock(&u->mu);
	free(copy);
	return rc;
}

int vc_urls_get(struct vc_urls *u, const char *key, char *out)
{
	struct url_ent *e;
	int rc = -ENOENT;

	pthread_mutex_lock(&u->mu);
	e = *slot(u, key);
	if (e && strlen(e->url) < VC_URL_MAX) {
		memcpy(out, e->url, strlen(e->url) + 1);
		rc = 0;
	}
	pthread_mutex_unlock(&u->mu);
	return rc;
}

void vc_urls_del(struct vc_urls *u, const char *key)
{
	struct url_ent **p, *e;

	pthread_mutex_lock(&u->mu);
	p = slot(u, key);
	e = *p;
	if (e) {
		*p = e->next;
		ent_free(e);
		u->count--;
	}
	pthread_mutex_unlock(&u->mu);
}
