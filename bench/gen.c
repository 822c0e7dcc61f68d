/* gen.c — reproducible synthetic volunteers, organisations, activities and
 * needs; see gen.h for the design.
 *
 * Everything random flows from entity_rng(): the generator seed, a per-type
 * tag and the entity number are mixed through splitmix64 into a fresh
 * xoshiro256** state. The tables below (organisation profiles, skills,
 * languages, activities, need profiles) carry the realism; their weights
 * are relative, not percentages. Changing a table changes the output of
 * every seed, so benchmark baselines must be regenerated after such an edit. */
#include "gen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "koble/error.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- PRNG: splitmix64 to seed, xoshiro256** to draw (Vigna, public domain) */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void kb_gen_rng_seed(kb_gen_rng_t *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t kb_gen_rng_next(kb_gen_rng_t *r) {
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double kb_gen_rng_uniform(kb_gen_rng_t *r) {
    return (double)(kb_gen_rng_next(r) >> 11) * 0x1.0p-53;
}

int kb_gen_rng_range(kb_gen_rng_t *r, int lo, int hi) {
    /* Modulo bias is below 2^-32 for the small spans used here. */
    uint64_t span = (uint64_t)((int64_t)hi - lo) + 1;
    return lo + (int)(kb_gen_rng_next(r) % span);
}

double kb_gen_rng_gauss(kb_gen_rng_t *r) {
    double u1 = 1.0 - kb_gen_rng_uniform(r); /* (0, 1]: log stays finite */
    double u2 = kb_gen_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static int chance(kb_gen_rng_t *r, double p) { return kb_gen_rng_uniform(r) < p; }

/* ---- Towns ---------------------------------------------------------------- */

/* Municipality of the towns that are (or belong to) a municipality seat.
 * Every other town takes the code of the nearest listed town in its region:
 * plausible, not cadastral, which is all a benchmark needs. The region
 * disambiguates names that occur twice (Frederiksberg is also a village
 * near Sorø). */
typedef struct seat {
    const char *town;
    int region;
    const char *code;
    const char *municipality;
    const char *slug;
} seat_t;

static const seat_t seats[] = {
    {"Copenhagen", 17, "0101", "København", "koebenhavn"},
    {"Christianshavn", 17, "0101", "København", "koebenhavn"},
    {"Vanløse", 17, "0101", "København", "koebenhavn"},
    {"Frederiksberg", 17, "0147", "Frederiksberg", "frederiksberg"},
    {"Ballerup", 17, "0151", "Ballerup", "ballerup"},
    {"Brøndbyvester", 17, "0153", "Brøndby", "broendby"},
    {"Dragør", 17, "0155", "Dragør", "dragoer"},
    {"Charlottenlund", 17, "0157", "Gentofte", "gentofte"},
    {"Buddinge", 17, "0159", "Gladsaxe", "gladsaxe"},
    {"Glostrup", 17, "0161", "Glostrup", "glostrup"},
    {"Herlev", 17, "0163", "Herlev", "herlev"},
    {"Albertslund", 17, "0165", "Albertslund", "albertslund"},
    {"Hvidovre", 17, "0167", "Hvidovre", "hvidovre"},
    {"Taastrup", 17, "0169", "Høje-Taastrup", "hoeje-taastrup"},
    {"Kongens Lyngby", 17, "0173", "Lyngby-Taarbæk", "lyngby-taarbaek"},
    {"Rødovre", 17, "0175", "Rødovre", "roedovre"},
    {"Ishøj", 17, "0183", "Ishøj", "ishoej"},
    {"Tårnby", 17, "0185", "Tårnby", "taarnby"},
    {"Vallensbæk", 17, "0187", "Vallensbæk", "vallensbaek"},
    {"Farum", 17, "0190", "Furesø", "furesoe"},
    {"Værløse", 17, "0190", "Furesø", "furesoe"},
    {"Lillerød", 17, "0201", "Allerød", "alleroed"},
    {"Fredensborg", 17, "0210", "Fredensborg", "fredensborg"},
    {"Helsingør", 17, "0217", "Helsingør", "helsingoer"},
    {"Hillerød", 17, "0219", "Hillerød", "hilleroed"},
    {"Hørsholm", 17, "0223", "Hørsholm", "hoersholm"},
    {"Holte", 17, "0230", "Rudersdal", "rudersdal"},
    {"Birkerød", 17, "0230", "Rudersdal", "rudersdal"},
    {"Stenløse", 17, "0240", "Egedal", "egedal"},
    {"Frederikssund", 17, "0250", "Frederikssund", "frederikssund"},
    {"Frederiksværk", 17, "0260", "Halsnæs", "halsnaes"},
    {"Helsinge", 17, "0270", "Gribskov", "gribskov"},
    {"Rønne", 17, "0400", "Bornholm", "bornholm"},
    {"Nexø", 17, "0400", "Bornholm", "bornholm"},
    {"Christiansø", 17, "0411", "Christiansø", "christiansoe"},
    {"Greve", 20, "0253", "Greve", "greve"},
    {"Køge", 20, "0259", "Køge", "koege"},
    {"Roskilde", 20, "0265", "Roskilde", "roskilde"},
    {"Solrød Strand", 20, "0269", "Solrød", "solroed"},
    {"Nykøbing Sjælland", 20, "0306", "Odsherred", "odsherred"},
    {"Holbæk", 20, "0316", "Holbæk", "holbaek"},
    {"Faxe", 20, "0320", "Faxe", "faxe"},
    {"Haslev", 20, "0320", "Faxe", "faxe"},
    {"Kalundborg", 20, "0326", "Kalundborg", "kalundborg"},
    {"Ringsted", 20, "0329", "Ringsted", "ringsted"},
    {"Slagelse", 20, "0330", "Slagelse", "slagelse"},
    {"Korsør", 20, "0330", "Slagelse", "slagelse"},
    {"Store Heddinge", 20, "0336", "Stevns", "stevns"},
    {"Sorø", 20, "0340", "Sorø", "soroe"},
    {"Lejre", 20, "0350", "Lejre", "lejre"},
    {"Maribo", 20, "0360", "Lolland", "lolland"},
    {"Nakskov", 20, "0360", "Lolland", "lolland"},
    {"Rødby", 20, "0360", "Lolland", "lolland"},
    {"Næstved", 20, "0370", "Næstved", "naestved"},
    {"Nykøbing Falster", 20, "0376", "Guldborgsund", "guldborgsund"},
    {"Sakskøbing", 20, "0376", "Guldborgsund", "guldborgsund"},
    {"Stubbekøbing", 20, "0376", "Guldborgsund", "guldborgsund"},
    {"Vordingborg", 20, "0390", "Vordingborg", "vordingborg"},
    {"Stege", 20, "0390", "Vordingborg", "vordingborg"},
    {"Middelfart", 21, "0410", "Middelfart", "middelfart"},
    {"Assens", 21, "0420", "Assens", "assens"},
    {"Faaborg", 21, "0430", "Faaborg-Midtfyn", "faaborg-midtfyn"},
    {"Ringe", 21, "0430", "Faaborg-Midtfyn", "faaborg-midtfyn"},
    {"Kerteminde", 21, "0440", "Kerteminde", "kerteminde"},
    {"Nyborg", 21, "0450", "Nyborg", "nyborg"},
    {"Odense", 21, "0461", "Odense", "odense"},
    {"Svendborg", 21, "0479", "Svendborg", "svendborg"},
    {"Bogense", 21, "0480", "Nordfyns", "nordfyns"},
    {"Otterup", 21, "0480", "Nordfyns", "nordfyns"},
    {"Rudkøbing", 21, "0482", "Langeland", "langeland"},
    {"Ærøskøbing", 21, "0492", "Ærø", "aeroe"},
    {"Marstal", 21, "0492", "Ærø", "aeroe"},
    {"Haderslev", 21, "0510", "Haderslev", "haderslev"},
    {"Grindsted", 21, "0530", "Billund", "billund"},
    {"Billund", 21, "0530", "Billund", "billund"},
    {"Sønderborg", 21, "0540", "Sønderborg", "soenderborg"},
    {"Nordborg", 21, "0540", "Sønderborg", "soenderborg"},
    {"Tønder", 21, "0550", "Tønder", "toender"},
    {"Esbjerg", 21, "0561", "Esbjerg", "esbjerg"},
    {"Ribe", 21, "0561", "Esbjerg", "esbjerg"},
    {"Nordby", 21, "0563", "Fanø", "fanoe"},
    {"Varde", 21, "0573", "Varde", "varde"},
    {"Vejen", 21, "0575", "Vejen", "vejen"},
    {"Aabenraa", 21, "0580", "Aabenraa", "aabenraa"},
    {"Fredericia", 21, "0607", "Fredericia", "fredericia"},
    {"Kolding", 21, "0621", "Kolding", "kolding"},
    {"Vejle", 21, "0630", "Vejle", "vejle"},
    {"Horsens", 18, "0615", "Horsens", "horsens"},
    {"Herning", 18, "0657", "Herning", "herning"},
    {"Holstebro", 18, "0661", "Holstebro", "holstebro"},
    {"Lemvig", 18, "0665", "Lemvig", "lemvig"},
    {"Struer", 18, "0671", "Struer", "struer"},
    {"Ebeltoft", 18, "0706", "Syddjurs", "syddjurs"},
    {"Grenaa", 18, "0707", "Norddjurs", "norddjurs"},
    {"Hinnerup", 18, "0710", "Favrskov", "favrskov"},
    {"Hadsten", 18, "0710", "Favrskov", "favrskov"},
    {"Odder", 18, "0727", "Odder", "odder"},
    {"Randers", 18, "0730", "Randers", "randers"},
    {"Silkeborg", 18, "0740", "Silkeborg", "silkeborg"},
    {"Tranebjerg", 18, "0741", "Samsø", "samsoe"},
    {"Skanderborg", 18, "0746", "Skanderborg", "skanderborg"},
    {"Århus", 18, "0751", "Aarhus", "aarhus"},
    {"Ikast", 18, "0756", "Ikast-Brande", "ikast-brande"},
    {"Brande", 18, "0756", "Ikast-Brande", "ikast-brande"},
    {"Ringkøbing", 18, "0760", "Ringkøbing-Skjern", "ringkoebing-skjern"},
    {"Skjern", 18, "0760", "Ringkøbing-Skjern", "ringkoebing-skjern"},
    {"Hedensted", 18, "0766", "Hedensted", "hedensted"},
    {"Skive", 18, "0779", "Skive", "skive"},
    {"Viborg", 18, "0791", "Viborg", "viborg"},
    {"Nykøbing Mors", 19, "0773", "Morsø", "morsoe"},
    {"Thisted", 19, "0787", "Thisted", "thisted"},
    {"Brønderslev", 19, "0810", "Brønderslev", "broenderslev"},
    {"Frederikshavn", 19, "0813", "Frederikshavn", "frederikshavn"},
    {"Skagen", 19, "0813", "Frederikshavn", "frederikshavn"},
    {"Sæby", 19, "0813", "Frederikshavn", "frederikshavn"},
    {"Aars", 19, "0820", "Vesthimmerlands", "vesthimmerlands"},
    {"Støvring", 19, "0840", "Rebild", "rebild"},
    {"Hobro", 19, "0846", "Mariagerfjord", "mariagerfjord"},
    {"Åbybro", 19, "0849", "Jammerbugt", "jammerbugt"},
    {"Aalborg", 19, "0851", "Aalborg", "aalborg"},
    {"Nørresundby", 19, "0851", "Aalborg", "aalborg"},
    {"Hjørring", 19, "0860", "Hjørring", "hjoerring"},
    {"Hirtshals", 19, "0860", "Hjørring", "hjoerring"},
};

/* ASCII id fragment of a UTF-8 Danish name: letters lowercased, æ ø å
 * spelt ae oe aa, anything else between words becomes one '-'. */
static void slugify(const char *name, char *out, size_t size) {
    size_t n = 0;
    int dash = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p && n + 3 < size; p++) {
        const char *rep = NULL;
        char one[2] = {0, 0};
        if (*p >= 'A' && *p <= 'Z') {
            one[0] = (char)(*p - 'A' + 'a');
            rep = one;
        } else if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')) {
            one[0] = (char)*p;
            rep = one;
        } else if (*p == 0xc3 && p[1]) {
            switch (p[1]) {
            case 0xa6:
            case 0x86: rep = "ae"; break; /* æ Æ */
            case 0xb8:
            case 0x98: rep = "oe"; break; /* ø Ø */
            case 0xa5:
            case 0x85: rep = "aa"; break; /* å Å */
            case 0xa9:
            case 0x89: rep = "e"; break; /* é É */
            case 0xb6:
            case 0x96: rep = "oe"; break; /* ö Ö */
            case 0xbc:
            case 0x9c: rep = "u"; break; /* ü Ü */
            default: break;
            }
            p++;
        }
        if (!rep) {
            dash = n > 0;
            continue;
        }
        if (dash) out[n++] = '-';
        dash = 0;
        for (; *rep && n + 1 < size; rep++) out[n++] = *rep;
    }
    out[n] = '\0';
}

