#ifndef FU_NUMBER_FORMAT_H
#define FU_NUMBER_FORMAT_H
#include <stddef.h>

/// `%.17g` of value into buffer, as snprintf. Swift reaches C's variadic printf only
/// through CVarArg arrays, whose dynamic casts cost as much as the formatting itself.
int fu_format_g17(char *buffer, size_t size, double value);

#endif
