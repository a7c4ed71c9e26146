/* Per-thread runtime state. */
#include "thread.h"

__thread struct tether_thread tether__thread
    __attribute__((tls_model("initial-exec")));

tether_fiber *tether_current(void)
{
    return tether__thread.current;
}
