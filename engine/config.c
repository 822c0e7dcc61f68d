/* config.c — see config.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "koble/error.h"
#include "log.h"

static const char *const weight_names[6] = {"skills", "distance",   "availability",
                                            "age",    "experience", "load"};

void kb_config_default(kb_config_t *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->listen_host, sizeof c->listen_host, "127.0.0.1");
    c->listen_port = 8080;
    snprintf(c->data_dir, sizeof c->data_dir, "./var");
    c->redis_enabled = true;
    snprintf(c->redis_host, sizeof c->redis_host, "127.0.0.1");
    c->redis_port = 6379;
    snprintf(c->redis_prefix, sizeof c->redis_prefix, "koble:");
    c->redis_maxlen = 1000000;
    c->fsync = KB_FSYNC_ALWAYS;
    c->snapshot_bytes = 64u << 20;
    const double w[6] = {3, 2, 2, 1, 1, 1};
    memcpy(c->weights, w, sizeof w);
    c->max_header_bytes = 8192;
    c->max_body_bytes = 1 << 20;
    c->max_connections = 1024;
    c->idle_timeout_ms = 30000;
    c->max_pipeline = 64;
    c->max_json_depth = 16;
    /* A person at a screen makes a few requests a second; an organisation
     * importing its volunteers a few hundred. */
    c->rate_per_token = 200;
    c->rate_burst = 2000;
    snprintf(c->log_level, sizeof c->log_level, "info");
}

static int fail(char *err, size_t errlen, const char *fmt, const char *a, const char *b) {
    snprintf(err, errlen, fmt, a, b);
    return KB_EINVAL;
}

int kb_config_parse_hostport(const char *s, char *host, size_t hostlen, int *port) {
    const char *colon;
    size_t hlen;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':') return KB_EINVAL;
        hlen = (size_t)(end - s - 1);
        s++;
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon) return KB_EINVAL;
        hlen = (size_t)(colon - s);
    }
    char *rest;
    long p = strtol(colon + 1, &rest, 10);
    if (hlen == 0 || hlen >= hostlen || !colon[1] || *rest || p < 0 || p > 65535) return KB_EINVAL;
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    return 0;
}

static int set_fsync(kb_config_t *c, const char *v) {
    if (!strcmp(v, "always")) c->fsync = KB_FSYNC_ALWAYS;
    else if (!strcmp(v, "everysec")) c->fsync = KB_FSYNC_EVERYSEC;
    else if (!strcmp(v, "no")) c->fsync = KB_FSYNC_NO;
    else return KB_EINVAL;
    return 0;
}

static int set_redis(kb_config_t *c, const char *v) {
    if (!strcmp(v, "none")) {
        c->redis_enabled = false;
        return 0;
    }
    c->redis_enabled = true;
    return kb_config_parse_hostport(v, c->redis_host, sizeof c->redis_host, &c->redis_port);
}

