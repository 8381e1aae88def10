/*
 * mutate — what the fuzz harnesses share: their failure report
 * (fuzz_check) and, for the plain (non-libFuzzer) build, the
 * deterministic mutations their main() replays and the corpus walk.
 *
 * libFuzzer explores far more, but needs clang; these mutations run on
 * every build (gcc, the sanitizer suite) in a second or two, so a loader
 * that crashes on a flipped byte or a cut file fails ctest everywhere.
 * The sequence is fixed (xorshift from a constant seed): a failure
 * reproduces from the same build.
 */
#ifndef PATUH_FUZZ_MUTATE_H
#define PATUH_FUZZ_MUTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The harness entry point, as libFuzzer calls it. */
typedef int (*fuzz_one_fn)(const uint8_t *data, size_t size);

/* The next number of the sequence in *seed (never 0). */
uint64_t fuzz_next(uint64_t *seed);

/*
 * Mutates buf[0..len) in place (cap bytes available, cap >= len + 64):
 * a flipped bit, a truncation, an inserted fragment (from FRAGS when
 * given, else JSON punctuation, UTF-8 pieces, a BOM, a NUL byte, huge
 * numbers, line ends) or a dropped span.  Returns the new length.
 */
size_t fuzz_mutate(char *buf, size_t len, size_t cap, uint64_t *seed,
                   const char *const *frags, size_t n_frags);

/* Runs ONE on the input, then on MUTATIONS mutations of it (inputs
 * beyond 64 KiB are cut).  Returns the number of runs. */
long fuzz_run_mutated(fuzz_one_fn one, const char *data, size_t size,
                      int mutations, uint64_t *seed, const char *const *frags,
                      size_t n_frags);

/* The same for the content of the file at PATH; -1 when unreadable. */
long fuzz_run_file(fuzz_one_fn one, const char *path, int mutations,
                   uint64_t *seed, const char *const *frags, size_t n_frags);

/* The same for every regular file of DIR (sorted, dot files skipped);
 * *files (may be NULL) counts the files.  -1 when DIR cannot be read. */
long fuzz_run_dir(fuzz_one_fn one, const char *dir, int mutations,
                  uint64_t *seed, const char *const *frags, size_t n_frags,
                  long *files);

/* Every tests/scenarios/<s>/FILE under SOURCE_DIR, as fuzz_run_dir. */
long fuzz_run_scenarios(fuzz_one_fn one, const char *source_dir,
                        const char *file, int mutations, uint64_t *seed,
                        const char *const *frags, size_t n_frags, long *files);

/* What a plain build's main() replays: the corpus folder, mutated (with
 * FRAGS, and when CORPUS_PLAIN_TOO again without), one more file, and the
 * same file of every public scenario. */
typedef struct fuzz_plan {
        const char *harness;       /* its name, in the summary line */
        const char *corpus;        /* under tests/fuzz/corpus/ */
        int mutations;             /* per corpus file */
        const char *const *frags;  /* fuzz_mutate's fragments, or NULL */
        size_t n_frags;            /* entries in frags */
        bool corpus_plain_too;     /* the corpus again, plain mutations */
        const char *file;          /* one more file under the source tree,
                                      or NULL */
        int file_mutations;        /* for it */
        const char *scenario_file; /* tests/scenarios/<s>/<this>, or NULL */
        int scenario_mutations;    /* for each */
} fuzz_plan_t;

/* Runs the plan from SOURCE_DIR, prints the summary; the exit status of
 * main() (1 when the corpus is missing: fewer than three files). */
int fuzz_main(fuzz_one_fn one, const char *source_dir, const fuzz_plan_t *p);

/* Prints the input escaped (for a failed property). */
void fuzz_show(const char *what, const char *s, size_t n);

/* The input being checked and the harness's name, for fuzz_check. */
void fuzz_input(const char *harness, const uint8_t *data, size_t size);

/* A property: when OK is false, prints the harness, the message and the
 * input, then aborts (libFuzzer saves the input as a crash). */
void fuzz_check(bool ok, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
