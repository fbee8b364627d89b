# plots.gp - the router benchmark's PNG plots, run by router-bench:
#   gnuplot -e "stem='bench/results/STAMP'; have_parts=1; ..." bench/plots.gp
# Reads STEM-{partitions,rules,sizes,fanout}.dat (those the have_* flags
# say exist) and writes STEM-{...}.png next to them.

set terminal pngcairo size 900,560 font ",11"
set grid ytics
set key outside right top
set style data linespoints
set format y "%.1s%c"
if (!exists("title_suffix")) title_suffix = ""

if (exists("have_parts")) {
    set output stem."-partitions.png"
    set title "Throughput by source partitions (100 rules, 200 B events)\n".title_suffix
    set xlabel "source partitions"
    set ylabel "messages/s"
    set logscale x 2
    set xrange [0.8:20]
    set xtics (1, 2, 4, 8, 16)
    plot stem."-partitions.dat" using 1:2 title "router" lw 3 pt 7, \
         "" using 1:3 title "copy (kcat | kcat)" pt 5, \
         "" using 1:4 title "copy (C loop)" pt 9, \
         "" using 1:5 title "consume-only" dt 2 pt 4, \
         "" using 1:6 title "produce-only" dt 2 pt 6
    unset logscale x
    set xrange [*:*]
    set xtics autofreq
}

if (exists("have_rules")) {
    set output stem."-rules.png"
    set title sprintf("Router throughput by rule count (%d partitions, 200 B)\n%s", rules_parts, title_suffix)
    set xlabel "routes in the rule set"
    set ylabel "messages/s"
    set logscale x 10
    set xrange [7:1500]
    set yrange [0:*]
    plot stem."-rules.dat" using 1:2 title "router" lw 3 pt 7, \
         "" using 1:3 title "copy (kcat | kcat)" dt 2 pt 5, \
         "" using 1:4 title "copy (C loop)" dt 2 pt 9
    unset logscale x
    set xrange [*:*]
    set yrange [*:*]
}

if (exists("have_sizes")) {
    set output stem."-sizes.png"
    set title sprintf("Throughput by event size (%d partitions, 100 rules)\n%s", sizes_parts, title_suffix)
    set xlabel "event size, bytes"
    set ylabel "MB/s (value + key)"
    set logscale x 2
    set xrange [80:1300]
    set xtics (100, 200, 400, 1024)
    plot stem."-sizes.dat" using 1:2 title "router" lw 3 pt 7, \
         "" using 1:3 title "copy (kcat | kcat)" pt 5, \
         "" using 1:4 title "copy (C loop)" pt 9, \
         "" using 1:5 title "consume-only" dt 2 pt 4, \
         "" using 1:6 title "produce-only" dt 2 pt 6
    unset logscale x
    set xrange [*:*]
    set xtics autofreq
}

if (exists("have_fanout")) {
    set output stem."-fanout.png"
    set title sprintf("Bytes the brokers served, 10 downstream consumers each wanting 1/10\n(direct / routed = %.2f)", fanout_ratio)
    set style data histograms
    set style histogram rowstacked
    set style fill solid 0.8 border -1
    set boxwidth 0.6
    set ylabel "MB (TCP bytes on the clients' sockets)"
    set xlabel ""
    set yrange [0:*]
    set format y "%.0f"
    set key inside right top
    plot stem."-fanout.dat" using 2:xtic(1) title "read from the source", \
         "" using 3 title "written by the router", \
         "" using 4 title "read back from the routed topics"
}
