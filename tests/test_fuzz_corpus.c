/* test_fuzz_corpus.c — replays every file of tests/fuzz/corpus/<target>/
 * through its fuzz target: the seeds, and each input a fuzzer ever found
 * crashing (kept there under the name crash-<what>), so the crashes stay
 * fixed in every `make test`, plain and under the sanitizers.
 *
 * The targets are included as source with their libFuzzer entry points
 * renamed (the Makefile links the helpers in tests/ into every test binary,
 * and three LLVMFuzzerTestOneInput cannot live in one). A broken
 * invariant aborts (fz_fail), which fails the test. */
#include "fuzz/fuzz.c"

#define LLVMFuzzerInitialize   http_init
#define LLVMFuzzerTestOneInput http_one
#include "fuzz/fuzz_http.c"
#undef LLVMFuzzerInitialize
#undef LLVMFuzzerTestOneInput

#define LLVMFuzzerInitialize   json_init
#define LLVMFuzzerTestOneInput json_one
#include "fuzz/fuzz_json.c"
#undef LLVMFuzzerInitialize
#undef LLVMFuzzerTestOneInput

#define LLVMFuzzerInitialize   recover_init
#define LLVMFuzzerTestOneInput recover_one
#include "fuzz/fuzz_recover.c"
#undef LLVMFuzzerInitialize
#undef LLVMFuzzerTestOneInput

#include <criterion/criterion.h>

typedef int (*one_fn)(const uint8_t *data, size_t size);

/* Runs every file in tests/fuzz/corpus/<target> through one; the number run. */
static int replay(const char *target, int (*init)(int *, char ***), one_fn one) {
    char dir[128];
    snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", target);
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "no corpus %s (tests run from the repository root)", dir);
    init(NULL, NULL);
    int n = 0;
    struct dirent *ent;
    while ((ent = readdir(d))) {
        if (ent->d_name[0] == '.') continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f, "cannot open %s", path);
        uint8_t *buf = malloc(1 << 20);
        cr_assert_not_null(buf);
        size_t len = fread(buf, 1, 1 << 20, f);
        cr_assert_eq(ferror(f), 0, "cannot read %s", path);
        fclose(f);
        cr_assert_eq(one(buf, len), 0, "%s", path);
        free(buf);
        n++;
    }
    closedir(d);
    return n;
}

Test(fuzz_corpus, http) { cr_assert_gt(replay("http", http_init, http_one), 0); }

Test(fuzz_corpus, json) { cr_assert_gt(replay("json", json_init, json_one), 0); }

Test(fuzz_corpus, recover) { cr_assert_gt(replay("recover", recover_init, recover_one), 0); }
