/*
 * The library as users depend on it: the headers and the library agree
 * on their version.
 */
#include "config.h" /* PACKAGE_VERSION, from configure.ac's AC_INIT */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "testlib.h"

/* The library's run-time version is the one its headers say, and configure's. */
START_TEST(test_version_agrees)
{
    char expect[32];

    ck_assert_ptr_nonnull(tether_version());
    ck_assert_str_eq(tether_version(), TETHER_VERSION_STRING);
    ck_assert_str_eq(tether_version(), PACKAGE_VERSION);
    snprintf(expect, sizeof expect, "%d.%d.%d", TETHER_VERSION_MAJOR,
             TETHER_VERSION_MINOR, TETHER_VERSION_PATCH);
    ck_assert_str_eq(tether_version(), expect);
    ck_assert_uint_eq(tether_version_number(), TETHER_VERSION_NUMBER);
    ck_assert_uint_eq(tether_version_number(),
                      ((unsigned)TETHER_VERSION_MAJOR << 16) |
                          ((unsigned)TETHER_VERSION_MINOR << 8) | TETHER_VERSION_PATCH);
}
END_TEST

/* The encoding orders versions as numbers, not as strings. */
START_TEST(test_version_encoding_orders)
{
    ck_assert_uint_eq(TETHER_VERSION_ENCODE(0, 1, 0), 0x000100u);
    ck_assert_uint_lt(TETHER_VERSION_ENCODE(0, 9, 0), TETHER_VERSION_ENCODE(0, 10, 0));
    ck_assert_uint_lt(TETHER_VERSION_ENCODE(0, 255, 255), TETHER_VERSION_ENCODE(1, 0, 0));
    ck_assert_uint_lt(TETHER_VERSION_ENCODE(1, 2, 3), TETHER_VERSION_ENCODE(1, 2, 4));
#if TETHER_VERSION_NUMBER < TETHER_VERSION_ENCODE(0, 1, 0)
#error "the version macros are not usable in #if"
#endif
}
END_TEST

static Suite *api_suite(void)
{
    Suite *s = suite_create("api");
    TCase *version = tcase_create("version");

    tcase_add_test(version, test_version_agrees);
    tcase_add_test(version, test_version_encoding_orders);
    suite_add_tcase(s, version);
    return s;
}

int main(void)
{
    return run_suite(api_suite());
}
