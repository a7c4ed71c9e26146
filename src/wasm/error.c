/* Messages for libtether-wasm's return codes. */
#include <errno.h>

#include "wasm_impl.h"

const char *tether_wasm_strerror(int code)
{
    switch (code) {
    case TETHER_WASM_OK: return "success";
    case TETHER_WASM_YIELDED: return "a host function yielded the instance";
    case TETHER_WASM_TRAP: return "the call trapped";
    case -EINVAL: return "invalid argument";
    case -ERANGE: return "an option is out of range";
    case -ENOMEM: return "out of memory or address space";
    case -EAGAIN: return "every slot of the pool is in use";
    case -EBUSY: return "the instance is running or has a yielded call";
    case -EDEADLK: return "the instance hosts the caller";
    case -ESRCH: return "nothing to resume, or the instantiation failed";
    case -ENOENT: return "no such export, or an import is not provided";
    case -EPERM: return "not on an instance's fiber";
    case -ENOEXEC: return "not a tether-wasm module";
    case -EPROTO: return "a module built for another module ABI";
    default: return tether_strerror(code);
    }
}
