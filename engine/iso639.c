/* iso639.c — see iso639.h.
 *
 * The table is every two-letter code of ISO 639-1 as published in Debian's
 * iso-codes 4.15 (the alpha_2 codes of its ISO 639-2 and 639-3 tables,
 * 185 in all). It includes the withdrawn "bh" (Bihari) and "sh"
 * (Serbo-Croatian): both still occur in real data and rejecting them would
 * only lose a volunteer's language. Sorted, so lookup is a binary search. */
#include "iso639.h"

#include <stddef.h>

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

/* A binary search on the two letters as one number: a language is checked
 * for every one a volunteer lists, on every write and every restored
 * record, where bsearch with strcmp cost a few hundred instructions. */
bool kb_iso639_1_valid(const char *code) {
    if (!code || !code[0] || !code[1] || code[2]) return false;
    unsigned want = (unsigned char)code[0] << 8 | (unsigned char)code[1];
    size_t lo = 0, hi = sizeof codes / sizeof codes[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        unsigned at = (unsigned char)codes[mid][0] << 8 | (unsigned char)codes[mid][1];
        if (at == want) return true;
        if (at < want) lo = mid + 1;
        else hi = mid;
    }
    return false;
}
