/*
 * The version of tether these headers belong to.
 *
 * The package version: the same as configure.ac's AC_INIT, which
 * refuses to configure while the two differ. (Not to be confused with
 * the libraries' libtool interface versions, in configure.ac, nor the
 * symbol version nodes of src/libtether.map: see NEWS.)
 *
 * Compile time: the macros. Run time: tether_version() and
 * tether_version_number() (tether/common.h) say which library the
 * program is running with. That may be a later release than these
 * headers; or an earlier one, when the program uses no function the
 * earlier one lacks (the dynamic linker checks each function's symbol
 * version, see NEWS, and refuses to start a program that needs a later
 * one).
 *
 *   #if TETHER_VERSION_NUMBER >= TETHER_VERSION_ENCODE(0, 2, 0)
 *       ... use what 0.2.0 added ...
 *   #endif
 *
 * This header has no declarations and includes nothing: it may be
 * included on its own, also from assembly or a resource compiler.
 */
#ifndef TETHER_VERSION_H
#define TETHER_VERSION_H

#define TETHER_VERSION_MAJOR 0
#define TETHER_VERSION_MINOR 1
#define TETHER_VERSION_PATCH 0

/*
 * A version as one number, 0xMMmmpp: major, minor and patch, 8 bits
 * each (minor and patch stay below 256), so that later versions compare
 * greater. 0.1.0 is 0x000100.
 */
#define TETHER_VERSION_ENCODE(major, minor, patch) \
    (((major) << 16) | ((minor) << 8) | (patch))

/* These headers' version as one number (what tether_version_number() returns). */
#define TETHER_VERSION_NUMBER \
    TETHER_VERSION_ENCODE(TETHER_VERSION_MAJOR, TETHER_VERSION_MINOR, TETHER_VERSION_PATCH)

/* These headers' version as a string, "0.1.0" (what tether_version() returns). */
#define TETHER_VERSION_STRING \
    TETHER__VERSION_JOIN(TETHER_VERSION_MAJOR, TETHER_VERSION_MINOR, TETHER_VERSION_PATCH)

/* Not API: the expansion of the numbers into "M.m.p". */
#define TETHER__VERSION_JOIN(a, b, c) TETHER__VERSION_STR(a, b, c)
#define TETHER__VERSION_STR(a, b, c) #a "." #b "." #c

#endif
