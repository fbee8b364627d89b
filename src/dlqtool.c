/* dlqtool.c - `router dlq stats | search | replay`: the options (one table
 * for every subcommand), their checks, and the dispatch. */
#include "dlqtool.h"
#include "dlqtool_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define OFF(f) offsetof(dlqtool_conf_t, f)
static const options_def_t dlq_options[] = {
    {"brokers", 'b', OPT_STR, "BROKERS", NULL, 0, 0, OFF(brokers),
     "bootstrap servers (host:port,...)"},
    {"topic", 't', OPT_STR, "TOPIC", NULL, 0, 0, OFF(topic),
     "the dead-letter topic"},
    {"property", 'X', OPT_LIST, "PROP=VAL", NULL, 0, 0, OFF(props),
     "librdkafka property of the consumer (\"consumer.\" prefix allowed, "
     "\"producer.\" ones ignored)"},
    {"since", 0, OPT_STR, "T", NULL, 0, 0, OFF(since),
     "dead letters from T on: 2026-12-02T10:00Z, epoch s or ms, or an "
     "age (30m, 2h, 7d)"},
    {"until", 0, OPT_STR, "T", NULL, 0, 0, OFF(until),
     "... up to T (inclusive)"},
    {"reason", 0, OPT_STR, "R", NULL, 0, 0, OFF(reason),
     "only router.reason R"},
    {"route", 0, OPT_STR, "NAME", NULL, 0, 0, OFF(route),
     "only router.route NAME"},
    {"source-topic", 0, OPT_STR, "T", NULL, 0, 0, OFF(source_topic),
     "only dead letters of source topic T"},
    {"rules-version", 0, OPT_STR, "V", NULL, 0, 0, OFF(rules_version),
     "only dead letters of rules version V"},
    {"q", 0, OPT_STR, "TEXT", NULL, 0, 0, OFF(q),
     "only those whose key, value or detail holds TEXT (ASCII case "
     "ignored)"},
    {"limit", 0, OPT_INT, "N", "20", 1, 100000, OFF(limit),
     "search: show the N oldest matches"},
    {"json", 0, OPT_FLAG, NULL, NULL, 0, 0, OFF(json),
     "stats: one JSON object; search: one JSON object per line"},
    {"timeout", 0, OPT_DOUBLE, "S", "30", 1, 3600, OFF(timeout),
     "exit 1 when the cluster does not answer (or a fetch stalls) for S "
     "seconds"},
    {"rules", 'r', OPT_STR, "RULES.json", NULL, 0, 0, OFF(rules),
     "replay: route through these rules"},
    {"rules-topic", 0, OPT_STR, "T", NULL, 0, 0, OFF(rules_topic),
     "replay: route through the latest valid rules of group -G in the "
     "fleet's rules topic T"},
    {"group", 'G', OPT_STR, "GROUP", NULL, 0, 0, OFF(group),
     "replay --rules-topic: the router group whose rules to use"},
    {"to-source", 0, OPT_FLAG, NULL, NULL, 0, 0, OFF(to_source),
     "replay: produce back to the source topic and partition instead"},
    {"dry-run", 0, OPT_FLAG, NULL, NULL, 0, 0, OFF(dry_run),
     "replay: produce nothing, print where each would go and the totals"},
    {"replay-id", 0, OPT_STR, "ID", NULL, 0, 0, OFF(replay_id),
     "replay: its name; run again with the same ID (and selection) to "
     "resume; its range is fixed at the first run"},
    {"rate", 0, OPT_INT, "N", "0", 0, 10000000, OFF(rate),
     "replay: at most N dead letters a second (0: no limit)"},
    {"commit-every", 0, OPT_INT, "N", "1000", 1, 10000000, OFF(commit_every),
     "replay: commit the progress every N records (what an interrupted "
     "replay may produce twice)"},
    {"verbose", 'v', OPT_COUNT, NULL, NULL, 0, 0, OFF(verbose),
     "debug logging"},
    {"help", 'h', OPT_FLAG, NULL, NULL, 0, 0, OFF(help), "this help"},
    {NULL, 0, 0, NULL, NULL, 0, 0, 0, NULL}};

