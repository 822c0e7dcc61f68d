/* test_iso639.c — which strings are ISO 639-1 language codes. */
#include <criterion/criterion.h>

#include "iso639.h"

Test(iso639, common_and_edge_codes_are_valid) {
    /* With the table's first and last, "aa" and "zu", and the withdrawn
     * "bh" and "sh" it keeps on purpose. */
    const char *good[] = {"da", "en", "de", "sv", "nb", "nn", "no", "fi", "is", "fo", "kl",
                          "ar", "so", "tr", "uk", "pl", "zh", "aa", "zu", "bh", "sh"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        cr_assert(kb_iso639_1_valid(good[i]), "\"%s\" rejected", good[i]);
}

Test(iso639, other_strings_are_invalid) {
    const char *bad[] = {"",    "d",   "dan", "DA", "Da", "dA", "en-GB", "en_",
                         " da", "da ", "xx",  "qq", "zz", "ac", "e1",    "a\xc3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert(!kb_iso639_1_valid(bad[i]), "\"%s\" accepted", bad[i]);
    cr_assert(!kb_iso639_1_valid(NULL));
}

/* Exactly the 185 codes of iso-codes 4.15 are accepted: every lowercase
 * pair is tried, which also checks that the binary search finds each one. */
Test(iso639, exactly_185_of_the_676_lowercase_pairs) {
    int valid = 0;
    char code[3] = {0};
    for (char a = 'a'; a <= 'z'; a++) {
        for (char b = 'a'; b <= 'z'; b++) {
            code[0] = a;
            code[1] = b;
            valid += kb_iso639_1_valid(code);
        }
    }
    cr_assert_eq(valid, 185);
}
