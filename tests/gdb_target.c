/*
 * Debugged by gdb_bt.sh: main -> run_guest -> resume -> [fiber]
 * guest_entry -> guest_leaf, where the breakpoint is.
 */
#include <stdio.h>
#include <tether.h>

volatile int sink;

void guest_leaf(int n)
{
    sink = n; /* breakpoint here */
}

void guest_middle(int n)
{
    guest_leaf(n + 1);
    sink++;
}

static void *guest_entry(void *arg, void *in)
{
    (void)arg;
    (void)in;
    guest_middle(41);
    return NULL;
}

int run_guest(void)
{
    tether_fiber *f;
    int st;
    if (tether_fiber_create(&f, guest_entry, NULL, NULL) != 0)
        return -1;
    st = tether_fiber_resume(f, NULL, NULL);
    tether_fiber_destroy(f);
    return st;
}

int main(void)
{
    int st = run_guest();
    printf("guest %s\n", tether_strerror(st));
    return st == TETHER_RETURNED ? 0 : 1;
}
