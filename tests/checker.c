/* checker.c — see checker.h. */
#include "checker.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static struct {
    pid_t pid;
    FILE *to, *from;
} checker;

const char *kt_python(void) {
    const char *p = getenv("KOBLE_PYTHON");
    if (p && *p) return p;
    return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

int kt_checker_run(const char *const *args, const char *input, char *out, size_t cap) {
    const char *argv[12] = {kt_python(), KT_CHECKER};
    int argc = 2;
    for (int i = 0; args[i] && argc < 11; i++) argv[argc++] = args[i];
    argv[argc] = NULL;
    int in[2], res[2];
    out[0] = '\0';
    if (pipe(in) < 0) return -1;
    if (pipe(res) < 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(res[1], 1);
        dup2(res[1], 2);
        close(in[0]);
        close(in[1]);
        close(res[0]);
        close(res[1]);
        execvp(argv[0], (char *const *)argv);
        dprintf(2, "checker: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(res[1]);
    /* The checker reads all of stdin before it prints anything, and the
     * bodies here are small: write everything, then read. */
    size_t len = strlen(input), off = 0;
    while (off < len) {
        ssize_t n = write(in[1], input + off, len - off);
        if (n <= 0) break;
        off += (size_t)n;
    }
    close(in[1]);
    size_t got = 0;
    for (;;) {
        char buf[512];
        ssize_t n = read(res[0], buf, sizeof buf);
        if (n <= 0) break;
        size_t keep = got + (size_t)n < cap ? (size_t)n : cap - 1 - got;
        memcpy(out + got, buf, keep);
        got += keep;
    }
    out[got] = '\0';
    close(res[0]);
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

void kt_checker_start(void) {
    int in[2], res[2];
    cr_assert_eq(pipe(in), 0);
    cr_assert_eq(pipe(res), 0);
    /* Close-on-exec, or servers started next would inherit the write end
     * of the checker's stdin and the checker would never see its end. */
    for (int i = 0; i < 2; i++) {
        fcntl(in[i], F_SETFD, FD_CLOEXEC);
        fcntl(res[i], F_SETFD, FD_CLOEXEC);
    }
    checker.pid = fork();
    cr_assert_geq(checker.pid, 0);
    if (checker.pid == 0) {
        dup2(in[0], 0);
        dup2(res[1], 1);
        close(in[0]);
        close(in[1]);
        close(res[0]);
        close(res[1]);
        const char *argv[] = {kt_python(), KT_CHECKER, "--serve", NULL};
        execvp(argv[0], (char *const *)argv);
        dprintf(2, "checker: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(res[1]);
    checker.to = fdopen(in[1], "w");
    checker.from = fdopen(res[0], "r");
    cr_assert(checker.to && checker.from);
}

void kt_checker_stop(void) {
    if (checker.pid <= 0) return;
    if (checker.to) fclose(checker.to); /* end of input: the checker exits */
    if (checker.from) fclose(checker.from);
    kill(checker.pid, SIGTERM); /* in case it has not yet: it answered all */
    waitpid(checker.pid, NULL, 0);
    checker.pid = 0;
    checker.to = checker.from = NULL;
}

int kt_checker_ask(const char *args, const char *doc, char *out, size_t cap) {
    size_t len = strlen(doc);
    out[0] = '\0';
    if (fprintf(checker.to, "%zu %s\n", len, args) < 0 || fwrite(doc, 1, len, checker.to) != len ||
        fflush(checker.to) != 0)
        return -1;
    int rc;
    size_t mlen;
    if (fscanf(checker.from, "%d %zu", &rc, &mlen) != 2 || fgetc(checker.from) != '\n') return -1;
    size_t kept = 0;
    for (size_t i = 0; i < mlen; i++) {
        int c = fgetc(checker.from);
        if (c == EOF) return -1;
        if (kept + 1 < cap) out[kept++] = (char)c;
    }
    out[kept] = '\0';
    return rc;
}
