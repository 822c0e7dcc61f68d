/* redis-baseline.c — the Redis baselines of issue 5, on the data and needs
 * of match-bench.
 *
 * What a team would build on Redis instead of koble, measured the way
 * match-bench measures kobled's engine: one query at a time from one
 * client, queries/s and latency percentiles per set of needs. This program
 * starts its own redis-server on a free loopback port (no persistence),
 * pinned to one core while this client runs on another when the machine
 * has two, loads N generated volunteers (bench/gen.c, same seed, same
 * volunteers as match-bench) and stops the server at the end.
 *
 * Data in Redis: one geo set "vols" (GEOADD lon lat v-<n>) and one set per
 * volunteer "v:v-<n>:skills" with the volunteer's skills. Loading is
 * pipelined, a batch of volunteers per round trip.
 *
 * Needs: the central Copenhagen, central Odense and rural Lolland (Nakskov)
 * sets of match-bench, generated with the same numbers (match-bench stores
 * `queries` needs of all Denmark first, then queries/2 per town), so with
 * the same --seed and --queries both programs query the same needs.
 *
 *  1. GEOSEARCH: `GEOSEARCH vols FROMLONLAT lon lat BYRADIUS r km ASC
 *     COUNT 10`, r the need's max_distance_km. Distance only, what Redis
 *     alone gives. Without ANY, Redis gathers every point in range and
 *     sorts them before it keeps 10, so its cost follows the points in
 *     range, not the 10 returned.
 *  2. Lua: a script (SCRIPT LOAD once, then EVALSHA) that runs GEOSEARCH
 *     by radius WITHDIST without COUNT, keeps candidates that have every
 *     required skill (SISMEMBER per candidate and skill), scores them
 *     0.6 * (1 - d / r) + 0.4 * (wanted skills held / wanted skills) and
 *     returns the 10 best. Hard constraints kobled also checks (languages,
 *     ages, availability, capacity, the volunteer's own distance) are not
 *     in it: it does less than kobled, so it flatters Redis.
 *
 * Per town the table gives queries/s, latency percentiles, the points in
 * range of a query (the work GEOSEARCH does whatever COUNT says) and the
 * points kept: returned by GEOSEARCH (at most 10), with every required
 * skill for the script (those it scores).
 *
 * With --town NAME[,NAME...] only those towns are asked, with needs 1..--queries at its
 * centre (the needs of bench/compare.sh, which kobled and PostGIS get too),
 * one town after the other on the same loaded server,
 * and each baseline also prints one line for the comparison table:
 *   result system=redis-geosearch|redis-lua volunteers=N town=NAME rps=R p50_us=X p99_us=Y
 * --duration S stops a set of needs after S seconds even if queries remain
 * (Lua at 1M volunteers in Copenhagen takes about a second a query).
 *
 *   build/bench/redis-baseline [--volunteers N] [--queries N] [--town NAME,...]
 *                              [--duration S] [--seed S] [--towns FILE]
 */
#define _GNU_SOURCE /* sched_setaffinity and the CPU_* macros */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "gen.h"
#include "servers.h"
#include "timing.h"

#define GEO_KEY    "vols"
#define LOAD_BATCH 1000
#define TOP        10
#define MAX_SKILLS 4  /* gen.c: one required, at most two wanted */
#define MAX_TOWNS  16 /* --town A,B,... */

static pid_t redis_pid = -1;

static void stop_redis(void) {
    kb_bench_stop(redis_pid);
    redis_pid = -1;
}

/* Every error stops the benchmark; atexit(stop_redis) takes the server
 * down with it. */
