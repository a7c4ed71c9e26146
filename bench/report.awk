# The comparison table, from bench/run.sh's samples ("round key value").
#
# Each figure's minimum and median over all its samples; each row sets
# tether's figure beside an alternative's (or a sum of two, "a+b"),
# gives the ratio of the minimums and of the medians, and checks the
# goal: a ratio goal against the ratio, an absolute one against tether's
# figure. "yes" when the median meets it, "min only" when only the best
# sample does, "no" otherwise.
#
# Writes the plain table to stdout, a Markdown copy to `markdown`, and
# the rows with goals to `plotdata` for plot.gp.
#
# Variables: have_boost, have_pcl (yes/no), alive_count (the "1M" rows'
# count), plotdata, markdown.

# A row: what | tether key | alternative key(s) or "-" | goal kind (ratio,
# max or "-") | goal value | unit (ns, bytes, count) | needs (boost, pcl, -)
# | short label for the plot.
function row(spec) { rows[++nrows] = spec }

BEGIN {
    row("switch round trip, C host, vs Boost fiber (C++ process)|switch_tether_c|switch_boost|ratio|0.7|ns|boost|switch, C host / Boost")
    row("switch round trip, C++ host, vs Boost fiber|switch_tether_cxx|switch_boost|ratio|1.0|ns|boost|switch, C++ host / Boost")
    row("switch round trip, C host, vs pop+jmp floor|switch_tether_c|switch_floor|-|-|ns|-|")
    row("switch round trip, C host, vs pcl|switch_tether_c|switch_pcl|-|-|ns|pcl|")
    row("create+run+destroy 64 KiB, vs Boost pooled|life_tether_64k|life_boost_pooled|ratio|1.3|ns|boost|lifecycle, 64 KiB / Boost pooled")
    row("create+run+destroy 1 MiB, vs Boost pooled 64 KiB|life_tether_default|life_boost_pooled|ratio|1.3|ns|boost|lifecycle, 1 MiB / Boost pooled")
    row("create+run+destroy 64 KiB, vs Boost protected|life_tether_64k|life_boost_protected|-|-|ns|boost|")
    row("create+run+destroy 64 KiB, CLEAN_STACK vs not|life_tether_clean|life_tether_64k|-|-|ns|-|")
    row("1M alive, 16 KiB: time, vs page-fault floor|alive_16k_ns|floor_alive_16k_ns|max|2e9|ns|-|1M alive, 16 KiB: time / 2 s")
    row("1M alive, 16 KiB: time, vs floor + guards|alive_16k_ns|floor_guard_16k_ns|-|-|ns|-|")
    row("1M alive, 16 KiB: RSS per fiber, vs floor|alive_16k_rss_bytes|floor_alive_16k_rss_bytes|max|5120|bytes|-|1M alive, 16 KiB: RSS / 5 KiB")
    row("1M alive, 16 KiB: page tables per fiber|alive_16k_pte_bytes|-|-|-|bytes|-|")
    row("1M alive, 1 MiB: time, vs page-fault floor|alive_default_ns|floor_alive_default_ns|max|2e9|ns|-|1M alive, 1 MiB: time / 2 s")
    row("1M alive, 1 MiB: time, vs floor + guards|alive_default_ns|floor_guard_default_ns|-|-|ns|-|")
    row("1M alive, 1 MiB: RSS per fiber, vs floor|alive_default_rss_bytes|floor_alive_default_rss_bytes|max|5120|bytes|-|1M alive, 1 MiB: RSS / 5 KiB")
    row("1M alive, 1 MiB: page tables per fiber|alive_default_pte_bytes|-|-|-|bytes|-|")
    row("fault to FAULTED, 1 frame, vs fault floor|fault_tether_1|floor_fault|ratio|1.2|ns|-|fault, 1 frame / floor")
    row("fault to FAULTED, 10 frames, vs fault floor|fault_tether_10|floor_fault|ratio|1.2|ns|-|fault, 10 frames / floor")
    row("fault to FAULTED, 1 frame, vs floor on altstack|fault_tether_1|floor_fault_altstack|-|-|ns|-|")
    row("first tether_fiber_fault(), 1 frame|fault_record_1|-|-|-|ns|-|")
    row("first tether_fiber_fault(), 10 frames|fault_record_10|-|-|-|ns|-|")
    row("unwind after yield, 1 frame, vs throw|unwind_yield_1|throw_1|ratio|1.2|ns|-|unwind after yield, 1 / throw")
    row("unwind after yield, 10 frames, vs throw|unwind_yield_10|throw_10|ratio|1.2|ns|-|unwind after yield, 10 / throw")
    row("unwind after yield, 100 frames, vs throw|unwind_yield_100|throw_100|ratio|1.2|ns|-|unwind after yield, 100 / throw")
    row("fault+unwind, 1 frame, vs throw + fault floor|unwind_fault_1|throw_1+floor_fault|ratio|1.2|ns|-|fault+unwind, 1 / throw+floor")
    row("fault+unwind, 10 frames, vs throw + fault floor|unwind_fault_10|throw_10+floor_fault|ratio|1.2|ns|-|fault+unwind, 10 / throw+floor")
    row("fault+unwind, 100 frames, vs throw + fault floor|unwind_fault_100|throw_100+floor_fault|ratio|1.2|ns|-|fault+unwind, 100 / throw+floor")
    row("syscalls in 100,000 round trips|syscalls_switch|-|max|0|count|-|")
    row("syscalls in 10,000 pooled lifecycles|syscalls_lifecycle|-|max|0|count|-|")
    row("tether_terminate to TERMINATED|terminate_tether|-|-|-|ns|-|")
    row("resume_for + yield (timer armed)|timed_tether|-|-|-|ns|-|")
    row("kill from another thread, to return|kill_tether|-|-|-|ns|-|")
}