static void usage(FILE *out)
{
    fprintf(out, "usage: router dlq stats  -b BROKERS -t TOPIC [selection] "
                 "[--json]\n"
                 "       router dlq search -b BROKERS -t TOPIC [selection] "
                 "[--limit N] [--json]\n"
                 "       router dlq replay -b BROKERS -t TOPIC --replay-id ID "
                 "(-r RULES.json | --to-source)\n"
                 "                         [selection] [--dry-run] [--rate N] "
                 "[--commit-every N]\n"
                 "Counts (stats), lists (search, oldest first) or routes again "
                 "(replay) the dead\nletters of TOPIC, read from the topic "
                 "itself as it stands when the command\n(or the replay id) "
                 "starts. The selection options narrow all three. Exit 0,\n1 "
                 "(cluster unreachable, a failed produce), 2 (usage, not a "
                 "dead-letter topic).\nOptions:\n");
    options_help(dlq_options, out);
}

int dlqtool_main(int argc, char **argv)
{
    dlqtool_conf_t c;
    dlqscan_conf_t sc;
    const char **props = NULL;
    const char *cmd = argc > 0 ? argv[0] : "";
    char errstr[512];
    int next = 0, rc = 2;
    int64_t now = (int64_t)time(NULL) * 1000;

    memset(&c, 0, sizeof(c));
    memset(&sc, 0, sizeof(sc));
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "stats") && strcmp(cmd, "search") &&
        strcmp(cmd, "replay")) {
        fprintf(stderr,
                "router: error: dlq: unknown subcommand \"%s\" "
                "(stats, search, replay; see router dlq --help)\n",
                cmd);
        return 2;
    }
    switch (options_parse(dlq_options, &c, argc, argv, &next, errstr,
                          sizeof(errstr))) {
    case -1:
        fprintf(stderr, "router: error: dlq %s: %s\n", cmd, errstr);
        goto out;
    case 1:
        fprintf(stderr, "router: error: dlq %s: unexpected argument \"%s\"\n",
                cmd, argv[next]);
        goto out;
    }
    if (c.help) {
        usage(stdout);
        rc = 0;
        goto out;
    }
    if (c.verbose)
        log_set_level(LOG_DEBUG);
    if (!c.brokers || !c.topic) {
        fprintf(stderr,
                "router: error: dlq %s: -b BROKERS and -t TOPIC are "
                "required\n",
                cmd);
        goto out;
    }
    sc.brokers = c.brokers;
    sc.topic = c.topic;
    sc.timeout_ms = (int)(c.timeout * 1000);
    sc.since_ms = sc.until_ms = -1;
    if (c.since && dlqscan_parse_time(c.since, now, &sc.since_ms)) {
        fprintf(stderr,
                "router: error: dlq %s: --since: \"%s\" is not a "
                "time (2026-12-02T10:00:00Z, epoch s or ms, 30m, 2h, "
                "7d)\n",
                cmd, c.since);
        goto out;
    }
    if (c.until && dlqscan_parse_time(c.until, now, &sc.until_ms)) {
        fprintf(stderr,
                "router: error: dlq %s: --until: \"%s\" is not a "
                "time (2026-12-02T10:00:00Z, epoch s or ms, 30m, 2h, "
                "7d)\n",
                cmd, c.until);
        goto out;
    }
    if (!(props = dlqscan_consumer_props((const char *const *)c.props.v,
                                         c.props.n))) {
        fprintf(stderr, "router: error: dlq %s: out of memory\n", cmd);
        rc = 1;
        goto out;
    }
    sc.props = props;
    if (!strcmp(cmd, "replay") &&
        (!c.replay_id || !*c.replay_id ||
         !!c.rules + !!c.rules_topic + !!c.to_source != 1 ||
         !!c.rules_topic != !!c.group)) {
        fprintf(stderr,
                "router: error: dlq replay: --replay-id ID and one of -r "
                "RULES.json, --rules-topic T -G GROUP or --to-source are "
                "required\n");
        goto out;
    }
    rc = !strcmp(cmd, "stats")    ? dlq_run_stats(&c, &sc)
         : !strcmp(cmd, "search") ? dlq_run_search(&c, &sc)
                                  : dlq_run_replay(&c, &sc);
out:
    free(props);
    options_free(dlq_options, &c);
    return rc;
}