static double km_between(double lat1, double lon1, double lat2, double lon2) {
    /* Equirectangular: exact enough to find the nearest seat within a region. */
    double x = (lon2 - lon1) * cos((lat1 + lat2) * 0.5 * M_PI / 180.0);
    double y = lat2 - lat1;
    return 111.32 * sqrt(x * x + y * y);
}

static void assign_municipalities(kb_gen_towns_t *t) {
    int seat_town[COUNT(seats)];
    for (size_t s = 0; s < COUNT(seats); s++) {
        seat_town[s] = -1;
        for (size_t i = 0; i < t->count; i++) {
            if (t->town[i].region == seats[s].region &&
                strcmp(t->town[i].name, seats[s].town) == 0) {
                seat_town[s] = (int)i;
                break;
            }
        }
    }
    for (size_t i = 0; i < t->count; i++) {
        kb_gen_town_t *town = &t->town[i];
        size_t best = 0;
        double best_km = INFINITY;
        for (size_t s = 0; s < COUNT(seats); s++) {
            if (seat_town[s] < 0) continue;
            if (seat_town[s] == (int)i) {
                best = s;
                break;
            }
            const kb_gen_town_t *st = &t->town[seat_town[s]];
            /* Another region's seat only when the region has none listed. */
            double km = km_between(town->lat, town->lon, st->lat, st->lon) +
                        (st->region == town->region ? 0.0 : 1e6);
            if (km < best_km) best_km = km, best = s;
        }
        memcpy(town->municipality, seats[best].code, 5);
        town->municipality_name = seats[best].municipality;
        town->municipality_slug = seats[best].slug;
    }
}

void kb_gen_towns_free(kb_gen_towns_t *t) {
    if (!t) return;
    for (size_t i = 0; i < t->count; i++) {
        free(t->town[i].name);
        free(t->town[i].slug);
    }
    free(t->town);
    free(t->cumulative);
    free(t);
}

/* Splits a TSV line in place into at most max fields; returns the count. */
static int split_tabs(char *line, char **field, int max) {
    int n = 0;
    char *p = line;
    while (n < max) {
        field[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab) break;
        *tab = '\0';
        p = tab + 1;
    }
    return n;
}

static int parse_town(char *line, kb_gen_town_t *town) {
    char *f[6];
    line[strcspn(line, "\r\n")] = '\0';
    if (split_tabs(line, f, 6) < 5 || !f[0][0]) return KB_ESYNTAX;
    char *end;
    town->lat = strtod(f[1], &end);
    if (*end || town->lat < -90 || town->lat > 90) return KB_ESYNTAX;
    town->lon = strtod(f[2], &end);
    if (*end || town->lon < -180 || town->lon > 180) return KB_ESYNTAX;
    long pop = strtol(f[3], &end, 10);
    if (*end || pop < 0 || pop > 100000000) return KB_ESYNTAX;
    town->population = (uint32_t)pop;
    town->region = (int)strtol(f[4], &end, 10);
    if (*end) return KB_ESYNTAX;
    char slug[128];
    slugify(f[0], slug, sizeof slug);
    town->name = strdup(f[0]);
    town->slug = strdup(slug);
    return town->name && town->slug ? 0 : KB_ENOMEM;
}

int kb_gen_towns_load(const char *path, kb_gen_towns_t **out) {
    int rc = KB_ENOMEM;
    char line[1024];
    size_t cap = 0;
    FILE *f = fopen(path, "r");
    if (!f) return KB_EIO;
    kb_gen_towns_t *t = calloc(1, sizeof *t);
    if (!t) goto fail;
    rc = KB_ESYNTAX;
    if (!fgets(line, sizeof line, f) || strncmp(line, "name\t", 5) != 0) goto fail;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '\n' || line[0] == '\0') continue;
        if (t->count == cap) {
            cap = cap ? cap * 2 : 512;
            kb_gen_town_t *grown = realloc(t->town, cap * sizeof *grown);
            rc = KB_ENOMEM;
            if (!grown) goto fail;
            t->town = grown;
        }
        kb_gen_town_t *town = &t->town[t->count];
        memset(town, 0, sizeof *town);
        t->count++; /* counted before parsing so a failure frees its strings */
        rc = parse_town(line, town);
        if (rc < 0) goto fail;
    }
    rc = ferror(f) ? KB_EIO : KB_ESYNTAX;
    if (ferror(f) || t->count == 0) goto fail;
    rc = KB_ENOMEM;
    t->cumulative = malloc(t->count * sizeof *t->cumulative);
    if (!t->cumulative) goto fail;
    for (size_t i = 0; i < t->count; i++) {
        t->total += t->town[i].population;
        t->cumulative[i] = t->total;
    }
    rc = KB_ESYNTAX;
    if (t->total <= 0) goto fail;
    assign_municipalities(t);
    fclose(f);
    *out = t;
    return 0;
fail:
    fclose(f);
    kb_gen_towns_free(t);
    return rc;
}

int kb_gen_town_find(const kb_gen_towns_t *t, const char *name) {
    for (size_t i = 0; i < t->count; i++)
        if (strcmp(t->town[i].name, name) == 0) return (int)i;
    return KB_ENOTFOUND;
}

int kb_gen_town_pick(const kb_gen_towns_t *t, kb_gen_rng_t *r) {
    double u = kb_gen_rng_uniform(r) * t->total;
    /* First town whose cumulative population exceeds u; towns of
     * population 0 have an empty interval and are never chosen. */
    size_t lo = 0, hi = t->count - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->cumulative[mid] > u) hi = mid;
        else lo = mid + 1;
    }
    return (int)lo;
}