static void die(const char *what, const char *detail) {
    fprintf(stderr, "redis-baseline: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

/* The first two CPUs this process may run on, or -1 each when it has
 * only one: the server goes on the first, this client on the second, so
 * neither steals the other's core. */
static void pick_cpus(int *server_cpu, int *client_cpu) {
    cpu_set_t set;
    *server_cpu = *client_cpu = -1;
    if (sched_getaffinity(0, sizeof set, &set) < 0) return;
    int found[2], n = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && n < 2; cpu++)
        if (CPU_ISSET(cpu, &set)) found[n++] = cpu;
    if (n < 2) return;
    *server_cpu = found[0];
    *client_cpu = found[1];
}

static redisContext *start_redis(int server_cpu) {
    int port = kb_bench_free_port();
    if (port < 0) die("no free port", NULL);
    redis_pid = kb_bench_start_redis(port, server_cpu);
    if (redis_pid < 0) die("redis-server did not start (is it installed?)", NULL);
    redisContext *c = redisConnect("127.0.0.1", port);
    if (!c || c->err) die("cannot connect to redis-server", c ? c->errstr : NULL);
    return c;
}

/* Reads one reply of a pipeline and stops on an error reply. */
static void expect_reply(redisContext *c) {
    redisReply *r = NULL;
    if (redisGetReply(c, (void **)&r) != REDIS_OK) die("connection", c->errstr);
    if (r->type == REDIS_REPLY_ERROR) die("load", r->str);
    freeReplyObject(r);
}

/* Appends GEOADD and SADD for volunteer n; returns the commands appended. */
static int append_volunteer(redisContext *c, const kb_gen_t *g, uint64_t n) {
    json_t *body = kb_gen_volunteer(g, n);
    if (!body) die("out of memory", NULL);
    json_t *loc = json_object_get(body, "location");
    char id[32], lon[32], lat[32], key[48];
    kb_gen_id(id, sizeof id, "v", n);
    snprintf(lon, sizeof lon, "%.5f", json_real_value(json_object_get(loc, "lon")));
    snprintf(lat, sizeof lat, "%.5f", json_real_value(json_object_get(loc, "lat")));
    const char *geo[] = {"GEOADD", GEO_KEY, lon, lat, id};
    redisAppendCommandArgv(c, 5, geo, NULL);

    json_t *skills = json_object_get(body, "skills");
    snprintf(key, sizeof key, "v:%s:skills", id);
    const char *sadd[2 + 8] = {"SADD", key};
    int argc = 2;
    for (size_t i = 0; i < json_array_size(skills) && argc < 10; i++)
        sadd[argc++] = json_string_value(json_array_get(skills, i));
    int appended = 1;
    if (argc > 2) {
        redisAppendCommandArgv(c, argc, sadd, NULL);
        appended++;
    }
    json_decref(body);
    return appended;
}

static void load(redisContext *c, const kb_gen_t *g, uint32_t volunteers) {
    for (uint32_t first = 1; first <= volunteers; first += LOAD_BATCH) {
        int pending = 0;
        for (uint32_t n = first; n < first + LOAD_BATCH && n <= volunteers; n++)
            pending += append_volunteer(c, g, n);
        while (pending-- > 0) expect_reply(c);
    }
}

/* What a query needs, extracted before timing starts. */
typedef struct need {
    char lon[32], lat[32], radius[16];
    int required_n, wanted_n;
    const char *required[MAX_SKILLS], *wanted[MAX_SKILLS];
    json_t *body; /* owns the skill strings above */
} need_t;

static int copy_skills(json_t *list, const char **out) {
    int n = 0;
    for (size_t i = 0; i < json_array_size(list) && n < MAX_SKILLS; i++)
        out[n++] = json_string_value(json_array_get(list, i));
    return n;
}

/* Need base+i of the town, as match-bench makes it (KB_GEN_AT_CENTRE). */
static need_t *make_needs(const kb_gen_t *g, int count, uint64_t base, int town) {
    need_t *needs = calloc((size_t)count, sizeof *needs);
    if (!needs) die("out of memory", NULL);
    for (int i = 0; i < count; i++) {
        need_t *nd = &needs[i];
        nd->body = kb_gen_need_at(g, base + (uint64_t)i, town, KB_GEN_NEED_ANY, KB_GEN_AT_CENTRE);
        if (!nd->body) die("out of memory", NULL);
        json_t *loc = json_object_get(nd->body, "location");
        snprintf(nd->lon, sizeof nd->lon, "%.5f", json_real_value(json_object_get(loc, "lon")));
        snprintf(nd->lat, sizeof nd->lat, "%.5f", json_real_value(json_object_get(loc, "lat")));
        snprintf(nd->radius, sizeof nd->radius, "%lld",
                 (long long)json_integer_value(json_object_get(nd->body, "max_distance_km")));
        nd->required_n = copy_skills(json_object_get(nd->body, "skills_required"), nd->required);
        nd->wanted_n = copy_skills(json_object_get(nd->body, "skills_wanted"), nd->wanted);
    }
    return needs;
}

static void free_needs(need_t *needs, int count) {
    for (int i = 0; i < count; i++) json_decref(needs[i].body);
    free(needs);
}

typedef struct stats {
    double qps, p50, p99, max, in_range, kept;
} stats_t;

static double max_seconds = 1e9; /* --duration */

static stats_t summarise(double *lat, int n, double total_s) {
    kb_bench_sort(lat, (size_t)n);
    stats_t s = {n / total_s, lat[n / 2], lat[(int)(n * 0.99)], lat[n - 1], 0, 0};
    return s;
}

static redisReply *must_reply(redisContext *c, redisReply *r) {
    if (!r) die("connection", c->errstr);
    if (r->type == REDIS_REPLY_ERROR) die("query", r->str);
    return r;
}

static stats_t run_geosearch(redisContext *c, const need_t *needs, int count) {
    double *lat = malloc((size_t)count * sizeof *lat), returned = 0;
    if (!lat) die("out of memory", NULL);
    double t0 = kb_bench_now();
    int i = 0;
    for (; i < count && kb_bench_now() - t0 < max_seconds; i++) {
        const need_t *nd = &needs[i];
        const char *argv[] = {"GEOSEARCH", GEO_KEY, "FROMLONLAT", nd->lon, nd->lat, "BYRADIUS",
                              nd->radius,  "km",    "ASC",        "COUNT", "10"};
        double s = kb_bench_now();
        redisReply *r = must_reply(c, redisCommandArgv(c, 11, argv, NULL));
        lat[i] = kb_bench_now() - s;
        returned += (double)r->elements;
        freeReplyObject(r);
    }
    stats_t st = summarise(lat, i, kb_bench_now() - t0);
    st.kept = returned / i;
    free(lat);
    return st;
}

/* KEYS[1] the geo set; ARGV: lon, lat, radius km, number of required
 * skills, the required skills, number of wanted skills, the wanted skills.
 * Returns points in range, candidates with every required skill, then up
 * to 10 pairs of id and score (a string: Redis would truncate a Lua number
 * to an integer), best first. The top 10 is kept by insertion into a
 * sorted array of 10, not by sorting every candidate. */
static const char lua_match[] =
    "local hits = redis.call('GEOSEARCH', KEYS[1], 'FROMLONLAT', ARGV[1], ARGV[2],\n"
    "                        'BYRADIUS', ARGV[3], 'km', 'WITHDIST')\n"
    "local radius = tonumber(ARGV[3])\n"
    "local nreq = tonumber(ARGV[4])\n"
    "local req = {}\n"
    "for i = 1, nreq do req[i] = ARGV[4 + i] end\n"
    "local nwant = tonumber(ARGV[5 + nreq])\n"
    "local want = {}\n"
    "for i = 1, nwant do want[i] = ARGV[5 + nreq + i] end\n"
    "local top_id, top_score, ntop, passed = {}, {}, 0, 0\n"
    "for _, hit in ipairs(hits) do\n"
    "  local key = 'v:' .. hit[1] .. ':skills'\n"
    "  local ok = true\n"
    "  for i = 1, nreq do\n"
    "    if redis.call('SISMEMBER', key, req[i]) == 0 then ok = false break end\n"
    "  end\n"
    "  if ok then\n"
    "    passed = passed + 1\n"
    "    local score = 0.6 * (1 - tonumber(hit[2]) / radius)\n"
    "    if nwant > 0 then\n"
    "      local held = 0\n"
    "      for i = 1, nwant do held = held + redis.call('SISMEMBER', key, want[i]) end\n"
    "      score = score + 0.4 * held / nwant\n"
    "    else\n"
    "      score = score + 0.4\n"
    "    end\n"
    "    if ntop < 10 or score > top_score[ntop] then\n"
    "      if ntop < 10 then ntop = ntop + 1 end\n"
    "      local j = ntop\n"
    "      while j > 1 and top_score[j - 1] < score do\n"
    "        top_score[j] = top_score[j - 1]\n"
    "        top_id[j] = top_id[j - 1]\n"
    "        j = j - 1\n"
    "      end\n"
    "      top_score[j] = score\n"
    "      top_id[j] = hit[1]\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local out = {#hits, passed}\n"
    "for i = 1, ntop do\n"
    "  out[#out + 1] = top_id[i]\n"
    "  out[#out + 1] = string.format('%.4f', top_score[i])\n"
    "end\n"
    "return out\n";

static stats_t run_lua(redisContext *c, const char *sha, const need_t *needs, int count) {
    double *lat = malloc((size_t)count * sizeof *lat), in_range = 0, kept = 0;
    if (!lat) die("out of memory", NULL);
    double t0 = kb_bench_now();
    int i = 0;
    for (; i < count && kb_bench_now() - t0 < max_seconds; i++) {
        const need_t *nd = &needs[i];
        char nreq[8], nwant[8];
        snprintf(nreq, sizeof nreq, "%d", nd->required_n);
        snprintf(nwant, sizeof nwant, "%d", nd->wanted_n);
        const char *argv[8 + 2 * MAX_SKILLS] = {"EVALSHA", sha,     "1",        GEO_KEY,
                                                nd->lon,   nd->lat, nd->radius, nreq};
        int argc = 8;
        for (int k = 0; k < nd->required_n; k++) argv[argc++] = nd->required[k];
        argv[argc++] = nwant;
        for (int k = 0; k < nd->wanted_n; k++) argv[argc++] = nd->wanted[k];
        double s = kb_bench_now();
        redisReply *r = must_reply(c, redisCommandArgv(c, argc, argv, NULL));
        lat[i] = kb_bench_now() - s;
        if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) die("query", "unexpected reply");
        in_range += (double)r->element[0]->integer;
        kept += (double)r->element[1]->integer;
        freeReplyObject(r);
    }
    stats_t st = summarise(lat, i, kb_bench_now() - t0);
    st.in_range = in_range / i;
    st.kept = kept / i;
    free(lat);
    return st;
}

