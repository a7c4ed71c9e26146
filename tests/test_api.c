/*
 * The library as users depend on it: the headers and the library agree
 * on their version; the small things users reach for (a fiber's name,
 * in fault reports too; its state's name; its user data from the
 * fiber; how much of its stack it used).
 */
#include "config.h" /* PACKAGE_VERSION, from configure.ac's AC_INIT */

#include <errno.h>
#include <pthread.h>
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

/* ------------------------------------------------------------ structs */

static void *return_arg(void *arg, void *in);
static void *ret_arg(void *arg)
{
    return arg;
}

/* Options of a later release (a reserved field set) are refused, not ignored. */
START_TEST(test_reserved_options_refused)
{
    tether_fiber_opts fo = {0};
    tether_call_opts co = {0};
    tether_fiber *f = NULL;
    void *ret = NULL;

    for (size_t i = 0; i < sizeof fo.reserved / sizeof fo.reserved[0]; i++) {
        fo.reserved[i] = 1;
        ck_assert_int_eq(tether_fiber_create(&f, return_arg, NULL, &fo), -EINVAL);
        fo.reserved[i] = 0;
    }
    ck_assert_ptr_null(f);
    co.reserved[3] = 1;
    ck_assert_int_eq(tether_call_on_fiber(ret_arg, &co, &ret, &co, NULL), -EINVAL);
    ck_assert_ptr_null(ret);
    co.reserved[3] = 0;
    ck_assert_int_eq(tether_call_on_fiber(ret_arg, &co, &ret, &co, NULL), 0);
    ck_assert_ptr_eq(ret, &co);
}
END_TEST

/* A report is written whole: its reserved fields read zero. */
START_TEST(test_reports_written_whole)
{
    tether_call_report cr;
    tether_unwind_report ur;
    tether_fiber *f = make_fiber(return_arg, NULL);

    memset(&cr, 0xa5, sizeof cr);
    ck_assert_int_eq(tether_call_on_fiber(ret_arg, NULL, NULL, NULL, &cr), 0);
    ck_assert_int_eq(cr.state, TETHER_RETURNED);
    for (size_t i = 0; i < sizeof cr.reserved / sizeof cr.reserved[0]; i++)
        ck_assert_uint_eq(cr.reserved[i], 0);
    memset(&ur, 0xa5, sizeof ur);
    ck_assert_int_eq(tether_fiber_unwind_report(f, &ur), 0);
    for (size_t i = 0; i < sizeof ur.reserved / sizeof ur.reserved[0]; i++)
        ck_assert_int_eq(ur.reserved[i], 0);
    tether_fiber_destroy(f);
}
END_TEST

/*
 * The sizes of the structs programs allocate are part of the ABI: a
 * change here is a new soname (configure.ac), not an accident. x86_64.
 */
START_TEST(test_struct_sizes_fixed)
{
    ck_assert_uint_eq(sizeof(tether_fiber_opts), 112);
    ck_assert_uint_eq(sizeof(tether_call_opts), 96);
    ck_assert_uint_eq(sizeof(tether_call_report), 632);
    ck_assert_uint_eq(sizeof(tether_unwind_report), 32);
    ck_assert_uint_eq(sizeof(tether_fault), 576);
    ck_assert_uint_eq(sizeof(tether_code_range), 16);
}
END_TEST

/* ------------------------------------------------------------- names */

static void *return_arg(void *arg, void *in)
{
    (void)in;
    return arg;
}

static tether_fiber *named(tether_fn fn, void *arg, const char *name)
{
    tether_fiber_opts o = {.name = name};
    tether_fiber *f = NULL;
    ck_assert_int_eq(tether_fiber_create(&f, fn, arg, &o), 0);
    return f;
}

START_TEST(test_name_from_options_is_copied)
{
    char buf[16] = "worker-1";
    tether_fiber *f = named(return_arg, NULL, buf);

    strcpy(buf, "changed");
    ck_assert_str_eq(tether_fiber_name(f), "worker-1");
    tether_fiber_destroy(f);
}
END_TEST

START_TEST(test_name_none_by_default)
{
    tether_fiber *f = make_fiber(return_arg, NULL);
    ck_assert_str_eq(tether_fiber_name(f), "");
    ck_assert_ptr_null(tether_fiber_name(NULL));
    tether_fiber_destroy(f);
    /* The same slot again, after a named fiber: no name left behind. */
    f = named(return_arg, NULL, "first");
    tether_fiber_destroy(f);
    f = make_fiber(return_arg, NULL);
    ck_assert_str_eq(tether_fiber_name(f), "");
    tether_fiber_destroy(f);
}
END_TEST

