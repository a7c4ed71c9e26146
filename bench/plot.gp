# The comparison plot: one bar per goal, showing how far the measured
# figure is from it (the measured ratio divided by the goal ratio, or
# the measured value divided by the goal value). Every goal then sits
# at 1, and a bar that ends left of the dashed line is a goal met.
# Called by bench/run.sh with datafile, output and subtitle set; the
# data comes from report.awk: index, label, the figure from the medians
# / goal, the same from the minimums / goal, met (1 or 0), the figure in
# words. The minimums' figure is drawn as a tick (an error bar), not a
# point symbol: every SVG renderer draws that.
stats datafile using 3 name "MED" nooutput
stats datafile using 4 name "BEST" nooutput
lo = 2 ** floor(log(BEST_min < 0.5 ? BEST_min : 0.5) / log(2) - 0.5)
hi = 2 ** ceil(log((MED_max > BEST_max ? MED_max : BEST_max) > 2 ? (MED_max > BEST_max ? MED_max : BEST_max) : 2) / log(2) + 1.5)
rows = MED_records

set terminal svg size 1000, (180 + 34 * rows) dynamic noenhanced font "sans,12" background rgb "white"
set output output
set title "tether against its goals (make bench)\n".subtitle font "sans,13"
set xlabel "measured / goal   (log scale: 1 = on the goal; left of the dashed line = goal met)"
set logscale x 2
set xrange [lo:hi]
set format x "%gx"
set yrange [rows - 0.4:-0.6]
set ytics nomirror
set xtics nomirror
set grid xtics lc rgb "#dddddd"
set style fill solid 0.85 border rgb "#333333"
set arrow from 1, graph 0 to 1, graph 1 nohead dt 2 lw 1.5 lc rgb "black" back
set key below horizontal font "sans,10" spacing 1.5
set lmargin 34
plot datafile using (lo):1:(lo):3:($1 - 0.3):($1 + 0.3):($5 > 0 ? 0x3a9d5d : 0xd0564f):ytic(2) \
         with boxxyerror lc rgb variable title "from the medians (green: goal met, red: missed)", \
     '' using 4:1:($1 - 0.4):($1 + 0.4) with yerrorbars pt -1 lw 2.5 lc rgb "black" title "from the minimums", \
     '' using (($3 > $4 ? $3 : $4) * 1.12):1:(strcol(6)) with labels left font "sans,10" notitle
