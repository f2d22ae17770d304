/* fs/main.c: start-up of llmunixfs: options, configuration, the mount, the
 * request loop and a clean exit on SIGTERM, SIGINT or unmount. */
#include "core/history/history.h"
#include "core/llm/llm.h"
#include "core/prov/session.h"
#include "core/store/blob_cache.h"
#include "core/store/kv.h"
#include "core/store/store.h"
#include "core/util/config.h"
#include "core/run/engine.h"
#include "core/runner/runner.h"
#include "core/ns/ident.h"
#include "core/util/log.h"
#include "core/ns/ns.h"
#include "fs/fs.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_CONFIG "/etc/llmunix/llmunix.conf"
#define EXIT_USAGE 2

struct cli {
	char *state;
	char *config;
	char *system_skills;
};

static const struct fuse_opt cli_opts[] = {
	{ "state=%s", offsetof(struct cli, state), 0 },
	{ "config=%s", offsetof(struct cli, config), 0 },
	{ "system_skills=%s", offsetof(struct cli, system_skills), 0 },
	FUSE_OPT_END
};

static void usage(const char *prog)
{
	printf("usage: %s [-f] [-d] [-o opt[,opt...]] MOUNTPOINT\n\n"
	       "Mounts the LLMunix volumes (system, team, user) on "
	       "MOUNTPOINT.\n\n"
	       "llmunixfs options:\n"
	       "    -o state=DIR           where everything is stored "
	       "(default /var/lib/llmunix\n"
	       "                           as root, "
	       "$XDG_STATE_HOME/llmunix otherwise)\n"
	       "    -o config=FILE         configuration file (default "
	       DEFAULT_CONFIG " if it exists)\n"
	       "    -o system_skills=DIR   seed of the system volume, copied "
	       "on first mount\n"
	       "                           (default " LLMUNIX_DATADIR
	       "/skills)\n"
	       "    -f                     stay in the foreground, log to "
	       "stderr\n"
	       "    -d                     debug: foreground, log every "
	       "request\n"
	       "    -h, --help             this help\n"
	       "    -V, --version          the version\n\n"
	       "See llmunix.conf.example (share/doc/llmunix) for the "
	       "configuration keys.\n\n"
	       "FUSE options:\n", prog);
	fuse_cmdline_help();
	fuse_lowlevel_help();
}

/* Configuration: the file, then the -o options over it. */
static int load_config(struct config *cfg, const struct cli *cli)
{
	char err[1024];
	int rc = config_init(cfg);

	if (rc) {
		log_err("out of memory");
		return rc;
	}
	if (cli->config)
		rc = config_load(cfg, cli->config, err, sizeof(err));
	else if (access(DEFAULT_CONFIG, F_OK) == 0)
		rc = config_load(cfg, DEFAULT_CONFIG, err, sizeof(err));
	if (!rc && cli->state)
		rc = config_set(cfg, "state", cli->state, "-o state", err,
				sizeof(err));
	if (!rc && cli->system_skills)
		rc = config_set(cfg, "system_skills", cli->system_skills,
				"-o system_skills", err, sizeof(err));
	if (rc)
		fprintf(stderr, "llmunixfs: %s\n", err);
	return rc;
}

static int check_mountpoint(const char *path)
{
	struct stat st;

	if (!path) {
		fprintf(stderr, "llmunixfs: no mountpoint given (see "
			"--help)\n");
		return -EINVAL;
	}
	if (stat(path, &st) < 0) {
		fprintf(stderr, "llmunixfs: mountpoint '%s': %s\n", path,
			strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "llmunixfs: mountpoint '%s' is not a "
			"folder\n", path);
		return -ENOTDIR;
	}
	return 0;
}

static int run_loop(struct fuse_session *se,
		    const struct fuse_cmdline_opts *opts)
{
	struct fuse_loop_config *lc;
	int rc;

	if (opts->singlethread)
		return fuse_session_loop(se);
	lc = fuse_loop_cfg_create();
	if (!lc)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(lc, (unsigned)opts->clone_fd);
	fuse_loop_cfg_set_max_threads(lc, 16);
	if (opts->max_idle_threads != UINT_MAX)
		fuse_loop_cfg_set_idle_threads(lc, opts->max_idle_threads);
	rc = fuse_session_loop_mt(se, lc);
	fuse_loop_cfg_destroy(lc);
	return rc;
}

