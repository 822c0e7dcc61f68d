/* checker.h — tests/schema_check.py driven from C tests: one process in
 * --serve mode answers many checks (the contract is loaded once), and a
 * one-shot run for the modes that take whole command lines.
 *
 * Paths are relative to the repository root, where tests run. The checker
 * runs under $KOBLE_PYTHON, else Debian's /usr/bin/python3 (jsonschema and
 * yaml as Debian packages), else python3 from PATH. */
#ifndef KT_CHECKER_H
#define KT_CHECKER_H

#include <stddef.h>

#define KT_CHECKER "tests/schema_check.py"

/* Starts the served checker (asserting on failure); its pipes are
 * close-on-exec, so servers started afterwards do not hold them. */
void kt_checker_start(void);
void kt_checker_stop(void);
/* One check by the served checker: args are one mode's arguments,
 * space-separated. Returns the check's exit status (-1: the checker is
 * gone) and its message in out. */
int kt_checker_ask(const char *args, const char *doc, char *out, size_t cap);
/* Runs the checker once with args (NULL-terminated, after the script
 * name), input on stdin. Returns its exit status (-1: did not run) and
 * what it printed in out. */
int kt_checker_run(const char *const *args, const char *input, char *out, size_t cap);

/* The interpreter for the repository's python scripts (see above). */
const char *kt_python(void);

#endif
