#include "render.h"

#include <string.h>

int render_fmt_from_name(const char *name)
{
        static const char *const names[] = {"table", "jsonl", "csv", "html"};
        for (int i = 0; i < 4; i++)
                if (strcmp(name, names[i]) == 0)
                        return i;
        return -1;
}

/* jsonl: the SPEC rows exactly as given. */
static int write_lines(FILE *f, render_rows_t rows)
{
        for (size_t i = 0; i < rows.n; i++)
                if (fputs(rows.lines[i], f) == EOF || fputc('\n', f) == EOF)
                        return -1;
        return 0;
}

int render_digest(FILE *f, render_fmt_t fmt, render_rows_t rows,
                  const roster_t *roster, char *errstr, size_t errstr_size)
{
        (void)roster;
        if (fmt == RENDER_JSONL)
                return write_lines(f, rows);
        snprintf(errstr, errstr_size, "format not implemented yet");
        return -1;
}

int render_payroll(FILE *f, render_fmt_t fmt, render_rows_t rows,
                   const roster_t *roster, bool locked, char *errstr,
                   size_t errstr_size)
{
        (void)roster;
        (void)locked;
        if (fmt == RENDER_JSONL)
                return write_lines(f, rows);
        snprintf(errstr, errstr_size, "format not implemented yet");
        return -1;
}

int render_discipline(FILE *f, render_fmt_t fmt, render_rows_t rows,
                      const roster_t *roster, char *errstr, size_t errstr_size)
{
        (void)roster;
        if (fmt == RENDER_JSONL)
                return write_lines(f, rows);
        snprintf(errstr, errstr_size, "format not implemented yet");
        return -1;
}