/* The sessions' store and the LLM provider; 0, or EXIT_USAGE when the
 * configuration cannot work (said on stderr), 1 otherwise. */
static int chat_open(const struct config *cfg, struct kv **kv,
		     struct llm **llm)
{
	char err[512];
	int rc = kv_open(kv, cfg, err, sizeof(err));

	if (!rc)
		rc = llm_new(llm, cfg, err, sizeof(err));
	if (!rc)
		return 0;
	log_err("sessions: %s", err);
	return rc == -EINVAL ? EXIT_USAGE : 1;
}

/* The history's thread, after the fork of fuse_daemonize(). A history
 * that cannot start is said and left off: files work without it. With
 * the volumes in a shared blob store and a Redis, the history is shared
 * too; a shared blob store without Redis keeps each host's own (there is
 * nowhere to agree on a head). */
static void start_history(const struct config *cfg, struct blob *blob,
			  struct kv *kv, struct history_source **src,
			  struct history **out)
{
	struct history_config hc = { .state_dir = cfg->state_dir,
				     .quiet_ms = cfg->history_quiet_ms };
	char scope[300];
	int rc = history_source_blob_new(src, blob);

	if (strcmp(cfg->storage, "local") != 0) {
		if (strcmp(kv->ops->name, "redis") == 0) {
			/* The repositories are the objects' local copy. */
			hc.blob = blob_cache_inner(blob);
			hc.kv = kv;
			if (strcmp(cfg->storage, "s3") == 0) {
				snprintf(scope, sizeof(scope), "s3/%s",
					 cfg->s3_bucket);
				hc.scope = scope;
			} else {
				hc.scope = cfg->storage;
			}
			log_info("history: shared (objects in the blob store, "
				 "heads in redis)");
		} else {
			log_info("history: this host's only (a shared history "
				 "needs redis_url)");
		}
	}

	if (!rc) {
		hc.src = *src;
		rc = history_open(out, &hc);
	}
	if (rc)
		log_err("history is off: %s", strerror(-rc));
}

/* Everything after the options are known; returns the exit status. */
static int serve(struct fuse_args *args, struct fuse_cmdline_opts *opts,
		 struct config *cfg)
{
	struct fuse_session *se;
	struct ident *id = NULL;
	struct blob *blob = NULL;
	struct fs fs = { NULL, cfg };
	struct engine *engine = NULL;
	struct kv *kv = NULL;
	struct llm *llm = NULL;
	struct history *hist = NULL;
	struct history_source *hsrc = NULL;
	char desc[4096];
	int rc, status = 1;

