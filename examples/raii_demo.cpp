/*
 * Guests that hold resources and die: each fiber locks a mutex, opens a
 * file and allocates memory, all through RAII, then dies in one of the
 * ways a guest can. The host unwinds each dead fiber and checks that
 * every resource came back: the mutex is free, no file descriptor is
 * left open, no allocation is outstanding.
 */
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <fcntl.h>
#include <unistd.h>

#include <tether.h>

static std::mutex shared_lock;
static int open_files;
static long live_bytes;

/* A file that closes itself. */
struct File {
    int fd;
    explicit File(const char *path) : fd(open(path, O_RDONLY)) { open_files += fd >= 0; }
    ~File()
    {
        if (fd >= 0) {
            close(fd);
            open_files--;
        }
    }
};

/* Heap memory that frees itself. */
struct Buffer {
    std::unique_ptr<char[]> p;
    long n;
    explicit Buffer(long size) : p(new char[size]), n(size) { live_bytes += n; }
    ~Buffer() { live_bytes -= n; }
};

static volatile int zero = 0;
static int *volatile nowhere = nullptr;
static volatile bool never = false;

/* How each guest dies, once it holds everything. */
enum Death { NULL_DEREF, DIVIDE, OVERFLOW, TERMINATE, DEADLINE, THROW, KILLED_WHILE_YIELDED };

__attribute__((noinline)) static int divide(int d)
{
    int q;
    __asm__ volatile("cltd\n\tidivl %2" : "=a"(q) : "a"(1), "r"(d) : "rdx");
    return q;
}

/* Counts the levels of recursion alive; each level's destructor leaves. */
static long live_levels;
struct Level {
    Level() { live_levels++; }
    ~Level() { live_levels--; }
};

__attribute__((noinline)) static unsigned recurse(unsigned n)
{
    Level here; /* no allocation: an overflow inside malloc would leave its lock held */
    volatile char pad[256];
    pad[0] = (char)n;
    if (never)
        throw std::runtime_error("never");
    return recurse(n + 1) + pad[0];
}

__attribute__((noinline)) static int die(Death how)
{
    switch (how) {
    case NULL_DEREF:
        return *(volatile int *)nowhere;
    case DIVIDE:
        return divide(zero);
    case OVERFLOW:
        return (int)recurse(0);
    case TERMINATE:
        tether_terminate((void *)"host said stop");
        return 0;
    case DEADLINE:
        while (!never)
            __asm__ volatile("" ::: "memory");
        return 0;
    case THROW:
        throw std::runtime_error("uncaught in the guest");
    case KILLED_WHILE_YIELDED:
        tether_yield(nullptr, nullptr);
        return 0;
    }
    return 0;
}

static void *guest(void *arg, void *)
{
    std::lock_guard<std::mutex> hold(shared_lock);
    File f("/proc/self/status");
    Buffer b(1 << 20);
    if (never)
        throw std::runtime_error("never");
    return (void *)(intptr_t)die((Death)(intptr_t)arg);
}

static const char *ending(int st, void *out, tether_fiber *f, char *buf, size_t len)
{
    if (st == TETHER_FAULTED) {
        const tether_fault *fl = tether_fiber_fault(f);
        snprintf(buf, len, "FAULTED (%s at %p)", tether_fault_kind_name(fl->kind), fl->pc);
    } else if (st == TETHER_TERMINATED && out == TETHER_DEADLINE_EXCEEDED) {
        snprintf(buf, len, "TERMINATED (deadline exceeded)");
    } else if (st == TETHER_TERMINATED && out == TETHER_EXCEPTION_ESCAPED) {
        snprintf(buf, len, "TERMINATED (an exception escaped the guest)");
    } else if (st == TETHER_TERMINATED) {
        snprintf(buf, len, "TERMINATED (%s)", out ? (const char *)out : "killed");
    } else {
        snprintf(buf, len, "%s", tether_strerror(st));
    }
    return buf;
}

int main()
{
    static const struct {
        const char *name;
        Death how;
    } guests[] = {
        {"null dereference", NULL_DEREF},   {"divide by zero", DIVIDE},
        {"stack overflow", OVERFLOW},       {"terminated by host", TERMINATE},
        {"runaway, deadline", DEADLINE},    {"uncaught exception", THROW},
        {"killed while yielded", KILLED_WHILE_YIELDED},
    };
    int failures = 0;

    for (const auto &g : guests) {
        tether_fiber_opts opts = {};
        opts.stack_size = 256 * 1024;
        tether_fiber *f;
        void *out = nullptr;
        char how[128];
        int st, err;

        if ((err = tether_fiber_create(&f, guest, (void *)(intptr_t)g.how, &opts)) < 0) {
            fprintf(stderr, "create: %s\n", tether_strerror(err));
            return 1;
        }
        st = tether_fiber_resume_for(f, nullptr, &out, 100 * 1000 * 1000);
        if (st == TETHER_YIELDED) { /* kill it while it is suspended */
            tether_kill_switch *k;
            tether_kill_switch_create(f, &k);
            tether_kill_switch_fire(k, (void *)"killed by a kill switch");
            tether_kill_switch_free(k);
            st = tether_fiber_resume(f, nullptr, &out);
        }
        ending(st, out, f, how, sizeof how);
        int unwound = tether_fiber_unwind(f); /* every destructor on its stack */
        bool free_now = shared_lock.try_lock();
        if (free_now)
            shared_lock.unlock();
        /* The level whose frame overflowed is passed over: at most one remains. */
        bool ok = unwound >= 0 && free_now && open_files == 0 && live_bytes == 0 &&
                  live_levels <= 1;
        printf("%-22s %-48s mutex %s, files open %d, bytes held %ld: %s\n", g.name, how,
               free_now ? "released" : "STILL HELD", open_files, live_bytes,
               ok ? "all released" : "LEAKED");
        live_levels = 0;
        failures += !ok;
        tether_fiber_destroy(f);
    }
    printf("\n%s\n", failures ? "some resources leaked" : "every resource of every dead guest was released");
    return failures ? 1 : 0;
}
