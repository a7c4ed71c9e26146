#!/bin/sh
# Usage: links.sh SRCDIR PAGE.3...
# For each manual page (a path under SRCDIR), prints one line "PAGE NAME" for every name its
# NAME section gives (.Nm) other than the page's own: the names that
# `make install` makes links for (NAME.3, holding ".so man3/PAGE.3"), so
# that `man tether_fiber_resume` finds tether_fiber(3).
set -eu
srcdir=$1
shift
for page in "$@"; do
    base=$(basename "$page" .3)
    sed -n '/^\.Sh NAME/,/^\.Sh /s/^\.Nm \([A-Za-z_0-9]*\).*/\1/p' "$srcdir/$page" |
        while read -r name; do
            [ "$name" = "$base" ] || echo "$base $name"
        done
done