	log_set_level((enum log_level)cfg->log_level);
	if (opts->debug)
		log_set_level(LOG_LVL_DEBUG);
	/* Options first: a bad one must leave the state folder untouched. */
	se = fuse_session_new(args, &fs_ops, sizeof(fs_ops), &fs);
	if (!se)
		return EXIT_USAGE;	/* an option FUSE does not know */
	rc = ident_new(&id);
	if (!rc)
		rc = ident_load(id, cfg);
	if (rc) {
		log_err("reading the account database: %s", strerror(-rc));
		goto out_session;
	}
	rc = store_open(&blob, cfg);
	if (rc) {
		if (rc == -EACCES || rc == -ENOENT || rc == -EINVAL)
			status = EXIT_USAGE;	/* fix the configuration */
		else if (rc != -EBUSY && rc != -EIO)	/* already said */
			log_err("state folder '%s': %s", cfg->state_dir,
				strerror(-rc));
		goto out_session;
	}
	rc = ns_new(&fs.ns, cfg, id, blob);
	if (rc) {
		log_err("loading the volumes from '%s': %s", cfg->state_dir,
			strerror(-rc));
		goto out_session;
	}
	rc = chat_open(cfg, &kv, &llm);
	if (rc) {
		status = rc;
		goto out_session;
	}
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, opts->mountpoint) != 0)
		goto out_signals;
	fuse_daemonize(opts->foreground);
	if (!opts->foreground)
		log_to_syslog("llmunixfs");
	/* After the fork of fuse_daemonize() (the cgroups are named after
	 * the daemon's pid), before the engine's threads. */
	rc = runner_setup(cfg->node_cgroup != CONFIG_CGROUP_OFF,
			  cfg->node_cgroup == CONFIG_CGROUP_ON, desc,
			  sizeof(desc));
	if (rc < 0) {
		log_err("%s", desc);
		fuse_session_unmount(se);
		goto out_signals;
	}
	log_info("%s", desc);
	/* Threads after the fork of fuse_daemonize(): they would not
	 * survive it. */
	rc = engine_new(&engine, cfg, fs_wait_notify, &fs);
	if (rc) {
		log_err("starting the run engine in '%s': %s", cfg->state_dir,
			strerror(-rc));
		runner_teardown();
		fuse_session_unmount(se);
		goto out_signals;
	}
	ns_set_engine(fs.ns, engine);
	if (cfg->history)
		start_history(cfg, blob, kv, &hsrc, &hist);
	ns_set_history(fs.ns, hist);
	rc = session_start(fs.ns, kv, llm, fs_wait_notify, &fs);
	if (rc) {
		log_err("starting the sessions: %s", strerror(-rc));
		engine_free(engine);
		runner_teardown();
		fuse_session_unmount(se);
		goto out_signals;
	}
	log_info("mounted on '%s', state in '%s'", opts->mountpoint,
		 cfg->state_dir);
	rc = run_loop(se, opts);
	fs_wait_stop();
	/* Answers wait for runs: they stop first. */
	session_stop(fs.ns);
	engine_free(engine);
	/* A read a worker's notification had claimed during the first stop
	 * may have been parked again: the workers are gone now. */
	fs_wait_stop();
	ns_set_engine(fs.ns, NULL);
	runner_teardown();	/* no node runs any more */
	/* A signal number means SIGTERM or SIGINT asked us to stop. */
	status = rc < 0 ? 1 : 0;
	if (rc < 0)
		log_err("request loop: %s", strerror(-rc));
	fuse_session_unmount(se);
	log_info("unmounted '%s'", opts->mountpoint);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
	ns_free(fs.ns);	/* what it stores at exit goes to the history */
	history_close(hist);
	if (hsrc)
		hsrc->ops->free(hsrc);
	llm_free(llm);
	kv_free(kv);
	if (blob)
		blob->ops->free(blob);
	ident_free(id);
	return status;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts;
	struct cli cli = { NULL, NULL, NULL };
	struct config cfg;
	int status = EXIT_USAGE;

	/* File content larger than this is mapped on its own and given back
	 * to the system when freed; a fixed threshold also stops glibc from
	 * raising it after the first large free, which kept memory after
	 * large files were closed. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	memset(&opts, 0, sizeof(opts));
	memset(&cfg, 0, sizeof(cfg));
	if (fuse_parse_cmdline(&args, &opts) != 0)
		goto out;
	if (opts.show_help) {
		usage(argv[0]);
		status = 0;
		goto out;
	}
	if (opts.show_version) {
		printf("llmunixfs %s (libfuse %s)\n", LLMUNIX_VERSION,
		       fuse_pkgversion());
		status = 0;
		goto out;
	}
	if (fuse_opt_parse(&args, &cli, cli_opts, NULL) != 0)
		goto out;
	if (check_mountpoint(opts.mountpoint) || load_config(&cfg, &cli))
		goto out;
	/* Defaults first, so that the user's own -o options win. */
	if (fuse_opt_insert_arg(&args, 1,
				"-ofsname=llmunixfs,subtype=llmunix") ||
	    (geteuid() == 0 && fuse_opt_add_arg(&args, "-oallow_other")))
		goto out;
	status = serve(&args, &opts, &cfg);
out:
	config_release(&cfg);
	free(cli.state);
	free(cli.config);
	free(cli.system_skills);
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	return status;
}