START_TEST(test_set_name)
{
    tether_fiber *f = make_fiber(return_arg, NULL);

    ck_assert_int_eq(tether_fiber_set_name(f, "io"), 0);
    ck_assert_str_eq(tether_fiber_name(f), "io");
    ck_assert_int_eq(tether_fiber_set_name(f, "parser"), 0);
    ck_assert_str_eq(tether_fiber_name(f), "parser");
    ck_assert_int_eq(tether_fiber_set_name(f, NULL), 0);
    ck_assert_str_eq(tether_fiber_name(f), "");
    ck_assert_int_eq(tether_fiber_set_name(f, "again"), 0);
    ck_assert_int_eq(tether_fiber_set_name(f, ""), 0);
    ck_assert_str_eq(tether_fiber_name(f), "");
    ck_assert_int_eq(tether_fiber_set_name(NULL, "x"), -EINVAL);
    tether_fiber_destroy(f);
}
END_TEST

START_TEST(test_name_cut_to_max)
{
    char longer[100], utf8[40];
    tether_fiber *f = make_fiber(return_arg, NULL);

    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    ck_assert_int_eq(tether_fiber_set_name(f, longer), 0);
    ck_assert_uint_eq(strlen(tether_fiber_name(f)), TETHER_FIBER_NAME_MAX);
    ck_assert_int_eq(strncmp(tether_fiber_name(f), longer, TETHER_FIBER_NAME_MAX), 0);

    /* Exactly the limit: kept whole. */
    longer[TETHER_FIBER_NAME_MAX] = '\0';
    ck_assert_int_eq(tether_fiber_set_name(f, longer), 0);
    ck_assert_str_eq(tether_fiber_name(f), longer);

    /* 30 bytes, then a two-byte character the limit would split: cut before it. */
    memset(utf8, 'b', 30);
    strcpy(utf8 + 30, "\xc3\xa9z");
    ck_assert_int_eq(tether_fiber_set_name(f, utf8), 0);
    ck_assert_uint_eq(strlen(tether_fiber_name(f)), 30);
    /* 29 bytes, then the same character: it fits, whole. */
    strcpy(utf8 + 29, "\xc3\xa9z");
    ck_assert_int_eq(tether_fiber_set_name(f, utf8), 0);
    ck_assert_uint_eq(strlen(tether_fiber_name(f)), 31);
    ck_assert_str_eq(tether_fiber_name(f) + 29, "\xc3\xa9");
    tether_fiber_destroy(f);
}
END_TEST

START_TEST(test_reset_keeps_name)
{
    tether_fiber *f = named(return_arg, NULL, "kept");

    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_RETURNED);
    ck_assert_int_eq(tether_fiber_reset(f, return_arg, NULL, 0), 0);
    ck_assert_str_eq(tether_fiber_name(f), "kept");
    tether_fiber_destroy(f);
}
END_TEST

/* ------------------------------------------------------ names in reports */

volatile char *volatile null_ptr = NULL;

OPAQUE static void *crash(void *arg, void *in)
{
    (void)arg;
    (void)in;
    return (void *)(uintptr_t)*null_ptr;
}

OPAQUE static void *crash_call(void *arg)
{
    return crash(arg, NULL);
}

START_TEST(test_report_names_the_fiber)
{
    char report[4096];
    tether_fiber *f = named(crash, NULL, "plugin \"a\"");
    const tether_fault *r;

    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_FAULTED);
    ck_assert_ptr_nonnull(r = tether_fiber_fault(f));
    ck_assert_int_gt(tether_fault_format(r, report, sizeof report), 0);
    ck_assert_msg(strncmp(report, "fiber \"plugin \"a\"\": segmentation fault: SIGSEGV",
                          strlen("fiber \"plugin \"a\"\": segmentation fault: SIGSEGV")) == 0,
                  "report: %s", report);
    /* The brief record is the same record: the same header. */
    ck_assert_ptr_eq(tether_fiber_fault_brief(f), r);
    /* Renamed: the report follows. */
    tether_fiber_set_name(f, "renamed");
    tether_fault_format(r, report, sizeof report);
    ck_assert_msg(strncmp(report, "fiber \"renamed\": segmentation", 29) == 0, "report: %s", report);
    /* Unnamed: the report starts with the fault, as it always did. */
    tether_fiber_set_name(f, NULL);
    tether_fault_format(r, report, sizeof report);
    ck_assert_msg(strncmp(report, "segmentation fault: SIGSEGV", 27) == 0, "report: %s", report);
    tether_fiber_destroy(f);
}
END_TEST