double kb_gen_town_spread_km(const kb_gen_town_t *town) {
    double sigma = 0.6 * sqrt(town->population / 1000.0);
    if (sigma < 0.3) sigma = 0.3;   /* villages still have a few streets */
    if (sigma > 12.0) sigma = 12.0; /* Copenhagen: the whole capital area */
    return sigma;
}

static double round5(double x) { return floor(x * 1e5 + 0.5) / 1e5; }

static double clamp(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

void kb_gen_town_place(const kb_gen_towns_t *t, int town, kb_gen_rng_t *r, double *lat,
                       double *lon) {
    const kb_gen_town_t *c = &t->town[town];
    double sigma = kb_gen_town_spread_km(c);
    double dx, dy;
    /* Truncated at 2.5 sigma: a plain Gaussian would put the odd volunteer
     * 40 km out in the Kattegat. */
    do {
        dx = kb_gen_rng_gauss(r);
        dy = kb_gen_rng_gauss(r);
    } while (dx * dx + dy * dy > 6.25);
    double km_per_deg_lat = 111.32;
    double km_per_deg_lon = 111.32 * cos(c->lat * M_PI / 180.0);
    /* Denmark's bounding box, so no spread can leave the country's extent. */
    *lat = round5(clamp(c->lat + dy * sigma / km_per_deg_lat, 54.5, 57.8));
    *lon = round5(clamp(c->lon + dx * sigma / km_per_deg_lon, 8.0, 15.25));
}

/* ---- Entity streams --------------------------------------------------------- */

enum { TAG_VOLUNTEER = 1, TAG_ORGANISATION, TAG_ACTIVITY, TAG_NEED, TAG_NEED_AT };

void kb_gen_init(kb_gen_t *g, const kb_gen_towns_t *towns, uint64_t seed) {
    g->towns = towns;
    g->seed = seed;
}

static void entity_rng(const kb_gen_t *g, int tag, uint64_t n, uint64_t extra, kb_gen_rng_t *r) {
    uint64_t x = g->seed;
    uint64_t h = splitmix64(&x);
    h ^= (uint64_t)tag * 0xd6e8feb86659fd93ULL;
    x = h;
    h = splitmix64(&x) ^ n;
    x = h;
    h = splitmix64(&x) ^ extra;
    kb_gen_rng_seed(r, h);
}

int kb_gen_id(char *buf, size_t size, const char *prefix, uint64_t n) {
    return snprintf(buf, size, "%s-%llu", prefix, (unsigned long long)n);
}

/* The bytes json_dumpb(body, JSON_COMPACT | JSON_REAL_PRECISION(7)) gives,
 * three times faster: Jansson's dump spends most of its time on loop
 * detection (a "%p" key per container in a hash table), which trees built
 * here cannot need. Common values are written directly; anything unusual
 * (an escaped character, a real that is not a whole number of 1e-5) is
 * handed to Jansson itself, so the output stays Jansson's by construction.
 * tests/test_gen.c compares the two on thousands of entities. */
#define DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(7))

typedef struct writer {
    char *buf;
    size_t size, len; /* len counts all bytes, also those past size */
    int failed;
} writer_t;

static void emit(writer_t *w, const char *s, size_t n) {
    if (w->len + n <= w->size) memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void emit_jansson(writer_t *w, const json_t *v) {
    char tmp[512];
    size_t n = json_dumpb(v, tmp, sizeof tmp, DUMP_FLAGS | JSON_ENCODE_ANY);
    if (n == 0 || n > sizeof tmp) {
        w->failed = 1;
        return;
    }
    emit(w, tmp, n);
}

static void emit_string(writer_t *w, const char *s, size_t n, const json_t *v) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == '"' || c == '\\') {
            if (v) {
                emit_jansson(w, v);
            } else { /* an object key: escape it as a string value */
                json_t *key = json_stringn(s, n);
                if (key) emit_jansson(w, key);
                else w->failed = 1;
                json_decref(key);
            }
            return;
        }
    }
    emit(w, "\"", 1);
    emit(w, s, n);
    emit(w, "\"", 1);
}

static void emit_real(writer_t *w, const json_t *v) {
    double x = json_real_value(v);
    double scaled = x * 1e5;
    double ax = fabs(x);
    long long units = llround(scaled);
    /* %.7g of a whole number of 1e-5 in [1, 100) prints exactly those
     * 1e-5 units with trailing zeros dropped (one zero kept after the dot,
     * as Jansson makes every real contain a '.'). */
    if (!(ax >= 1.0 && ax < 100.0) || fabs(scaled - (double)units) > 1e-6) {
        emit_jansson(w, v);
        return;
    }
    char tmp[32];
    unsigned long long u = (unsigned long long)(units < 0 ? -units : units);
    int n =
        snprintf(tmp, sizeof tmp, "%s%llu.%05llu", units < 0 ? "-" : "", u / 100000, u % 100000);
    while (tmp[n - 1] == '0' && tmp[n - 2] != '.') n--;
    emit(w, tmp, (size_t)n);
}

static void emit_value(writer_t *w, const json_t *v) {
    char tmp[32];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *item;
        int first = 1;
        emit(w, "{", 1);
        json_object_foreach((json_t *)v, key, item) {
            if (!first) emit(w, ",", 1);
            first = 0;
            emit_string(w, key, strlen(key), NULL);
            emit(w, ":", 1);
            emit_value(w, item);
        }
        emit(w, "}", 1);
        break;
    }
    case JSON_ARRAY:
        emit(w, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) emit(w, ",", 1);
            emit_value(w, json_array_get(v, i));
        }
        emit(w, "]", 1);
        break;
    case JSON_STRING: emit_string(w, json_string_value(v), json_string_length(v), v); break;
    case JSON_INTEGER:
        emit(w, tmp,
             (size_t)snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT, json_integer_value(v)));
        break;
    case JSON_REAL: emit_real(w, v); break;
    case JSON_TRUE: emit(w, "true", 4); break;
    case JSON_FALSE: emit(w, "false", 5); break;
    case JSON_NULL: emit(w, "null", 4); break;
    }
}

size_t kb_gen_dump(const json_t *body, char *buf, size_t size) {
    if (!json_is_object(body) && !json_is_array(body)) return 0;
    writer_t w = {buf, size, 0, 0};
    emit_value(&w, body);
    return w.failed ? 0 : w.len;
}

/* ---- JSON helpers ----------------------------------------------------------- */

/* Builders set *ok to 0 instead of checking every call: out of memory is
 * so rare here that one check at the end of each entity is enough. */
static void put(json_t *o, const char *key, json_t *v, int *ok) {
    if (json_object_set_new_nocheck(o, key, v) < 0) *ok = 0;
}

static void push(json_t *a, json_t *v, int *ok) {
    if (json_array_append_new(a, v) < 0) *ok = 0;
}

static json_t *str(const char *s) { return json_string_nocheck(s); }

static json_t *location(double lat, double lon) {
    json_t *o = json_object();
    int ok = o != NULL;
    if (ok) {
        put(o, "lat", json_real(lat), &ok);
        put(o, "lon", json_real(lon), &ok);
    }
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- Weighted vocabularies -------------------------------------------------- */

typedef struct wtok {
    const char *name;
    double weight;
} wtok_t;

static int pick(kb_gen_rng_t *r, const wtok_t *t, size_t n) {
    double total = 0;
    for (size_t i = 0; i < n; i++) total += t[i].weight;
    double u = kb_gen_rng_uniform(r) * total;
    for (size_t i = 0; i < n; i++) {
        if (u < t[i].weight) return (int)i;
        u -= t[i].weight;
    }
    return (int)n - 1;
}

/* A set of distinct tokens, in the order drawn. */
typedef struct tokset {
    const char *tok[12];
    int n;
} tokset_t;

static int tokset_has(const tokset_t *s, const char *t) {
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->tok[i], t) == 0) return 1;
    return 0;
}

static void tokset_add(tokset_t *s, const char *t) {
    if (s->n < (int)COUNT(s->tok) && !tokset_has(s, t)) s->tok[s->n++] = t;
}

/* Adds up to k distinct tokens of t not yet in s, by weight. */
static void draw_distinct(kb_gen_rng_t *r, const wtok_t *t, size_t n, int k, tokset_t *s) {
    double w[64];
    double total = 0;
    for (size_t i = 0; i < n && i < COUNT(w); i++) {
        w[i] = tokset_has(s, t[i].name) ? 0 : t[i].weight;
        total += w[i];
    }
    for (; k > 0 && total > 0; k--) {
        double u = kb_gen_rng_uniform(r) * total;
        size_t i = 0;
        while (i + 1 < n && u >= w[i]) u -= w[i++];
        if (w[i] == 0) break; /* rounding at the tail: stop rather than duplicate */
        tokset_add(s, t[i].name);
        total -= w[i];
        w[i] = 0;
    }
}

static json_t *tokset_json(const tokset_t *s, int *ok) {
    json_t *a = json_array();
    if (!a) *ok = 0;
    for (int i = 0; a && i < s->n; i++) push(a, str(s->tok[i]), ok);
    return a;
}

/* Background frequency of skills among volunteers: a few common ones, a
 * long tail, as in a real volunteer register. */
