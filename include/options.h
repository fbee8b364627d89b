/* options.h - command-line options declared once in a table that serves
 * parsing, defaults, bounds checking and --help. */
#ifndef ROUTER_OPTIONS_H
#define ROUTER_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

typedef enum options_type {
    OPT_STR,    /* const char * (points into argv or the default) */
    OPT_INT,    /* int, within [min, max] */
    OPT_DOUBLE, /* double, within [min, max] */
    OPT_FLAG,   /* int set to 1 */
    OPT_COUNT,  /* int incremented per use (-v -v) */
    OPT_LIST    /* options_list_t, one entry per use (-X a -X b) */
} options_type_t;

/* Storage of an OPT_LIST option. */
typedef struct options_list {
    const char **v; /* owned array of pointers into argv */
    size_t n;
} options_list_t;

/* One option. */
typedef struct options_def {
    const char *name; /* long name without "--" */
    char short_name;  /* single-letter form, 0 for none */
    options_type_t type;
    const char *arg;  /* argument name shown in --help, NULL for flags */
    const char *def;  /* default as text, NULL for none */
    double min, max;  /* bounds of OPT_INT / OPT_DOUBLE */
    size_t offset;    /* where the value lives in the config struct */
    const char *help; /* one line */
} options_def_t;

/* Set every default of defs (terminated by a zeroed entry) in conf, then
 * parse argv[1..argc). Accepts "--name value", "--name=value", "-x value"
 * and "-xvalue". Returns 0; -1 with errstr naming the option on an unknown
 * option, a missing argument or a value out of bounds ("--batch: 0 is not
 * within 1..10000"); 1 when positional arguments remain (first at *next).
 * Free lists with options_free(). */
int options_parse(const options_def_t *defs, void *conf, int argc, char **argv,
                  int *next, char *errstr, size_t errstr_size);

/* Print one line per option, with its argument and default. */
void options_help(const options_def_t *defs, FILE *out);

/* Free the OPT_LIST arrays in conf. */
void options_free(const options_def_t *defs, void *conf);

#endif