{ n[$2]++; v[$2, n[$2]] = $3 + 0 }

# Sorts key k's samples in place (insertion sort: a few dozen at most).
function sortkey(k,    i, j, t) {
    for (i = 2; i <= n[k]; i++) {
        t = v[k, i]
        for (j = i - 1; j >= 1 && v[k, j] > t; j--)
            v[k, j + 1] = v[k, j]
        v[k, j + 1] = t
    }
    sorted[k] = 1
}

function stat(k, which,    m) {
    if (!(k in n))
        return ""
    if (!(k in sorted))
        sortkey(k)
    if (which == "min")
        return v[k, 1]
    m = n[k]
    return m % 2 ? v[k, (m + 1) / 2] : (v[k, m / 2] + v[k, m / 2 + 1]) / 2
}

# A sum of keys ("a+b"): the sum of their minimums, or of their medians.
function value(expr, which,    parts, np, i, s, x) {
    np = split(expr, parts, "+")
    s = 0
    for (i = 1; i <= np; i++) {
        x = stat(parts[i], which)
        if (x == "")
            return ""
        s += x
    }
    return s
}

function show(x, unit) {
    if (x == "")
        return "n/a"
    if (unit == "count")
        return sprintf("%d", x)
    if (unit == "bytes")
        return sprintf("%.2f KiB", x / 1024)
    if (x < 1e3)
        return sprintf("%.1f ns", x)
    if (x < 1e6)
        return sprintf("%.2f us", x / 1e3)
    if (x < 1e9)
        return sprintf("%.1f ms", x / 1e6)
    return sprintf("%.2f s", x / 1e9)
}

function ratio(a, b) {
    if (a == "" || b == "" || b == 0)
        return ""
    return a / b
}

function showratio(x) { return x == "" ? "n/a" : sprintf("%.2fx", x) }

function showgoal(kind, g, unit) {
    if (kind == "ratio")
        return sprintf("<= %.1fx", g)
    if (kind == "max")
        return "<= " (g == 0 ? "0" : show(g, unit))
    return "-"
}

function met(kind, g, xmin, xmed) {
    if (kind == "-")
        return ""
    if (xmed == "")
        return "n/a"
    if (xmed <= g + 0)
        return "yes"
    if (xmin <= g + 0)
        return "min only"
    return "no"
}

