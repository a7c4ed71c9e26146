/* Messages for tether return codes. */
#include <errno.h>

#include <tether/fiber.h>

const char *tether_strerror(int code)
{
    switch (code) {
    case 0: return "success";
    case TETHER_YIELDED: return "the fiber yielded";
    case TETHER_RETURNED: return "the fiber returned";
    case TETHER_FAULTED: return "the fiber faulted";
    case TETHER_TERMINATED: return "the fiber was terminated";
    case TETHER_RUNNING: return "the fiber is running";
    case -EINVAL: return "invalid argument";
    case -ERANGE: return "size out of range";
    case -ENOMEM: return "out of memory for a fiber or its stack";
    case -EBUSY: return "the fiber is running";
    case -EDEADLK: return "the fiber is the caller or one of its hosts";
    case -ESRCH: return "the fiber has finished";
    case -EPERM: return "not running on a fiber";
    case -EAGAIN: return "a signal handler or timer could not be set up";
    case -ECANCELED: return "the fiber is being unwound";
    case -EFAULT: return "bad address: a probe or an unwind's cleanup faulted";
    case -EEXIST: return "the ranges overlap ranges of the same event";
    case -ENOENT: return "no such range or table";
    case -ENOTRECOVERABLE: return "the unwind could not run the fiber's cleanups";
    default: return "unknown tether code";
    }
}