static void print_row(const char *how, const stats_t *s) {
    /* Three significant digits at least: a few queries/s is a real figure here. */
    int digits = s->qps < 10 ? 2 : s->qps < 100 ? 1 : 0;
    printf("  %-24s %10.*f %9.0f %9.0f %9.0f %9.0f %9.0f\n", how, digits, s->qps, s->p50 * 1e6,
           s->p99 * 1e6, s->max * 1e6, s->in_range, s->kept);
}

/* The line bench/compare.sh collects into its table. */
static void print_result(const char *system, uint32_t volunteers, const char *town,
                         const stats_t *s) {
    printf("result system=%s volunteers=%u town=%s rps=%.2f p50_us=%.0f p99_us=%.0f\n", system,
           volunteers, town, s->qps, s->p50 * 1e6, s->p99 * 1e6);
}

static double used_memory_mb(redisContext *c) {
    redisReply *r = must_reply(c, redisCommand(c, "INFO memory"));
    const char *p = r->type == REDIS_REPLY_STRING ? strstr(r->str, "used_memory:") : NULL;
    double mb = p ? strtod(p + strlen("used_memory:"), NULL) / 1048576.0 : 0;
    freeReplyObject(r);
    return mb;
}

int main(int argc, char **argv) {
    const char *towns_path = "bench/data/dk_towns.tsv", *only_town = NULL;
    uint32_t volunteers = 100000;
    int queries = 400;
    uint64_t seed = 42;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--volunteers") && i + 1 < argc)
            volunteers = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--queries") && i + 1 < argc) queries = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--towns") && i + 1 < argc) towns_path = argv[++i];
        else if (!strcmp(argv[i], "--town") && i + 1 < argc) only_town = argv[++i];
        else if (!strcmp(argv[i], "--duration") && i + 1 < argc) max_seconds = atof(argv[++i]);
        else {
            fprintf(stderr,
                    "usage: redis-baseline [--volunteers N] [--queries N] [--town NAME,...] "
                    "[--duration S] [--seed S] [--towns FILE]\n");
            return 2;
        }
    }
    if (queries < 10) queries = 10;
    if (max_seconds <= 0) max_seconds = 1e9;
    kb_gen_towns_t *towns;
    if (kb_gen_towns_load(towns_path, &towns) < 0) die("cannot read", towns_path);
    kb_gen_t g;
    kb_gen_init(&g, towns, seed);

    int server_cpu, client_cpu;
    pick_cpus(&server_cpu, &client_cpu);
    atexit(stop_redis);
    redisContext *c = start_redis(server_cpu);
    kb_bench_pin(client_cpu);
    redisReply *ver = must_reply(c, redisCommand(c, "INFO server"));
    const char *v = ver->type == REDIS_REPLY_STRING ? strstr(ver->str, "redis_version:") : NULL;
    char version[32] = "?";
    if (v) sscanf(v, "redis_version:%31[^\r\n]", version);
    freeReplyObject(ver);
    printf("koble Redis baselines: redis-server %s on loopback, seed %llu, %d queries per town, "
           "one at a time\n",
           version, (unsigned long long)seed, only_town ? queries : queries / 2);
    if (server_cpu >= 0)
        printf("redis-server pinned to CPU %d, this client to CPU %d\n", server_cpu, client_cpu);
    else printf("one CPU: redis-server and this client share it\n");

    double t0 = kb_bench_now();
    load(c, &g, volunteers);
    double load_s = kb_bench_now() - t0;
    printf("\n%u volunteers: loaded in %.2f s (%.0f/s, pipelined GEOADD + SADD), redis "
           "used_memory %.0f MiB\n",
           volunteers, load_s, volunteers / load_s, used_memory_mb(c));

    redisReply *loaded = must_reply(c, redisCommand(c, "SCRIPT LOAD %s", lua_match));
    char sha[48];
    snprintf(sha, sizeof sha, "%s", loaded->str);
    freeReplyObject(loaded);

    struct {
        const char *name, *town;
    } sets[MAX_TOWNS] = {
        {"central Copenhagen", "Copenhagen"},
        {"central Odense", "Odense"},
        {"rural Lolland", "Nakskov"},
    };
    /* match-bench numbers its needs from 1: `queries` of all Denmark, then
     * queries/2 per town in this order. */
    int per_town = queries / 2, nsets = 3;
    uint64_t base = 1 + (uint64_t)queries;
    char *list = only_town ? strdup(only_town) : NULL, *save = NULL;
    if (only_town) { /* the comparison's needs: 1..queries at the centre of each town */
        if (!list) die("out of memory", NULL);
        nsets = 0;
        for (char *t = strtok_r(list, ",", &save); t && nsets < MAX_TOWNS;
             t = strtok_r(NULL, ",", &save))
            sets[nsets].name = sets[nsets].town = t, nsets++;
        per_town = queries;
    }
    for (int s = 0; s < nsets; s++) {
        int town = kb_gen_town_find(towns, sets[s].town);
        if (town < 0) die("town not in the table", sets[s].town);
        if (only_town) base = 1;
        need_t *needs = make_needs(&g, per_town, base, town);
        base += (uint64_t)per_town;
        stats_t lua = run_lua(c, sha, needs, per_town);
        stats_t geo = run_geosearch(c, needs, per_town);
        /* GEOSEARCH's points in range are those the Lua script counted. */
        geo.in_range = lua.in_range;
        printf("\n%s (%d needs at the centre, radius 10-30 km)\n", sets[s].name, per_town);
        printf("  %-24s %10s %9s %9s %9s %9s %9s\n", "baseline", "queries/s", "p50 us", "p99 us",
               "max us", "in range", "kept");
        print_row("GEOSEARCH ASC COUNT 10", &geo);
        print_row("Lua filter + score", &lua);
        if (only_town) {
            print_result("redis-geosearch", volunteers, sets[s].town, &geo);
            print_result("redis-lua", volunteers, sets[s].town, &lua);
        }
        free_needs(needs, per_town);
    }
    free(list);

    redisFree(c);
    stop_redis();
    kb_gen_towns_free(towns);
    return 0;
}