# "1M", or the count a trial run used instead (the 2 s goal is for 1M).
function count_label(c) {
    if (c == "" || c == 1000000)
        return "1M"
    if (c % 1000000 == 0)
        return (c / 1000000) "M"
    if (c % 1000 == 0)
        return (c / 1000) "k"
    return c
}

END {
    alive_label = count_label(alive_count)
    hdr[1] = "what"; hdr[2] = "tether (min / median)"; hdr[3] = "alternative (min / median)"
    hdr[4] = "ratio (min / median)"; hdr[5] = "goal"; hdr[6] = "met?"
    for (c = 1; c <= 6; c++)
        w[c] = length(hdr[c])
    nout = 0
    nplot = 0
    for (i = 1; i <= nrows; i++) {
        split(rows[i], f, "|")
        sub(/^1M/, alive_label, f[1])
        sub(/^1M/, alive_label, f[8])
        if (f[7] == "boost" && have_boost != "yes")
            continue
        if (f[7] == "pcl" && have_pcl != "yes")
            continue
        tmin = value(f[2], "min"); tmed = value(f[2], "median")
        if (tmin == "")
            continue  # not measured (a limit of the machine, noted)
        alt = f[3] != "-"
        if (alt) {
            amin = value(f[3], "min"); amed = value(f[3], "median")
            rmin = ratio(tmin, amin); rmed = ratio(tmed, amed)
        }
        nout++
        cell[nout, 1] = f[1]
        cell[nout, 2] = show(tmin, f[6]) " / " show(tmed, f[6])
        if (f[6] == "count")
            cell[nout, 2] = show(tmed, f[6])
        cell[nout, 3] = alt ? show(amin, f[6]) " / " show(amed, f[6]) : "-"
        cell[nout, 4] = alt ? showratio(rmin) " / " showratio(rmed) : "-"
        cell[nout, 5] = showgoal(f[4], f[5], f[6])
        if (f[4] == "ratio")
            cell[nout, 6] = met(f[4], f[5], rmin, rmed)
        else
            cell[nout, 6] = met(f[4], f[5], tmin, tmed)
        for (c = 1; c <= 6; c++)
            if (length(cell[nout, c]) > w[c])
                w[c] = length(cell[nout, c])
        # the plot: how far each figure is from its goal (1 = on it)
        if (f[4] != "-" && f[5] + 0 > 0) {
            xmed = f[4] == "ratio" ? rmed : tmed
            xmin = f[4] == "ratio" ? rmin : tmin
            if (xmed != "") {
                nplot++
                printf "%d \"%s\" %g %g %s \"%s\"\n", nplot - 1, f[8], xmed / f[5], xmin / f[5],
                    (xmed <= f[5] + 0 ? 1 : 0),
                    (f[4] == "ratio" ? sprintf("%.2fx (goal %.1fx)", xmed, f[5]) : \
                                       sprintf("%s (goal %s)", show(xmed, f[6]), show(f[5], f[6]))) > plotdata
            }
        }
    }
    if (nplot == 0)
        printf "" > plotdata

    line = ""
    for (c = 1; c <= 6; c++)
        line = line (c > 1 ? " | " : "") sprintf("%-" w[c] "s", hdr[c])
    sub(/ +$/, "", line)
    print line
    line = ""
    for (c = 1; c <= 6; c++)
        line = line (c > 1 ? "-+-" : "") sprintf("%" w[c] "s", "")
    gsub(/ /, "-", line)
    print line
    for (r = 1; r <= nout; r++) {
        line = ""
        for (c = 1; c <= 6; c++)
            line = line (c > 1 ? " | " : "") sprintf("%-" w[c] "s", cell[r, c])
        sub(/ +$/, "", line)
        print line
    }

    print "| what | tether (min / median) | alternative (min / median) | ratio (min / median) | goal | met? |" > markdown
    print "| --- | --- | --- | --- | --- | --- |" > markdown
    for (r = 1; r <= nout; r++) {
        line = "|"
        for (c = 1; c <= 6; c++)
            line = line " " cell[r, c] " |"
        print line > markdown
    }
}