/* A copy of a named fiber's record is only a record: no fiber, no name. */
START_TEST(test_copied_record_has_no_name)
{
    char report[4096];
    tether_fiber *f = named(crash, NULL, "original");
    tether_fault copy;
    tether_call_report cr;

    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_FAULTED);
    copy = *tether_fiber_fault(f);
    tether_fault_format(&copy, report, sizeof report);
    ck_assert_msg(strncmp(report, "segmentation fault: SIGSEGV", 27) == 0, "report: %s", report);
    tether_fiber_destroy(f);

    ck_assert_int_eq(tether_call(crash_call, NULL, NULL, &copy), -EFAULT);
    tether_fault_format(&copy, report, sizeof report);
    ck_assert_msg(strncmp(report, "segmentation fault: SIGSEGV", 27) == 0, "report: %s", report);
    ck_assert_int_eq(tether_call_on_fiber(crash_call, NULL, NULL, NULL, &cr), -EFAULT);
    tether_fault_format(&cr.fault, report, sizeof report);
    ck_assert_msg(strncmp(report, "segmentation fault: SIGSEGV", 27) == 0, "report: %s", report);
}
END_TEST

/* ------------------------------------------------------------- states */

START_TEST(test_state_names)
{
    ck_assert_str_eq(tether_state_name(TETHER_READY), "ready");
    ck_assert_str_eq(tether_state_name(TETHER_RUNNING), "running");
    ck_assert_str_eq(tether_state_name(TETHER_YIELDED), "yielded");
    ck_assert_str_eq(tether_state_name(TETHER_RETURNED), "returned");
    ck_assert_str_eq(tether_state_name(TETHER_FAULTED), "faulted");
    ck_assert_str_eq(tether_state_name(TETHER_TERMINATED), "terminated");
    ck_assert_str_eq(tether_state_name(6), "unknown state");
    ck_assert_str_eq(tether_state_name(-EINVAL), "unknown state");
    ck_assert_str_eq(tether_state_name(tether_fiber_state(NULL)), "unknown state");
}
END_TEST

static void *state_of_self(void *arg, void *in)
{
    (void)arg;
    (void)in;
    tether_yield((void *)tether_state_name(tether_fiber_state(tether_current())), NULL);
    return NULL;
}

START_TEST(test_state_names_of_a_fiber)
{
    tether_fiber *f = make_fiber(state_of_self, NULL);
    void *out;

    ck_assert_str_eq(tether_state_name(tether_fiber_state(f)), "ready");
    ck_assert_int_eq(tether_fiber_resume(f, NULL, &out), TETHER_YIELDED);
    ck_assert_str_eq((const char *)out, "running");
    ck_assert_str_eq(tether_state_name(tether_fiber_state(f)), "yielded");
    ck_assert_int_eq(tether_fiber_resume(f, NULL, &out), TETHER_RETURNED);
    ck_assert_str_eq(tether_state_name(tether_fiber_state(f)), "returned");
    tether_fiber_destroy(f);
}
END_TEST

/* ---------------------------------------------------------- user data */

static void *report_user_data(void *arg, void *in)
{
    (void)arg;
    (void)in;
    for (;;)
        tether_yield(tether_fiber_user_data(tether_current()), NULL);
    return NULL;
}

static void *resume_once(void *f)
{
    void *out = NULL;
    ck_assert_int_eq(tether_fiber_resume(f, NULL, &out), TETHER_YIELDED);
    return out;
}

/* The running fiber reads its own user data, on whichever thread runs it. */
START_TEST(test_user_data_from_the_fiber)
{
    int a, b;
    tether_fiber *f = make_fiber(report_user_data, NULL);
    pthread_t t;
    void *out;

    ck_assert_ptr_null(tether_fiber_user_data(tether_current())); /* off a fiber */
    ck_assert_int_eq(tether_fiber_set_user_data(f, &a), 0);
    ck_assert_ptr_eq(resume_once(f), &a);
    ck_assert_int_eq(tether_fiber_set_user_data(f, &b), 0);
    ck_assert_int_eq(pthread_create(&t, NULL, resume_once, f), 0);
    ck_assert_int_eq(pthread_join(t, &out), 0);
    ck_assert_ptr_eq(out, &b);
    tether_fiber_destroy(f);
}
END_TEST

/* -------------------------------------------------------- stack used */

/* A geometry no other test uses: its slots are fresh, their pages untouched. */
#define SIZING_STACK (3u * 1024 * 1024 + 4096)

struct depth {
    unsigned levels;   /* 1 KiB frames to go down */
    size_t deepest;    /* bytes from the stack's top to the deepest buffer */
    size_t used_there; /* tether_fiber_stack_used() from down there */
};

static char *stack_top(void)
{
    void *hi = NULL;
    tether_fiber_stack(tether_current(), NULL, &hi);
    return hi;
}

OPAQUE REAL_STACK_LOCALS static void go_down(struct depth *d, unsigned n)
{
    /*
     * alloca, uninstrumented: on the fiber's stack even where a sanitizer
     * moves locals elsewhere (clang's ASan moves allocas too).
     */
    volatile char *buf = __builtin_alloca(1024);

    for (size_t i = 0; i < 1024; i += 64)
        buf[i] = (char)n;
    if (n + 1 < d->levels) {
        go_down(d, n + 1);
        return;
    }
    d->deepest = (size_t)(stack_top() - (char *)buf);
    ck_assert_int_eq(tether_fiber_stack_used(tether_current(), &d->used_there), 0);
    tether_yield(NULL, NULL); /* suspended at its deepest */
}

