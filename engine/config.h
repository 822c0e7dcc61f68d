/* config.h — kobled's configuration: built-in defaults, overridden by the
 * config file (JSON), overridden by command-line flags (DESIGN.md
 * "Running"). The config file is JSON because Jansson is already here and
 * later settings (tokens with roles and scopes) are structured; unknown keys
 * are errors, so a typo never silently falls back to a default. */
#ifndef KB_CONFIG_H
#define KB_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define KB_CONFIG_HELP 1 /* kb_config_parse_args: --help was given */

typedef enum kb_fsync { KB_FSYNC_ALWAYS, KB_FSYNC_EVERYSEC, KB_FSYNC_NO } kb_fsync_t;

typedef struct kb_config {
    char listen_host[64];
    int listen_port;
    char data_dir[PATH_MAX];
    bool redis_enabled;
    char redis_host[256];
    int redis_port;
    char redis_prefix[64];
    char redis_user[64];      /* ACL user for AUTH; "" for the default user */
    char redis_password[256]; /* "" for no AUTH; never logged */
    int redis_db;             /* SELECT */
    long redis_maxlen;        /* XADD MAXLEN ~ per stream; 0: unbounded */
    kb_fsync_t fsync;
    uint64_t snapshot_bytes; /* journal size that starts a snapshot; 0: only at shutdown */
    double weights[6];       /* skills, distance, availability, age, experience, load */
    size_t max_header_bytes, max_body_bytes;
    unsigned max_connections, idle_timeout_ms, max_pipeline;
    int max_json_depth;
    double rate_per_token, rate_burst; /* requests/s and bucket size; rate 0: unlimited */
    bool allow_open_network;           /* without tokens, listen beyond loopback anyway */
    char log_level[8];
    char config_path[PATH_MAX]; /* the file given with --config, "" if none; its
                                   "tokens" list is read by auth.c, at start and on SIGHUP */
} kb_config_t;

void kb_config_default(kb_config_t *c);
/* Loads a JSON config file over c. KB_EINVAL with err filled on any
 * problem (the file is named in err). */
int kb_config_load_file(kb_config_t *c, const char *path, char *err, size_t errlen);
/* Applies argv: --config first (wherever it stands), then the other flags.
 * Returns 0, KB_CONFIG_HELP, or KB_EINVAL with err filled. */
int kb_config_parse_args(kb_config_t *c, int argc, char **argv, char *err, size_t errlen);
/* "HOST:PORT" or "[V6]:PORT" into host and port. */
int kb_config_parse_hostport(const char *s, char *host, size_t hostlen, int *port);
const char *kb_config_usage(void);

#endif
