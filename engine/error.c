/* error.c — names for KB_E* codes. */
#include "koble/error.h"

const char *kb_strerror(int code) {
    switch (code) {
    case KB_OK: return "ok";
    case KB_ENOMEM: return "out of memory";
    case KB_EINVAL: return "invalid input";
    case KB_ENOTFOUND: return "not found";
    case KB_ECONFLICT: return "conflict";
    case KB_EFULL: return "limit reached";
    case KB_EIO: return "input/output error";
    case KB_ESYNTAX: return "syntax error";
    case KB_ECORRUPT: return "damaged file";
    case KB_EVERSION: return "unknown file format version";
    }
    return "unknown error";
}