static void *descend(void *arg, void *in)
{
    (void)in;
    go_down(arg, 0);
    return NULL;
}

START_TEST(test_stack_used)
{
    tether_fiber_opts o = {.stack_size = SIZING_STACK};
    struct depth d = {.levels = 200};
    size_t page = (size_t)sysconf(_SC_PAGESIZE), before, used;
    tether_fiber *f;

    ck_assert_int_eq(tether_fiber_create(&f, descend, &d, &o), 0);
    ck_assert_int_eq(tether_fiber_stack_used(f, &before), 0);
    ck_assert_uint_lt(before, page); /* not run: what the top page holds */

    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_YIELDED);
    ck_assert_uint_ge(d.deepest, 200u * 1024);
    /* From the fiber, at its deepest: at least that deep, within a few pages. */
    ck_assert_uint_ge(d.used_there, d.deepest);
    ck_assert_uint_le(d.used_there, d.deepest + 4 * page);
    /* From the host, the fiber suspended down there: the same mark. */
    ck_assert_int_eq(tether_fiber_stack_used(f, &used), 0);
    ck_assert_uint_ge(used, d.used_there);
    ck_assert_uint_le(used, d.deepest + 4 * page);
    /* Finished: a high-water mark stays. */
    ck_assert_int_eq(tether_fiber_resume(f, NULL, NULL), TETHER_RETURNED);
    ck_assert_int_eq(tether_fiber_stack_used(f, &used), 0);
    ck_assert_uint_ge(used, d.deepest);

    ck_assert_int_eq(tether_fiber_stack_used(NULL, &used), -EINVAL);
    ck_assert_int_eq(tether_fiber_stack_used(f, NULL), -EINVAL);
    tether_fiber_destroy(f);
}
END_TEST

/* A shallow fiber on a fresh slot reports little; a deeper one, more. */
START_TEST(test_stack_used_grows_with_depth)
{
    tether_fiber_opts o = {.stack_size = SIZING_STACK};
    struct depth shallow = {.levels = 8}, deep = {.levels = 64};
    size_t u1, u2;
    tether_fiber *f1, *f2;

    ck_assert_int_eq(tether_fiber_create(&f1, descend, &shallow, &o), 0);
    ck_assert_int_eq(tether_fiber_create(&f2, descend, &deep, &o), 0);
    ck_assert_int_eq(tether_fiber_resume(f1, NULL, NULL), TETHER_YIELDED);
    ck_assert_int_eq(tether_fiber_resume(f2, NULL, NULL), TETHER_YIELDED);
    ck_assert_int_eq(tether_fiber_stack_used(f1, &u1), 0);
    ck_assert_int_eq(tether_fiber_stack_used(f2, &u2), 0);
    ck_assert_uint_ge(u1, shallow.deepest);
    ck_assert_uint_lt(u1, 24u * 1024);
    ck_assert_uint_ge(u2, deep.deepest);
    ck_assert_uint_gt(u2, u1 + 48u * 1024);
    tether_fiber_destroy(f1);
    tether_fiber_destroy(f2);
}
END_TEST

static Suite *api_suite(void)
{
    Suite *s = suite_create("api");
    TCase *version = tcase_create("version");
    TCase *names = tcase_create("names");
    TCase *info = tcase_create("info");

    tcase_add_test(version, test_version_agrees);
    tcase_add_test(version, test_version_encoding_orders);
    suite_add_tcase(s, version);

    tcase_add_test(version, test_reserved_options_refused);
    tcase_add_test(version, test_reports_written_whole);
    tcase_add_test(version, test_struct_sizes_fixed);

    tcase_add_test(names, test_name_from_options_is_copied);
    tcase_add_test(names, test_name_none_by_default);
    tcase_add_test(names, test_set_name);
    tcase_add_test(names, test_name_cut_to_max);
    tcase_add_test(names, test_reset_keeps_name);
    tcase_add_test(names, test_report_names_the_fiber);
    tcase_add_test(names, test_copied_record_has_no_name);
    tcase_add_test(names, test_state_names);
    tcase_add_test(names, test_state_names_of_a_fiber);
    suite_add_tcase(s, names);

    tcase_add_test(info, test_user_data_from_the_fiber);
    tcase_add_test(info, test_stack_used);
    tcase_add_test(info, test_stack_used_grows_with_depth);
    suite_add_tcase(s, info);
    return s;
}

int main(void)
{
    return run_suite(api_suite());
}
