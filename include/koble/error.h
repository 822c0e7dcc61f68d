/* error.h — error codes of libkoble.
 *
 * Functions that can fail return int: 0 on success, a negative KB_E* code
 * otherwise, as libuv does. kb_strerror() names a code for logs and error
 * messages; it never returns NULL. */
#ifndef KOBLE_ERROR_H
#define KOBLE_ERROR_H

enum {
    KB_OK = 0,
    KB_ENOMEM = -1,    /* allocation failed */
    KB_EINVAL = -2,    /* invalid argument or input (a 4xx for the client) */
    KB_ENOTFOUND = -3, /* no such entity */
    KB_ECONFLICT = -4, /* state does not allow it (a hard constraint, a lifecycle step) */
    KB_EFULL = -5,     /* a configured limit is reached */
    KB_EIO = -6,       /* system call failed; errno tells more */
    KB_ESYNTAX = -7,   /* malformed input (JSON, HTTP, config) */
    KB_ECORRUPT = -8,  /* a stored file fails its checksum or framing */
    KB_EVERSION = -9,  /* a stored file has a format version this build does not know */
};

const char *kb_strerror(int code);

#endif