static const wtok_t skills_common[] = {
    {"visiting", 10},    {"mentoring", 9},      {"homework_help", 9},   {"cooking", 7},
    {"sports_coach", 7}, {"language_buddy", 6}, {"it_help", 6},         {"outdoor", 5},
    {"job_search", 4},   {"crafts", 4},         {"music", 4},           {"danish_tutoring", 4},
    {"first_aid", 3},    {"driving", 3},        {"gardening", 3},       {"trishaw", 3},
    {"cv_writing", 3},   {"dementia_care", 2},  {"chess", 2},           {"swimming", 2},
    {"coding", 2},       {"bookkeeping", 1},    {"sign_language", 0.3},
};

static const wtok_t minority_languages[] = {
    {"ar", 5}, {"uk", 4}, {"de", 3}, {"pl", 3}, {"tr", 3},
    {"fa", 2}, {"so", 2}, {"ti", 1}, {"sv", 2}, {"es", 1},
};

static const wtok_t experience_common[] = {
    {"long_term_unemployed", 4}, {"left_school_early", 3},
    {"single_parent", 3},        {"refugee_background", 2},
    {"disability", 2},           {"care_leaver", 1},
    {"former_gang_member", 1},   {"mental_health_recovery", 2},
    {"former_addict", 1},
};

/* The time slots in canonical order: index = day * 3 + part. */
static const char *const slot_names[21] = {
    "mon_morning", "mon_afternoon", "mon_evening", "tue_morning", "tue_afternoon", "tue_evening",
    "wed_morning", "wed_afternoon", "wed_evening", "thu_morning", "thu_afternoon", "thu_evening",
    "fri_morning", "fri_afternoon", "fri_evening", "sat_morning", "sat_afternoon", "sat_evening",
    "sun_morning", "sun_afternoon", "sun_evening",
};

/* When people can: relative weight of morning, afternoon, evening, and the
 * factor for Saturday and Sunday. */
typedef struct rhythm {
    double part[3];
    double weekend;
} rhythm_t;

static const rhythm_t rhythm_working = {{1.0, 1.5, 3.0}, 2.0}; /* evenings, weekends */
static const rhythm_t rhythm_retired = {{2.5, 3.0, 1.0}, 0.8}; /* daytime */
static const rhythm_t rhythm_school = {{0.1, 4.0, 1.0}, 0.6};  /* after school */
static const rhythm_t rhythm_leisure = {{0.6, 2.0, 2.5}, 2.5}; /* clubs */

/* k distinct slots drawn by rhythm, as a JSON array in canonical order. */
static json_t *slots(kb_gen_rng_t *r, const rhythm_t *rh, int k, int *ok) {
    double w[21], total = 0;
    for (int i = 0; i < 21; i++) {
        w[i] = rh->part[i % 3] * (i >= 15 ? rh->weekend : 1.0);
        total += w[i];
    }
    uint32_t chosen = 0;
    for (; k > 0 && total > 0; k--) {
        double u = kb_gen_rng_uniform(r) * total;
        int i = 0;
        while (i < 20 && (w[i] == 0 || u >= w[i])) u -= w[i++];
        if (w[i] == 0) break;
        chosen |= 1u << i;
        total -= w[i];
        w[i] = 0;
    }
    json_t *a = json_array();
    if (!a) *ok = 0;
    for (int i = 0; a && i < 21; i++)
        if (chosen & (1u << i)) push(a, str(slot_names[i]), ok);
    return a;
}

/* ISO date of a day count since 1970-01-01 (Hinnant's civil_from_days). */
static void iso_date(long days, char out[16]) {
    long z = days + 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long y = yoe + era * 400;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    long d = doy - (153 * mp + 2) / 5 + 1;
    long m = mp < 10 ? mp + 3 : mp - 9;
    snprintf(out, 16, "%04ld-%02ld-%02ld", y + (m <= 2), m, d);
}

/* ---- Volunteers -------------------------------------------------------------- */

/* The organisations volunteers belong to, with who joins them and what they
 * do. Peer-mentor organisations recruit the young, visiting services the
 * retired. An org_id is "<prefix>-<municipality>", one branch per
 * municipality. */
typedef struct org_profile {
    const char *prefix, *name;
    double weight;
    int born_min, born_max; /* birth years, triangular between */
    const wtok_t *primary;  /* the organisation's own activities */
    size_t primary_n;
    const rhythm_t *rhythm;
    double minority_language; /* chance of speaking one more language */
    const char *experience;   /* lived experience common in this org */
    double experience_p;
} org_profile_t;

static const wtok_t prim_urk[] = {{"mentoring", 5},
                                  {"homework_help", 4},
                                  {"job_search", 2},
                                  {"language_buddy", 2},
                                  {"cv_writing", 1}};
static const wtok_t prim_dfh[] = {
    {"language_buddy", 6}, {"danish_tutoring", 4}, {"homework_help", 3}, {"job_search", 1}};
static const wtok_t prim_aeldre[] = {
    {"visiting", 6}, {"it_help", 3}, {"trishaw", 2}, {"dementia_care", 1}, {"cooking", 1}};
static const wtok_t prim_rodekors[] = {
    {"visiting", 5}, {"first_aid", 3}, {"cooking", 2}, {"dementia_care", 1}, {"mentoring", 1}};
static const wtok_t prim_dgi[] = {{"sports_coach", 6}, {"swimming", 2}, {"outdoor", 2}};
static const wtok_t prim_spejder[] = {{"outdoor", 6}, {"crafts", 2}};
static const wtok_t prim_cua[] = {{"trishaw", 8}, {"visiting", 2}};
static const wtok_t prim_mentor[] = {{"mentoring", 6}, {"job_search", 2}, {"sports_coach", 1}};
static const wtok_t prim_coding[] = {{"coding", 5}, {"it_help", 2}};
#define PRIM(t) t, COUNT(t)

static const org_profile_t org_profiles[] = {
    {"ungdommens-rode-kors", "Ungdommens Røde Kors", 14, 1993, 2007, PRIM(prim_urk),
     &rhythm_working, 0.10, "left_school_early", 0.25},
    {"dansk-flygtningehjaelp", "Dansk Flygtningehjælp", 12, 1950, 2005, PRIM(prim_dfh),
     &rhythm_working, 0.40, "refugee_background", 0.30},
    {"aeldre-sagen", "Ældre Sagen", 14, 1945, 1968, PRIM(prim_aeldre), &rhythm_retired, 0.05, NULL,
     0},
    {"rode-kors", "Røde Kors", 14, 1945, 2005, PRIM(prim_rodekors), &rhythm_retired, 0.08, NULL, 0},
    {"dgi", "DGI", 18, 1965, 2006, PRIM(prim_dgi), &rhythm_leisure, 0.06, NULL, 0},
    {"det-danske-spejderkorps", "Det Danske Spejderkorps", 8, 1965, 2006, PRIM(prim_spejder),
     &rhythm_leisure, 0.05, NULL, 0},
    {"cykling-uden-alder", "Cykling uden alder", 6, 1945, 1985, PRIM(prim_cua), &rhythm_retired,
     0.05, NULL, 0},
    {"kfum-sociale-arbejde", "KFUMs Sociale Arbejde", 5, 1975, 2002, PRIM(prim_mentor),
     &rhythm_working, 0.15, "former_gang_member", 0.30},
    {"coding-pirates", "Coding Pirates", 4, 1975, 2006, PRIM(prim_coding), &rhythm_leisure, 0.10,
     NULL, 0},
    {"frivilligcenter", "Frivilligcenter", 10, 1945, 2007, PRIM(skills_common), &rhythm_working,
     0.10, NULL, 0},
};

static int org_profile_pick(kb_gen_rng_t *r) {
    double total = 0;
    for (size_t i = 0; i < COUNT(org_profiles); i++) total += org_profiles[i].weight;
    double u = kb_gen_rng_uniform(r) * total;
    for (size_t i = 0; i < COUNT(org_profiles); i++) {
        if (u < org_profiles[i].weight) return (int)i;
        u -= org_profiles[i].weight;
    }
    return (int)COUNT(org_profiles) - 1;
}

static json_t *org_id(const org_profile_t *p, const kb_gen_town_t *town) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s-%s", p->prefix, town->municipality_slug);
    return json_string_nocheck(buf);
}

