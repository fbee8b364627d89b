/* options.c - table-driven command-line parsing and --help. */
#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void *field(void *conf, const options_def_t *d)
{
    return (char *)conf + d->offset;
}

/* Store the text value v of option d in conf. Returns 0 or -1. */
static int set_value(const options_def_t *d, void *conf, const char *v,
                     char *errstr, size_t errstr_size)
{
    char *end;
    double x;

    switch (d->type) {
    case OPT_STR:
        *(const char **)field(conf, d) = v;
        return 0;
    case OPT_FLAG:
        *(int *)field(conf, d) = 1;
        return 0;
    case OPT_COUNT:
        (*(int *)field(conf, d))++;
        return 0;
    case OPT_LIST: {
        options_list_t *l = field(conf, d);
        const char **nv = realloc(l->v, (l->n + 1) * sizeof(*nv));

        if (!nv) {
            snprintf(errstr, errstr_size, "--%s: out of memory", d->name);
            return -1;
        }
        nv[l->n++] = v;
        l->v = nv;
        return 0;
    }
    case OPT_INT:
    case OPT_DOUBLE:
        errno = 0;
        x = strtod(v, &end);
        if (errno || end == v || *end || !isfinite(x) ||
            (d->type == OPT_INT && x != floor(x))) {
            snprintf(errstr, errstr_size, "--%s: \"%s\" is not %s", d->name, v,
                     d->type == OPT_INT ? "an integer" : "a number");
            return -1;
        }
        if (x < d->min || x > d->max) {
            snprintf(errstr, errstr_size, "--%s: %s is not within %g..%g",
                     d->name, v, d->min, d->max);
            return -1;
        }
        if (d->type == OPT_INT)
            *(int *)field(conf, d) = (int)x;
        else
            *(double *)field(conf, d) = x;
        return 0;
    }
    return -1;
}

static int takes_arg(const options_def_t *d)
{
    return d->type != OPT_FLAG && d->type != OPT_COUNT;
}

int options_parse(const options_def_t *defs, void *conf, int argc, char **argv,
                  int *next, char *errstr, size_t errstr_size)
{
    const options_def_t *d;
    int i;

    for (d = defs; d->name; d++)
        if (d->def && set_value(d, conf, d->def, errstr, errstr_size))
            return -1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;

        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (a[0] != '-' || !a[1])
            break;
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);

            for (d = defs; d->name; d++)
                if (strlen(d->name) == n && !strncmp(d->name, a + 2, n))
                    break;
            if (eq)
                v = eq + 1;
        } else {
            for (d = defs; d->name; d++)
                if (d->short_name && d->short_name == a[1])
                    break;
            if (a[2])
                v = a + 2;
        }
        if (!d->name) {
            snprintf(errstr, errstr_size, "unknown option %s (see --help)", a);
            return -1;
        }
        if (!takes_arg(d) && v) {
            snprintf(errstr, errstr_size, "--%s takes no value", d->name);
            return -1;
        }
        if (takes_arg(d) && !v) {
            if (i + 1 >= argc) {
                snprintf(errstr, errstr_size, "--%s needs a value (%s)",
                         d->name, d->arg ? d->arg : "value");
                return -1;
            }
            v = argv[++i];
        }
        if (set_value(d, conf, v, errstr, errstr_size))
            return -1;
    }
    if (next)
        *next = i;
    return i < argc ? 1 : 0;
}

void options_help(const options_def_t *defs, FILE *out)
{
    for (const options_def_t *d = defs; d->name; d++) {
        char left[64];

        if (d->short_name)
            snprintf(left, sizeof(left), "-%c, --%s%s%s", d->short_name,
                     d->name, d->arg ? " " : "", d->arg ? d->arg : "");
        else
            snprintf(left, sizeof(left), "    --%s%s%s", d->name,
                     d->arg ? " " : "", d->arg ? d->arg : "");
        fprintf(out, "  %-28s %s", left, d->help);
        if (d->def && takes_arg(d))
            fprintf(out, " (default: %s)", d->def);
        fputc('\n', out);
    }
}

void options_free(const options_def_t *defs, void *conf)
{
    for (const options_def_t *d = defs; d->name; d++)
        if (d->type == OPT_LIST) {
            options_list_t *l = field(conf, d);

            free(l->v);
            l->v = NULL;
            l->n = 0;
        }
}