static int set_string(char *dst, size_t cap, const char *v) {
    if (!*v || strlen(v) >= cap) return KB_EINVAL;
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

/* One setting by name, from a string (flags) — the file's strings go
 * through here too, so both speak the same language. */
static int set_option(kb_config_t *c, const char *name, const char *v) {
    if (!strcmp(name, "listen"))
        return kb_config_parse_hostport(v, c->listen_host, sizeof c->listen_host, &c->listen_port);
    if (!strcmp(name, "data_dir")) return set_string(c->data_dir, sizeof c->data_dir, v);
    if (!strcmp(name, "redis")) return set_redis(c, v);
    if (!strcmp(name, "redis_prefix"))
        return set_string(c->redis_prefix, sizeof c->redis_prefix, v);
    if (!strcmp(name, "redis_user")) return set_string(c->redis_user, sizeof c->redis_user, v);
    if (!strcmp(name, "redis_password"))
        return set_string(c->redis_password, sizeof c->redis_password, v);
    if (!strcmp(name, "redis_db") || !strcmp(name, "redis_maxlen")) {
        char *end;
        long n = strtol(v, &end, 10);
        bool db = name[6] == 'd';
        if (!*v || *end || n < 0 || (db && n > 65535) || (!db && n > 1000000000)) return KB_EINVAL;
        if (db) c->redis_db = (int)n;
        else c->redis_maxlen = n;
        return 0;
    }
    if (!strcmp(name, "fsync")) return set_fsync(c, v);
    if (!strcmp(name, "snapshot_bytes")) {
        char *end;
        unsigned long long n = strtoull(v, &end, 10);
        if (!*v || *end || *v == '-' || n > (1ull << 40)) return KB_EINVAL;
        c->snapshot_bytes = n;
        return 0;
    }
    if (!strcmp(name, "allow_open_network")) {
        if (!strcmp(v, "true")) c->allow_open_network = true;
        else if (!strcmp(v, "false")) c->allow_open_network = false;
        else return KB_EINVAL;
        return 0;
    }
    if (!strcmp(name, "log_level"))
        return kb_log_level_parse(v) < 0 ? KB_EINVAL
                                         : set_string(c->log_level, sizeof c->log_level, v);
    return KB_ENOTFOUND;
}

static int load_number(json_t *v, double lo, double hi, double *out) {
    if (!json_is_number(v)) return KB_EINVAL;
    double d = json_number_value(v);
    if (!(d >= lo && d <= hi)) return KB_EINVAL;
    *out = d;
    return 0;
}

int kb_config_load_file(kb_config_t *c, const char *path, char *err, size_t errlen) {
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        snprintf(err, errlen, "%s:%d:%d: %s", path, je.line, je.column, je.text);
        return KB_EINVAL;
    }
    int rc = 0;
    const char *key;
    json_t *v;
    char field[96];
    if (!json_is_object(root)) {
        rc = fail(err, errlen, "%s: the configuration must be a JSON object%s", path, "");
        goto done;
    }
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "tokens")) continue; /* auth.c reads and checks them */
        if (json_is_boolean(v) && !strcmp(key, "allow_open_network")) {
            c->allow_open_network = json_is_true(v);
            continue;
        }
        if (!strcmp(key, "weights") || !strcmp(key, "limits")) {
            bool weights = key[0] == 'w';
            const char *k2;
            json_t *v2;
            if (!json_is_object(v)) {
                rc = fail(err, errlen, "%s: %s: must be an object", path, key);
                goto done;
            }
            json_object_foreach(v, k2, v2) {
                snprintf(field, sizeof field, "%s.%s", key, k2);
                double d = 0;
                int i = 0;
                if (weights) {
                    while (i < 6 && strcmp(k2, weight_names[i])) i++;
                    if (i == 6 || load_number(v2, 0, 1000, &d) < 0) {
                        rc = fail(err, errlen,
                                  "%s: %s: must be one of the six weights, a number 0..1000", path,
                                  field);
                        goto done;
                    }
                    c->weights[i] = d;
                    continue;
                }
                static const struct {
                    const char *name;
                    double lo, hi;
                } lim[] = {{"max_header_bytes", 1024, 1 << 20}, {"max_body_bytes", 1024, 64 << 20},
                           {"max_connections", 1, 1 << 20},     {"idle_timeout_ms", 100, 3600000},
                           {"max_json_depth", 2, 64},           {"max_pipeline", 1, 1024},
                           {"rate_per_token", 0, 1e6},          {"rate_burst", 1, 1e7}};
                const int nlim = (int)(sizeof lim / sizeof lim[0]);
                while (i < nlim && strcmp(k2, lim[i].name)) i++;
                if (i == nlim || !json_is_integer(v2) ||
                    load_number(v2, lim[i].lo, lim[i].hi, &d) < 0) {
                    rc = fail(err, errlen, "%s: %s: unknown limit or out of range", path, field);
                    goto done;
                }
                if (i == 0) c->max_header_bytes = (size_t)d;
                else if (i == 1) c->max_body_bytes = (size_t)d;
                else if (i == 2) c->max_connections = (unsigned)d;
                else if (i == 3) c->idle_timeout_ms = (unsigned)d;
                else if (i == 4) c->max_json_depth = (int)d;
                else if (i == 5) c->max_pipeline = (unsigned)d;
                else if (i == 6) c->rate_per_token = d;
                else c->rate_burst = d;
            }
            continue;
        }
        /* Settings are strings; a number is taken as its decimal text. */
        char num[32];
        const char *s = json_string_value(v);
        if (json_is_integer(v)) {
            snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            s = num;
        }
        int r = s ? set_option(c, key, s) : KB_EINVAL;
        if (r == KB_ENOTFOUND) {
            rc = fail(err, errlen, "%s: %s: unknown setting", path, key);
            goto done;
        }
        if (r < 0) {
            rc = fail(err, errlen, "%s: %s: invalid value", path, key);
            goto done;
        }
    }
    double sum = 0;
    for (int i = 0; i < 6; i++) sum += c->weights[i];
    if (!(sum > 0)) rc = fail(err, errlen, "%s: weights: at least one must be above 0%s", path, "");