json_t *kb_gen_volunteer(const kb_gen_t *g, uint64_t n) {
    kb_gen_rng_t r;
    entity_rng(g, TAG_VOLUNTEER, n, 0, &r);
    int ti = kb_gen_town_pick(g->towns, &r);
    const kb_gen_town_t *town = &g->towns->town[ti];
    double lat, lon;
    kb_gen_town_place(g->towns, ti, &r, &lat, &lon);
    const org_profile_t *p = &org_profiles[org_profile_pick(&r)];

    json_t *o = json_object();
    int ok = o != NULL;
    if (!ok) return NULL;
    put(o, "org_id", org_id(p, town), &ok);
    put(o, "location", location(lat, lon), &ok);
    put(o, "max_distance_km", json_integer(kb_gen_rng_range(&r, 5, 30)), &ok);

    /* 1 own skill, then 0-3 from the background: 40/35/18/7%. */
    tokset_t skills = {.n = 0};
    tokset_add(&skills, p->primary[pick(&r, p->primary, p->primary_n)].name);
    double u = kb_gen_rng_uniform(&r);
    int extra = u < 0.40 ? 0 : u < 0.75 ? 1 : u < 0.93 ? 2 : 3;
    draw_distinct(&r, skills_common, COUNT(skills_common), extra, &skills);
    put(o, "skills", tokset_json(&skills, &ok), &ok);

    int born = (kb_gen_rng_range(&r, p->born_min, p->born_max) +
                kb_gen_rng_range(&r, p->born_min, p->born_max) + kb_gen_rng_range(&r, 0, 1)) /
               2;
    tokset_t langs = {.n = 0};
    if (chance(&r, 0.97)) tokset_add(&langs, "da");
    if (chance(&r, born >= 1970 ? 0.75 : 0.45)) tokset_add(&langs, "en");
    if (chance(&r, p->minority_language) || langs.n == 0)
        tokset_add(
            &langs,
            minority_languages[pick(&r, minority_languages, COUNT(minority_languages))].name);
    put(o, "languages", tokset_json(&langs, &ok), &ok);
    put(o, "birth_year", json_integer(born), &ok);
    put(o, "availability", slots(&r, p->rhythm, kb_gen_rng_range(&r, 2, 6), &ok), &ok);
    u = kb_gen_rng_uniform(&r);
    put(o, "capacity", json_integer(u < 0.70 ? 1 : u < 0.92 ? 2 : 3), &ok);

    tokset_t exp = {.n = 0};
    if (p->experience && chance(&r, p->experience_p)) tokset_add(&exp, p->experience);
    if (chance(&r, 0.08)) draw_distinct(&r, experience_common, COUNT(experience_common), 1, &exp);
    if (exp.n) put(o, "experience", tokset_json(&exp, &ok), &ok);

    if (chance(&r, 0.40)) {
        /* 2025-06-30 .. 2028-12-31: some already expired, most valid. */
        long first = 20269, last = 21549;
        char date[16];
        iso_date(first + kb_gen_rng_range(&r, 0, (int)(last - first)), date);
        put(o, "child_certificate_until", str(date), &ok);
    }
    put(o, "active", json_boolean(chance(&r, 0.95)), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- Organisations ------------------------------------------------------------- */

/* GeoNames names the capital in English; titles read better in Danish. */
static const char *town_label(const kb_gen_town_t *town) {
    return strcmp(town->name, "Copenhagen") == 0 ? "København" : town->name;
}

static const char *const company_suffix[] = {"Boligselskab", "Sparekasse",       "Byggemarked",
                                             "Tømrerfirma",  "Erhvervsforening", "Revision"};
static const char *const citizen_suffix[] = {"Borgerforening", "Beboerforening", "Lokalråd",
                                             "Forsamlingshus", "Venskabsforening"};

json_t *kb_gen_organisation(const kb_gen_t *g, uint64_t n) {
    kb_gen_rng_t r;
    entity_rng(g, TAG_ORGANISATION, n, 0, &r);
    int ti = kb_gen_town_pick(g->towns, &r);
    const kb_gen_town_t *town = &g->towns->town[ti];
    double lat, lon;
    kb_gen_town_place(g->towns, ti, &r, &lat, &lon);
    static const wtok_t kinds[] = {
        {"volunteer_org", 60}, {"citizen_group", 15}, {"company", 15}, {"municipality", 10}};
    const char *kind = kinds[pick(&r, kinds, COUNT(kinds))].name;
    char name[256];
    if (strcmp(kind, "volunteer_org") == 0)
        snprintf(name, sizeof name, "%s %s", org_profiles[org_profile_pick(&r)].name,
                 town->municipality_name);
    else if (strcmp(kind, "municipality") == 0)
        snprintf(name, sizeof name, "%s Kommune", town->municipality_name);
    else if (strcmp(kind, "company") == 0)
        snprintf(name, sizeof name, "%s %s", town_label(town),
                 company_suffix[kb_gen_rng_range(&r, 0, (int)COUNT(company_suffix) - 1)]);
    else
        snprintf(name, sizeof name, "%s %s", town_label(town),
                 citizen_suffix[kb_gen_rng_range(&r, 0, (int)COUNT(citizen_suffix) - 1)]);

    json_t *o = json_object();
    int ok = o != NULL;
    if (!ok) return NULL;
    put(o, "name", json_string(name), &ok);
    put(o, "kind", str(kind), &ok);
    put(o, "location", location(lat, lon), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- Activities ------------------------------------------------------------------ */

typedef struct age_range {
    int min, max;
} age_range_t;

typedef struct activity_profile {
    const char *title;
    const char *org_prefix;
    double weight;
    const char *skills[2];
    age_range_t ages[3]; /* one is drawn; {0, 0} ends the list */
    const rhythm_t *rhythm;
    int cap_min, cap_max;
    double extra_language; /* chance of a second language besides da */
} activity_profile_t;

static const activity_profile_t activity_profiles[] = {
    {"Lektiecafé",
     "ungdommens-rode-kors",
     14,
     {"homework_help"},
     {{6, 12}, {10, 17}, {13, 17}},
     &rhythm_school,
     8,
     25,
     0.35},
    {"Fodbold",
     "dgi",
     12,
     {"sports_coach"},
     {{6, 12}, {10, 17}, {13, 17}},
     &rhythm_leisure,
     12,
     30,
     0.10},
    {"Spejder",
     "det-danske-spejderkorps",
     8,
     {"outdoor", "crafts"},
     {{6, 12}, {10, 17}},
     &rhythm_leisure,
     10,
     30,
     0.05},
    {"Svømning",
     "dgi",
     6,
     {"sports_coach", "swimming"},
     {{6, 12}, {10, 17}},
     &rhythm_leisure,
     8,
     20,
     0.05},
    {"Skakklub",
     "frivilligcenter",
     4,
     {"chess"},
     {{6, 12}, {10, 17}, {65, 99}},
     &rhythm_leisure,
     6,
     20,
     0.05},
    {"Kodeklub",
     "coding-pirates",
     5,
     {"coding", "it_help"},
     {{10, 17}, {6, 12}},
     &rhythm_leisure,
     8,
     24,
     0.20},
    {"Kor", "frivilligcenter", 4, {"music"}, {{6, 12}, {65, 99}}, &rhythm_leisure, 10, 30, 0.0},
    {"Rickshawture", "cykling-uden-alder", 5, {"trishaw"}, {{65, 99}}, &rhythm_retired, 5, 12, 0.0},
    {"Fællesspisning", "rode-kors", 4, {"cooking"}, {{65, 99}}, &rhythm_retired, 10, 30, 0.05},
    {"Værkstedsklub",
     "frivilligcenter",
     4,
     {"crafts"},
     {{10, 17}, {65, 99}},
     &rhythm_leisure,
     6,
     15,
     0.0},
    {"Sprogcafé",
     "dansk-flygtningehjaelp",
     6,
     {"language_buddy", "danish_tutoring"},
     {{16, 99}},
     &rhythm_working,
     10,
     30,
     0.90},
    {"Jobcafé",
     "ungdommens-rode-kors",
     4,
     {"job_search", "cv_writing"},
     {{16, 30}},
     &rhythm_working,
     5,
     15,
     0.20},
    {"Seniorgymnastik",
     "aeldre-sagen",
     4,
     {"sports_coach"},
     {{65, 99}},
     &rhythm_retired,
     10,
     30,
     0.0},
    {"IT-café for seniorer",
     "aeldre-sagen",
     4,
     {"it_help"},
     {{65, 99}},
     &rhythm_retired,
     5,
     15,
     0.05},
};

json_t *kb_gen_activity(const kb_gen_t *g, uint64_t n) {
    kb_gen_rng_t r;
    entity_rng(g, TAG_ACTIVITY, n, 0, &r);
    int ti = kb_gen_town_pick(g->towns, &r);
    const kb_gen_town_t *town = &g->towns->town[ti];
    double lat, lon;
    kb_gen_town_place(g->towns, ti, &r, &lat, &lon);
    double total = 0;
    for (size_t i = 0; i < COUNT(activity_profiles); i++) total += activity_profiles[i].weight;
    double u = kb_gen_rng_uniform(&r) * total;
    size_t pi = 0;
    while (pi + 1 < COUNT(activity_profiles) && u >= activity_profiles[pi].weight)
        u -= activity_profiles[pi++].weight;
    const activity_profile_t *p = &activity_profiles[pi];
    int nages = 0;
    while (nages < 3 && p->ages[nages].max) nages++;
    age_range_t ages = p->ages[kb_gen_rng_range(&r, 0, nages - 1)];

    json_t *o = json_object();
    int ok = o != NULL;
    if (!ok) return NULL;
    char buf[256];
    snprintf(buf, sizeof buf, "%s-%s", p->org_prefix, town->municipality_slug);
    put(o, "org_id", str(buf), &ok);
    snprintf(buf, sizeof buf, "%s %s", p->title, town_label(town));
    put(o, "title", json_string(buf), &ok);
    put(o, "location", location(lat, lon), &ok);
    tokset_t skills = {.n = 0};
    for (int i = 0; i < 2 && p->skills[i]; i++) tokset_add(&skills, p->skills[i]);
    put(o, "skills", tokset_json(&skills, &ok), &ok);
    tokset_t langs = {.n = 0};
    tokset_add(&langs, "da");
    if (chance(&r, p->extra_language))
        tokset_add(
            &langs,
            minority_languages[pick(&r, minority_languages, COUNT(minority_languages))].name);
    put(o, "languages", tokset_json(&langs, &ok), &ok);
    put(o, "availability", slots(&r, p->rhythm, kb_gen_rng_range(&r, 1, 4), &ok), &ok);
    put(o, "capacity", json_integer(kb_gen_rng_range(&r, p->cap_min, p->cap_max)), &ok);
    put(o, "age_min", json_integer(ages.min), &ok);
    put(o, "age_max", json_integer(ages.max), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- Needs --------------------------------------------------------------------- */

static const double need_kind_weight[KB_GEN_NEED_KINDS] = {0, 30, 25, 15, 20, 10};

static const wtok_t refugee_languages[] = {{"ar", 5}, {"uk", 5}, {"so", 2}, {"ti", 2},
                                           {"fa", 2}, {"ps", 1}, {"ku", 1}};
static const wtok_t child_activity_skills[] = {{"homework_help", 4}, {"sports_coach", 3},
                                               {"outdoor", 2},       {"music", 1},
                                               {"coding", 1},        {"chess", 1}};

static json_t *string_list(int *ok, const char *a, const char *b) {
    json_t *l = json_array();
    if (!l) *ok = 0;
    if (l && a) push(l, str(a), ok);
    if (l && b) push(l, str(b), ok);
    return l;
}

static json_t *age_gap(int min, int max, int *ok) {
    json_t *o = json_object();
    if (!o) *ok = 0;
    if (o) {
        put(o, "min", json_integer(min), ok);
        put(o, "max", json_integer(max), ok);
    }
    return o;
}

static json_t *need_body(const kb_gen_t *g, kb_gen_rng_t *r, int ti, kb_gen_need_kind_t kind,
                         unsigned flags) {
    const kb_gen_town_t *town = &g->towns->town[ti];
    double lat = round5(town->lat), lon = round5(town->lon);
    if (!(flags & KB_GEN_AT_CENTRE)) kb_gen_town_place(g->towns, ti, r, &lat, &lon);
    if (kind <= KB_GEN_NEED_ANY || kind >= KB_GEN_NEED_KINDS) {
        double u = kb_gen_rng_uniform(r) * 100.0;
        int k = 1;
        while (k + 1 < KB_GEN_NEED_KINDS && u >= need_kind_weight[k]) u -= need_kind_weight[k++];
        kind = (kb_gen_need_kind_t)k;
    }

    const char *api_kind = "mentor", *office = "jobcenter", *required = "mentoring";
    const char *wanted = NULL, *wanted2 = NULL, *lang2 = NULL, *experience = NULL;
    const rhythm_t *rh = &rhythm_working;
    int age = 0, gap_min = 0, gap_max = 0;
    switch (kind) {
    case KB_GEN_NEED_YOUTH_MENTOR: {
        age = kb_gen_rng_range(r, 16, 24);
        static const char *const w[] = {"job_search", "cv_writing", "homework_help",
                                        "sports_coach"};
        wanted = w[kb_gen_rng_range(r, 0, 3)];
        if (chance(r, 0.3)) wanted2 = "job_search";
        double u = kb_gen_rng_uniform(r);
        experience = u < 0.70   ? "left_school_early"
                     : u < 0.82 ? "care_leaver"
                     : u < 0.92 ? "long_term_unemployed"
                                : "former_gang_member";
        gap_min = 2, gap_max = 10;
        break;
    }
    case KB_GEN_NEED_ELDER_VISIT: {
        api_kind = "visit", office = "visitation", required = "visiting";
        age = kb_gen_rng_range(r, 70, 95);
        static const char *const w[] = {"trishaw", "dementia_care", "cooking", "music", NULL};
        wanted = w[kb_gen_rng_range(r, 0, 4)];
        rh = &rhythm_retired;
        break;
    }
    case KB_GEN_NEED_LANGUAGE_BUDDY:
        office = "integration", required = "language_buddy";
        age = kb_gen_rng_range(r, 22, 55);
        wanted = chance(r, 0.5) ? "danish_tutoring" : "homework_help";
        lang2 = refugee_languages[pick(r, refugee_languages, COUNT(refugee_languages))].name;
        if (chance(r, 0.25)) experience = "refugee_background";
        break;
    case KB_GEN_NEED_CHILD_ACTIVITY:
        api_kind = "activity", office = "boern-og-familie";
        required =
            child_activity_skills[pick(r, child_activity_skills, COUNT(child_activity_skills))]
                .name;
        age = kb_gen_rng_range(r, 7, 14);
        rh = &rhythm_school;
        break;
    case KB_GEN_NEED_CHILD_MENTOR:
    default:
        office = "boern-og-familie";
        required = chance(r, 0.7) ? "mentoring" : "homework_help";
        wanted = chance(r, 0.5) ? "sports_coach" : "homework_help";
        if (strcmp(wanted, required) == 0) wanted = "outdoor";
        age = kb_gen_rng_range(r, 9, 14);
        gap_min = 5, gap_max = 30;
        rh = &rhythm_school;
        break;
    }

    json_t *o = json_object();
    int ok = o != NULL;
    if (!ok) return NULL;
    char buf[160];
    put(o, "kind", str(api_kind), &ok);
    put(o, "municipality", str(town->municipality), &ok);
    snprintf(buf, sizeof buf, "%s-%s", town->municipality_slug, office);
    put(o, "requested_by", str(buf), &ok);
    put(o, "location", location(lat, lon), &ok);
    put(o, "max_distance_km", json_integer(kb_gen_rng_range(r, 10, 30)), &ok);
    put(o, "skills_required", string_list(&ok, required, NULL), &ok);
    if (wanted) {
        if (wanted2 && strcmp(wanted, wanted2) == 0) wanted2 = NULL;
        put(o, "skills_wanted", string_list(&ok, wanted, wanted2), &ok);
    }
    put(o, "languages", string_list(&ok, "da", lang2), &ok);
    put(o, "person_age", json_integer(age), &ok);
    if (gap_max) put(o, "age_gap", age_gap(gap_min, gap_max, &ok), &ok);
    put(o, "availability", slots(r, rh, kb_gen_rng_range(r, 1, 4), &ok), &ok);
    if (experience) put(o, "experience_wanted", string_list(&ok, experience, NULL), &ok);
    put(o, "count", json_integer(chance(r, 0.1) ? 2 : 1), &ok);
    put(o, "urgency", json_integer(kb_gen_rng_range(r, 1, 3)), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *kb_gen_need(const kb_gen_t *g, uint64_t n) {
    kb_gen_rng_t r;
    entity_rng(g, TAG_NEED, n, 0, &r);
    int ti = kb_gen_town_pick(g->towns, &r);
    return need_body(g, &r, ti, KB_GEN_NEED_ANY, 0);
}

json_t *kb_gen_need_at(const kb_gen_t *g, uint64_t n, int town, kb_gen_need_kind_t kind,
                       unsigned flags) {
    if (town < 0 || (size_t)town >= g->towns->count) return NULL;
    kb_gen_rng_t r;
    entity_rng(g, TAG_NEED_AT, n, ((uint64_t)town << 8) | (uint64_t)kind, &r);
    return need_body(g, &r, town, kind, flags);
}

/* ---- Demo set -------------------------------------------------------------------- */

/* Hand-written so that each story is visible in the engine's answers:
 * - n-ung-nakskov (the DESIGN.md example: 18, left school, Guldborgsund
 *   jobcentre in Nykøbing Falster) has v-ali-nykobing, 23, who left school
 *   early himself, a few streets away; v-henrik-nykobing has the skills but
 *   is of the parents' generation, so he ranks below on age.
 * - n-barn-mentor-odense (12) can have v-sara-odense, whose child
 *   certificate is valid, and not v-jonas-odense, whose certificate expired.
 * - n-barn-lektiecafe-maribo, a child in the countryside of Lolland, fits
 *   the homework café a-lektiecafe-maribo (ages 10-17).
 * - n-skagen-tegnsprog requires sign language, which nobody has: an empty
 *   answer whose exclusion counts say why.
 * Lists are comma-separated to keep each entity on a line or two. Child
 * certificates are either long valid (2029+) or long expired (2024) so the
 * demo tells the same story for years. Names are generic first names. */
typedef struct demo_org {
    const char *id, *name, *kind;
    double lat, lon;
} demo_org_t;

static const demo_org_t demo_orgs[] = {
    {"urk-guldborgsund", "Ungdommens Røde Kors Guldborgsund", "volunteer_org", 54.76910, 11.87420},
    {"dgi-lolland", "DGI Lolland", "volunteer_org", 54.77660, 11.50020},
    {"guldborgsund-jobcenter", "Jobcenter Guldborgsund", "municipality", 54.77000, 11.86900},
    {"aeldre-sagen-koebenhavn", "Ældre Sagen København", "volunteer_org", 55.67610, 12.56830},
    {"cykling-uden-alder-koebenhavn", "Cykling uden alder København", "citizen_group", 55.68900,
     12.55300},
    {"dansk-flygtningehjaelp", "Dansk Flygtningehjælp Frivillignetværk", "volunteer_org", 55.67100,
     12.56000},
    {"rode-kors-odense", "Røde Kors Odense", "volunteer_org", 55.39590, 10.38830},
    {"fyns-it-laug", "Fyns IT-laug", "company", 55.37000, 10.42700},
    {"aeldre-sagen-frederikshavn", "Ældre Sagen Frederikshavn", "volunteer_org", 57.44070,
     10.53660},
};

typedef struct demo_activity {
    const char *id, *org, *title;
    double lat, lon;
    const char *skills, *languages, *availability;
    int capacity, age_min, age_max;
} demo_activity_t;

/* id, org, title, lat, lon, skills, languages, availability, capacity,
 * age_min, age_max */
static const demo_activity_t demo_activities[] = {
    {"a-lektiecafe-maribo", "dgi-lolland", "Lektiecafé på Maribo Bibliotek", 54.77590, 11.49990,
     "homework_help", "da", "mon_afternoon,wed_afternoon", 12, 10, 17},
    {"a-fodbold-nakskov", "dgi-lolland", "Fodbold for alle, Nakskov", 54.83420, 11.14330,
     "sports_coach", "da", "tue_afternoon,thu_afternoon,sat_morning", 24, 6, 12},
    {"a-lektiecafe-nykobing", "urk-guldborgsund", "Lektiecafé Nykøbing F.", 54.76650, 11.87810,
     "homework_help", "da,en", "tue_afternoon,thu_afternoon", 15, 13, 17},
    {"a-rickshaw-koebenhavn", "cykling-uden-alder-koebenhavn", "Rickshawture ved Søerne", 55.68600,
     12.56100, "trishaw", "da", "mon_morning,wed_afternoon,fri_morning", 6, 65, 99},
    {"a-it-seniorer-koebenhavn", "aeldre-sagen-koebenhavn", "IT-café for seniorer", 55.70500,
     12.57700, "it_help", "da", "tue_morning,thu_morning", 10, 65, 99},
    {"a-kodeklub-odense", "fyns-it-laug", "Kodeklub Odense", 55.40300, 10.38900, "coding,it_help",
     "da,en", "wed_afternoon,sat_morning", 20, 10, 17},
    {"a-skak-vollsmose", "rode-kors-odense", "Skakklub Vollsmose", 55.41300, 10.44300, "chess",
     "da,ar", "mon_afternoon,thu_afternoon", 16, 6, 12},
    {"a-sprogcafe-gellerup", "dansk-flygtningehjaelp", "Sprogcafé Gellerup", 56.15500, 10.13700,
     "language_buddy,danish_tutoring", "da,ar,uk,so", "tue_evening,thu_evening,sat_afternoon", 25,
     16, 99},
};

typedef struct demo_volunteer {
    const char *id, *org;
    double lat, lon;
    const char *skills, *languages, *availability;
    const char *experience, *child_certificate_until; /* NULL: none */
    int max_distance_km, birth_year, capacity, active;
} demo_volunteer_t;

/* id, org, lat, lon, skills, languages, availability, experience, child
 * certificate, max_distance_km, birth_year, capacity, active */
static const demo_volunteer_t demo_volunteers[] = {
    /* Guldborgsund and Lolland */
    {"v-ali-nykobing", "urk-guldborgsund", 54.77120, 11.88010, "mentoring,job_search", "da,ar,en",
     "tue_evening,thu_evening,sat_morning", "left_school_early", NULL, 15, 2002, 1, 1},
    {"v-henrik-nykobing", "urk-guldborgsund", 54.76340, 11.86250, "mentoring,job_search,cv_writing",
     "da,en", "tue_evening,wed_evening", NULL, NULL, 20, 1966, 2, 1},
    {"v-sofie-sakskobing", "urk-guldborgsund", 54.79960, 11.64550, "mentoring,homework_help",
     "da,en", "thu_evening,sun_afternoon", NULL, "2029-03-31", 20, 1999, 1, 1},
    {"v-emil-nykobing", "urk-guldborgsund", 54.77500, 11.86600, "homework_help", "da,en",
     "tue_afternoon,thu_afternoon", NULL, "2029-12-31", 10, 2004, 1, 1},
    {"v-amina-nykobing", "urk-guldborgsund", 54.76200, 11.89300, "language_buddy,homework_help",
     "da,so,en", "wed_evening,sat_afternoon", "refugee_background", "2029-01-31", 15, 1997, 1, 1},
    {"v-mads-nakskov", "dgi-lolland", 54.83170, 11.13050, "mentoring,sports_coach", "da",
     "tue_evening,sat_morning", "left_school_early", "2029-06-30", 25, 2000, 1, 1},
    {"v-karen-maribo", "dgi-lolland", 54.77810, 11.50560, "homework_help,crafts", "da",
     "mon_afternoon,wed_afternoon", NULL, "2029-09-30", 15, 1958, 2, 1},
    {"v-peter-maribo", "dgi-lolland", 54.77100, 11.49100, "sports_coach", "da",
     "tue_afternoon,sat_morning", NULL, "2029-12-31", 20, 1981, 1, 1},
    {"v-lise-nakskov", "dgi-lolland", 54.82700, 11.14900, "visiting,cooking", "da",
     "mon_morning,thu_morning", NULL, NULL, 10, 1952, 1, 1},
    {"v-jens-rodby", "dgi-lolland", 54.69500, 11.38900, "sports_coach,outdoor", "da,de",
     "tue_afternoon,sat_morning,sun_morning", NULL, "2024-08-31", 25, 1975, 1, 1},
    /* Copenhagen */
    {"v-birthe-osterbro", "aeldre-sagen-koebenhavn", 55.70600, 12.57500, "visiting,it_help",
     "da,en", "mon_morning,wed_morning,fri_afternoon", NULL, NULL, 5, 1951, 2, 1},
    {"v-ole-amager", "cykling-uden-alder-koebenhavn", 55.67200, 12.59200, "trishaw,visiting", "da",
     "mon_morning,wed_afternoon,fri_morning", NULL, NULL, 8, 1955, 3, 1},
    {"v-fatima-norrebro", "dansk-flygtningehjaelp", 55.69400, 12.54900,
     "language_buddy,danish_tutoring,homework_help", "da,ar,en",
     "tue_evening,thu_evening,sun_afternoon", "refugee_background", NULL, 10, 1990, 2, 1},
    {"v-lars-vesterbro", "dansk-flygtningehjaelp", 55.66800, 12.54600, "language_buddy", "da,en",
     "mon_evening,sat_afternoon", NULL, NULL, 10, 1984, 1, 1},
    {"v-anne-valby", "aeldre-sagen-koebenhavn", 55.66200, 12.51500, "visiting,dementia_care", "da",
     "tue_afternoon,thu_afternoon", NULL, NULL, 10, 1960, 1, 1},
    {"v-mikkel-norrebro", "cykling-uden-alder-koebenhavn", 55.69000, 12.55500,
     "trishaw,sports_coach", "da,en", "sat_morning,sun_morning", NULL, NULL, 10, 1996, 1, 1},
    {"v-hanne-amager", "aeldre-sagen-koebenhavn", 55.65500, 12.61000, "visiting", "da,en,de",
     "mon_morning,wed_afternoon", NULL, NULL, 8, 1948, 1, 0},
    /* Odense */
    {"v-sara-odense", "rode-kors-odense", 55.39800, 10.39500, "mentoring,homework_help", "da,en",
     "mon_afternoon,wed_afternoon,thu_evening", NULL, "2030-06-30", 10, 1994, 1, 1},
    {"v-jonas-odense", "rode-kors-odense", 55.40100, 10.38200, "mentoring,sports_coach", "da,en",
     "mon_afternoon,wed_afternoon", NULL, "2024-02-29", 10, 1991, 1, 1},
    {"v-kirsten-odense", "rode-kors-odense", 55.39000, 10.40000, "visiting,cooking", "da",
     "tue_morning,thu_morning", NULL, NULL, 8, 1950, 1, 1},
    {"v-ahmad-vollsmose", "rode-kors-odense", 55.41200, 10.44000, "chess,homework_help", "da,ar,en",
     "mon_afternoon,thu_afternoon", NULL, "2028-06-30", 10, 1987, 1, 1},
    {"v-niels-bolbro", "rode-kors-odense", 55.39500, 10.35500, "visiting,music", "da",
     "wed_afternoon,fri_morning", NULL, NULL, 10, 1957, 1, 1},
    {"v-maja-odense", "fyns-it-laug", 55.37200, 10.42500, "coding,it_help", "da,en",
     "wed_afternoon,sat_morning", NULL, "2029-06-30", 15, 1998, 1, 1},
    /* Aarhus */
    {"v-yusuf-gellerup", "dansk-flygtningehjaelp", 56.15400, 10.13900,
     "mentoring,job_search,language_buddy", "da,ar,en", "tue_evening,thu_evening", "care_leaver",
     NULL, 15, 2001, 1, 1},
    {"v-olena-aarhus", "dansk-flygtningehjaelp", 56.16200, 10.20300,
     "language_buddy,danish_tutoring", "da,uk,en", "mon_evening,wed_evening,sat_afternoon",
     "refugee_background", NULL, 10, 1986, 2, 1},
    {"v-thomas-aarhus", "dansk-flygtningehjaelp", 56.14900, 10.21500, "mentoring,cv_writing",
     "da,en", "wed_evening", NULL, NULL, 15, 1979, 1, 1},
    {"v-ida-aarhus", "dansk-flygtningehjaelp", 56.17100, 10.19000, "homework_help,language_buddy",
     "da,en,fa", "tue_afternoon,thu_afternoon", NULL, "2029-03-31", 10, 2003, 1, 1},
    {"v-bo-aarhus", "dansk-flygtningehjaelp", 56.14200, 10.17800, "mentoring,sports_coach", "da",
     "tue_evening,sat_afternoon", "former_gang_member", NULL, 20, 1988, 1, 1},
    /* North Jutland: near the Skagen need, without the skill it requires */
    {"v-gitte-skagen", "aeldre-sagen-frederikshavn", 57.72000, 10.58000, "visiting,cooking", "da",
     "mon_afternoon,thu_afternoon", NULL, NULL, 15, 1953, 1, 1},
    {"v-poul-frederikshavn", "aeldre-sagen-frederikshavn", 57.44100, 10.53400, "visiting,trishaw",
     "da,en", "tue_morning,fri_morning", NULL, NULL, 30, 1949, 1, 1},
};

typedef struct demo_need {
    const char *id, *kind, *municipality, *requested_by;
    double lat, lon;
    const char *skills_required, *skills_wanted, *languages; /* NULL: omitted */
    const char *availability, *experience_wanted;
    int max_distance_km, person_age, gap_min, gap_max; /* gap_max 0: no age_gap */
    int count, urgency;
} demo_need_t;

/* id, kind, municipality, requested_by, lat, lon, skills_required,
 * skills_wanted, languages, availability, experience_wanted,
 * max_distance_km, person_age, age_gap min and max, count, urgency */
static const demo_need_t demo_needs[] = {
    {"n-ung-nakskov", "mentor", "0376", "guldborgsund-jobcenter", 54.77000, 11.87000, "mentoring",
     "job_search", "da", "tue_evening,thu_evening", "left_school_early", 20, 18, 2, 10, 1, 2},
    {"n-ung-uden-uddannelse-1", "mentor", "0360", "lolland-jobcenter", 54.83200, 11.14000,
     "mentoring", "sports_coach", "da", "tue_evening,sun_afternoon", "left_school_early", 20, 19, 2,
     10, 1, 2},
    {"n-ung-uden-uddannelse-2", "mentor", "0751", "aarhus-jobcenter", 56.15000, 10.20000,
     "mentoring", "job_search,cv_writing", "da", "tue_evening,wed_evening", "care_leaver", 15, 17,
     2, 10, 1, 3},
    {"n-barn-mentor-odense", "mentor", "0461", "odense-boern-og-familie", 55.40000, 10.38000,
     "mentoring", "homework_help", "da", "mon_afternoon,wed_afternoon", NULL, 10, 12, 5, 30, 1, 2},
    {"n-barn-lektiecafe-maribo", "activity", "0360", "lolland-boern-og-familie", 54.81200, 11.46200,
     "homework_help", NULL, "da", "mon_afternoon,wed_afternoon", NULL, 15, 11, 0, 0, 1, 2},
    {"n-barn-fodbold-nakskov", "activity", "0360", "lolland-boern-og-familie", 54.81000, 11.17500,
     "sports_coach", NULL, "da", "tue_afternoon,sat_morning", NULL, 10, 9, 0, 0, 1, 1},
    {"n-besog-koebenhavn-1", "visit", "0101", "koebenhavn-visitation", 55.70300, 12.57000,
     "visiting", "trishaw", "da", "mon_morning,wed_afternoon,fri_morning", NULL, 5, 84, 0, 0, 1, 2},
    {"n-besog-odense-1", "visit", "0461", "odense-visitation", 55.39400, 10.35200, "visiting",
     "music", "da", "wed_afternoon,fri_morning", NULL, 10, 78, 0, 0, 1, 1},
    {"n-sprogven-koebenhavn-1", "mentor", "0101", "koebenhavn-integration", 55.69700, 12.54500,
     "language_buddy", "homework_help", "da,ar", "tue_evening,sun_afternoon", NULL, 10, 38, 0, 0, 2,
     2},
    {"n-sprogven-aarhus-1", "mentor", "0751", "aarhus-integration", 56.15600, 10.13500,
     "language_buddy", "danish_tutoring", "da,uk", "mon_evening,sat_afternoon", NULL, 10, 34, 0, 0,
     1, 2},
    {"n-barn-kodeklub-odense", "activity", "0461", "odense-boern-og-familie", 55.41200, 10.44000,
     "coding", NULL, "da", "wed_afternoon,sat_morning", NULL, 10, 13, 0, 0, 1, 1},
    {"n-skagen-tegnsprog", "visit", "0813", "frederikshavn-visitation", 57.72300, 10.58800,
     "visiting,sign_language", NULL, "da", "mon_afternoon,tue_morning", NULL, 20, 81, 0, 0, 1, 2},
};

/* JSON array of a comma-separated list. */
static json_t *csv_list(const char *csv, int *ok) {
    json_t *a = json_array();
    if (!a) *ok = 0;
    while (a && csv && *csv) {
        size_t len = strcspn(csv, ",");
        push(a, json_stringn(csv, len), ok);
        csv += len;
        if (*csv == ',') csv++;
    }
    return a;
}

static json_t *demo_org_json(const demo_org_t *d, int *ok) {
    json_t *o = json_object();
    if (!o) {
        *ok = 0;
        return NULL;
    }
    put(o, "name", json_string(d->name), ok);
    put(o, "kind", str(d->kind), ok);
    put(o, "location", location(d->lat, d->lon), ok);
    return o;
}

static json_t *demo_activity_json(const demo_activity_t *d, int *ok) {
    json_t *o = json_object();
    if (!o) {
        *ok = 0;
        return NULL;
    }
    put(o, "org_id", str(d->org), ok);
    put(o, "title", json_string(d->title), ok);
    put(o, "location", location(d->lat, d->lon), ok);
    put(o, "skills", csv_list(d->skills, ok), ok);
    put(o, "languages", csv_list(d->languages, ok), ok);
    put(o, "availability", csv_list(d->availability, ok), ok);
    put(o, "capacity", json_integer(d->capacity), ok);
    put(o, "age_min", json_integer(d->age_min), ok);
    put(o, "age_max", json_integer(d->age_max), ok);
    return o;
}

static json_t *demo_volunteer_json(const demo_volunteer_t *d, int *ok) {
    json_t *o = json_object();
    if (!o) {
        *ok = 0;
        return NULL;
    }
    put(o, "org_id", str(d->org), ok);
    put(o, "location", location(d->lat, d->lon), ok);
    put(o, "max_distance_km", json_integer(d->max_distance_km), ok);
    put(o, "skills", csv_list(d->skills, ok), ok);
    put(o, "languages", csv_list(d->languages, ok), ok);
    put(o, "birth_year", json_integer(d->birth_year), ok);
    put(o, "availability", csv_list(d->availability, ok), ok);
    put(o, "capacity", json_integer(d->capacity), ok);
    if (d->experience) put(o, "experience", csv_list(d->experience, ok), ok);
    if (d->child_certificate_until)
        put(o, "child_certificate_until", str(d->child_certificate_until), ok);
    put(o, "active", json_boolean(d->active), ok);
    return o;
}

static json_t *demo_need_json(const demo_need_t *d, int *ok) {
    json_t *o = json_object();
    if (!o) {
        *ok = 0;
        return NULL;
    }
    put(o, "kind", str(d->kind), ok);
    put(o, "municipality", str(d->municipality), ok);
    put(o, "requested_by", str(d->requested_by), ok);
    put(o, "location", location(d->lat, d->lon), ok);
    put(o, "max_distance_km", json_integer(d->max_distance_km), ok);
    put(o, "skills_required", csv_list(d->skills_required, ok), ok);
    if (d->skills_wanted) put(o, "skills_wanted", csv_list(d->skills_wanted, ok), ok);
    if (d->languages) put(o, "languages", csv_list(d->languages, ok), ok);
    put(o, "person_age", json_integer(d->person_age), ok);
    if (d->gap_max) put(o, "age_gap", age_gap(d->gap_min, d->gap_max, ok), ok);
    put(o, "availability", csv_list(d->availability, ok), ok);
    if (d->experience_wanted) put(o, "experience_wanted", csv_list(d->experience_wanted, ok), ok);
    put(o, "count", json_integer(d->count), ok);
    put(o, "urgency", json_integer(d->urgency), ok);
    return o;
}

size_t kb_gen_demo_count(void) {
    return COUNT(demo_orgs) + COUNT(demo_activities) + COUNT(demo_volunteers) + COUNT(demo_needs);
}

int kb_gen_demo(size_t i, const char **type, const char **id, json_t **body) {
    int ok = 1;
    json_t *o;
    if (i < COUNT(demo_orgs)) {
        *type = "organisation", *id = demo_orgs[i].id;
        o = demo_org_json(&demo_orgs[i], &ok);
    } else if ((i -= COUNT(demo_orgs)) < COUNT(demo_activities)) {
        *type = "activity", *id = demo_activities[i].id;
        o = demo_activity_json(&demo_activities[i], &ok);
    } else if ((i -= COUNT(demo_activities)) < COUNT(demo_volunteers)) {
        *type = "volunteer", *id = demo_volunteers[i].id;
        o = demo_volunteer_json(&demo_volunteers[i], &ok);
    } else if ((i -= COUNT(demo_volunteers)) < COUNT(demo_needs)) {
        *type = "need", *id = demo_needs[i].id;
        o = demo_need_json(&demo_needs[i], &ok);
    } else {
        return KB_ENOTFOUND;
    }
    if (!ok) {
        json_decref(o);
        return KB_ENOMEM;
    }
    *body = o;
    return 0;
}
