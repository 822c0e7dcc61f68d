/* test_config.c — defaults, the JSON config file and flags, in that order
 * of precedence, and clear errors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "koble/error.h"

static char path[] = "/tmp/koble-config-XXXXXX";

static void write_config(const char *text) {
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void cleanup(void) { unlink(path); }

Test(config, defaults_follow_the_design) {
    kb_config_t c;
    kb_config_default(&c);
    cr_assert_str_eq(c.listen_host, "127.0.0.1");
    cr_assert_eq(c.listen_port, 8080);
    cr_assert_str_eq(c.data_dir, "./var");
    cr_assert(c.redis_enabled);
    cr_assert_eq(c.redis_port, 6379);
    cr_assert_eq(c.fsync, KB_FSYNC_ALWAYS);
    cr_assert_eq(c.weights[0], 3);
    cr_assert_eq(c.weights[5], 1);
    cr_assert_eq(c.max_body_bytes, 1048576);
}

Test(config, flags_override_the_file, .fini = cleanup) {
    write_config("{\"listen\":\"0.0.0.0:9000\",\"data_dir\":\"/srv/koble\",\"fsync\":\"everysec\","
                 "\"weights\":{\"skills\":5},\"limits\":{\"max_body_bytes\":2048}}");
    kb_config_t c;
    kb_config_default(&c);
    char err[256] = "";
    char *argv[] = {"kobled", "--listen",     "[::1]:7000", "--config",
                    path,     "--redis=none", "--fsync",    "no"};
    cr_assert_eq(kb_config_parse_args(&c, 8, argv, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(c.listen_host, "::1");
    cr_assert_eq(c.listen_port, 7000);
    cr_assert_str_eq(c.data_dir, "/srv/koble", "the file's value stays when no flag overrides it");
    cr_assert_eq(c.fsync, KB_FSYNC_NO);
    cr_assert(!c.redis_enabled);
    cr_assert_eq(c.weights[0], 5);
    cr_assert_eq(c.weights[1], 2);
    cr_assert_eq(c.max_body_bytes, 2048);
}

Test(config, errors_name_the_setting, .fini = cleanup) {
    write_config("{\"weights\":{\"skils\":5}}");
    kb_config_t c;
    kb_config_default(&c);
    char err[256] = "";
    cr_assert_eq(kb_config_load_file(&c, path, err, sizeof err), KB_EINVAL);
    cr_assert(strstr(err, "weights.skils"), "%s", err);
    char *bad_port[] = {"kobled", "--listen", "127.0.0.1:99999"};
    cr_assert_eq(kb_config_parse_args(&c, 3, bad_port, err, sizeof err), KB_EINVAL);
    cr_assert(strstr(err, "--listen"), "%s", err);
    char *unknown[] = {"kobled", "--colour", "red"};
    cr_assert_eq(kb_config_parse_args(&c, 3, unknown, err, sizeof err), KB_EINVAL);
    cr_assert(strstr(err, "colour"), "%s", err);
    char *help[] = {"kobled", "--help"};
    cr_assert_eq(kb_config_parse_args(&c, 2, help, err, sizeof err), KB_CONFIG_HELP);
    char *missing[] = {"kobled", "--data-dir"};
    cr_assert_eq(kb_config_parse_args(&c, 2, missing, err, sizeof err), KB_EINVAL);
    cr_assert(strstr(err, "needs a value"), "%s", err);
    /* A typo as the last flag is a typo, not a missing value. */
    char *unknown_last[] = {"kobled", "--colour"};
    cr_assert_eq(kb_config_parse_args(&c, 2, unknown_last, err, sizeof err), KB_EINVAL);
    cr_assert(strstr(err, "unknown flag --colour"), "%s", err);
}

Test(config, zero_weights_are_refused, .fini = cleanup) {
    write_config("{\"weights\":{\"skills\":0,\"distance\":0,\"availability\":0,\"age\":0,"
                 "\"experience\":0,\"load\":0}}");
    kb_config_t c;
    kb_config_default(&c);
    char err[256];
    cr_assert_eq(kb_config_load_file(&c, path, err, sizeof err), KB_EINVAL);
}

Test(config, hostport) {
    char host[64];
    int port;
    cr_assert_eq(kb_config_parse_hostport("redis.local:6380", host, sizeof host, &port), 0);
    cr_assert_str_eq(host, "redis.local");
    cr_assert_eq(port, 6380);
    cr_assert_eq(kb_config_parse_hostport("[::1]:80", host, sizeof host, &port), 0);
    cr_assert_str_eq(host, "::1");
    cr_assert_eq(kb_config_parse_hostport("nocolon", host, sizeof host, &port), KB_EINVAL);
    cr_assert_eq(kb_config_parse_hostport(":80", host, sizeof host, &port), KB_EINVAL);
    cr_assert_eq(kb_config_parse_hostport("h:", host, sizeof host, &port), KB_EINVAL);
}

Test(config, security_settings, .fini = cleanup) {
    /* The tokens list belongs to auth.c: config only lets it through. */
    write_config("{\"tokens\":[],\"allow_open_network\":true,"
                 "\"limits\":{\"rate_per_token\":5,\"rate_burst\":7,\"max_pipeline\":8}}");
    kb_config_t c;
    kb_config_default(&c);
    cr_assert_eq(c.rate_per_token, 200);
    cr_assert_not(c.allow_open_network, "closed by default");
    char *argv[] = {"kobled", "--config", path, NULL};
    char err[256];
    cr_assert_eq(kb_config_parse_args(&c, 3, argv, err, sizeof err), 0, "%s", err);
    cr_assert(c.allow_open_network);
    cr_assert_eq(c.rate_per_token, 5);
    cr_assert_eq(c.rate_burst, 7);
    cr_assert_eq(c.max_pipeline, 8);
    cr_assert_str_eq(c.config_path, path, "kept for SIGHUP");
    char *off[] = {"kobled", "--config", path, "--allow-open-network=false", NULL};
    cr_assert_eq(kb_config_parse_args(&c, 4, off, err, sizeof err), 0, "%s", err);
    cr_assert_not(c.allow_open_network);
    kb_config_default(&c);
    char *on[] = {"kobled", "--allow-open-network", "--fsync", "no", NULL};
    cr_assert_eq(kb_config_parse_args(&c, 4, on, err, sizeof err), 0, "%s", err);
    cr_assert(c.allow_open_network, "a switch takes no value");
    cr_assert_eq(c.fsync, KB_FSYNC_NO);
}
