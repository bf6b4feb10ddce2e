// The system's zlib (Debian: zlib1g-dev), for gzip-compressed webhook bodies.
#include <zlib.h>
