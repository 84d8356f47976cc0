// ZSTD_estimateCStreamSize (fu-partition's memory budget) is in the static-linking-only
// part of the API; Debian's shared libzstd exports it.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
