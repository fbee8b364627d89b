/* dlqtool.h - `router dlq stats | search | replay`: count, find and route
 * again the dead letters of a dead-letter topic itself (its router.*
 * headers are the index), with or without a router running. */
#ifndef ROUTER_DLQTOOL_H
#define ROUTER_DLQTOOL_H

/* Run `router dlq SUBCOMMAND [options]`: argv[0] is the subcommand
 * ("stats", "search", "replay", "--help"). Prints to stdout; errors are one
 * line on stderr. Returns the exit code: 0, 1 (the cluster could not be read)
 * or 2 (usage: a bad option or time, not a dead-letter topic). */
int dlqtool_main(int argc, char **argv);

#endif
