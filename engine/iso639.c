/* iso639.c — see iso639.h.
 *
 * The table is every two-letter code of ISO 639-1 as published in Debian's
 * iso-codes 4.15 (the alpha_2 codes of its ISO 639-2 and 639-3 tables,
 * 185 in all). It includes the withdrawn "bh" (Bihari) and "sh"
 * (Serbo-Croatian): both still occur in real data and rejecting them would
 * only lose a volunteer's language. Sorted, so lookup is a binary search. */
#include "iso639.h"

#include <stdlib.h>
#include <string.h>

static const char codes[][3] = {
    "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be", "bg", "bh",
    "bi", "bm", "bn", "bo", "br", "bs", "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy", "da",
    "de", "dv", "dz", "ee", "el", "en", "eo", "es", "et", "eu", "fa", "ff", "fi", "fj", "fo", "fr",
    "fy", "ga", "gd", "gl", "gn", "gu", "gv", "ha", "he", "hi", "ho", "hr", "ht", "hu", "hy", "hz",
    "ia", "id", "ie", "ig", "ii", "ik", "io", "is", "it", "iu", "ja", "jv", "ka", "kg", "ki", "kj",
    "kk", "kl", "km", "kn", "ko", "kr", "ks", "ku", "kv", "kw", "ky", "la", "lb", "lg", "li", "ln",
    "lo", "lt", "lu", "lv", "mg", "mh", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", "na", "nb",
    "nd", "ne", "ng", "nl", "nn", "no", "nr", "nv", "ny", "oc", "oj", "om", "or", "os", "pa", "pi",
    "pl", "ps", "pt", "qu", "rm", "rn", "ro", "ru", "rw", "sa", "sc", "sd", "se", "sg", "sh", "si",
    "sk", "sl", "sm", "sn", "so", "sq", "sr", "ss", "st", "su", "sv", "sw", "ta", "te", "tg", "th",
    "ti", "tk", "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty", "ug", "uk", "ur", "uz", "ve", "vi",
    "vo", "wa", "wo", "xh", "yi", "yo", "za", "zh", "zu",
};

static int compare_code(const void *key, const void *elem) { return strcmp(key, elem); }

bool kb_iso639_1_valid(const char *code) {
    if (!code || strlen(code) != 2) return false;
    return bsearch(code, codes, sizeof codes / sizeof codes[0], sizeof codes[0], compare_code) !=
           NULL;
}