done:
    json_decref(root);
    return rc;
}

int kb_config_parse_args(kb_config_t *c, int argc, char **argv, char *err, size_t errlen) {
    /* The file first, so every other flag overrides it. */
    for (int i = 1; i < argc && argv[i]; i++) {
        const char *a = argv[i];
        const char *file = !strncmp(a, "--config=", 9)                ? a + 9
                           : (!strcmp(a, "--config") && i + 1 < argc) ? argv[i + 1]
                                                                      : NULL;
        if (file) {
            int rc = kb_config_load_file(c, file, err, errlen);
            if (rc < 0) return rc;
            if (set_string(c->config_path, sizeof c->config_path, file) < 0)
                return fail(err, errlen, "--config: path too long%s%s", "", "");
        }
    }
    for (int i = 1; i < argc && argv[i]; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return KB_CONFIG_HELP;
        if (strncmp(a, "--", 2) != 0) return fail(err, errlen, "unexpected argument %s%s", a, "");
        char name[32];
        const char *eq = strchr(a, '='), *v;
        size_t nlen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (nlen >= sizeof name) return fail(err, errlen, "unknown flag %s%s", a, "");
        memcpy(name, a + 2, nlen);
        name[nlen] = '\0';
        for (char *p = name; *p; p++)
            if (*p == '-') *p = '_';
        if (eq) v = eq + 1;
        else if (!strcmp(name, "allow_open_network")) v = "true"; /* a switch */
        else if (i + 1 < argc) v = argv[++i];
        else if (set_option(c, name, "") == KB_ENOTFOUND)
            return fail(err, errlen, "unknown flag %s%s", a, "");
        else return fail(err, errlen, "%s needs a value%s", a, "");
        if (!strcmp(name, "config")) continue;
        int rc = set_option(c, name, v);
        if (rc == KB_ENOTFOUND) return fail(err, errlen, "unknown flag --%s%s", name, "");
        if (rc < 0) return fail(err, errlen, "invalid value for --%s: %s", name, v);
    }
    return 0;
}

const char *kb_config_usage(void) {
    return "usage: kobled [--config FILE] [--listen ADDR:PORT] [--data-dir DIR]\n"
           "              [--redis HOST:PORT | --redis none] [--fsync always|everysec|no]\n"
           "              [--snapshot-bytes N] [--log-level debug|info|warn|error]\n"
           "              [--allow-open-network]\n"
           "       kobled --hash-token [-]   print a new token and its hash (with -: hash the\n"
           "                                 token read from stdin)\n"
           "Flags override the config file (JSON), which overrides the defaults:\n"
           "listen 127.0.0.1:8080, data dir ./var, Redis 127.0.0.1:6379, fsync always.\n";
}
