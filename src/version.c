/* The library's version, from the headers it was built with. */
#include <tether/common.h>

const char *tether_version(void)
{
    return TETHER_VERSION_STRING;
}

unsigned tether_version_number(void)
{
    return TETHER_VERSION_NUMBER;
}
