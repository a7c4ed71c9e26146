/*
 * A plugin that holds a lock and a file when it faults, in the frame that
 * faults. Built twice by the test suite: with -fnon-call-exceptions (the
 * faulting store is then covered by the frame's cleanup table, so the
 * unwind runs its destructors) and without (it cannot; the unwind says
 * so). See tests/test_poison.cpp.
 */
#include <cstdio>
#include <memory>
#include <mutex>

struct closer {
    void operator()(FILE *fp) const { fclose(fp); }
};

extern "C" __attribute__((visibility("default"))) int
plugin_write(std::mutex *m, const char *path, int *out)
{
    std::lock_guard<std::mutex> hold(*m);
    std::unique_ptr<FILE, closer> fp(fopen(path, "w"));
    if (!fp)
        return -1;
    fputs("partial", fp.get());
    *out = 1; /* a NULL out faults here, with the lock and the file held */
    return 0;
}
